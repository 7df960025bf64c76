/* TEMPORARY STUB (branch conn): only the event functions the protocol core and its tests need
 * (ws__event_init, ws__close_event_set and the CloseEvent accessors), per src/base/event.h.
 * The registry helper's full event.c replaces this file when the branches merge. */
#include "base/event.h"

#include <string.h>

void ws__event_init(ws_event *ev, ws_event_kind kind, const char *type, double time_stamp) {
  memset(ev, 0, sizeof *ev);
  ev->kind = kind;
  size_t n = strlen(type);
  if (n > WS_EVENT_TYPE_MAX)
    n = WS_EVENT_TYPE_MAX;
  memcpy(ev->type, type, n);
  ev->type[n] = '\0';
  ev->is_trusted = true;
  ev->time_stamp = time_stamp;
}

void ws__close_event_set(ws_close_event *ev, uint16_t code, const char *reason, size_t reason_len,
                         bool was_clean, const ws_close_diag *diag, double time_stamp) {
  ws__event_init(&ev->base, WS_EVENT_CLOSE, "close", time_stamp);
  ev->code = code;
  ev->was_clean = was_clean;
  if (reason_len > WS__REASON_INLINE - 1)
    reason_len = WS__REASON_INLINE - 1;
  if (reason_len)
    memcpy(ev->reason_inline, reason, reason_len);
  ev->reason_inline[reason_len] = '\0';
  ev->reason = ev->reason_inline;
  ev->reason_len = reason_len;
  if (diag)
    ev->diag = *diag;
  else
    memset(&ev->diag, 0, sizeof ev->diag);
  if (!ev->diag.detail)
    ev->diag.detail = "";
  ev->alloc = NULL;
}

const char *ws_event_type(const ws_event *ev) { return ev->type; }
const ws_event *ws_close_event_base(const ws_close_event *ev) { return &ev->base; }
uint16_t ws_close_event_code(const ws_close_event *ev) { return ev->code; }
const char *ws_close_event_reason(const ws_close_event *ev, size_t *len) {
  if (len)
    *len = ev->reason_len;
  return ev->reason ? ev->reason : "";
}
bool ws_close_event_was_clean(const ws_close_event *ev) { return ev->was_clean; }
const ws_close_diag *ws_close_event_diag(const ws_close_event *ev) { return &ev->diag; }
