/* src/api: the browser-shaped client and the server, over loopback inside one loop.
 * WHATWG close() validation, event order, CONNECTING failures, server limits, broadcast,
 * shutdown, the HTTP hook and the reconnect policy. Real peers are in tests/interop. */
#include "wsclean/wsclean.h"
#include "wstest.h"
#include "wstest_alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <unistd.h>

#include "api_recorder.h"
#include "api/api.h" /* white-box: sizeof(ws__live), which parking gives back */

/* ---- a test server ----------------------------------------------------------------------- */
typedef struct harness {
  ws_loop *loop;
  ws_server *srv;
  rec srec[8];
  ws_socket *sws[8];
  int nconn;
  char url[128];
  int fail_handler;
} harness;

/* Echo a message as it came: text as text, binary as binary. */
static void s_echo(const ws_event *ev, void *ud) {
  (void)ud;
  size_t len;
  const ws_message_event *m = ws_event_as_message(ev);
  const uint8_t *d = ws_message_event_data(m, &len);
  ws_socket *ws = ws_event_socket(ev);
  if (ws_message_event_is_binary(m))
    ws_send_binary(ws, d, len);
  else
    ws_send_text(ws, (const char *)d, len);
}

static int on_conn(ws_server *srv, ws_socket *ws, const ws_http_request *req, void *ud) {
  (void)srv, (void)req;
  harness *h = ud;
  if (h->nconn < 8) {
    h->sws[h->nconn] = ws;
    watch(ws, &h->srec[h->nconn]);
    ws_event_target_add_listener(ws_target(ws), "message", s_echo, NULL);
    ws_set_user_data(ws, &h->srec[h->nconn]);
    h->nconn++;
  }
  return h->fail_handler ? -1 : 0;
}

static void h_http(ws_server *srv, ws_http_exchange *x, const ws_http_request *req, void *ud) {
  (void)srv, (void)ud;
  if (req->path_len == 6 && memcmp(req->path, "/hello", 6) == 0)
    ws_http_respond(x, 200, "text/plain", "hi there", 8);
}

static void h_init(harness *h, uint32_t max_conn) {
  memset(h, 0, sizeof *h);
  h->loop = ws_loop_new(NULL);
  ws_server_options o;
  ws_server_options_init(&o);
  o.host = "127.0.0.1";
  if (max_conn)
    o.max_connections = max_conn;
  o.on_http = h_http;
  int err = 0;
  h->srv = ws_server_new(h->loop, &o, &err);
  WS_CHECK_EQ_INT(err, WS_OK);
  static const char *const protos[] = {"chat", "superchat"};
  ws_server_route(h->srv, "/t", protos, 2, on_conn, h);
  snprintf(h->url, sizeof h->url, "ws://127.0.0.1:%u/t", ws_server_port(h->srv));
}

/* Run until cond() holds or 3 s pass. */
static void h_run(harness *h, bool (*cond)(harness *h, void *arg), void *arg) {
  for (int i = 0; i < 300 && !cond(h, arg); i++)
    ws_loop_run_once(h->loop, 10);
}

static void h_free(harness *h) {
  if (h->srv)
    ws_server_shutdown(h->srv, 1001, 200);
  /* Until nothing is left (run_once returns 0), at most 3 s. */
  for (int i = 0; i < 300 && ws_loop_run_once(h->loop, 10) > 0; i++) {
  }
  ws_loop_free(h->loop);
}

static bool rec_closed(harness *h, void *arg) {
  (void)h;
  return ((rec *)arg)->closes > 0;
}
static bool rec_opened(harness *h, void *arg) {
  (void)h;
  return ((rec *)arg)->opens > 0 || ((rec *)arg)->closes > 0;
}
static bool srv_closed(harness *h, void *arg) {
  int i = *(int *)arg;
  return h->srec[i].closes > 0;
}

/* ---- WHATWG close() ---------------------------------------------------------------------- */
WS_TEST(close_validation_table_while_open) {
  harness h;
  h_init(&h, 0);
  rec r = {0};
  ws_socket *ws = ws_open(h.loop, h.url, NULL, 0, NULL, NULL);
  watch(ws, &r);
  h_run(&h, rec_opened, &r);
  WS_CHECK_EQ_INT(ws_state(ws), WS_OPEN);
  char r124[125];
  memset(r124, 'x', 124);
  r124[124] = 0;
  static const struct {
    uint16_t code;
    const char *reason;
    int want;
  } rows[] = {
      {999, NULL, WS_ERR_INVALID_ACCESS},    {1001, NULL, WS_ERR_INVALID_ACCESS},
      {1005, NULL, WS_ERR_INVALID_ACCESS},   {1006, NULL, WS_ERR_INVALID_ACCESS},
      {1011, NULL, WS_ERR_INVALID_ACCESS},   {1015, NULL, WS_ERR_INVALID_ACCESS},
      {2999, NULL, WS_ERR_INVALID_ACCESS},   {5000, NULL, WS_ERR_INVALID_ACCESS},
      {1000, "\xff", WS_ERR_SYNTAX},         {3000, "\xc3\x28", WS_ERR_SYNTAX},
      {1001, "\xff", WS_ERR_INVALID_ACCESS}, /* the code is checked first */
  };
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
    WS_CHECK_MSG(ws_close(ws, rows[i].code, rows[i].reason) == rows[i].want, "row %zu", i);
  WS_CHECK_EQ_INT(ws_close(ws, 4000, r124), WS_ERR_SYNTAX);
  WS_CHECK_EQ_INT(ws_state(ws), WS_OPEN); /* nothing above started closing */
  r124[123] = 0;                          /* exactly 123 bytes is allowed */
  WS_CHECK_EQ_INT(ws_close(ws, 4000, r124), WS_OK);
  WS_CHECK_EQ_INT(ws_state(ws), WS_CLOSING);
  WS_CHECK_EQ_INT(ws_close(ws, 1000, NULL), WS_OK);                 /* CLOSING: nothing */
  WS_CHECK_EQ_INT(ws_close(ws, 1001, NULL), WS_ERR_INVALID_ACCESS); /* still validated */
  WS_CHECK_EQ_INT(ws_send_text(ws, "late", 4), WS_OK);              /* dropped, counted */
  WS_CHECK(ws_buffered_amount(ws) >= 4);
  h_run(&h, rec_closed, &r);
  WS_CHECK_EQ_STR(r.log, "open,close:4000:1");
  int zero = 0;
  h_run(&h, srv_closed, &zero);
  WS_CHECK_EQ_INT(h.srec[0].code, 4000);
  WS_CHECK_EQ_INT(strlen(h.srec[0].reason), 123);
  WS_CHECK(h.srec[0].clean);
  h_free(&h);
}

static void close_again_in_onclose(const ws_event *ev, void *ud) {
  int *calls = ud;
  ws_socket *ws = ws_event_socket(ev);
  (*calls)++;
  WS_CHECK(ws != NULL);
  WS_CHECK_EQ_INT(ws_state(ws), WS_CLOSED);
  WS_CHECK_EQ_INT(ws_close(ws, 1000, "again"), WS_OK); /* CLOSED: nothing, no second event */
  WS_CHECK_EQ_INT(ws_close(ws, 1004, NULL), WS_ERR_INVALID_ACCESS);
}

WS_TEST(reason_without_code_is_1000_and_no_body_is_1005) {
  static const struct {
    uint16_t code;
    const char *reason;
    uint16_t peer_sees;
    const char *peer_reason;
  } rows[] = {{0, "bye", 1000, "bye"}, {0, NULL, 1005, ""}, {3001, NULL, 3001, ""}};
  for (size_t i = 0; i < 3; i++) {
    harness h;
    h_init(&h, 0);
    rec r = {0};
    int calls = 0;
    ws_socket *ws = ws_open(h.loop, h.url, NULL, 0, NULL, NULL);
    watch(ws, &r);
    ws_event_target_add_listener(ws_target(ws), "close", close_again_in_onclose, &calls);
    h_run(&h, rec_opened, &r);
    WS_CHECK_EQ_INT(ws_close(ws, rows[i].code, rows[i].reason), WS_OK);
    h_run(&h, rec_closed, &r);
    int zero = 0;
    h_run(&h, srv_closed, &zero);
    WS_CHECK_MSG(h.srec[0].code == rows[i].peer_sees, "row %zu: peer saw %u", i, h.srec[0].code);
    WS_CHECK_EQ_STR(h.srec[0].reason, rows[i].peer_reason);
    WS_CHECK_EQ_INT(r.closes, 1);
    WS_CHECK_EQ_INT(calls, 1);
    WS_CHECK(r.clean);
    h_free(&h);
  }
}

