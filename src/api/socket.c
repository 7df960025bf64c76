/* The browser-shaped WebSocket object: the client (ws_open) and the per-connection object the
 * server hands out. It glues a ws__sock (loop), a handshake (proto) and a ws_conn (proto), and
 * turns the conn's callbacks into DOM events in the WHATWG order. docs/internals/loop.md. */
#include "api/api.h"
#include "proto/conn_direct.h"

#include "base/alloc.h"
#include "proto/utf8.h"

#include <stdio.h>
#include <string.h>

#define EV_MAGIC 0x77736576u /* "wsev": marks the events this file dispatches */

/* The library's events carry their target after the event itself (DOM event.target). */
typedef struct {
  ws_event ev;
  uint32_t magic;
  ws_socket *ws;
} plain_ev;
typedef struct {
  ws_message_event ev;
  uint32_t magic;
  ws_socket *ws;
} msg_ev;
typedef struct {
  ws_close_event ev;
  uint32_t magic;
  ws_socket *ws;
} close_ev;

static void sock_open(ws__sock *s, int err, const char *detail);
static void sock_read(ws__sock *s, uint8_t *data, size_t len);
static void sock_eof(ws__sock *s);
static void sock_error(ws__sock *s, int err, const char *detail);
static void sock_writable(ws__sock *s);
static uint8_t *sock_read_target(ws__sock *s, size_t *len);
static void sock_read_direct(ws__sock *s, size_t n);
const ws__sock_handler ws__socket_handler = {
    sock_open, sock_read, sock_eof, sock_error, sock_writable, sock_read_target, sock_read_direct};

/* The ws_socket a ws__sock callback is about (the sock is embedded). */
static ws_socket *owner_of(ws__sock *s) {
  return (ws_socket *)(void *)((char *)s - offsetof(ws_socket, sock));
}

static double now_ms(const ws_socket *ws) { return (double)ws_loop_now(ws->sock.loop); }

ws_socket *ws_event_socket(const ws_event *ev) {
  /* Only the library's events are trusted (an application cannot make a trusted event), and
   * only those have the wrapper this reads. */
  if (!ev || !ws_event_is_trusted(ev))
    return NULL;
  switch (ws_event_get_kind(ev)) {
  case WS_EVENT_PLAIN:
    return ((const plain_ev *)ev)->magic == EV_MAGIC ? ((const plain_ev *)ev)->ws : NULL;
  case WS_EVENT_MESSAGE:
    return ((const msg_ev *)ev)->magic == EV_MAGIC ? ((const msg_ev *)ev)->ws : NULL;
  case WS_EVENT_CLOSE:
    return ((const close_ev *)ev)->magic == EV_MAGIC ? ((const close_ev *)ev)->ws : NULL;
  }
  return NULL;
}

static void fire_plain(ws_socket *ws, const char *type) {
  plain_ev e;
  memset(&e, 0, sizeof e);
  ws__event_init(&e.ev, WS_EVENT_PLAIN, type, now_ms(ws));
  e.magic = EV_MAGIC;
  e.ws = ws;
  (void)ws_event_target_dispatch(&ws->target, &e.ev);
}

void ws__socket_fire_open(ws_socket *ws) { fire_plain(ws, "open"); }

/* ---- lifetime --------------------------------------------------------------------------- */
static void free_pend(ws_socket *ws) {
  ws__pend *p = ws->live ? ws->live->pend : NULL;
  if (!p)
    return;
  ws_client_handshake_free(p->chs);
  ws_server_handshake_free(p->shs);
  ws__buf_free(&p->out);
  ws__free(ws__socket_allocator(ws), p->pmd);
  ws__free(ws__socket_allocator(ws), p);
  ws->live->pend = NULL;
}

static void on_timer(ws__timer *t);
static void arm_timer(ws_socket *ws);
static void flush_cb(ws__flush *f);
static void free_live_now(ws__deferred *d);
static void cut_on_loop_free(ws__handle *h);

/* The live block (api.h): made at the start, freed when the connection is parked without a
 * deadline, made again when it wakes. */
static ws__live *live_new(ws_socket *ws) {
  ws__live *lv = ws__calloc(ws__socket_allocator(ws), 1, sizeof *lv);
  if (!lv)
    return NULL;
  lv->ws = ws;
  lv->flush.cb = flush_cb;
  ws__timer_init(&lv->timer, on_timer);
  lv->freer.fn = free_live_now;
  return lv;
}

/* Give the live block back (its conn was parked or freed, nothing is queued or armed). */
static void live_free(ws_socket *ws) {
  ws__live *lv = ws->live;
  if (!lv)
    return;
  ws_loop *loop = ws->sock.loop;
  ws__timer_stop(loop, &lv->timer);
  ws__flush_unmark(loop, &lv->flush);
  ws__handle_unlink(&lv->handle);
  ws_conn_free(lv->conn);
  free_pend(ws);
  ws__free(ws__socket_allocator(ws), lv->client);
  ws__free(ws__socket_allocator(ws), lv);
  ws->live = NULL;
}

static void free_socket(ws_socket *ws) {
  ws__sock_fini(&ws->sock);
  if (ws->srv)
    ws__server_socket_gone(ws->srv, ws);
  live_free(ws);
  ws__event_target_fini(&ws->target);
  ws__free(ws__socket_allocator(ws), ws->negotiated);
  ws_loop *loop = ws->sock.loop;
  ws__free(ws__socket_allocator(ws), ws);
  ws__loop_unref(loop);
}

static void free_live_now(ws__deferred *d) {
  free_socket(((ws__live *)(void *)((char *)d - offsetof(ws__live, freer)))->ws);
}

static void free_idle_now(ws__deferred *d) {
  free_socket((ws_socket *)(void *)((char *)d - offsetof(ws_socket, idle.freer)));
}

