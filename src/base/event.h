/* Internal layout of the event objects, so the layers above can embed and fill them without an
 * allocation per event. Applications see only include/wsclean/event.h. */
#ifndef WS_BASE_EVENT_H
#define WS_BASE_EVENT_H

#include "wsclean/event.h"

struct ws_event {
  ws_event_kind kind;
  char type[WS_EVENT_TYPE_MAX + 1];
  bool bubbles, cancelable, composed;
  bool is_trusted;
  bool dispatched;  /* set once a dispatch has started; initCloseEvent is then a no-op */
  bool in_dispatch; /* re-entrancy guard */
  uint8_t known;    /* 1..4 for open/message/error/close, 0 for another type (event.c) */
  double time_stamp;
};

#define WS__REASON_INLINE 124 /* a wire reason is at most 123 bytes (RFC 6455 5.5) + NUL */

struct ws_close_event {
  ws_event base;
  uint16_t code;
  bool was_clean;
  char *reason;   /* points at reason_inline or at an allocation (app-built, long reason) */
  size_t reason_len;
  char reason_inline[WS__REASON_INLINE];
  ws_close_diag diag;
  const ws_allocator *alloc; /* NULL for an embedded event that owns no memory */
};

struct ws_message_event {
  ws_event base;
  const uint8_t *data;
  size_t len;
  bool binary;
};

/* One listener or handler slot: 32 bytes. The type points at a static string for the four
 * WebSocket event types and at an allocated copy for any other. */
typedef struct ws__listener {
  const char *type;
  ws_event_listener_cb cb;
  void *ud;
  bool handler; /* the on<type> slot (HTML event handler), not an addEventListener entry */
  bool removed; /* DOM listener "removed" flag: skipped by a dispatch already under way */
  bool own_type; /* type is an allocated copy */
  uint8_t known; /* as ws_event.known */
} ws__listener;

/* An EventTarget, embeddable (a ws_socket carries one: no allocation until a listener is
 * added, one array of 32-byte entries after). */
struct ws_event_target {
  const ws_allocator *alloc;
  ws__listener *v;
  uint32_t len, cap;
  uint32_t depth;    /* dispatches in progress on this target (re-entrancy) */
  bool free_pending; /* ws_event_target_free() was called from a listener */
  bool embedded;     /* inside another object: ws__event_target_fini, never freed itself */
  bool dirty;        /* entries were flagged removed during a dispatch: sweep after it */
};

/* An embedded target: init before use, fini when its owner goes (not from a listener). */
void ws__event_target_init(ws_event_target *t, const ws_allocator *alloc);
void ws__event_target_fini(ws_event_target *t);

/* Initialise an embedded, trusted event of the library's own (no allocation).
 * ws__close_event_set: reason_len must be <= 123 (it comes off the wire or from a validated close()). */
void ws__event_init(ws_event *ev, ws_event_kind kind, const char *type, double time_stamp);
void ws__close_event_set(ws_close_event *ev, uint16_t code, const char *reason,
                         size_t reason_len, bool was_clean, const ws_close_diag *diag,
                         double time_stamp);
void ws__message_event_set(ws_message_event *ev, const uint8_t *data, size_t len, bool binary,
                           double time_stamp);

#endif