WS_TEST(close_while_connecting_fails_error_then_close_1006) {
  harness h;
  h_init(&h, 0);
  rec r = {0};
  ws_socket *ws = ws_open(h.loop, h.url, NULL, 0, NULL, NULL);
  watch(ws, &r);
  WS_CHECK_EQ_INT(ws_state(ws), WS_CONNECTING);
  WS_CHECK_EQ_INT(ws_send_text(ws, "x", 1), WS_ERR_STATE); /* InvalidStateError */
  WS_CHECK_EQ_INT(ws_close(ws, 1000, NULL), WS_OK);
  WS_CHECK_EQ_INT(ws_state(ws), WS_CLOSING);
  WS_CHECK_EQ_STR(r.log, ""); /* events come from the loop, never from inside the call */
  h_run(&h, rec_closed, &r);
  WS_CHECK_EQ_STR(r.log, "error,close:1006:0");
  WS_CHECK_EQ_INT(r.err, WS_ERR_ABORTED);
  h_free(&h);
}

WS_TEST(open_refuses_bad_urls_and_protocols_synchronously) {
  ws_loop *loop = ws_loop_new(NULL);
  static const char *const dup[] = {"a", "a"};
  static const char *const bad[] = {"a b"};
  static const struct {
    const char *url;
    const char *const *p;
    size_t np;
    int want;
  } rows[] = {
      {"ftp://127.0.0.1/", NULL, 0, WS_ERR_URL_SCHEME},
      {"ws://127.0.0.1/#x", NULL, 0, WS_ERR_URL_FRAGMENT},
      {"ws://127.0.0.1:99999/", NULL, 0, WS_ERR_URL_PORT},
      {"ws://127.0.0.1/", dup, 2, WS_ERR_PROTOCOL_DUPLICATE},
      {"ws://127.0.0.1/", bad, 1, WS_ERR_PROTOCOL_INVALID},
  };
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
    int err = 0;
    WS_CHECK(ws_open(loop, rows[i].url, rows[i].p, rows[i].np, NULL, &err) == NULL);
    WS_CHECK_MSG(err == rows[i].want, "row %zu: %s", i, ws_errname(err));
  }
  ws_loop_free(loop);
}

WS_TEST(unresolvable_host_is_error_then_close_with_detail) {
  ws_loop *loop = ws_loop_new(NULL);
  rec r = {0};
  ws_socket *ws = ws_open(loop, "ws://no-such-host.invalid/", NULL, 0, NULL, NULL);
  WS_CHECK(ws != NULL);
  watch(ws, &r);
  ws_loop_run(loop); /* returns once the socket is gone */
  WS_CHECK_EQ_STR(r.log, "error,close:1006:0");
  WS_CHECK_EQ_INT(r.err, WS_ERR_RESOLVE);
  ws_loop_free(loop);
}

/* ---- events ------------------------------------------------------------------------------ */
static void order_a(const ws_event *ev, void *ud) {
  rec_add(ud, ws_event_type(ev)[0] == 'm' ? "A" : "a");
}
static void order_b(const ws_event *ev, void *ud) {
  rec_add(ud, ws_event_type(ev)[0] == 'm' ? "B" : "b");
}

WS_TEST(handlers_and_listeners_run_in_registration_order_and_target_is_the_socket) {
  harness h;
  h_init(&h, 0);
  rec r = {0}, order = {0};
  static const char *const protos[] = {"superchat", "chat"};
  ws_socket *ws = ws_open(h.loop, h.url, protos, 2, NULL, NULL);
  ws_event_target_add_listener(ws_target(ws), "message", order_a, &order);
  watch(ws, &r); /* onmessage after listener A */
  ws_event_target_add_listener(ws_target(ws), "message", order_b, &order);
  h_run(&h, rec_opened, &r);
  /* The server prefers "chat" (its route's order) though the client listed it second. */
  WS_CHECK_EQ_STR(ws_protocol(ws), "chat");
  WS_CHECK_EQ_STR(ws_get_url(ws), h.url);
  ws_send_text(ws, "ping", 4);
  for (int i = 0; i < 300 && !strstr(r.log, "msg:"); i++)
    ws_loop_run_once(h.loop, 10);
  WS_CHECK_EQ_STR(order.log, "A,B");
  WS_CHECK(strstr(r.log, "msg:ping") != NULL);
  WS_CHECK_EQ_INT(ws_event_target_remove_listener(ws_target(ws), "message", order_a, &order),
                  WS_OK);
  ws_close(ws, 1000, NULL);
  h_run(&h, rec_closed, &r);
  h_free(&h);
}

/* ---- server ------------------------------------------------------------------------------ */
static bool two_closed(harness *h, void *arg) {
  rec *r = arg;
  (void)h;
  return r[0].closes + r[1].closes >= 1 && (r[0].opens > 0);
}

WS_TEST(over_max_connections_closes_1013) {
  harness h;
  h_init(&h, 1);
  rec r[2];
  memset(r, 0, sizeof r);
  ws_socket *a = ws_open(h.loop, h.url, NULL, 0, NULL, NULL);
  watch(a, &r[0]);
  h_run(&h, rec_opened, &r[0]);
  ws_socket *b = ws_open(h.loop, h.url, NULL, 0, NULL, NULL);
  watch(b, &r[1]);
  h_run(&h, rec_closed, &r[1]);
  WS_CHECK_EQ_STR(r[1].log, "open,close:1013:1");
  WS_CHECK_EQ_INT(ws_server_connections(h.srv), 1);
  (void)two_closed;
  ws_close(a, 1000, NULL);
  h_run(&h, rec_closed, &r[0]);
  h_free(&h);
}

WS_TEST(handler_failure_closes_1011) {
  harness h;
  h_init(&h, 0);
  h.fail_handler = 1;
  rec r = {0};
  ws_socket *ws = ws_open(h.loop, h.url, NULL, 0, NULL, NULL);
  watch(ws, &r);
  h_run(&h, rec_closed, &r);
  WS_CHECK_EQ_INT(r.code, 1011);
  int zero = 0;
  h_run(&h, srv_closed, &zero);
  WS_CHECK_EQ_STR(h.srec[0].log, "close:1011:1"); /* no open event for a refused connection */
  h_free(&h);
}

/* n clients, open on both sides (the server counts them). */
static void open_clients(harness *h, int n, ws_socket **ws, rec *r) {
  memset(r, 0, (size_t)n * sizeof *r);
  for (int i = 0; i < n; i++) {
    ws[i] = ws_open(h->loop, h->url, NULL, 0, NULL, NULL);
    watch(ws[i], &r[i]);
    h_run(h, rec_opened, &r[i]);
  }
  for (int i = 0; i < 100 && ws_server_connections(h->srv) < (size_t)n; i++)
    ws_loop_run_once(h->loop, 10);
}

WS_TEST(broadcast_reaches_every_open_connection) {
  harness h;
  h_init(&h, 0);
  rec r[3];
  ws_socket *ws[3];
  open_clients(&h, 3, ws, r);
  WS_CHECK_EQ_INT(ws_server_broadcast(h.srv, NULL, false, "news", 4), 3);
  WS_CHECK_EQ_INT(ws_server_broadcast(h.srv, "/other", false, "x", 1), 0);
  WS_CHECK_EQ_INT(ws_broadcast(h.sws, 2, false, "two", 3), 2);
  for (int t = 0; t < 300 && !(strstr(r[0].log, "msg:two") && strstr(r[1].log, "msg:two") &&
                               strstr(r[2].log, "msg:news"));
       t++)
    ws_loop_run_once(h.loop, 10);
  for (int i = 0; i < 3; i++)
    WS_CHECK_MSG(strstr(r[i].log, "msg:news") != NULL, "client %d: %s", i, r[i].log);
  WS_CHECK(strstr(r[2].log, "msg:two") == NULL);
  for (int i = 0; i < 3; i++)
    ws_close(ws[i], 1000, NULL);
  for (int i = 0; i < 3; i++)
    h_run(&h, rec_closed, &r[i]);
  h_free(&h);
}