static void schedule_free(ws_socket *ws) {
  if (ws->freeing)
    return;
  ws->freeing = true;
  ws->phase = WS__PH_DONE;
  ws__sock_close(&ws->sock);
  if (ws->live) {
    ws__timer_stop(ws->sock.loop, &ws->live->timer);
    ws__flush_unmark(ws->sock.loop, &ws->live->flush);
    ws__defer(ws->sock.loop, &ws->live->freer);
  } else {
    /* Only a parked connection that could not wake has no live block: the park is over, so its
     * bytes carry the deferred free. */
    ws->parked = false;
    ws->idle.freer.fn = free_idle_now;
    ws__defer(ws->sock.loop, &ws->idle.freer);
  }
}

/* ws_loop_free: cut without events (a client through its handle, a server's through the
 * server). */
void ws__socket_drop(ws_socket *ws) {
  ws->events_done = true;
  if (!ws->freeing) {
    ws->freeing = true;
    free_socket(ws);
  }
}

static void cut_on_loop_free(ws__handle *h) {
  ws__handle_unlink(h);
  ws__socket_drop(((ws__live *)(void *)((char *)h - offsetof(ws__live, handle)))->ws);
}

void ws__socket_finish(ws_socket *ws) {
  ws->events_done = true;
  ws->state = WS_CLOSED;
  schedule_free(ws);
}

/* ---- the terminal events ---------------------------------------------------------------- */
/* "error", then a close event that no conn can tell (wasClean false, no reason), then free. */
static void fire_error_and_close(ws_socket *ws, uint16_t code, const ws_close_diag *diag) {
  close_ev ce;
  memset(&ce, 0, sizeof ce);
  ws__close_event_set(&ce.ev, code, "", 0, false, diag, now_ms(ws));
  ce.magic = EV_MAGIC;
  ce.ws = ws;
  fire_plain(ws, "error");
  (void)ws_event_target_dispatch(&ws->target, &ce.ev.base);
  schedule_free(ws);
}

/* A failure before a ws_conn exists (resolution, refused, TLS, bad handshake, timeout, close()
 * while CONNECTING): WHATWG "fail the WebSocket connection" -> error, then close with 1006
 * (1015 for a TLS handshake failure: our own event says more than a browser would). */
static void fail_before_open(ws_socket *ws, int err, const char *detail) {
  if (ws->events_done || ws->freeing)
    return;
  ws->events_done = true;
  ws->state = WS_CLOSED;
  ws__sock_close(&ws->sock);
  if (detail != ws__sock_detail(&ws->sock)) { /* the socket's text outlives the event */
    char *d = ws__sock_detail_buf(&ws->sock);
    if (d)
      snprintf(d, WS__DETAIL_MAX, "%s", detail ? detail : "");
  }
  if (ws->is_server) { /* the application never saw this socket */
    schedule_free(ws);
    return;
  }
  ws_close_diag diag;
  memset(&diag, 0, sizeof diag);
  diag.error = err;
  diag.detail = ws__sock_detail(&ws->sock);
  fire_error_and_close(ws, err == WS_ERR_TLS_HANDSHAKE ? WS_CLOSE_TLS_HANDSHAKE : WS_CLOSE_ABNORMAL,
                       &diag);
}

/* ---- the conn's callbacks --------------------------------------------------------------- */
static int conn_message(ws_conn *c, void *ud, ws_opcode op, const uint8_t *data, size_t len) {
  (void)c;
  ws_socket *ws = ud;
  msg_ev e;
  memset(&e, 0, sizeof e);
  ws__message_event_set(&e.ev, data, len, op == WS_OP_BINARY, now_ms(ws));
  e.magic = EV_MAGIC;
  e.ws = ws;
  (void)ws_event_target_dispatch(&ws->target, &e.ev.base);
  return 0;
}

static void conn_error(ws_conn *c, void *ud, int err) {
  (void)c;
  ws_socket *ws = ud;
  ws->live->fail_err = err;
  fire_plain(ws, "error");
}

static void conn_close(ws_conn *c, void *ud, const ws_close_event *ev) {
  ws_socket *ws = ud;
  if (ws->srv)
    ws__server_socket_closed(ws->srv, ws);
  if (ws->events_done) {
    schedule_free(ws);
    return;
  }
  ws->events_done = true;
  close_ev ce;
  memset(&ce, 0, sizeof ce);
  size_t rl = 0;
  const char *reason = ws_close_event_reason(ev, &rl);
  ws_close_diag diag = *ws_close_event_diag(ev);
  if (ws->terminating && !ws_close_event_was_clean(ev) && !ws_conn_failed(c)) {
    /* ws_terminate: a deliberate local abort, not a failure (no "error" event; see wsclean.h).
     * The conn saw a plain end of transport; say who ended it and why. */
    diag.error = WS_ERR_TERMINATED;
    if (diag.initiator == WS_CLOSER_NONE)
      diag.initiator = WS_CLOSER_LOCAL;
  }
  ws__close_event_set(&ce.ev, ws_close_event_code(ev), reason, rl, ws_close_event_was_clean(ev),
                      &diag, now_ms(ws));
  ce.magic = EV_MAGIC;
  ce.ws = ws;
  (void)ws_event_target_dispatch(&ws->target, &ce.ev.base);
  schedule_free(ws);
}

static const ws_conn_callbacks conn_cbs = {conn_message, NULL, NULL, NULL, conn_error, conn_close};
static void conn_options(const ws_socket *ws, ws_conn_options *o, uint8_t rsv);

/* A parked connection with nothing queued gives its live block back too: it is then its struct
 * ws_socket alone. With a deadline (idle timeout, keepalive) that only when the deadline is more
 * than two sweep periods away: the server's sweep gives the block and its timer back one period
 * ahead of it (ws__socket_rearm), so the deadline is kept to the millisecond, and a connection
 * of a server that pings every 20 s costs its socket alone in between. */
static void release_idle_live(ws_socket *ws) {
  if (!ws->parked || !ws->live || ws->freeing || ws->live->flush.queued)
    return;
  uint64_t when = ws_conn_parked_deadline(&ws->idle.park);
  uint32_t period = ws->srv ? ws__server_sweep_period(ws->srv) : 0;
  if (when == UINT64_MAX ||
      (period && when > ws_loop_now(ws->sock.loop) + 2 * (uint64_t)period))
    live_free(ws);
}

