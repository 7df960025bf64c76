/* wsclean — DOM-shaped events: Event, CloseEvent, MessageEvent and an EventTarget.
 *
 * Faithful to the DOM and the WHATWG WebSockets standard:
 *  - every event has type, bubbles, cancelable, composed, timeStamp (ms, relative to the time
 *    origin of whoever created it) and isTrusted (true only for events the library dispatches);
 *  - a CloseEvent adds code, reason, wasClean; built by the app it takes CloseEventInit's
 *    defaults (code 0, reason "", wasClean false) and validates nothing about the code, as browsers;
 *  - ws_close_event_init_legacy() is Gecko's deprecated initCloseEvent(): it sets the fields
 *    and does nothing once the event has been dispatched;
 *  - an EventTarget keeps one handler slot per type (onopen, onmessage, onerror, onclose) and any
 *    number of listeners; dispatch calls them in registration order; a handler keeps the position
 *    of its first assignment; a listener removed during dispatch is not called.
 *
 * Beside the standard fields, a CloseEvent that the library dispatches carries ws_close_diag:
 * what a browser may not tell a script but a native program should know.
 */
#ifndef WSCLEAN_EVENT_H
#define WSCLEAN_EVENT_H

#include "wsclean/alloc.h"
#include "wsclean/common.h"

WS_BEGIN_DECLS

typedef struct ws_event ws_event;
typedef struct ws_close_event ws_close_event;
typedef struct ws_message_event ws_message_event;
typedef struct ws_event_target ws_event_target;

/* ---- Event ---------------------------------------------------------------------------------- */
#define WS_EVENT_TYPE_MAX 31 /* bytes in an event type name */

typedef enum ws_event_kind { WS_EVENT_PLAIN = 0, WS_EVENT_CLOSE, WS_EVENT_MESSAGE } ws_event_kind;

WS_API const char *ws_event_type(const ws_event *ev);
WS_API ws_event_kind ws_event_get_kind(const ws_event *ev);
WS_API bool ws_event_bubbles(const ws_event *ev);
WS_API bool ws_event_cancelable(const ws_event *ev);
WS_API bool ws_event_composed(const ws_event *ev);
WS_API bool ws_event_is_trusted(const ws_event *ev);
WS_API double ws_event_time_stamp(const ws_event *ev);
/* The downcasts return NULL when the event is of another kind. */
WS_API const ws_close_event *ws_event_as_close(const ws_event *ev);
WS_API const ws_message_event *ws_event_as_message(const ws_event *ev);

/* ---- CloseEvent ----------------------------------------------------------------------------- */
typedef struct ws_close_event_init {
  bool bubbles, cancelable, composed; /* EventInit: default false */
  bool was_clean;                     /* default false */
  uint16_t code;                      /* default 0 */
  const char *reason;                 /* default "" (NULL is ""); UTF-8, not validated */
  size_t reason_len;                  /* bytes of reason; 0 or (size_t)-1 mean strlen(reason),
                                         so a zero-initialised init with only .reason works */
} ws_close_event_init;

/* Who started the closing handshake. */
typedef enum ws_closer { WS_CLOSER_NONE = 0, WS_CLOSER_LOCAL, WS_CLOSER_REMOTE } ws_closer;

/* Diagnostics of a library-dispatched CloseEvent (all zero for an app-constructed one). */
typedef struct ws_close_diag {
  ws_closer initiator;    /* who sent the first close frame; NONE if no close frame was sent */
  uint16_t code_sent;     /* code of the close frame we sent; 0 if none; 1005 if it had no body */
  uint16_t code_received; /* code of the close frame received; 0 if none; 1005 if no body */
  int error;              /* WS_OK after a clean close, else the ws_err that ended it abnormally */
  const char *detail;     /* more text about error (e.g. OpenSSL's, a header name); never NULL */
  uint64_t duration_ms;   /* from open (or connect) to close, by the connection's clock */
} ws_close_diag;

/* CloseEvent(type, init): init NULL means all defaults. isTrusted is false. The reason is copied
 * (no limit on its length: only wire reasons are bounded, to 123 bytes); one allocation, two when
 * the reason is over 123 bytes. time_stamp is the creation time in ms since the caller's time
 * origin. alloc NULL means the default allocator; it must outlive the event.
 * Returns NULL on allocation failure, a NULL type or a type over WS_EVENT_TYPE_MAX bytes. */