WS_TEST(close_all_closes_every_open_connection_and_keeps_listening) {
  harness h;
  h_init(&h, 0);
  rec r[2];
  ws_socket *ws[2];
  open_clients(&h, 2, ws, r);
  /* Bad arguments change nothing. */
  WS_CHECK_EQ_INT(ws_server_close_all(NULL, NULL, 1012, NULL), WS_ERR_INVAL);
  WS_CHECK_EQ_INT(ws_server_close_all(h.srv, NULL, 1005, NULL), WS_ERR_INVALID_ACCESS);
  char longr[130];
  memset(longr, 'r', sizeof longr - 1);
  longr[sizeof longr - 1] = '\0';
  WS_CHECK_EQ_INT(ws_server_close_all(h.srv, NULL, 1012, longr), WS_ERR_SYNTAX);
  WS_CHECK_EQ_INT(ws_server_close_all(h.srv, NULL, 1012, "\xff"), WS_ERR_SYNTAX);
  WS_CHECK_EQ_INT(ws_server_close_all(h.srv, "/other", 1012, "restart"), 0);
  WS_CHECK_EQ_INT(ws_server_close_all(h.srv, NULL, 1012, "restart"), 2);
  for (int i = 0; i < 2; i++) {
    h_run(&h, rec_closed, &r[i]);
    WS_CHECK_EQ_INT(r[i].code, 1012);
    WS_CHECK_EQ_STR(r[i].reason, "restart");
    WS_CHECK(r[i].clean);
  }
  /* Still listening: a new connection opens. */
  rec r2 = {0};
  ws_socket *again = ws_open(h.loop, h.url, NULL, 0, NULL, NULL);
  watch(again, &r2);
  h_run(&h, rec_opened, &r2);
  WS_CHECK_EQ_INT(r2.opens, 1);
  ws_close(again, 1000, NULL);
  h_run(&h, rec_closed, &r2);
  h_free(&h);
}

/* An idle connection is parked (wsclean/conn.h ws_conn_park); if memory runs out when bytes
 * arrive and it must be restored, the server's socket reports error + close 1006 with
 * WS_ERR_NOMEM and cuts TCP (the client sees 1006): nothing hangs, nothing leaks. The shared
 * counting allocator fails the allocation of one size (fail_size: a ws_conn, a live block). */
static int park_on_conn(ws_server *srv, ws_socket *ws, const ws_http_request *req, void *ud) {
  (void)srv, (void)req;
  watch(ws, ud);
  ws_event_target_add_listener(ws_target(ws), "message", s_echo, NULL);
  return 0;
}

/* A loop (on allocator al, NULL: the default) with a server on 127.0.0.1 (route "*" -> conn_cb,
 * ud NULL: the rig's server recorder) and one client, open. park_ms < 0 and max_msg 0:
 * the defaults. */
typedef struct rig {
  ws_loop *loop;
  ws_server *srv;
  ws_socket *c;
  rec sr, cr;
} rig;
static void rig_open(rig *g, const ws_allocator *al, int64_t park_ms, uint64_t max_msg,
                     ws_connection_cb conn_cb, void *ud) {
  memset(g, 0, sizeof *g);
  g->loop = ws_loop_new(al);
  ws_server_options o;
  ws_server_options_init(&o);
  o.host = "127.0.0.1";
  if (park_ms >= 0)
    o.park_idle_ms = (uint32_t)park_ms;
  if (max_msg)
    o.conn.max_message_size = max_msg;
  int err = 0;
  g->srv = ws_server_new(g->loop, &o, &err);
  WS_CHECK_EQ_INT(err, WS_OK);
  ws_server_route(g->srv, "*", NULL, 0, conn_cb, ud ? ud : &g->sr);
  char url[64];
  snprintf(url, sizeof url, "ws://127.0.0.1:%u/", ws_server_port(g->srv));
  ws_open_options oo;
  ws_open_options_init(&oo);
  if (max_msg)
    oo.conn.max_message_size = max_msg;
  g->c = ws_open(g->loop, url, NULL, 0, &oo, &err);
  watch(g->c, &g->cr);
  for (int i = 0; i < 300 && g->cr.opens == 0; i++)
    ws_loop_run_once(g->loop, 10);
}
static void rig_free(rig *g) {
  ws_server_shutdown(g->srv, 1001, 200);
  for (int i = 0; i < 300 && ws_loop_run_once(g->loop, 10) > 0; i++) {
  }
  ws_loop_free(g->loop);
}

/* park_idle_ms 0 (at once), 50 (the sweep: after 50-100 ms idle) and UINT32_MAX (never); the
 * allocation that fails is the conn's, then the socket's live block (api.h ws__live: a parked
 * connection with no deadline gives it back, so waking makes it again). */
WS_TEST(unparking_without_memory_cuts_with_1006_nomem) {
  static const uint32_t MODES[3] = {0, 50, UINT32_MAX};
  for (int mk = 0; mk < 6; mk++) {
    int m = mk % 3;
    size_t size = mk < 3 ? ws_conn_sizeof() : sizeof(ws__live);
    ws_test_counting pa = {.budget = -1};
    ws_allocator al = ws_test_counting_allocator(&pa);
    rig g;
    rig_open(&g, &al, MODES[m], 0, park_on_conn, NULL);
    ws_socket *c = g.c;
    ws_send_text(c, "a", 1);
    for (int i = 0; i < 300 && !strstr(g.cr.log, "msg:a"); i++)
      ws_loop_run_once(g.loop, 10);
    /* Idle for 250 ms: parked unless parking is off (the sweep needs at most 100 ms). */
    uint64_t until = ws_loop_now(g.loop) + 250;
    while (ws_loop_now(g.loop) < until)
      ws_loop_run_once(g.loop, 10);
    ws_send_text(c, "b", 1);
    pa.fail_size = size;
    for (int i = 0; i < 300 && (g.sr.closes == 0 || g.cr.closes == 0) && !strstr(g.cr.log, "msg:b");
         i++)
      ws_loop_run_once(g.loop, 10);
    if (MODES[m] == UINT32_MAX) {
      WS_CHECK_EQ_INT(pa.failed, 0);
      WS_CHECK_EQ_STR(g.cr.log, "open,msg:a,msg:b");
    } else {
      WS_CHECK_MSG(pa.failed == 1, "mode %u size %zu: %ld", MODES[m], size, pa.failed);
      WS_CHECK_EQ_STR(g.sr.log, "open,msg:a,error,close:1006:0");
      WS_CHECK_EQ_INT(g.sr.err, WS_ERR_NOMEM);
      WS_CHECK_EQ_STR(g.cr.log, "open,msg:a,close:1006:0");
    }
    pa.fail_size = 0;
    rig_free(&g);
    WS_CHECK_EQ_INT(pa.live, 0);
  }
}

/* A parked connection keeps its deadline: the server's idle timeout closes a connection parked
 * since its handshake with 1001 "idle timeout", on time and cleanly. A deadline within two sweep
 * periods (300 ms, period 1000) keeps the live block and its timer; a farther one (1000 ms,
 * period 100) gives the block back, and the sweep makes it again a period ahead, so the close
 * is still on time. With no deadline the block is given back (white-box), and the loop's end
 * frees such connections (the allocator's count returns to zero, and ASan sees no leak). */
typedef struct idle_srv {
  rec r;
  ws_socket *ws[3];
  int n;
} idle_srv;
static int idle_on_conn(ws_server *srv, ws_socket *ws, const ws_http_request *req, void *ud) {
  (void)srv, (void)req;
  idle_srv *is = ud;
  watch(ws, &is->r);
  if (is->n < 3)
    is->ws[is->n++] = ws;
  return 0;
}
/* A server on 127.0.0.1 (conn idle timeout idle_ms, 0: none; park_ms 0: the default sweep)
 * whose route "*" records its connections in is; url gets its ws:// address. */