bool ws__socket_rearm(ws_socket *ws, uint64_t until) {
  if (!ws->parked || ws->live || ws->freeing)
    return true;
  uint64_t when = ws_conn_parked_deadline(&ws->idle.park);
  if (when == UINT64_MAX || when > until)
    return true;
  if (!(ws->live = live_new(ws)))
    return false; /* out of memory: the next sweep tries again */
  arm_timer(ws);
  return true;
}

/* ---- parking (memory per idle connection) ----------------------------------------------- */
/* A server's OPEN connection with nothing in flight keeps 32 bytes instead of a ws_conn
 * (wsclean/conn.h ws_conn_park): parked at the end of the flush that sent its 101 if nothing
 * else is going on, later by the server's sweep once idle for park_idle_ms (or at the end of
 * every flush that leaves it idle when that is 0); restored by whatever needs the conn next.
 * Client sockets are not parked. */
bool ws__socket_try_park(ws_socket *ws) {
  ws__live *lv = ws->live;
  if (!lv || !lv->conn || !ws->srv || ws->phase != WS__PH_OPEN || ws->terminating || ws->freeing ||
      lv->pend || !ws_conn_park(lv->conn, &ws->idle.park))
    return false;
  lv->conn = NULL;
  ws->parked = true;
  lv->over_since = 0;
  release_idle_live(ws);
  return true;
}

/* Out of memory while unparking: the connection cannot go on, and there is no conn to tell the
 * story, so the socket does (close 1006, wasClean false, diag.error WS_ERR_NOMEM). */
static void cut_parked(ws_socket *ws) {
  ws->parked = false;
  ws__sock_close(&ws->sock);
  ws->state = WS_CLOSED;
  if (ws->srv)
    ws__server_socket_closed(ws->srv, ws);
  if (ws->events_done || ws->freeing) {
    schedule_free(ws);
    return;
  }
  ws->events_done = true;
  ws_close_diag diag;
  memset(&diag, 0, sizeof diag);
  diag.error = WS_ERR_NOMEM;
  diag.detail = "out of memory restoring an idle connection";
  diag.duration_ms = ws_loop_now(ws->sock.loop) - ws->idle.park.opened_at;
  fire_error_and_close(ws, WS_CLOSE_ABNORMAL, &diag);
}

ws_conn *ws__socket_conn(ws_socket *ws) {
  if (ws->parked) {
    if (!ws->live && !(ws->live = live_new(ws))) {
      cut_parked(ws);
      return NULL;
    }
    ws_conn_options o;
    conn_options(ws, &o, ws->idle.park.rsv_allowed);
    ws_conn *c = ws_conn_unpark(&ws->idle.park, &o, &conn_cbs, ws, ws_loop_now(ws->sock.loop));
    if (!c) {
      cut_parked(ws);
      return NULL;
    }
    ws->live->conn = c;
    ws->parked = false;
    ws->touched = true;
    ws->woke = true;
    if (ws->srv)
      ws__server_socket_unparked(ws->srv);
  }
  return ws__socket_live_conn(ws);
}

/* Broadcast (server.c): queue the shared frame f on ws. A parked connection has nothing queued,
 * so its frame can go to the kernel now without overtaking anything; when the kernel takes all
 * of it the connection stays parked (a broadcast to many idle connections costs no memory per
 * connection). Otherwise it wakes, and the part written is consumed from its queue. */
int ws__socket_send_shared(ws_socket *ws, ws_frame_shared *f) {
  long w = 0;
  if (ws->parked && !ws->sock.ssl && ws->sock.state == WS__SOCK_OPEN && !ws->sock.wr_shut &&
      !ws->sock.write_blocked) {
    ws_slice sl;
    sl.data = ws__frame_shared_wire(f, &sl.len);
    w = ws__sock_write(&ws->sock, &sl, 1);
    if (w < 0)
      w = 0; /* broken: the flush meets the error again and tells the story, not the broadcast */
    else if ((size_t)w == sl.len)
      return WS_OK;
  }
  ws_conn *c = ws__socket_conn(ws);
  if (!c)
    return WS_ERR_NOMEM;
  int rc = ws_conn_send_shared(c, f);
  if (rc == WS_OK && w > 0)
    ws_conn_consume_out(c, (size_t)w);
  else if (rc != WS_OK && w > 0) /* part of a frame is out and the rest cannot follow */
    ws__socket_cut(ws, rc, "out of memory finishing a broadcast frame");
  if (rc == WS_OK)
    ws__socket_touch(ws);
  return rc;
}

/* ---- timers ----------------------------------------------------------------------------- */
static void arm_timer(ws_socket *ws) {
  ws__live *lv = ws->live;
  if (ws->freeing || !lv)
    return; /* no live block: parked with nothing to wait for */
  uint64_t when = UINT64_MAX;
  if (ws->abort_pending)
    when = ws_loop_now(ws->sock.loop);
  else if (ws->phase == WS__PH_OPEN && ws->parked)
    when = ws_conn_parked_deadline(&ws->idle.park);
  else if (ws->phase == WS__PH_OPEN && lv->conn) {
    when = ws_conn_next_deadline(lv->conn);
    size_t bytes;
    uint32_t ms;
    if (lv->over_since && ws->srv && ws_conn_ready_state(lv->conn) == WS_OPEN &&
        ws__server_slow_limits(ws->srv, &bytes, &ms) && lv->over_since + ms < when)
      when = lv->over_since + ms;
  } else if (ws->phase != WS__PH_DONE)
    when = lv->pend ? lv->pend->handshake_deadline : UINT64_MAX;
  if (when == UINT64_MAX)
    ws__timer_stop(ws->sock.loop, &lv->timer);
  else
    (void)ws__timer_start_at(ws->sock.loop, &lv->timer, when);
}

/* Backpressure (server option): output that stays over the limit for too long means a peer
 * that does not read. Fail it with 1008 rather than let memory grow; see wsclean.h. */