WS_API ws_close_event *ws_close_event_new(const ws_allocator *alloc, const char *type,
                                          const ws_close_event_init *init, double time_stamp);
/* Frees an event made by ws_close_event_new(); NULL and library-owned (embedded) events are
 * ignored. */
WS_API void ws_close_event_free(ws_close_event *ev);
WS_API const ws_event *ws_close_event_base(const ws_close_event *ev);
WS_API uint16_t ws_close_event_code(const ws_close_event *ev);
/* The reason as UTF-8, NUL-terminated; *len (if not NULL) gets its length in bytes. */
WS_API const char *ws_close_event_reason(const ws_close_event *ev, size_t *len);
WS_API bool ws_close_event_was_clean(const ws_close_event *ev);
WS_API const ws_close_diag *ws_close_event_diag(const ws_close_event *ev);
/* initCloseEvent(type, bubbles, cancelable, wasClean, code, reason): sets the fields unless the
 * event was already dispatched, in which case it does nothing and returns WS_ERR_STATE. Like DOM
 * "initialize an event" it makes the event untrusted; composed and timeStamp are kept.
 * reason NULL is "". Returns WS_ERR_INVAL for a NULL event or a bad type, WS_ERR_NOMEM (event
 * unchanged) if the reason cannot be copied, WS_ERR_LIMIT for a reason over 123 bytes on an event
 * the library owns (it has no allocator). */
WS_API int ws_close_event_init_legacy(ws_close_event *ev, const char *type, bool bubbles,
                                      bool cancelable, bool was_clean, uint16_t code,
                                      const char *reason);

/* ---- MessageEvent (the subset a WebSocket uses) -------------------------------------------- */
WS_API const ws_event *ws_message_event_base(const ws_message_event *ev);
/* The payload: valid UTF-8 for text; valid only during the dispatch. */
WS_API const uint8_t *ws_message_event_data(const ws_message_event *ev, size_t *len);
WS_API bool ws_message_event_is_binary(const ws_message_event *ev);

/* ---- EventTarget ---------------------------------------------------------------------------- */
typedef void (*ws_event_listener_cb)(const ws_event *ev, void *user_data);

/* A target is created empty (NULL on allocation failure); types are any string up to
 * WS_EVENT_TYPE_MAX bytes, compared exactly. A target holds at most 1024 entries (handlers and
 * listeners together): one more is WS_ERR_LIMIT. Every function below returns WS_ERR_INVAL for a
 * NULL target or a NULL/too long type, and WS_ERR_NOMEM when the list cannot grow.
 * ws_event_target_free() called from one of t's own listeners is deferred: the listeners not yet
 * reached are skipped and t is freed when the outermost dispatch returns. */
WS_API ws_event_target *ws_event_target_new(const ws_allocator *alloc);
WS_API void ws_event_target_free(ws_event_target *t);
/* The "on<type>" handler slot: cb NULL clears it. Setting a handler that is already set keeps
 * its place in the call order; clearing and setting again moves it to the end (as HTML does). */
WS_API int ws_event_target_set_handler(ws_event_target *t, const char *type,
                                       ws_event_listener_cb cb, void *user_data);
/* addEventListener: the same (type, cb, user_data) twice is added once (WS_OK both times); cb
 * NULL is WS_ERR_INVAL. */
WS_API int ws_event_target_add_listener(ws_event_target *t, const char *type,
                                        ws_event_listener_cb cb, void *user_data);
/* removeEventListener: WS_ERR_NOT_FOUND if no such listener. */
WS_API int ws_event_target_remove_listener(ws_event_target *t, const char *type,
                                           ws_event_listener_cb cb, void *user_data);
/* Dispatch ev to the listeners of its type, in order. Marks ev dispatched. Listeners may add
 * (not called in this dispatch) or remove (not called if not yet reached) listeners, and may
 * dispatch again. isTrusted is left as it is (the library dispatches its trusted events through
 * here too). Returns WS_ERR_STATE if ev is being dispatched already or t is being freed,
 * WS_ERR_LIMIT when 65535 dispatches are already nested on t (a runaway recursion),
 * WS_ERR_INVAL for NULL arguments. A dispatch allocates nothing. */
WS_API int ws_event_target_dispatch(ws_event_target *t, ws_event *ev);

WS_END_DECLS
#endif
