/* src/api: ws_terminate (cut without a close frame) and ws_pause/ws_resume (read-side
 * backpressure), both roles, over loopback inside one loop. */
#include "wsclean/wsclean.h"
#include "wstest.h"

#include <stdio.h>
#include <string.h>

#include "api_recorder.h"

/* ---- a test server: echo, and what to do in the connection handler ------------------------ */
enum { H_NONE = 0, H_TERMINATE, H_PAUSE };

typedef struct harness {
  ws_loop *loop;
  ws_server *srv;
  rec srec;
  ws_socket *sws;
  int in_handler; /* H_* */
  int handler_rc;
  char url[128];
} harness;

static void s_echo(const ws_event *ev, void *ud) {
  (void)ud;
  size_t len;
  const uint8_t *d = ws_message_event_data(ws_event_as_message(ev), &len);
  ws_send_text(ws_event_socket(ev), (const char *)d, len);
}

static int on_conn(ws_server *srv, ws_socket *ws, const ws_http_request *req, void *ud) {
  (void)srv, (void)req;
  harness *h = ud;
  h->sws = ws;
  watch(ws, &h->srec);
  ws_event_target_add_listener(ws_target(ws), "message", s_echo, NULL);
  if (h->in_handler == H_TERMINATE)
    h->handler_rc = ws_terminate(ws);
  else if (h->in_handler == H_PAUSE)
    h->handler_rc = ws_pause(ws);
  return 0;
}

static void h_init(harness *h, int in_handler) {
  memset(h, 0, sizeof *h);
  h->loop = ws_loop_new(NULL);
  h->in_handler = in_handler;
  ws_server_options o;
  ws_server_options_init(&o);
  o.host = "127.0.0.1";
  int err = 0;
  h->srv = ws_server_new(h->loop, &o, &err);
  WS_CHECK_EQ_INT(err, WS_OK);
  ws_server_route(h->srv, "/t", NULL, 0, on_conn, h);
  snprintf(h->url, sizeof h->url, "ws://127.0.0.1:%u/t", ws_server_port(h->srv));
}

/* Run until *flag is non-zero or about max_ms pass. */
static void run_until(harness *h, const int *flag, int max_ms) {
  for (int i = 0; i < max_ms / 10 && !*flag; i++)
    ws_loop_run_once(h->loop, 10);
}

static void run_for(harness *h, int ms) {
  uint64_t end = ws_loop_now(h->loop) + (uint64_t)ms;
  for (int i = 0; i < ms && ws_loop_now(h->loop) < end; i++)
    ws_loop_run_once(h->loop, 10);
}

static void h_free(harness *h) {
  ws_server_shutdown(h->srv, 1001, 200);
  for (int i = 0; i < 300 && ws_loop_run_once(h->loop, 10) > 0; i++) {
  }
  ws_loop_free(h->loop);
}

static ws_socket *open_client(harness *h, rec *r, const ws_open_options *o) {
  ws_socket *ws = ws_open(h->loop, h->url, NULL, 0, o, NULL);
  WS_CHECK(ws != NULL);
  watch(ws, r);
  run_until(h, &r->opens, 3000);
  return ws;
}

/* ---- ws_terminate ------------------------------------------------------------------------ */
/* Above Chromium's 10 s unused-socket timeout, so that its spare sockets never race the cut. */
WS_TEST(server_handshake_timeout_default_30s) {
  ws_server_options o;
  ws_server_options_init(&o);
  WS_CHECK_EQ_INT(o.handshake_timeout_ms, 30000);
}