static void check_slow_consumer(ws_socket *ws) {
  size_t bytes;
  uint32_t ms;
  ws__live *lv = ws->live; /* flush_cb's caller: there is one */
  if (!lv->conn || !ws->srv || !ws__server_slow_limits(ws->srv, &bytes, &ms) ||
      ws_conn_ready_state(lv->conn) != WS_OPEN) {
    lv->over_since = 0; /* parked: nothing is queued */
    return;
  }
  uint64_t now = ws_loop_now(ws->sock.loop);
  if (ws_conn_pending_bytes(lv->conn) <= bytes) {
    lv->over_since = 0;
    return;
  }
  if (lv->over_since == 0)
    lv->over_since = now;
  else if (now - lv->over_since >= ms) {
    ws__socket_clock(ws);
    ws_conn_fail(lv->conn, WS_ERR_SLOW_CONSUMER, WS_CLOSE_POLICY_VIOLATION);
  }
}

static void on_timer(ws__timer *t) {
  ws_socket *ws = ((ws__live *)(void *)((char *)t - offsetof(ws__live, timer)))->ws;
  if (ws->abort_pending) {
    ws->abort_pending = false;
    fail_before_open(ws, WS_ERR_ABORTED, "close() was called before the connection opened");
    return;
  }
  if (ws->phase == WS__PH_OPEN && ws__socket_has_conn(ws)) {
    ws_conn *c = ws__socket_conn(ws);
    if (!c)
      return;
    ws_conn_tick(c, ws_loop_now(ws->sock.loop));
    ws__socket_touch(ws);
    arm_timer(ws);
    return;
  }
  if (ws->phase == WS__PH_CONNECT && ws->live->fail_err)
    fail_before_open(ws, ws->live->fail_err,
                     ws__sock_detail(&ws->sock)); /* ws_open's connect failed at once */
  else if (ws->phase == WS__PH_CONNECT || ws->phase == WS__PH_HANDSHAKE)
    fail_before_open(ws, WS_ERR_HANDSHAKE_TIMEOUT, "the opening handshake timed out");
  else if (ws->phase == WS__PH_HTTP)
    ws__socket_finish(ws);
}

void ws__socket_start_timer(ws_socket *ws) { arm_timer(ws); }

/* ---- writing (once per turn) ------------------------------------------------------------ */
static void transport_gone(ws_socket *ws, int err, const char *detail) {
  ws__sock_close(&ws->sock);
  if (ws__socket_has_conn(ws)) {
    if (!ws__socket_conn(ws))
      return; /* cut_parked told the story */
    ws__socket_clock(ws);
    ws_conn_transport_closed(ws->live->conn, err, detail); /* error/close; may schedule free */
  } else
    fail_before_open(ws, err, detail);
}

void ws__socket_cut(ws_socket *ws, int err, const char *detail) {
  if (ws->freeing)
    return;
  if (ws->phase == WS__PH_OPEN)
    transport_gone(ws, err, detail);
  else
    fail_before_open(ws, err, detail);
}

/* What is left to write of the handshake's bytes (the request, the 101 or an HTTP answer);
 * empty once written or when there is no ws__pend any more. */
static ws_slice pend_rest(const ws__pend *pd) {
  ws_slice sl = {NULL, 0};
  if (pd && pd->out_off < pd->out.len) {
    sl.data = pd->out.data + pd->out_off;
    sl.len = pd->out.len - pd->out_off;
  }
  return sl;
}

/* ws_terminate, at the end of the turn it was called in: a server's 101 still waiting goes out
 * first (one attempt), so that a connection handler may terminate and the client still sees an
 * open connection that then drops; frames queued by the conn are not written. TCP is closed
 * (FIN, or RST when unread input waits: either way no close frame), then the close event. */
static void terminate_now(ws_socket *ws) {
  ws_slice sl = pend_rest(ws->live->pend);
  if (ws->sock.state == WS__SOCK_OPEN && sl.len)
    (void)ws__sock_write(&ws->sock, &sl, 1);
  ws__sock_close(&ws->sock);
  ws_conn *c = ws__socket_conn(ws);
  if (!c)
    return;
  ws__socket_clock(ws);
  /* A plain end of transport for the conn: not a failure, so no "error" event; conn_close
   * puts WS_ERR_TERMINATED in the diagnostics. */
  ws_conn_transport_closed(c, WS_ERR_PROTO_EOF, "ws_terminate() cut the connection");
}

static void flush_cb(ws__flush *f) {
  ws_socket *ws = ((ws__live *)(void *)((char *)f - offsetof(ws__live, flush)))->ws;
  if (ws->freeing)
    return;
  ws->touched = true; /* read or written this turn: not idle (the parking sweep) */
  if (ws->terminating && ws__socket_has_conn(ws)) {
    terminate_now(ws);
    return;
  }
  if (ws->sock.state != WS__SOCK_OPEN)
    return;
  ws__pend *pd = ws->live->pend;
  if (ws->phase != WS__PH_OPEN) {
    ws_slice rest = pend_rest(pd);
    if (rest.len) {
      long w = ws__sock_write(&ws->sock, &rest, 1);
      if (w < 0) {
        fail_before_open(ws, (int)w, ws__sock_detail(&ws->sock));
        return;
      }
      pd->out_off += (size_t)w;
    }
    if (ws->phase == WS__PH_HTTP && pend_rest(pd).len == 0) {
      /* Answered: FIN, then the socket ends (the peer's close or the timer frees it). */
      ws__sock_shutdown_write(&ws->sock);
    }
    return;
  }
  if (ws->parked) { /* nothing to write (parked by the sweep after this was queued) */
    release_idle_live(ws);
    arm_timer(ws);
    return;
  }
  ws_conn *c = ws->live->conn;
  check_slow_consumer(ws);
  /* One writev: the rest of the 101 response (server) ahead of the connection's frames. */
  ws_slice sl[64];
  int k = 0;
  ws_slice rest = pend_rest(pd);
  size_t head = rest.len;
  if (head > 0)
    sl[k++] = rest;
  int n = k + ws_conn_pending_out(c, sl + k, 64 - k);
  if (n > 0) {
    long w = ws__sock_write(&ws->sock, sl, n);
    if (w < 0) {
      transport_gone(ws, (int)w, ws__sock_detail(&ws->sock));
      return;
    }
    size_t wr = (size_t)w;
    size_t h = wr < head ? wr : head;
    if (h)
      pd->out_off += h;
    if (wr > h)
      ws_conn_consume_out(c, wr - h);
    /* More than 64 slices were waiting and the socket took them all: write again (the flush
     * list is re-run until empty, and each pass consumes output, so this ends). */
    if (!ws->sock.write_blocked && ws_conn_pending_bytes(c) > 0) {
      ws__flush_mark(ws->sock.loop, &ws->live->flush);
      return;
    }
  }
  if (pend_rest(pd).len) {
    arm_timer(ws);
    return; /* the FIN must not overtake the 101 */
  }
  free_pend(ws); /* open and the 101 is out: what the handshake needed goes */
  switch (ws_conn_transport(c)) {
  case WS_TRANSPORT_KEEP:
    break;
  case WS_TRANSPORT_SHUTDOWN:
    if (ws_conn_pending_bytes(c) == 0)
      ws__sock_shutdown_write(&ws->sock);
    break;
  case WS_TRANSPORT_CLOSE:
    transport_gone(ws, WS_OK, NULL);
    return;
  }
  /* A connection that has been idle since its handshake is parked at once: most idle
   * connections are those that opened and wait (push, presence); one that has worked since then
   * is left to the sweep, so that a busy connection does not pay for parking at every message. */
  if (ws->srv && (!ws->woke || ws__server_parks_at_once(ws->srv)))
    (void)ws__socket_try_park(ws);
  arm_timer(ws);
}