static ws_server *idle_server(ws_loop *loop, uint32_t idle_ms, uint32_t park_ms, idle_srv *is,
                              char *url, size_t n) {
  ws_server_options o;
  ws_server_options_init(&o);
  o.host = "127.0.0.1";
  o.conn.idle_timeout_ms = idle_ms;
  if (park_ms)
    o.park_idle_ms = park_ms;
  int err = 0;
  ws_server *srv = ws_server_new(loop, &o, &err);
  WS_CHECK_EQ_INT(err, WS_OK);
  memset(is, 0, sizeof *is);
  ws_server_route(srv, "*", NULL, 0, idle_on_conn, is);
  snprintf(url, n, "ws://127.0.0.1:%u/", ws_server_port(srv));
  return srv;
}
WS_TEST(parked_connections_keep_their_deadlines_and_free_with_the_loop) {
  static const uint32_t IDLE[3] = {0, 300, 1000}, PARK[3] = {0, 0, 100};
  for (int timed = 0; timed < 3; timed++) {
    ws_test_counting pa = {.budget = -1};
    ws_allocator al = ws_test_counting_allocator(&pa);
    ws_loop *loop = ws_loop_new(&al);
    idle_srv is;
    char url[64];
    (void)idle_server(loop, IDLE[timed], PARK[timed], &is, url, sizeof url);
    int err = 0;
    rec cr[3];
    ws_socket *c[3];
    memset(cr, 0, sizeof cr);
    for (int i = 0; i < 3; i++) {
      c[i] = ws_open(loop, url, NULL, 0, NULL, &err);
      watch(c[i], &cr[i]);
    }
    for (int i = 0; i < 300 && is.r.opens < 3; i++)
      ws_loop_run_once(loop, 10);
    WS_CHECK_EQ_INT(is.n, 3);
    for (int i = 0; i < 5; i++) /* the 101s are written: the idle connections are parked */
      ws_loop_run_once(loop, 10);
    int parked = 0, bare = 0;
    for (int i = 0; i < is.n; i++) {
      parked += is.ws[i]->parked;
      bare += is.ws[i]->live == NULL;
    }
    WS_CHECK_EQ_INT(parked, 3);
    WS_CHECK_MSG(bare == (timed == 1 ? 0 : 3), "mode %d: %d without a live block", timed, bare);
    if (timed) {
      uint64_t t0 = ws_loop_now(loop);
      for (int i = 0; i < 300 && cr[2].closes == 0; i++)
        ws_loop_run_once(loop, 5);
      uint64_t took = ws_loop_now(loop) - t0, want = IDLE[timed];
      for (int i = 0; i < 3; i++) {
        WS_CHECK_EQ_STR(cr[i].log, "open,close:1001:1");
        WS_CHECK_EQ_STR(cr[i].reason, "idle timeout");
      }
      /* t0 is 50-100 ms after the opens; the close is on time, not a sweep period late. */
      WS_CHECK_MSG(took + 150 >= want && took < want + 60, "mode %d: closed after %llu ms",
                   timed, (unsigned long long)took);
    } else {
      /* One of them is freeing when the loop ends: cut by the client, its close pending. */
      ws_close(c[0], 1000, NULL);
      ws_loop_run_once(loop, 10);
    }
    ws_loop_free(loop);
    WS_CHECK_EQ_INT(pa.live, 0);
  }
}

/* A busy connection is never parked by the sweep: messages every 20 ms for 300 ms with a
 * 50 ms period, and the fault armed throughout never fires. */
WS_TEST(sweep_leaves_busy_connections_alone) {
  ws_test_counting pa = {.budget = -1};
  ws_allocator al = ws_test_counting_allocator(&pa);
  rig g;
  rig_open(&g, &al, 50, 0, park_on_conn, NULL);
  ws_socket *c = g.c;
  /* A first message restores the connection parked after its handshake; from then on only the
   * sweep parks it. */
  ws_send_text(c, "first", 5);
  for (int i = 0; i < 300 && !strstr(g.cr.log, "msg:first"); i++)
    ws_loop_run_once(g.loop, 10);
  int sent = 0;
  uint64_t t0 = ws_loop_now(g.loop), next = t0;
  while (ws_loop_now(g.loop) < t0 + 300 && g.cr.closes == 0) { /* c is freed after its close */
    if (ws_loop_now(g.loop) >= next) {
      /* Armed only while no client conn can be restored: the client is never parked. */
      pa.fail_size = ws_conn_sizeof();
      ws_send_text(c, "x", 1);
      sent++;
      next += 20;
    }
    ws_loop_run_once(g.loop, 5);
  }
  pa.fail_size = 0;
  WS_CHECK(sent >= 10);
  WS_CHECK_EQ_INT(pa.failed, 0);
  WS_CHECK_EQ_INT(g.sr.closes, 0);
  if (g.cr.closes == 0)
    ws_close(c, 1000, NULL);
  for (int i = 0; i < 300 && g.cr.closes == 0; i++)
    ws_loop_run_once(g.loop, 10);
  WS_CHECK(g.cr.clean);
  rig_free(&g);
  WS_CHECK_EQ_INT(pa.live, 0);
}

/* A message far larger than one read: the server reads the rest of the frame straight into
 * its message buffer (src/proto/conn_direct.h) and echoes the buffer without copying it
 * (conn_out.c); the bytes must come back exact, text and binary, several times in a row. */
typedef struct big_rec {
  uint8_t *got;
  size_t got_len;
  int msgs;
  bool binary;
} big_rec;
static int big_on_conn(ws_server *srv, ws_socket *ws, const ws_http_request *req, void *ud) {
  (void)srv, (void)req, (void)ud;
  return ws_on(ws, "message", s_echo, NULL) == WS_OK ? 0 : -1;
}
static void big_got(const ws_event *ev, void *ud) {
  big_rec *b = ud;
  size_t len;
  const ws_message_event *m = ws_event_as_message(ev);
  const uint8_t *d = ws_message_event_data(m, &len);
  free(b->got);
  b->got = malloc(len ? len : 1);
  memcpy(b->got, d, len);
  b->got_len = len;
  b->binary = ws_message_event_is_binary(m);
  b->msgs++;
}

/* A broadcast to parked connections writes the frame straight to their sockets and leaves them
 * parked (no memory per connection: white-box, no live block); a frame larger than the kernel
 * takes at once wakes the connection, which queues the rest: the bytes arrive exact and in order
 * with the next broadcast. */
static void big_keep(const ws_event *ev, void *ud) {
  size_t len;
  (void)ws_message_event_data(ws_event_as_message(ev), &len);
  if (len > 1024)
    big_got(ev, ud);
}
WS_TEST(broadcast_to_parked_connections_does_not_wake_them) {
  ws_loop *loop = ws_loop_new(NULL);
  idle_srv is;
  char url[64];
  ws_server *srv = idle_server(loop, 0, 0, &is, url, sizeof url);
  int err = 0;
  ws_open_options oo;
  ws_open_options_init(&oo);
  oo.conn.max_message_size = 16u << 20;
  rec cr[2];
  big_rec b = {0}, bb[2] = {{0}, {0}};
  memset(cr, 0, sizeof cr);
  ws_socket *c[2];
  for (int i = 0; i < 2; i++) {
    c[i] = ws_open(loop, url, NULL, 0, &oo, &err);
    watch(c[i], &cr[i]);
  }
  ws_event_target_add_listener(ws_target(c[0]), "message", big_got, &b);
  for (int i = 0; i < 2; i++)
    ws_event_target_add_listener(ws_target(c[i]), "message", big_keep, &bb[i]);
  for (int i = 0; i < 300 && is.r.opens < 2; i++)
    ws_loop_run_once(loop, 10);
  for (int i = 0; i < 5; i++)
    ws_loop_run_once(loop, 10);
  WS_CHECK_EQ_INT(is.n, 2);
  WS_CHECK(is.ws[0]->parked && !is.ws[0]->live && is.ws[1]->parked && !is.ws[1]->live);

  WS_CHECK_EQ_INT(ws_server_broadcast(srv, NULL, false, "hello", 5), 2);
  WS_CHECK(is.ws[0]->parked && !is.ws[0]->live && is.ws[1]->parked && !is.ws[1]->live);
  for (int i = 0; i < 300 && b.msgs < 1; i++)
    ws_loop_run_once(loop, 10);

  size_t big = 12u << 20;
  char *text = malloc(big);
  for (size_t i = 0; i < big; i++)
    text[i] = (char)('a' + i % 26);
  WS_CHECK_EQ_INT(ws_server_broadcast(srv, NULL, false, text, big), 2);
  WS_CHECK(!is.ws[0]->parked && is.ws[0]->live); /* 12 MiB: more than the kernel takes at once */
  WS_CHECK_EQ_INT(ws_server_broadcast(srv, NULL, false, "tail", 4), 2);
  for (int i = 0; i < 1000 && (b.msgs < 3 || !strstr(cr[1].log, "tail")); i++)
    ws_loop_run_once(loop, 10);
  WS_CHECK_EQ_INT(b.msgs, 3);
  WS_CHECK(b.got_len == 4 && memcmp(b.got, "tail", 4) == 0);
  WS_CHECK_EQ_STR(cr[0].log,
                  "open,msg:hello,msg:abcdefghijklmnopqrstuvwxyzabcdefghijklmn,msg:tail");
  WS_CHECK_EQ_STR(cr[1].log, cr[0].log);
  for (int i = 0; i < 2; i++) {
    WS_CHECK(bb[i].got_len == big && memcmp(bb[i].got, text, big) == 0);
    free(bb[i].got);
  }
  free(text);
  free(b.got);
  ws_loop_free(loop);
}