WS_TEST(terminate_client_open_async_1006_no_error) {
  harness h;
  h_init(&h, H_NONE);
  rec r = {0};
  ws_socket *ws = open_client(&h, &r, NULL);
  WS_CHECK_EQ_STR(r.log, "open");
  WS_CHECK_EQ_INT(ws_terminate(ws), WS_OK);
  /* Nothing fires inside the call; readyState is CLOSING at once (WHATWG-like). */
  WS_CHECK_EQ_STR(r.log, "open");
  WS_CHECK_EQ_INT(ws_state(ws), WS_CLOSING);
  WS_CHECK_EQ_INT(ws_send_text(ws, "late", 4), WS_OK); /* dropped */
  WS_CHECK_EQ_INT(ws_close(ws, 1000, NULL), WS_OK);    /* CLOSING: nothing */
  WS_CHECK_EQ_INT(ws_terminate(ws), WS_OK);            /* idempotent */
  run_until(&h, &r.closes, 3000);
  run_until(&h, &h.srec.closes, 3000);
  /* Our side: 1006, not clean, no "error" (a deliberate abort is not a failure). */
  WS_CHECK_EQ_STR(r.log, "open,close:1006:0");
  WS_CHECK_EQ_INT(r.err, WS_ERR_TERMINATED);
  WS_CHECK_EQ_INT(r.initiator, WS_CLOSER_LOCAL);
  /* The peer: no close frame arrived, only the end of TCP; "late" never went out. */
  WS_CHECK_EQ_STR(h.srec.log, "open,close:1006:0");
  WS_CHECK_EQ_INT(h.srec.code_received, 0);
  WS_CHECK_EQ_INT(h.srec.err, WS_ERR_PROTO_EOF);
  WS_CHECK_EQ_INT(ws_terminate(NULL), WS_ERR_INVAL);
  h_free(&h);
}

/* Input that is waiting when ws_terminate is called is not delivered: "close" comes next. */
WS_TEST(terminate_delivers_nothing_more) {
  harness h;
  h_init(&h, H_NONE);
  rec r = {0};
  ws_socket *ws = open_client(&h, &r, NULL);
  WS_CHECK_EQ_INT(ws_pause(ws), WS_OK);
  WS_CHECK_EQ_INT(ws_send_text(h.sws, "z", 1), WS_OK);
  run_for(&h, 100); /* "z" waits in the client's kernel buffer */
  WS_CHECK_EQ_STR(r.log, "open");
  WS_CHECK_EQ_INT(ws_resume(ws), WS_OK); /* readable at the next turn... */
  WS_CHECK_EQ_INT(ws_terminate(ws), WS_OK);
  run_until(&h, &r.closes, 3000);
  WS_CHECK_EQ_STR(r.log, "open,close:1006:0"); /* ...but terminated first: no msg:z */
  h_free(&h);
}

WS_TEST(terminate_server_in_handler_client_sees_open_then_1006) {
  harness h;
  h_init(&h, H_TERMINATE);
  rec r = {0};
  (void)open_client(&h, &r, NULL);
  WS_CHECK_EQ_INT(h.handler_rc, WS_OK);
  run_until(&h, &r.closes, 3000);
  run_until(&h, &h.srec.closes, 3000);
  /* The 101 went out before the cut: the client opened, then lost the connection. */
  WS_CHECK_EQ_STR(r.log, "open,close:1006:0");
  WS_CHECK_EQ_INT(r.code_received, 0);
  WS_CHECK_EQ_STR(h.srec.log, "open,close:1006:0");
  WS_CHECK_EQ_INT(h.srec.err, WS_ERR_TERMINATED);
  h_free(&h);
}

WS_TEST(terminate_while_closing_is_unclean) {
  harness h;
  h_init(&h, H_NONE);
  rec r = {0};
  ws_socket *ws = open_client(&h, &r, NULL);
  WS_CHECK_EQ_INT(ws_close(ws, 4000, "bye"), WS_OK); /* queued, not yet written */
  WS_CHECK_EQ_INT(ws_terminate(ws), WS_OK);          /* same turn: the frame never goes out */
  run_until(&h, &r.closes, 3000);
  run_until(&h, &h.srec.closes, 3000);
  WS_CHECK_EQ_STR(r.log, "open,close:1006:0");
  WS_CHECK_EQ_INT(r.err, WS_ERR_TERMINATED);
  WS_CHECK_EQ_STR(h.srec.log, "open,close:1006:0");
  h_free(&h);
}

WS_TEST(terminate_while_connecting_fails_like_close) {
  harness h;
  h_init(&h, H_NONE);
  rec r = {0};
  ws_socket *ws = ws_open(h.loop, h.url, NULL, 0, NULL, NULL);
  WS_CHECK(ws != NULL);
  watch(ws, &r);
  WS_CHECK_EQ_INT(ws_pause(ws), WS_ERR_STATE); /* nothing to pause yet */
  WS_CHECK_EQ_INT(ws_terminate(ws), WS_OK);
  WS_CHECK_EQ_STR(r.log, "");
  run_until(&h, &r.closes, 3000);
  WS_CHECK_EQ_STR(r.log, "error,close:1006:0");
  WS_CHECK_EQ_INT(r.err, WS_ERR_ABORTED);
  h_free(&h);
}

