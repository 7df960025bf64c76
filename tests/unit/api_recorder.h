/* The event recorder the API tests share: every event a socket sees, appended to r->log as
 * text ("open", "msg:hello", "error", "close:1000:1"), plus the last CloseEvent's fields and
 * diagnostics, so a test asserts the WHATWG event order and the close in one string compare. */
#ifndef WS_TEST_API_RECORDER_H
#define WS_TEST_API_RECORDER_H

#include "wsclean/wsclean.h"

#include <stdio.h>
#include <string.h>

typedef struct rec {
  char log[512];
  int closes;
  int opens;
  uint16_t code;
  bool clean;
  char reason[128];
  int err;
  ws_closer initiator;
  uint16_t code_received;
  uint64_t closed_at; /* the close event's timeStamp: the loop's clock */
} rec;

static inline void rec_add(rec *r, const char *s) {
  size_t n = strlen(r->log);
  snprintf(r->log + n, sizeof r->log - n, "%s%s", n ? "," : "", s);
}

/* Messages are logged with their first REC_MSG_MAX bytes. */
#define REC_MSG_MAX 40

static inline void on_any(const ws_event *ev, void *ud) {
  rec *r = ud;
  const char *type = ws_event_type(ev);
  if (strcmp(type, "close") == 0) {
    const ws_close_event *c = ws_event_as_close(ev);
    const ws_close_diag *d = ws_close_event_diag(c);
    r->closes++;
    r->code = ws_close_event_code(c);
    r->clean = ws_close_event_was_clean(c);
    snprintf(r->reason, sizeof r->reason, "%s", ws_close_event_reason(c, NULL));
    r->err = d->error;
    r->initiator = d->initiator;
    r->code_received = d->code_received;
    r->closed_at = (uint64_t)ws_event_time_stamp(ev);
    char b[64];
    snprintf(b, sizeof b, "close:%u:%d", r->code, r->clean);
    rec_add(r, b);
  } else if (strcmp(type, "message") == 0) {
    size_t len;
    const uint8_t *d = ws_message_event_data(ws_event_as_message(ev), &len);
    char b[REC_MSG_MAX + 8];
    snprintf(b, sizeof b, "msg:%.*s", (int)(len > REC_MSG_MAX ? REC_MSG_MAX : len),
             (const char *)d);
    rec_add(r, b);
  } else {
    if (strcmp(type, "open") == 0)
      r->opens++;
    rec_add(r, type);
  }
}

static inline void watch(ws_socket *ws, rec *r) {
  ws_on(ws, "open", on_any, r);
  ws_on(ws, "message", on_any, r);
  ws_on(ws, "error", on_any, r);
  ws_on(ws, "close", on_any, r);
}

/* The same four handlers for every connection of a server's route (ws_server_route_on). */
static inline void watch_route(ws_server *srv, const char *path, rec *r) {
  ws_server_route_on(srv, path, "open", on_any, r);
  ws_server_route_on(srv, path, "message", on_any, r);
  ws_server_route_on(srv, path, "error", on_any, r);
  ws_server_route_on(srv, path, "close", on_any, r);
}

#endif