WS_TEST(large_messages_echo_exactly_through_the_direct_read_path) {
  rig g;
  rig_open(&g, NULL, -1, 4u << 20, big_on_conn, &g);
  big_rec b = {0};
  ws_event_target_add_listener(ws_target(g.c), "message", big_got, &b);
  static const size_t SIZES[] = {3u << 20, 70000, 1u << 20};
  uint8_t *p = malloc(3u << 20);
  for (int k = 0; k < 3; k++) {
    size_t n = SIZES[k];
    bool binary = k != 1;
    for (size_t i = 0; i < n; i++)
      p[i] = binary ? (uint8_t)(i * 131u + (unsigned)k) : (uint8_t)('a' + (i + (size_t)k) % 26u);
    WS_CHECK_EQ_INT(binary ? ws_send_binary(g.c, p, n) : ws_send_text(g.c, (const char *)p, n),
                    WS_OK);
    for (int i = 0; i < 1000 && b.msgs == k; i++)
      ws_loop_run_once(g.loop, 10);
    WS_CHECK_MSG(b.msgs == k + 1, "message %d not echoed", k);
    WS_CHECK_EQ_INT((long)b.got_len, (long)n);
    WS_CHECK(b.binary == binary);
    WS_CHECK(b.got && memcmp(b.got, p, n) == 0);
  }
  free(p);
  free(b.got);
  ws_close(g.c, 1000, NULL);
  for (int i = 0; i < 300 && g.cr.closes == 0; i++)
    ws_loop_run_once(g.loop, 10);
  WS_CHECK(g.cr.clean);
  rig_free(&g);
}

WS_TEST(shutdown_closes_1001_cleanly_on_both_sides_after_queued_messages) {
  for (int restart = 0; restart < 2; restart++) {
    harness h;
    h_init(&h, 0);
    rec r = {0};
    ws_socket *ws = ws_open(h.loop, h.url, NULL, 0, NULL, NULL);
    watch(ws, &r);
    h_run(&h, rec_opened, &r);
    for (int i = 0; i < 100 && ws_server_connections(h.srv) < 1; i++)
      ws_loop_run_once(h.loop, 10);
    ws_send_text(h.sws[0], "last words", 10);
    uint16_t code = restart ? 1012 : 1001;
    WS_CHECK_EQ_INT(ws_server_shutdown(h.srv, code, 2000), WS_OK);
    WS_CHECK_EQ_INT(ws_server_shutdown(h.srv, code, 2000), WS_ERR_STATE);
    h.srv = NULL; /* it frees itself */
    h_run(&h, rec_closed, &r);
    char want[64];
    snprintf(want, sizeof want, "open,msg:last words,close:%u:1", code);
    WS_CHECK_EQ_STR(r.log, want);
    int zero = 0;
    h_run(&h, srv_closed, &zero);
    WS_CHECK(h.srec[0].clean);
    WS_CHECK_EQ_INT(h.srec[0].code, code);
    h_free(&h);
  }
}

WS_TEST(plain_http_requests_go_to_the_hook) {
  harness h;
  h_init(&h, 0);
  static const struct {
    const char *req;
    const char *want;
  } rows[] = {{"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 200"},
              {"GET /missing HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 404"}};
  for (size_t i = 0; i < 2; i++) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(ws_server_port(h.srv));
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    WS_CHECK_EQ_INT(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    WS_CHECK(write(fd, rows[i].req, strlen(rows[i].req)) > 0);
    char buf[1024] = {0};
    size_t got = 0;
    for (int t = 0; t < 300; t++) {
      ws_loop_run_once(h.loop, 10);
      ssize_t n = recv(fd, buf + got, sizeof buf - 1 - got, MSG_DONTWAIT);
      if (n > 0)
        got += (size_t)n;
      else if (n == 0)
        break;
    }
    WS_CHECK_MSG(strncmp(buf, rows[i].want, strlen(rows[i].want)) == 0, "row %zu: %.40s", i, buf);
    if (i == 0)
      WS_CHECK(strstr(buf, "\r\n\r\nhi there") != NULL);
    close(fd);
  }
  h_free(&h);
}

/* ---- reconnect policy -------------------------------------------------------------------- */
WS_TEST(reconnect_delay_policy) {
  static const struct {
    uint16_t code;
    bool clean;
    unsigned attempt;
    int64_t lo, hi; /* -1,-1: no retry */
  } rows[] = {
      {1000, true, 0, -1, -1},         {1002, false, 0, -1, -1},    {1003, false, 0, -1, -1},
      {1008, false, 0, -1, -1},        {1006, false, 0, 500, 1000}, {1006, false, 3, 4000, 8000},
      {1006, false, 20, 15000, 30000}, {1012, true, 0, 5000, 6000}, {1013, true, 0, 5000, 6000},
      {1001, true, 1, 1000, 2000},     {1015, false, 0, 500, 1000}, {1000, false, 0, 500, 1000},
  };
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
    ws_close_event_init init = {0};
    init.code = rows[i].code;
    init.was_clean = rows[i].clean;
    ws_close_event *ev = ws_close_event_new(NULL, "close", &init, 0);
    for (uint32_t rnd = 0; rnd < 4000000000u; rnd += 777777777u) {
      int64_t d = ws_reconnect_delay(ev, rows[i].attempt, 0, 0, rnd);
      WS_CHECK_MSG(d >= rows[i].lo && d <= rows[i].hi, "row %zu rnd %u: %lld", i, rnd,
                   (long long)d);
    }
    ws_close_event_free(ev);
  }
}

WS_TEST(ipv6_loopback_client_and_server) {
  ws_loop *loop = ws_loop_new(NULL);
  ws_server_options o;
  ws_server_options_init(&o);
  o.host = "::1";
  int err = 0;
  ws_server *srv = ws_server_new(loop, &o, &err);
  if (!srv) { /* a machine without IPv6 loopback: nothing to test */
    ws_loop_free(loop);
    return;
  }
  harness h;
  memset(&h, 0, sizeof h);
  h.loop = loop;
  ws_server_route(srv, "*", NULL, 0, on_conn, &h);
  char url[64];
  snprintf(url, sizeof url, "ws://[::1]:%u/any", ws_server_port(srv));
  rec r = {0};
  ws_socket *ws = ws_open(loop, url, NULL, 0, NULL, &err);
  WS_CHECK(ws != NULL);
  watch(ws, &r);
  h_run(&h, rec_opened, &r);
  WS_CHECK_EQ_STR(ws_get_url(ws), url);
  ws_send_text(ws, "v6", 2);
  for (int i = 0; i < 300 && !strstr(r.log, "msg:v6"); i++)
    ws_loop_run_once(loop, 10);
  ws_close(ws, 1000, NULL);
  h_run(&h, rec_closed, &r);
  WS_CHECK_EQ_STR(r.log, "open,msg:v6,close:1000:1");
  ws_server_shutdown(srv, 1001, 100);
  ws_loop_run(loop);
  ws_loop_free(loop);
}

/* N loops on N threads sharing one port (SO_REUSEPORT); work handed over with ws_loop_post. */
typedef struct {
  ws_loop *loop;
  ws_server *srv;
  harness h;
  pthread_t th;
} worker;

static void *worker_main(void *arg) {
  worker *w = arg;
  ws_loop_run(w->loop); /* until the posted shutdown has finished */
  return NULL;
}

static void post_shutdown(ws_loop *loop, void *ud) {
  (void)loop;
  ws_server_shutdown(ud, 1001, 500); /* runs on the worker's own thread */
}

/* Run loop until every one of r[0..n) has opened (closed: closed), at most 3 s. */
static void wait_all(ws_loop *loop, const rec *r, int n, bool closed) {
  for (int t = 0; t < 300; t++) {
    int done = 0;
    for (int i = 0; i < n; i++)
      done += (closed ? r[i].closes : r[i].opens) > 0;
    if (done == n)
      return;
    ws_loop_run_once(loop, 10);
  }
}