/* ---- socket callbacks ------------------------------------------------------------------- */
static void sock_open(ws__sock *s, int err, const char *detail) {
  ws_socket *ws = owner_of(s);
  if (err != WS_OK) {
    fail_before_open(ws, err, detail);
    return;
  }
  ws->phase = WS__PH_HANDSHAKE;
  if (!ws->is_server) {
    size_t len;
    const uint8_t *req = ws_client_handshake_request(ws->live->pend->chs, &len);
    if (ws__buf_append(&ws->live->pend->out, req, len) != WS_OK) {
      fail_before_open(ws, WS_ERR_NOMEM, "request");
      return;
    }
    ws__socket_touch(ws);
  }
}

/* Both ends: the handshake succeeded; run the connection. rest = the first frames. */
static void conn_options(const ws_socket *ws, ws_conn_options *o, uint8_t rsv) {
  /* A server's connections share its options; a client has its own (ws__client). */
  *o = ws->is_server ? *ws__server_conn_options(ws->srv) : ws->live->client->copts;
  o->role = ws->is_server ? WS_ROLE_SERVER : WS_ROLE_CLIENT;
  o->alloc = ws__socket_allocator(ws);
  o->rsv_allowed = rsv;
  o->deflate = NULL;
  if (!o->random) {
    o->random = ws__random_bytes;
    o->random_ud = NULL;
  }
}

static int start_conn(ws_socket *ws, uint8_t rsv, const ws_ext_list *ext) {
  ws_conn_options o;
  conn_options(ws, &o, rsv);
  /* permessage-deflate: what the handshake agreed goes to the conn (docs/deflate.md). */
  ws_deflate_params dp;
  const ws_deflate_options *dopt = ws->is_server
                                       ? (ws->srv ? ws__server_deflate(ws->srv) : NULL)
                                       : (ws->live->pend->pmd ? &ws->live->pend->pmd->o : NULL);
  if (dopt && ws_deflate_params_from_handshake(&dp, o.role, dopt, ext) == 1)
    o.deflate = &dp;
  ws->live->conn = ws_conn_new(&o, &conn_cbs, ws, ws_loop_now(ws->sock.loop));
  if (!ws->live->conn)
    return WS_ERR_NOMEM;
  ws->phase = WS__PH_OPEN;
  ws->state = WS_OPEN;
  /* A client's request is out; a server puts its 101 here next. */
  ws__buf_clear(&ws->live->pend->out);
  ws->live->pend->out_off = 0;
  return WS_OK;
}

void ws__socket_set_negotiated(ws_socket *ws, const char *protocol, const ws_ext_list *ext) {
  char buf[1024] = "";
  if (ext && ext->num_offers > 0 && ws_ext_list_format(ext, buf, sizeof buf) < 0)
    buf[0] = 0;
  const ws_allocator *a = ws__socket_allocator(ws);
  ws__free(a, ws->negotiated);
  ws->negotiated = NULL;
  /* Nothing negotiated (the common case) costs no allocation: the getters answer "". One
   * block otherwise: "protocol\0extensions\0". */
  size_t pl = protocol ? strlen(protocol) : 0, el = strlen(buf);
  if (pl + el == 0)
    return;
  ws->negotiated = ws__malloc(a, pl + el + 2);
  if (ws->negotiated) { /* out of memory: reported as nothing negotiated */
    memcpy(ws->negotiated, protocol ? protocol : "", pl + 1);
    memcpy(ws->negotiated + pl + 1, buf, el + 1);
  }
}

static void client_handshake_read(ws_socket *ws, uint8_t *data, size_t len) {
  size_t used = 0;
  int rc = ws_client_handshake_recv(ws->live->pend->chs, data, len, &used);
  if (rc == WS_ERR_AGAIN)
    return;
  if (rc != WS_OK) {
    fail_before_open(ws, rc, ws_client_handshake_detail(ws->live->pend->chs));
    return;
  }
  ws__socket_set_negotiated(ws, ws_client_handshake_protocol(ws->live->pend->chs),
                            ws_client_handshake_extensions(ws->live->pend->chs));
  if (start_conn(ws, ws_client_handshake_rsv(ws->live->pend->chs),
                 ws_client_handshake_extensions(ws->live->pend->chs)) != WS_OK) {
    fail_before_open(ws, WS_ERR_NOMEM, "connection");
    return;
  }
  /* Everything the handshake negotiated has been copied: an open connection keeps no head
   * buffer (per-connection memory stays small while idle). */
  ws_client_handshake_free(ws->live->pend->chs);
  ws->live->pend->chs = NULL;
  fire_plain(ws, "open");
  if (ws->freeing)
    return;
  if (used < len)
    (void)ws_conn_recv(ws->live->conn, data + used, len - used);
  ws__socket_touch(ws);
}

