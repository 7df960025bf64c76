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

/* Initialise an embedded, trusted event of the library's own (no allocation).
 * ws__close_event_set: reason_len must be <= 123 (it comes off the wire or from a validated close()). */
void ws__event_init(ws_event *ev, ws_event_kind kind, const char *type, double time_stamp);
void ws__close_event_set(ws_close_event *ev, uint16_t code, const char *reason,
                         size_t reason_len, bool was_clean, const ws_close_diag *diag,
                         double time_stamp);
void ws__message_event_set(ws_message_event *ev, const uint8_t *data, size_t len, bool binary,
                           double time_stamp);

#endif