WS_TEST(two_loops_on_two_threads_share_a_port) {
  worker w[2];
  uint16_t port = 0;
  for (int i = 0; i < 2; i++) {
    memset(&w[i], 0, sizeof w[i]);
    w[i].loop = ws_loop_new(NULL);
    w[i].h.loop = w[i].loop;
    ws_server_options o;
    ws_server_options_init(&o);
    o.host = "127.0.0.1";
    o.port = port;
    o.reuse_port = true;
    int err = 0;
    w[i].srv = ws_server_new(w[i].loop, &o, &err);
    WS_CHECK_MSG(w[i].srv != NULL, "server %d: %s", i, ws_errname(err));
    if (!w[i].srv)
      return;
    port = ws_server_port(w[i].srv);
    ws_server_route(w[i].srv, "*", NULL, 0, on_conn, &w[i].h);
  }
  for (int i = 0; i < 2; i++)
    pthread_create(&w[i].th, NULL, worker_main, &w[i]);
  ws_loop *loop = ws_loop_new(NULL);
  char url[64];
  snprintf(url, sizeof url, "ws://127.0.0.1:%u/", port);
  rec r[6];
  memset(r, 0, sizeof r);
  ws_socket *ws[6];
  for (int i = 0; i < 6; i++) {
    ws[i] = ws_open(loop, url, NULL, 0, NULL, NULL);
    watch(ws[i], &r[i]);
  }
  wait_all(loop, r, 6, false);
  for (int i = 0; i < 6; i++)
    WS_CHECK_EQ_INT(r[i].opens, 1);
  for (int i = 0; i < 2; i++)
    WS_CHECK_EQ_INT(ws_loop_post(w[i].loop, post_shutdown, w[i].srv), WS_OK);
  wait_all(loop, r, 6, true);
  for (int i = 0; i < 6; i++)
    WS_CHECK_MSG(r[i].code == 1001 && r[i].clean, "client %d: %s", i, r[i].log);
  for (int i = 0; i < 2; i++) {
    pthread_join(w[i].th, NULL);
    ws_loop_free(w[i].loop);
  }
  ws_loop_free(loop);
}

/* A connection open for longer than the close timeout must still get its full close timeout
 * when it closes (the conn's clock is brought up to date before ws_close). */
WS_TEST(close_after_a_long_idle_period_is_still_clean) {
  for (int server_closes = 0; server_closes < 2; server_closes++) {
    ws_loop *loop = ws_loop_new(NULL);
    ws_server_options so;
    ws_server_options_init(&so);
    so.host = "127.0.0.1";
    so.conn.close_timeout_ms = 150;
    ws_server *srv = ws_server_new(loop, &so, NULL);
    harness h;
    memset(&h, 0, sizeof h);
    h.loop = loop;
    ws_server_route(srv, "*", NULL, 0, on_conn, &h);
    char url[64];
    snprintf(url, sizeof url, "ws://127.0.0.1:%u/", ws_server_port(srv));
    ws_open_options o;
    ws_open_options_init(&o);
    o.conn.close_timeout_ms = 150;
    rec r = {0};
    ws_socket *ws = ws_open(loop, url, NULL, 0, &o, NULL);
    watch(ws, &r);
    h_run(&h, rec_opened, &r);
    for (int i = 0; i < 100 && h.nconn == 0; i++)
      ws_loop_run_once(loop, 10);
    /* Idle for 400 ms, more than twice the close timeout, with no timer to move the clocks. */
    usleep(400000);
    if (server_closes)
      ws_close(h.sws[0], 4000, "late");
    else
      ws_close(ws, 4000, "late");
    h_run(&h, rec_closed, &r);
    int zero = 0;
    h_run(&h, srv_closed, &zero);
    WS_CHECK_MSG(r.code == 4000 && r.clean, "server_closes=%d: client saw %s", server_closes,
                 r.log);
    WS_CHECK_MSG(h.srec[0].code == 4000 && h.srec[0].clean, "server_closes=%d: server saw %s",
                 server_closes, h.srec[0].log);
    ws_server_shutdown(srv, 1001, 100);
    for (int i = 0; i < 300 && ws_loop_run_once(loop, 10) > 0; i++) {
    }
    ws_loop_free(loop);
  }
}

/* ---- automatic reconnection ---------------------------------------------------------------- */
typedef struct {
  int sockets, ended;
  rec r[8];
  int stop_after;
} rc_state;

static void rc_on_socket(ws_reconnect *r, ws_socket *ws, void *ud) {
  rc_state *st = ud;
  if (!ws) {
    st->ended++;
    return;
  }
  if (st->sockets < 8)
    watch(ws, &st->r[st->sockets]);
  if (++st->sockets == st->stop_after)
    ws_reconnect_stop(r);
}

static int close_with_code(ws_server *srv, ws_socket *ws, const ws_http_request *req, void *ud) {
  (void)srv, (void)req;
  ws_close_with(ws, (uint16_t)(uintptr_t)ud, "bye");
  return 0;
}

WS_TEST(reconnect_helper_retries_after_1011_and_gives_up_after_1008) {
  static const struct {
    uint16_t server_code;
    int stop_after;
    int want_sockets;
  } rows[] = {{1011, 3, 3}, {1008, 0, 1}, {1001, 2, 2}};
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
    ws_loop *loop = ws_loop_new(NULL);
    ws_server_options o;
    ws_server_options_init(&o);
    o.host = "127.0.0.1";
    ws_server *srv = ws_server_new(loop, &o, NULL);
    ws_server_route(srv, "*", NULL, 0, close_with_code, (void *)(uintptr_t)rows[i].server_code);
    char url[64];
    snprintf(url, sizeof url, "ws://127.0.0.1:%u/", ws_server_port(srv));
    rc_state st;
    memset(&st, 0, sizeof st);
    st.stop_after = rows[i].stop_after;
    int err = 0;
    ws_reconnect *r = ws_reconnect_start(loop, url, NULL, 0, NULL, 10, 20, rc_on_socket, &st, &err);
    WS_CHECK(r != NULL);
    for (int t = 0; t < 500 && st.ended == 0; t++)
      ws_loop_run_once(loop, 10);
    WS_CHECK_MSG(st.sockets == rows[i].want_sockets, "row %zu: %d sockets", i, st.sockets);
    WS_CHECK_EQ_INT(st.ended, 1);
    for (int k = 0; k < st.sockets && k < 8; k++)
      WS_CHECK_MSG(st.r[k].code == rows[i].server_code, "row %zu socket %d: %s", i, k, st.r[k].log);
    ws_server_shutdown(srv, 1001, 100);
    for (int t = 0; t < 300 && ws_loop_run_once(loop, 10) > 0; t++) {
    }
    ws_loop_free(loop);
  }
  {
    /* Freeing the loop while the helper waits for its next attempt frees the helper too. */
    ws_loop *l2 = ws_loop_new(NULL);
    rc_state st;
    memset(&st, 0, sizeof st);
    ws_reconnect_start(l2, "ws://127.0.0.1:1/", NULL, 0, NULL, 5000, 5000, rc_on_socket, &st, NULL);
    for (int t = 0; t < 50 && st.r[0].closes == 0; t++)
      ws_loop_run_once(l2, 10);
    WS_CHECK_EQ_INT(st.r[0].code, 1006); /* refused: a retry is now 2.5-5 s away */
    ws_loop_free(l2);                    /* ASan: nothing leaks */
    WS_CHECK_EQ_INT(st.ended, 0);
  }
  int err = 0;
  WS_CHECK(ws_reconnect_start(NULL, "ws://x/", NULL, 0, NULL, 0, 0, rc_on_socket, NULL, &err) ==
           NULL);
  ws_loop *loop = ws_loop_new(NULL);
  WS_CHECK(ws_reconnect_start(loop, "ftp://x/", NULL, 0, NULL, 0, 0, rc_on_socket, NULL, &err) ==
           NULL);
  WS_CHECK_EQ_INT(err, WS_ERR_URL_SCHEME);
  ws_loop_free(loop);
}

/* ---- backpressure and teardown ----------------------------------------------------------- */
static int raw_upgrade(uint16_t port, const char *path) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  int small = 4096;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small); /* a reader that hardly reads */
  struct sockaddr_in sa = {0};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0)
    return -1;
  char req[256];
  int n =
      snprintf(req, sizeof req,
               "GET %s HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
               path);
  if (write(fd, req, (size_t)n) != n)
    return -1;
  return fd;
}

static void flood(const ws_event *ev, void *ud) {
  (void)ud;
  static uint8_t block[1 << 20];
  ws_socket *ws = ws_event_socket(ev);
  for (int i = 0; i < 12; i++)
    ws_send_binary(ws, block, sizeof block);
}