static void server_handshake_read(ws_socket *ws, uint8_t *data, size_t len) {
  size_t used = 0;
  ws__pend *pd = ws->live->pend;
  if (!pd->shs) /* made at the request's first byte, not at accept */
    pd->shs = ws_server_handshake_new(ws__server_hs_options(ws->srv), ws__socket_allocator(ws));
  if (!pd->shs) {
    ws__socket_finish(ws);
    return;
  }
  int rc = ws_server_handshake_recv(ws->live->pend->shs, data, len, &used);
  if (rc == WS_ERR_AGAIN)
    return;
  if (rc == WS_OK) {
    size_t rl;
    const uint8_t *resp = ws_server_handshake_response(ws->live->pend->shs, &rl);
    ws__socket_set_negotiated(ws, ws_server_handshake_protocol(ws->live->pend->shs),
                              ws_server_handshake_extensions(ws->live->pend->shs));
    if (start_conn(ws, ws_server_handshake_rsv(ws->live->pend->shs),
                   ws_server_handshake_extensions(ws->live->pend->shs)) != WS_OK) {
      ws__socket_finish(ws);
      return;
    }
    if (ws__buf_append(&ws->live->pend->out, resp, rl) != WS_OK) {
      ws__socket_finish(ws);
      return;
    }
    ws__socket_touch(ws);
    ws__server_on_upgrade(ws->srv, ws, data + used, len - used);
    /* The request is no longer needed: see the client. */
    ws_server_handshake_free(ws->live->pend->shs);
    ws->live->pend->shs = NULL;
    return;
  }
  ws__server_on_http(ws->srv, ws, rc);
}

/* The rest of a large frame goes straight into the conn's message buffer (src/proto/
 * conn_direct.h): one copy less per byte of a message that spans reads. */
static uint8_t *sock_read_target(ws__sock *s, size_t *len) {
  ws_socket *ws = owner_of(s);
  *len = 0;
  ws_conn *c = ws__socket_live_conn(ws);
  if (ws->phase != WS__PH_OPEN || ws->terminating || ws->freeing || !c)
    return NULL; /* parked: nothing is in progress */
  return ws__conn_recv_direct(c, WS__DIRECT_MIN, len);
}

static void sock_read_direct(ws__sock *s, size_t n) {
  ws_socket *ws = owner_of(s);
  ws__socket_clock(ws);
  (void)ws__conn_recv_commit(ws->live->conn, n);
  ws__socket_touch(ws);
}

static void sock_read(ws__sock *s, uint8_t *data, size_t len) {
  ws_socket *ws = owner_of(s);
  switch (ws->phase) {
  case WS__PH_HANDSHAKE:
    if (ws->is_server)
      server_handshake_read(ws, data, len);
    else
      client_handshake_read(ws, data, len);
    return;
  case WS__PH_OPEN:
    if (ws->terminating)
      return; /* ws_terminate: nothing more is delivered before the close event */
    if (!ws__socket_conn(ws))
      return;
    ws__socket_clock(ws);
    (void)ws_conn_recv(ws->live->conn, data, len);
    ws__socket_touch(ws);
    return;
  default:
    return; /* an HTTP answer is on its way out: input is ignored */
  }
}

static void sock_eof(ws__sock *s) {
  ws_socket *ws = owner_of(s);
  if (ws->phase == WS__PH_OPEN) {
    if (!ws__socket_conn(ws))
      return;
    ws__socket_clock(ws);
    ws_conn_eof(ws->live->conn);
    ws__socket_touch(ws);
  } else if (ws->phase == WS__PH_HTTP) {
    ws__socket_finish(ws);
  } else {
    fail_before_open(ws, WS_ERR_PROTO_EOF, "the server closed the connection during the handshake");
  }
}

static void sock_error(ws__sock *s, int err, const char *detail) {
  ws_socket *ws = owner_of(s);
  if (ws->phase == WS__PH_HTTP)
    ws__socket_finish(ws);
  else
    ws__socket_cut(ws, err, detail);
}

static void sock_writable(ws__sock *s) { ws__socket_touch(owner_of(s)); }

/* ---- construction ----------------------------------------------------------------------- */
ws_socket *ws__socket_alloc(ws_loop *loop, bool is_server) {
  const ws_allocator *alloc = ws__loop_alloc(loop);
  ws_socket *ws = ws__calloc(alloc, 1, sizeof *ws);
  if (!ws)
    return NULL;
  ws__sock_init(&ws->sock, loop, &ws__socket_handler);
  ws->live = live_new(ws);
  ws__pend *pend = ws->live ? ws__calloc(alloc, 1, sizeof *pend) : NULL;
  if (!pend) {
    ws__free(alloc, ws->live);
    ws__free(alloc, ws);
    return NULL;
  }
  ws->live->pend = pend;
  ws__event_target_init(&ws->target, alloc);
  ws->is_server = is_server;
  ws->state = WS_CONNECTING;
  /* Handshake heads are at most 8 KiB each way; an HTTP answer body at most 16 MiB. */
  ws__buf_init(&pend->out, alloc, (16u << 20) + 8192u);
  if (!is_server) /* a server's sockets are cut by their server */
    ws__handle_link(loop, &ws->live->handle, cut_on_loop_free);
  ws__loop_ref(loop);
  return ws;
}

void ws_open_options_init(ws_open_options *o) {
  memset(o, 0, sizeof *o);
  o->size = sizeof *o;
  o->handshake_timeout_ms = 30000;
  ws_conn_options_init(&o->conn, WS_ROLE_CLIENT);
  ws_deflate_options_init(&o->deflate, WS_ROLE_CLIENT);
}

