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

/* A listener list that many targets share read-only: a server route's handlers, which every
 * connection of the route starts with. Built by ws__listener_set_handler or _take and never
 * changed after (a change builds a new set); it owns its entries' allocated type strings. */
typedef struct ws__listener_set {
  struct ws__listener_set *next; /* free for the owner's use (the server's retired sets) */
  uint32_t len;                  /* 1..1024 (an empty set is NULL) */
  ws__listener v[];
} ws__listener_set;

/* An EventTarget, embeddable (a ws_socket carries one: no allocation until a listener is
 * added, one array of 32-byte entries after). A target may also be a *view* of a
 * ws__listener_set (shared): it dispatches the set's entries in place and copies them into an
 * array of its own before its first change (copy-on-write), so a connection that keeps its
 * route's handlers allocates nothing for them. 24 bytes on LP64. */
struct ws_event_target {
  const ws_allocator *alloc;
  ws__listener *v;       /* owned, or a shared set's entries (never written through then) */
  uint16_t len, cap;     /* at most MAX_LISTENERS (1024, event.c) */
  uint16_t depth;        /* dispatches in progress on this target (re-entrancy), at most 65535 */
  bool free_pending : 1; /* ws_event_target_free() was called from a listener */
  bool embedded : 1;     /* inside another object: ws__event_target_fini, never freed itself */
  bool dirty : 1;        /* entries were flagged removed during a dispatch: sweep after it */
  bool shared : 1;       /* v is a ws__listener_set's: copy before any change, never free */
};

/* An embedded target: init before use, fini when its owner goes (not from a listener). */
void ws__event_target_init(ws_event_target *t, const ws_allocator *alloc);
void ws__event_target_fini(ws_event_target *t);

/* Make t a view of `from` (NULL or empty: no listeners), dropping what t had; no allocation.
 * Not while a dispatch runs on t. `from` must stay alive, unchanged, while t is a view of it:
 * until t is finalised or changed (any change first copies the entries into t's own array;
 * out of memory there leaves t a view, unchanged, and the change returns WS_ERR_NOMEM). */
void ws__event_target_share(ws_event_target *t, const ws__listener_set *from);

/* A new set: `from` (NULL: empty) with its on<type> handler slot set as
 * ws_event_target_set_handler would (cb NULL clears). *out gets the new set, or `from` itself
 * when nothing changed, or NULL when the result is empty; `from` is never modified. Errors as
 * ws_event_target_set_handler (WS_ERR_INVAL, WS_ERR_NOMEM, WS_ERR_LIMIT); *out is then left
 * unset. */
int ws__listener_set_handler(const ws_allocator *alloc, ws__listener_set *from, const char *type,
                             ws_event_listener_cb cb, void *user_data, ws__listener_set **out);
/* Moves t's listeners into a new set (*out; NULL when t has none) and leaves t empty. Not while
 * a dispatch runs on t. WS_ERR_NOMEM leaves t as it was (if it was a view: its own copy). */
int ws__listener_set_take(ws_event_target *t, ws__listener_set **out);
/* Frees a set (NULL is ignored): no target may still be a view of it. */
void ws__listener_set_free(const ws_allocator *alloc, ws__listener_set *s);

/* Initialise an embedded, trusted event of the library's own (no allocation).
 * ws__close_event_set: reason_len must be <= 123 (it comes off the wire or from a validated close()). */
void ws__event_init(ws_event *ev, ws_event_kind kind, const char *type, double time_stamp);
void ws__close_event_set(ws_close_event *ev, uint16_t code, const char *reason,
                         size_t reason_len, bool was_clean, const ws_close_diag *diag,
                         double time_stamp);
void ws__message_event_set(ws_message_event *ev, const uint8_t *data, size_t len, bool binary,
                           double time_stamp);

#endif