/* ---- ws_pause / ws_resume ---------------------------------------------------------------- */
WS_TEST(pause_server_reads_nothing_until_resume) {
  harness h;
  h_init(&h, H_PAUSE);
  rec r = {0};
  ws_socket *ws = open_client(&h, &r, NULL);
  WS_CHECK_EQ_INT(h.handler_rc, WS_OK);
  WS_CHECK(ws_is_paused(h.sws));
  WS_CHECK_EQ_INT(ws_pause(h.sws), WS_OK); /* idempotent */
  WS_CHECK_EQ_INT(ws_send_text(ws, "a", 1), WS_OK);
  WS_CHECK_EQ_INT(ws_send_text(ws, "b", 1), WS_OK);
  run_for(&h, 200);
  WS_CHECK_EQ_STR(h.srec.log, "open"); /* nothing read */
  WS_CHECK_EQ_STR(r.log, "open");
  WS_CHECK_EQ_INT(ws_resume(h.sws), WS_OK);
  WS_CHECK(!ws_is_paused(h.sws));
  run_for(&h, 200);
  WS_CHECK_EQ_STR(h.srec.log, "open,msg:a,msg:b");
  WS_CHECK_EQ_STR(r.log, "open,msg:a,msg:b");
  ws_close(ws, 1000, NULL);
  run_until(&h, &r.closes, 3000);
  WS_CHECK_EQ_STR(r.log, "open,msg:a,msg:b,close:1000:1");
  h_free(&h);
}

WS_TEST(pause_client_writes_go_on_reads_wait) {
  harness h;
  h_init(&h, H_NONE);
  rec r = {0};
  ws_socket *ws = open_client(&h, &r, NULL);
  WS_CHECK_EQ_INT(ws_pause(ws), WS_OK);
  WS_CHECK_EQ_INT(ws_send_text(ws, "x", 1), WS_OK); /* writing goes on while paused */
  run_for(&h, 200);
  WS_CHECK_EQ_STR(h.srec.log, "open,msg:x"); /* the server got it and echoed */
  WS_CHECK_EQ_STR(r.log, "open");            /* the echo waits in the kernel */
  WS_CHECK_EQ_INT(ws_resume(ws), WS_OK);
  WS_CHECK_EQ_INT(ws_resume(ws), WS_OK); /* idempotent */
  run_for(&h, 200);
  WS_CHECK_EQ_STR(r.log, "open,msg:x");
  WS_CHECK_EQ_INT(ws_pause(NULL), WS_ERR_INVAL);
  WS_CHECK_EQ_INT(ws_resume(NULL), WS_ERR_INVAL);
  h_free(&h);
}

/* The /noclose scenario: the server stops reading, so our close frame is never answered and
 * the client's close timeout ends the connection: 1006 after about close_timeout_ms. */
WS_TEST(pause_server_client_close_timeout_1006) {
  harness h;
  h_init(&h, H_PAUSE);
  rec r = {0};
  ws_open_options o;
  ws_open_options_init(&o);
  o.conn.close_timeout_ms = 300;
  ws_socket *ws = open_client(&h, &r, &o);
  uint64_t t0 = ws_loop_now(h.loop);
  WS_CHECK_EQ_INT(ws_close(ws, 1000, NULL), WS_OK);
  run_until(&h, &r.closes, 3000);
  uint64_t took = r.closed_at - t0;
  WS_CHECK_EQ_STR(r.log, "open,close:1006:0");
  WS_CHECK_EQ_INT(r.err, WS_ERR_PROTO_CLOSE_TIMEOUT);
  WS_CHECK_MSG(took >= 280 && took < 1500, "took %llu ms", (unsigned long long)took);
  WS_CHECK_EQ_STR(h.srec.log, "open"); /* paused: it saw nothing */
  /* Timers still run while paused: ws_terminate ends the server's side. */
  WS_CHECK_EQ_INT(ws_terminate(h.sws), WS_OK);
  run_until(&h, &h.srec.closes, 3000);
  WS_CHECK_EQ_STR(h.srec.log, "open,close:1006:0");
  WS_CHECK_EQ_INT(h.srec.err, WS_ERR_TERMINATED);
  h_free(&h);
}

int main(void) { return ws_test_main(); }