ws_socket *ws_open(ws_loop *loop, const char *url, const char *const *protocols,
                   size_t num_protocols, const ws_open_options *opts, int *err) {
  int dummy;
  if (!err)
    err = &dummy;
  ws_open_options defaults;
  if (!opts) {
    ws_open_options_init(&defaults);
    opts = &defaults;
  }
  if (!loop || !url) {
    *err = WS_ERR_INVAL;
    return NULL;
  }
  const ws_allocator *alloc = ws__loop_alloc(loop);
  ws_client_handshake *hs = ws_client_handshake_new(alloc);
  if (!hs) {
    *err = WS_ERR_NOMEM;
    return NULL;
  }
  ws_client_handshake_options ho;
  ws_client_handshake_options_init(&ho);
  ho.url = url;
  ho.random = ws__random_bytes;
  ho.origin = opts->origin;
  ho.protocols = protocols;
  ho.num_protocols = num_protocols;
  ho.headers = opts->headers;
  ho.num_headers = opts->num_headers;
  /* permessage-deflate: offered when enabled (the default for clients, docs/deflate.md). */
  ws__pmd_ctx *pmd = NULL;
  if (opts->deflate.enabled) {
    int drc = ws_deflate_options_check(&opts->deflate);
    if (drc == WS_OK && !(pmd = ws__malloc(alloc, sizeof *pmd)))
      drc = WS_ERR_NOMEM;
    if (drc != WS_OK) {
      ws_client_handshake_free(hs);
      *err = drc;
      return NULL;
    }
    pmd->o = opts->deflate;
    ws_deflate_extension(&pmd->e, &pmd->o);
    ho.extensions = &pmd->e;
    ho.num_extensions = 1;
  }
  int rc = ws_client_handshake_start(hs, &ho);
  if (rc != WS_OK) {
    ws_client_handshake_free(hs);
    ws__free(alloc, pmd);
    *err = rc;
    return NULL;
  }
  const ws_url *u = ws_client_handshake_url(hs);
  SSL_CTX *tls = NULL;
  char detail[WS__DETAIL_MAX];
  if (u->secure) {
    tls = ws__tls_client_ctx(opts->ca_file, opts->insecure, detail, sizeof detail);
    if (!tls) {
      ws_client_handshake_free(hs);
      ws__free(alloc, pmd);
      *err = WS_ERR_TLS_CONFIG;
      return NULL;
    }
  }
  ws_socket *ws = ws__socket_alloc(loop, false);
  char us[2048];
  int ul = snprintf(us, sizeof us, "%s://%s%s%s:%u%s", u->secure ? "wss" : "ws", u->ipv6 ? "[" : "",
                    u->host, u->ipv6 ? "]" : "", (unsigned)u->port, u->resource);
  /* A client's own conn options and its URL, one block (ws__client). */
  size_t url_len = ul < 0 ? 0 : (size_t)ul >= sizeof us ? sizeof us - 1 : (size_t)ul;
  ws__client *cl = ws ? ws__malloc(alloc, sizeof *cl + url_len + 1) : NULL;
  if (cl) {
    cl->copts = opts->conn;
    cl->copts.role = WS_ROLE_CLIENT;
    memcpy(cl->url, us, url_len);
    cl->url[url_len] = '\0';
    ws->live->client = cl;
  }
  if (!ws || !cl) {
    if (ws) {
      ws->freeing = true;
      free_socket(ws);
    }
    ws_client_handshake_free(hs);
    ws__free(alloc, pmd);
    ws__tls_ctx_free(tls);
    *err = WS_ERR_NOMEM;
    return NULL;
  }
  ws->live->pend->chs = hs;
  ws->live->pend->pmd = pmd;
  ws->live->pend->handshake_deadline = ws_loop_now(loop) + opts->handshake_timeout_ms;
  char port[8];
  snprintf(port, sizeof port, "%u", (unsigned)u->port);
  rc = ws__sock_connect(&ws->sock, u->host, port, tls);
  ws__tls_ctx_free(tls); /* the SSL holds its own reference */
  if (rc != WS_OK) {
    /* Network failures are events, not return values (WHATWG): report from the loop. */
    ws->live->fail_err = rc;
    ws->live->pend->handshake_deadline = ws_loop_now(loop);
  }
  arm_timer(ws);
  *err = WS_OK;
  return ws;
}

/* ---- the socket's API ------------------------------------------------------------------- */
ws_event_target *ws_target(ws_socket *ws) { return ws ? &ws->target : NULL; }

int ws_on(ws_socket *ws, const char *type, ws_event_listener_cb cb, void *ud) {
  if (!ws || !type)
    return WS_ERR_INVAL;
  return ws_event_target_set_handler(&ws->target, type, cb, ud);
}

ws_ready_state ws_state(const ws_socket *ws) {
  ws_conn *c = ws__socket_live_conn(ws);
  if (!c && !ws->parked)
    return (ws_ready_state)ws->state;
  ws_ready_state st = c ? ws_conn_ready_state(c) : WS_OPEN; /* parked: idle, OPEN */
  return ws->terminating && st != WS_CLOSED ? WS_CLOSING : st;
}

static int send_msg(ws_socket *ws, ws_opcode op, const void *data, size_t len) {
  if (!ws || (!data && len))
    return WS_ERR_INVAL;
  if (!ws__socket_has_conn(ws))
    return ws->state == WS_CONNECTING ? WS_ERR_STATE : WS_OK;
  if (ws->terminating)
    return WS_OK; /* as after close(): the data is dropped */
  if (!ws__socket_conn(ws))
    return WS_ERR_NOMEM;
  ws__socket_clock(ws);
  /* ws_send_text validated the text already (WS_ERR_SYNTAX comes first): not twice. */
  int rc = ws__conn_send_checked(ws->live->conn, op, data, len);
  if (rc == WS_ERR_STATE)
    return WS_OK; /* WHATWG: after close() the data is dropped, counted in bufferedAmount */
  if (rc == WS_OK)
    ws__socket_touch(ws);
  return rc;
}

int ws_send_text(ws_socket *ws, const char *text, size_t len) {
  if (text && !ws__utf8_valid((const uint8_t *)text, len))
    return WS_ERR_SYNTAX;
  return send_msg(ws, WS_OP_TEXT, text, len);
}

int ws_send_binary(ws_socket *ws, const void *data, size_t len) {
  return send_msg(ws, WS_OP_BINARY, data, len);
}