static int flood_conn(ws_server *srv, ws_socket *ws, const ws_http_request *req, void *ud) {
  (void)srv, (void)req;
  watch(ws, ud);
  ws_on(ws, "open", flood, NULL);
  ws_event_target_add_listener(ws_target(ws), "open", on_any, ud);
  return 0;
}

WS_TEST(slow_consumer_is_failed_with_1008_not_buffered_forever) {
  ws_loop *loop = ws_loop_new(NULL);
  ws_server_options o;
  ws_server_options_init(&o);
  o.host = "127.0.0.1";
  o.slow_consumer_bytes = 256 * 1024;
  o.slow_consumer_ms = 150;
  o.conn.close_timeout_ms = 300;
  ws_server *srv = ws_server_new(loop, &o, NULL);
  rec r = {0};
  ws_server_route(srv, "/flood", NULL, 0, flood_conn, &r);
  int fd = raw_upgrade(ws_server_port(srv), "/flood");
  WS_CHECK(fd >= 0);
  uint64_t t0 = ws_loop_now(loop);
  for (int i = 0; i < 400 && r.closes == 0; i++)
    ws_loop_run_once(loop, 10);
  WS_CHECK_EQ_INT(r.closes, 1);
  WS_CHECK_MSG(strstr(r.log, "error,close:1006:0") != NULL, "log %s", r.log);
  WS_CHECK_EQ_INT(r.err, WS_ERR_SLOW_CONSUMER);
  WS_CHECK(ws_loop_now(loop) - t0 < 3000);
  close(fd);
  ws_server_shutdown(srv, 1001, 100);
  ws_loop_run(loop);
  ws_loop_free(loop);
}

static int record_conn(ws_server *srv, ws_socket *ws, const ws_http_request *req, void *ud) {
  (void)srv, (void)req;
  watch(ws, ud);
  return 0;
}

/* The close contract holds for a parked connection too: a server connection idle since its
 * handshake is parked (docs/internals/loop.md), and a malformed close frame arriving then must be
 * answered as on a live one. The raw client sends the bad bytes and reads the server's answer.
 * The server's events reach handlers set on the socket and, the second time, handlers shared by
 * the route (ws_server_route_on): the same error, then close 1006, either way. */
WS_TEST(parked_connection_answers_bad_close_payloads_like_a_live_one) {
  static const struct {
    const char *name;
    uint8_t body[8];
    size_t len;
    uint16_t want;
  } ROWS[] = {
      {"1-byte body", {0x03}, 1, 1002},
      {"code 1005 on the wire", {0x03, 0xED}, 2, 1002},
      {"code 999", {0x03, 0xE7}, 2, 1002},
      {"reason not UTF-8", {0x03, 0xE8, 0xFF}, 3, 1007},
  };
  for (size_t kr = 0; kr < 2 * sizeof ROWS / sizeof ROWS[0]; kr++) {
    size_t k = kr % (sizeof ROWS / sizeof ROWS[0]);
    bool via_route = kr >= sizeof ROWS / sizeof ROWS[0];
    ws_loop *loop = ws_loop_new(NULL);
    ws_server_options o;
    ws_server_options_init(&o);
    o.host = "127.0.0.1";
    ws_server *srv = ws_server_new(loop, &o, NULL);
    rec r = {0};
    ws_server_route(srv, "/", NULL, 0, via_route ? NULL : record_conn, &r);
    if (via_route)
      watch_route(srv, "/", &r);
    int fd = raw_upgrade(ws_server_port(srv), "/");
    WS_CHECK(fd >= 0);
    for (int i = 0; i < 300 && r.opens == 0; i++)
      ws_loop_run_once(loop, 10);
    for (int i = 0; i < 5; i++) /* the 101 is written; the idle connection is parked */
      ws_loop_run_once(loop, 10);
    char head[512];
    ssize_t hn = read(fd, head, sizeof head); /* the 101, whole (it is small) */
    WS_CHECK(hn > 12 && memcmp(head, "HTTP/1.1 101", 12) == 0);
    uint8_t f[16] = {0x88, (uint8_t)(0x80 | ROWS[k].len), 0, 0, 0, 0}; /* mask key 0 */
    memcpy(f + 6, ROWS[k].body, ROWS[k].len);
    WS_CHECK(write(fd, f, 6 + ROWS[k].len) == (ssize_t)(6 + ROWS[k].len));
    uint8_t ans[256];
    ssize_t an = 0;
    for (int i = 0; i < 300 && an <= 0; i++) { /* until the server's close frame is here */
      ws_loop_run_once(loop, 10);
      an = recv(fd, ans, sizeof ans, MSG_DONTWAIT);
    }
    WS_CHECK_MSG(an >= 4 && ans[0] == 0x88 && (unsigned)(ans[2] << 8 | ans[3]) == ROWS[k].want,
                 "%s: answer %zd bytes, code %u", ROWS[k].name, an,
                 an >= 4 ? (unsigned)(ans[2] << 8 | ans[3]) : 0u);
    close(fd); /* the server waits for our FIN after failing the connection */
    for (int i = 0; i < 300 && r.closes == 0; i++)
      ws_loop_run_once(loop, 10);
    WS_CHECK_MSG(strcmp(r.log, "open,error,close:1006:0") == 0, "%s%s: server log %s",
                 ROWS[k].name, via_route ? " (route handlers)" : "", r.log);
    ws_server_shutdown(srv, 1001, 100);
    ws_loop_run(loop);
    ws_loop_free(loop);
  }
}

WS_TEST(shutdown_deadline_cuts_a_peer_that_never_answers) {
  ws_loop *loop = ws_loop_new(NULL);
  ws_server_options o;
  ws_server_options_init(&o);
  o.host = "127.0.0.1";
  ws_server *srv = ws_server_new(loop, &o, NULL);
  rec r = {0};
  ws_server_route(srv, "/", NULL, 0, record_conn, &r);
  int fd = raw_upgrade(ws_server_port(srv), "/"); /* completes the upgrade, then reads nothing */
  for (int i = 0; i < 300 && ws_server_connections(srv) == 0; i++)
    ws_loop_run_once(loop, 10);
  WS_CHECK_EQ_INT(ws_server_connections(srv), 1);
  uint64_t t0 = ws_loop_now(loop);
  WS_CHECK_EQ_INT(ws_server_shutdown(srv, 1001, 300), WS_OK);
  WS_CHECK_EQ_INT(ws_loop_run(loop), WS_OK); /* returns when the server has freed itself */
  uint64_t took = ws_loop_now(loop) - t0;
  WS_CHECK_EQ_STR(r.log, "open,error,close:1006:0");
  WS_CHECK_EQ_INT(r.err, WS_ERR_SHUTDOWN);
  WS_CHECK_MSG(took >= 250 && took < 2000, "took %llu ms", (unsigned long long)took);
  close(fd);
  ws_loop_free(loop);
}

WS_TEST(freeing_the_loop_cuts_open_sockets_and_servers_without_leaks) {
  harness h;
  h_init(&h, 0);
  rec r = {0};
  ws_socket *ws = ws_open(h.loop, h.url, NULL, 0, NULL, NULL);
  watch(ws, &r);
  h_run(&h, rec_opened, &r);
  ws_send_text(ws, "pending", 7);
  ws_open(h.loop, h.url, NULL, 0, NULL, NULL); /* still connecting */
  ws_loop_free(h.loop);                        /* ASan/valgrind: nothing leaks, nothing fires */
  WS_CHECK_EQ_STR(r.log, "open");
}

/* ---- route handlers (ws_server_route_on) -------------------------------------------------- */

/* Echo with a prefix, to tell a socket's own handler from its route's. */
static void s_echo_x(const ws_event *ev, void *ud) {
  (void)ud;
  size_t len;
  const uint8_t *d = ws_message_event_data(ws_event_as_message(ev), &len);
  char out[64];
  int n = snprintf(out, sizeof out, "X:%.*s", (int)len, (const char *)d);
  ws_send_text(ws_event_socket(ev), out, (size_t)n);
}

static void count_event(const ws_event *ev, void *ud) {
  (void)ev;
  (*(int *)ud)++;
}

/* The second connection of the route overrides the route's "message" handler, the third
 * clears its "open" handler: for that socket only. */
