/* Automatic reconnection (RFC 6455 7.2.3) on top of ws_open and ws_reconnect_delay: each
 * attempt is a new ws_socket with its own events; the helper only listens to "open" (to reset
 * the backoff) and "close" (to schedule the next attempt). */
#include "api/api.h"

#include "base/alloc.h"

#include <string.h>

struct ws_reconnect {
  ws_loop *loop;
  const ws_allocator *alloc;
  char *url;
  const char *const *protocols;
  size_t num_protocols;
  ws_open_options opts;
  bool have_opts;
  uint32_t min_ms, max_ms;
  ws_reconnect_cb cb;
  void *ud;
  ws_socket *cur;
  unsigned attempt;
  uint64_t timer; /* app timer id of the next attempt or of the final report, 0 if none */
  bool stopped;
  ws__handle handle; /* ws_loop_free frees a helper that is still running */
};

static void free_helper(ws_reconnect *r) {
  ws__handle_unlink(&r->handle);
  ws__free(r->alloc, r->url);
  ws__free(r->alloc, r);
}

/* ws_loop_free: sockets are cut without events, so no listener of ours can run after this. */
static void cut(ws__handle *h) {
  free_helper((ws_reconnect *)((char *)h - offsetof(ws_reconnect, handle)));
}

static void r_open(const ws_event *ev, void *ud);
static void r_close(const ws_event *ev, void *ud);

static void finish(ws_loop *loop, void *ud) {
  (void)loop;
  ws_reconnect *r = ud;
  r->timer = 0;
  r->cb(r, NULL, r->ud);
  free_helper(r);
}

static void attempt(ws_loop *loop, void *ud) {
  ws_reconnect *r = ud;
  r->timer = 0;
  int err = 0;
  r->cur =
      ws_open(loop, r->url, r->protocols, r->num_protocols, r->have_opts ? &r->opts : NULL, &err);
  if (!r->cur) { /* out of memory: try again later rather than give up silently */
    uint32_t random32;
    ws__random_bytes(NULL, (uint8_t *)&random32, sizeof random32);
    int64_t d = ws_reconnect_delay(NULL, r->attempt++, r->min_ms, r->max_ms, random32);
    r->timer = ws_loop_set_timeout(loop, (uint32_t)d, attempt, r);
    return;
  }
  ws_event_target_add_listener(ws_target(r->cur), "open", r_open, r);
  ws_event_target_add_listener(ws_target(r->cur), "close", r_close, r);
  r->cb(r, r->cur, r->ud);
}

static void r_open(const ws_event *ev, void *ud) {
  (void)ev;
  ((ws_reconnect *)ud)->attempt = 0;
}

static void r_close(const ws_event *ev, void *ud) {
  ws_reconnect *r = ud;
  r->cur = NULL; /* freed after this dispatch */
  if (r->stopped) {
    r->timer = ws_loop_set_timeout(r->loop, 0, finish, r);
    return;
  }
  uint32_t random32;
  ws__random_bytes(NULL, (uint8_t *)&random32, sizeof random32);
  int64_t d =
      ws_reconnect_delay(ws_event_as_close(ev), r->attempt++, r->min_ms, r->max_ms, random32);
  r->timer = ws_loop_set_timeout(r->loop, d < 0 ? 0 : (uint32_t)d, d < 0 ? finish : attempt, r);
}

ws_reconnect *ws_reconnect_start(ws_loop *loop, const char *url, const char *const *protocols,
                                 size_t num_protocols, const ws_open_options *opts, uint32_t min_ms,
                                 uint32_t max_ms, ws_reconnect_cb on_socket, void *ud, int *err) {
  int dummy;
  if (!err)
    err = &dummy;
  if (!loop || !url || !on_socket) {
    *err = WS_ERR_INVAL;
    return NULL;
  }
  const ws_allocator *alloc = ws__loop_alloc(loop);
  ws_reconnect *r = ws__calloc(alloc, 1, sizeof *r);
  size_t ul = strlen(url);
  if (r)
    r->url = ws__malloc(alloc, ul + 1);
  if (!r || !r->url) {
    ws__free(alloc, r);
    *err = WS_ERR_NOMEM;
    return NULL;
  }
  memcpy(r->url, url, ul + 1);
  r->loop = loop;
  r->alloc = alloc;
  r->protocols = protocols;
  r->num_protocols = num_protocols;
  if (opts) {
    r->opts = *opts;
    r->have_opts = true;
  }
  r->min_ms = min_ms;
  r->max_ms = max_ms;
  r->cb = on_socket;
  r->ud = ud;
  /* The first attempt runs now so that a bad URL is reported here, as ws_open would. */
  r->cur = ws_open(loop, r->url, protocols, num_protocols, opts, err);
  if (!r->cur) {
    ws__free(alloc, r->url);
    ws__free(alloc, r);
    return NULL;
  }
  ws_event_target_add_listener(ws_target(r->cur), "open", r_open, r);
  ws_event_target_add_listener(ws_target(r->cur), "close", r_close, r);
  ws__handle_link(loop, &r->handle, cut);
  on_socket(r, r->cur, ud);
  return r;
}

void ws_reconnect_stop(ws_reconnect *r) {
  if (!r || r->stopped)
    return;
  r->stopped = true;
  if (r->cur)
    return; /* its close event reports the end */
  if (r->timer)
    ws_loop_clear_timeout(r->loop, r->timer);
  r->timer = ws_loop_set_timeout(r->loop, 0, finish, r);
}