int ws_ping(ws_socket *ws, const void *data, size_t len) {
  if (!ws || len > 125)
    return WS_ERR_INVAL;
  if (!ws__socket_has_conn(ws))
    return ws->state == WS_CONNECTING ? WS_ERR_STATE : WS_OK;
  if (ws->terminating)
    return WS_OK;
  if (!ws__socket_conn(ws))
    return WS_ERR_NOMEM;
  ws__socket_clock(ws);
  int rc = ws_conn_ping(ws->live->conn, data, len);
  ws__socket_touch(ws);
  return rc;
}

static int close_common(ws_socket *ws, uint16_t code, const char *reason) {
  size_t rl = reason ? strlen(reason) : 0;
  /* WHATWG close() step 2: a reason longer than 123 bytes (UTF-8) is a SyntaxError. */
  if (rl > 123 || (rl && !ws__utf8_valid((const uint8_t *)reason, rl)))
    return WS_ERR_SYNTAX;
  ws_ready_state st = ws_state(ws);
  if (st == WS_CLOSING || st == WS_CLOSED)
    return WS_OK;
  if (st == WS_CONNECTING) {
    /* WHATWG close() step 3: fail the connection; readyState CLOSING; error + close follow. */
    ws->state = WS_CLOSING;
    ws__sock_close(&ws->sock);
    ws->abort_pending = true;
    arm_timer(ws);
    return WS_OK;
  }
  /* A reason without a code means 1000 (WHATWG close() step 4); neither: an empty body. */
  if (code == 0 && reason)
    code = WS_CLOSE_NORMAL;
  if (!ws__socket_conn(ws))
    return WS_OK; /* out of memory: the connection was cut instead (close event 1006) */
  ws__socket_clock(ws);
  int rc = ws_conn_close(ws->live->conn, code, reason, rl);
  ws__socket_touch(ws);
  return rc;
}

int ws_close(ws_socket *ws, uint16_t code, const char *reason) {
  if (!ws)
    return WS_ERR_INVAL;
  /* WHATWG close() step 1: only 1000 and 3000-4999, checked before anything else. */
  if (code != 0 && !ws_close_code_app_sendable(code))
    return WS_ERR_INVALID_ACCESS;
  return close_common(ws, code, reason);
}

int ws_close_with(ws_socket *ws, uint16_t code, const char *reason) {
  if (!ws)
    return WS_ERR_INVAL;
  if (code != 0 && !ws_close_code_on_wire(code))
    return WS_ERR_INVALID_ACCESS;
  return close_common(ws, code, reason);
}

int ws_terminate(ws_socket *ws) {
  if (!ws)
    return WS_ERR_INVAL;
  ws_ready_state st = ws_state(ws);
  if (st == WS_CLOSED || ws->freeing)
    return WS_OK;
  if (st == WS_CONNECTING || !ws__socket_has_conn(ws))
    return close_common(ws, 0, NULL); /* WHATWG close() while CONNECTING: fail it */
  if (ws->terminating)
    return WS_OK;
  if (!ws__socket_conn(ws))
    return WS_OK; /* out of memory waking it: cut instead (close event 1006) */
  ws->terminating = true;
  ws__socket_touch(ws); /* the cut and the events come at the end of the turn */
  return WS_OK;
}

static int set_paused(ws_socket *ws, bool paused) {
  if (!ws)
    return WS_ERR_INVAL;
  if (!ws__socket_has_conn(ws) || ws->freeing || ws_state(ws) == WS_CLOSED)
    return WS_ERR_STATE;
  ws__sock_pause_read(&ws->sock, paused);
  return WS_OK;
}

int ws_pause(ws_socket *ws) { return set_paused(ws, true); }
int ws_resume(ws_socket *ws) { return set_paused(ws, false); }

bool ws_is_paused(const ws_socket *ws) { return ws && ws->sock.rd_paused; }

uint64_t ws_buffered_amount(const ws_socket *ws) {
  ws_conn *c = ws ? ws__socket_live_conn(ws) : NULL;
  return c ? ws_conn_buffered_amount(c) : 0;
}
const char *ws_protocol(const ws_socket *ws) { return ws && ws->negotiated ? ws->negotiated : ""; }
const char *ws_extensions(const ws_socket *ws) {
  return ws && ws->negotiated ? ws->negotiated + strlen(ws->negotiated) + 1 : "";
}
const char *ws_get_url(const ws_socket *ws) {
  return ws && ws->live && ws->live->client ? ws->live->client->url : "";
}
void ws_set_user_data(ws_socket *ws, void *ud) {
  if (ws)
    ws->user_data = ud;
}
void *ws_user_data(const ws_socket *ws) { return ws ? ws->user_data : NULL; }

/* ---- reconnect policy ------------------------------------------------------------------- */
int64_t ws_reconnect_delay(const ws_close_event *last, unsigned attempt, uint32_t min_ms,
                           uint32_t max_ms, uint32_t random32) {
  if (min_ms == 0)
    min_ms = 1000;
  if (max_ms == 0)
    max_ms = 30000;
  if (max_ms < min_ms)
    max_ms = min_ms;
  uint64_t floor_ms = 0;
  if (last) {
    uint16_t code = ws_close_event_code(last);
    switch (code) {
    case WS_CLOSE_NORMAL:
      if (ws_close_event_was_clean(last))
        return -1;
      break;
    /* The same request would be refused the same way: do not retry. */
    case WS_CLOSE_PROTOCOL_ERROR:
    case WS_CLOSE_UNSUPPORTED_DATA:
    case WS_CLOSE_POLICY_VIOLATION:
      return -1;
    /* The server asked to come back later. */
    case WS_CLOSE_SERVICE_RESTART:
    case WS_CLOSE_TRY_AGAIN_LATER:
      floor_ms = 5000;
      break;
    default:
      break;
    }
  }
  /* RFC 6455 7.2.3: a random first delay, then truncated exponential backoff. */
  uint64_t base = min_ms;
  for (unsigned i = 0; i < attempt && base < max_ms; i++)
    base *= 2;
  if (base > max_ms)
    base = max_ms;
  uint64_t half = base / 2;
  uint64_t d = half + (half ? (uint64_t)random32 % (base - half + 1) : 0);
  if (d < floor_ms)
    d = floor_ms + (uint64_t)random32 % 1000u;
  return (int64_t)d;
}