typedef struct route_state {
  int conns;
  int opens; /* the route's "open" handler */
} route_state;
static int route_conn(ws_server *srv, ws_socket *ws, const ws_http_request *req, void *ud) {
  (void)srv, (void)req;
  route_state *st = ud;
  int k = st->conns++;
  if (k == 1)
    return ws_on(ws, "message", s_echo_x, NULL);
  if (k == 2)
    return ws_on(ws, "open", NULL, NULL);
  return 0;
}

/* Open a client on url, wait for its open, send text, wait for the answer. */
static ws_socket *ask(ws_loop *loop, const char *url, rec *r, const char *text, const char *want) {
  ws_socket *ws = ws_open(loop, url, NULL, 0, NULL, NULL);
  watch(ws, r);
  for (int i = 0; i < 300 && r->opens == 0 && r->closes == 0; i++)
    ws_loop_run_once(loop, 10);
  ws_send_text(ws, text, strlen(text));
  for (int i = 0; i < 300 && !strstr(r->log, want) && r->closes == 0; i++)
    ws_loop_run_once(loop, 10);
  WS_CHECK_MSG(strstr(r->log, want) != NULL, "want %s: %s", want, r->log);
  return ws;
}

WS_TEST(route_handlers_serve_every_connection_and_a_socket_may_override_them) {
  ws_loop *loop = ws_loop_new(NULL);
  ws_server_options o;
  ws_server_options_init(&o);
  o.host = "127.0.0.1";
  ws_server *srv = ws_server_new(loop, &o, NULL);
  route_state st = {0, 0};
  WS_CHECK_EQ_INT(ws_server_route(srv, "/r", NULL, 0, route_conn, &st), WS_OK);
  WS_CHECK_EQ_INT(ws_server_route(srv, "/n", NULL, 0, NULL, NULL), WS_OK); /* no callback */
  /* Errors change nothing. */
  char t32[33];
  memset(t32, 't', 32);
  t32[32] = '\0';
  WS_CHECK_EQ_INT(ws_server_route_on(srv, "/nope", "message", s_echo, NULL), WS_ERR_NOT_FOUND);
  WS_CHECK_EQ_INT(ws_server_route_on(srv, "*", "message", s_echo, NULL), WS_ERR_NOT_FOUND);
  WS_CHECK_EQ_INT(ws_server_route_on(NULL, "/r", "message", s_echo, NULL), WS_ERR_INVAL);
  WS_CHECK_EQ_INT(ws_server_route_on(srv, NULL, "message", s_echo, NULL), WS_ERR_INVAL);
  WS_CHECK_EQ_INT(ws_server_route_on(srv, "/r", NULL, s_echo, NULL), WS_ERR_INVAL);
  WS_CHECK_EQ_INT(ws_server_route_on(srv, "/r", t32, s_echo, NULL), WS_ERR_INVAL);
  WS_CHECK_EQ_INT(ws_server_route_on(srv, "/r", "message", NULL, NULL), WS_OK); /* none: fine */
  WS_CHECK_EQ_INT(ws_server_route_on(srv, "/r", "message", s_echo, NULL), WS_OK);
  WS_CHECK_EQ_INT(ws_server_route_on(srv, "/r", "open", count_event, &st.opens), WS_OK);
  WS_CHECK_EQ_INT(ws_server_route_on(srv, "/n", "message", s_echo_x, NULL), WS_OK);
  char base[64], url[80];
  snprintf(base, sizeof base, "ws://127.0.0.1:%u", ws_server_port(srv));

  rec r[5];
  memset(r, 0, sizeof r);
  snprintf(url, sizeof url, "%s/r", base);
  ws_socket *c0 = ask(loop, url, &r[0], "a", "msg:a");
  ask(loop, url, &r[1], "b", "msg:X:b"); /* its own handler, not the route's */
  ask(loop, url, &r[2], "c", "msg:c");
  WS_CHECK_EQ_INT(st.conns, 3);
  WS_CHECK_EQ_INT(st.opens, 2); /* "open" reached the route's handler, but not where cleared */
  snprintf(url, sizeof url, "%s/n", base);
  ask(loop, url, &r[3], "d", "msg:X:d"); /* a route without a connection callback */

  /* A change reaches the connections accepted after it; the older ones keep what they had. */
  WS_CHECK_EQ_INT(ws_server_route_on(srv, "/r", "message", s_echo_x, NULL), WS_OK);
  WS_CHECK_EQ_INT(ws_server_route_on(srv, "/r", "open", NULL, NULL), WS_OK);
  snprintf(url, sizeof url, "%s/r", base);
  ask(loop, url, &r[4], "e", "msg:X:e");
  WS_CHECK_EQ_INT(st.opens, 2);
  ws_send_text(c0, "again", 5);
  for (int i = 0; i < 300 && !strstr(r[0].log, "again"); i++)
    ws_loop_run_once(loop, 10);
  WS_CHECK_EQ_STR(r[0].log, "open,msg:a,msg:again");
  for (int k = 0; k < 5; k++)
    WS_CHECK_MSG(r[k].closes == 0, "client %d: %s", k, r[k].log);
  /* Freed with connections still viewing current and retired sets (ASan: no leak, no UAF). */
  ws_loop_free(loop);
}

/* At the server's "open" event: the blocks of the loop's allocator live then (what one
 * connection costs). */
typedef struct at_open {
  ws_test_counting *la;
  long live;
} at_open;
static void mark_open(const ws_event *ev, void *ud) {
  (void)ev;
  at_open *m = ud;
  m->live = m->la->live;
}
static int own_handlers(ws_server *srv, ws_socket *ws, const ws_http_request *req, void *ud) {
  (void)srv, (void)req;
  if (ws_on(ws, "open", mark_open, ud) != WS_OK || ws_on(ws, "message", s_echo, NULL) != WS_OK)
    return -1;
  return 0;
}

/* Issue 8: a connection that only has its route's handlers allocates no listener array. The
 * same two handlers set per socket with ws_on cost one more block per connection (the array);
 * set on the route, none: the blocks a connection holds at its "open" differ by exactly that. */
WS_TEST(a_connection_with_only_route_handlers_allocates_no_listener_array) {
  long cost[2] = {0, 0}; /* blocks added by one connection, client and server sides */
  for (int mode = 0; mode < 2; mode++) {
    ws_test_counting la = {.budget = -1};
    ws_allocator al = ws_test_counting_allocator(&la);
    ws_loop *loop = ws_loop_new(&al);
    ws_server_options o;
    ws_server_options_init(&o);
    o.host = "127.0.0.1";
    ws_server *srv = ws_server_new(loop, &o, NULL);
    at_open m = {&la, -1};
    if (mode == 0) {
      ws_server_route(srv, "*", NULL, 0, NULL, NULL);
      ws_server_route_on(srv, "*", "open", mark_open, &m);
      ws_server_route_on(srv, "*", "message", s_echo, NULL);
    } else {
      ws_server_route(srv, "*", NULL, 0, own_handlers, &m);
    }
    char url[64];
    snprintf(url, sizeof url, "ws://127.0.0.1:%u/", ws_server_port(srv));
    /* A first connection, so that whatever the loop makes once is made. */
    rec r0 = {0}, r1 = {0};
    ask(loop, url, &r0, "warm", "msg:warm");
    for (int i = 0; i < 100 && ws_server_connections(srv) < 1; i++)
      ws_loop_run_once(loop, 10);
    long before = la.live;
    m.live = -1;
    ws_socket *c = ws_open(loop, url, NULL, 0, NULL, NULL);
    watch(c, &r1);
    for (int i = 0; i < 300 && m.live < 0; i++)
      ws_loop_run_once(loop, 10);
    WS_CHECK_MSG(m.live >= 0, "mode %d: no open", mode);
    cost[mode] = m.live - before;
    for (int i = 0; i < 300 && r1.opens == 0; i++)
      ws_loop_run_once(loop, 10);
    ws_send_text(c, "x", 1); /* the route's handler answers */
    for (int i = 0; i < 300 && !strstr(r1.log, "msg:x"); i++)
      ws_loop_run_once(loop, 10);
    WS_CHECK_MSG(strstr(r1.log, "msg:x") != NULL, "mode %d: %s", mode, r1.log);
    ws_server_shutdown(srv, 1001, 200);
    ws_loop_run(loop);
    ws_loop_free(loop);
    WS_CHECK_MSG(la.live == 0, "mode %d: %ld blocks leaked", mode, la.live);
  }
  WS_CHECK_MSG(cost[1] - cost[0] == 1, "per-socket ws_on: %ld blocks, route handlers: %ld", cost[1],
               cost[0]);
}

int main(void) { return ws_test_main(); }
