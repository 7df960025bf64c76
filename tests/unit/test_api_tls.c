/* src/loop TLS through the API: a certificate made here (OpenSSL API, files in a temporary
 * directory), wss:// echo with verification, verification failures reported as 1015 with
 * OpenSSL's text, `insecure`, and the decrypted-but-undelivered input path (a tiny read buffer
 * makes every read stop inside a TLS record). The same with real peers: tests/interop (tls). */
#include "loop/loop.h"
#include "wsclean/wsclean.h"
#include "wstest.h"
#include "wstest_cert.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static wstest_cert CERT;

typedef struct {
  char log[256];
  int closes, messages;
  size_t bytes;
  uint16_t code;
  bool clean;
  int err;
  char detail[256];
} rec;

static void on_any(const ws_event *ev, void *ud) {
  rec *r = ud;
  const char *t = ws_event_type(ev);
  size_t n = strlen(r->log);
  if (strcmp(t, "message") == 0) {
    size_t len;
    ws_message_event_data(ws_event_as_message(ev), &len);
    r->messages++;
    r->bytes += len;
    return;
  }
  if (strcmp(t, "close") == 0) {
    const ws_close_event *c = ws_event_as_close(ev);
    r->closes++;
    r->code = ws_close_event_code(c);
    r->clean = ws_close_event_was_clean(c);
    r->err = ws_close_event_diag(c)->error;
    snprintf(r->detail, sizeof r->detail, "%s", ws_close_event_diag(c)->detail);
  }
  snprintf(r->log + n, sizeof r->log - n, "%s%s", n ? "," : "", t);
}

static void watch(ws_socket *ws, rec *r) {
  ws_on(ws, "open", on_any, r);
  ws_on(ws, "message", on_any, r);
  ws_on(ws, "error", on_any, r);
  ws_on(ws, "close", on_any, r);
}

/* The server sends 200 messages of 1000..1006 bytes at open, then closes with 1000. */
static void burst(const ws_event *ev, void *ud) {
  (void)ud;
  static uint8_t block[1006];
  ws_socket *ws = ws_event_socket(ev);
  for (int i = 0; i < 200; i++)
    ws_send_binary(ws, block, 1000 + (size_t)(i % 7));
  ws_close(ws, 1000, "done");
}

static int on_conn(ws_server *srv, ws_socket *ws, const ws_http_request *req, void *ud) {
  (void)srv, (void)req, (void)ud;
  ws_on(ws, "open", burst, NULL);
  return 0;
}

/* The pause test's server: three 100-byte messages at open, written in one TLS record. */
static void three_small(const ws_event *ev, void *ud) {
  (void)ud;
  static const uint8_t block[100];
  for (int i = 0; i < 3; i++)
    ws_send_binary(ws_event_socket(ev), block, sizeof block);
}

static int on_conn_small(ws_server *srv, ws_socket *ws, const ws_http_request *req, void *ud) {
  (void)srv, (void)req, (void)ud;
  ws_on(ws, "open", three_small, NULL);
  return 0;
}

static ws_server *tls_server(ws_loop *loop, const char *host) {
  ws_server_options o;
  ws_server_options_init(&o);
  o.host = host;
  o.tls_cert_file = CERT.cert;
  o.tls_key_file = CERT.key;
  int err = 0;
  ws_server *srv = ws_server_new(loop, &o, &err);
  WS_CHECK_MSG(srv != NULL, "%s", ws_errname(err));
  if (srv)
    ws_server_route(srv, "*", NULL, 0, on_conn, NULL);
  return srv;
}

static void run_until_closed(ws_loop *loop, rec *r) {
  for (int i = 0; i < 500 && r->closes == 0; i++)
    ws_loop_run_once(loop, 10);
}

static void finish(ws_loop *loop, ws_server *srv) {
  if (srv)
    ws_server_shutdown(srv, 1001, 200);
  for (int i = 0; i < 300 && ws_loop_run_once(loop, 10) > 0; i++) {
  }
  ws_loop_free(loop);
}

WS_TEST(wss_verified_by_name_and_by_ip_even_with_a_tiny_read_buffer) {
  static const struct {
    const char *host;
    size_t rbuf; /* 0: the normal 64 KiB */
  } rows[] = {{"localhost", 0}, {"127.0.0.1", 0}, {"localhost", 700}, {"127.0.0.1", 4001}};
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
    ws_loop *loop = ws_loop_new(NULL);
    /* A read buffer smaller than a record leaves decrypted bytes inside OpenSSL after each read:
     * they must be delivered without waiting for the socket to become readable again. */
    ws__loop_set_rbuf_cap(loop, rows[i].rbuf);
    ws_server *srv = tls_server(loop, "127.0.0.1");
    char url[96];
    snprintf(url, sizeof url, "wss://%s:%u/", rows[i].host, ws_server_port(srv));
    ws_open_options o;
    ws_open_options_init(&o);
    o.ca_file = CERT.cert;
    rec r = {0};
    ws_socket *ws = ws_open(loop, url, NULL, 0, &o, NULL);
    watch(ws, &r);
    run_until_closed(loop, &r);
    WS_CHECK_MSG(strcmp(r.log, "open,close") == 0, "row %zu: %s (%s)", i, r.log, r.detail);
    WS_CHECK_EQ_INT(r.messages, 200);
    size_t want = 0;
    for (int k = 0; k < 200; k++)
      want += 1000 + (size_t)(k % 7);
    WS_CHECK_EQ_INT(r.bytes, want);
    WS_CHECK_EQ_INT(r.code, 1000);
    WS_CHECK(r.clean);
    finish(loop, srv);
  }
}

WS_TEST(untrusted_certificate_is_1015_with_openssl_text_and_insecure_skips_it) {
  ws_loop *loop = ws_loop_new(NULL);
  ws_server *srv = tls_server(loop, "127.0.0.1");
  char url[96];
  snprintf(url, sizeof url, "wss://localhost:%u/", ws_server_port(srv));
  rec r = {0};
  ws_open_options o;
  ws_open_options_init(&o); /* the system store does not know our certificate */
  ws_socket *ws = ws_open(loop, url, NULL, 0, &o, NULL);
  watch(ws, &r);
  run_until_closed(loop, &r);
  WS_CHECK_EQ_STR(r.log, "error,close");
  WS_CHECK_EQ_INT(r.code, 1015); /* a browser would say 1006 */
  WS_CHECK(!r.clean);
  WS_CHECK_EQ_INT(r.err, WS_ERR_TLS_HANDSHAKE);
  WS_CHECK_MSG(strstr(r.detail, "certificate verify failed") != NULL, "%s", r.detail);

  /* Right CA, wrong address (the certificate names 127.0.0.1, not 127.0.0.2): the host check
   * fails the same way. */
  ws_server *srv2 = tls_server(loop, "127.0.0.2");
  rec r2 = {0};
  char url2[96];
  snprintf(url2, sizeof url2, "wss://127.0.0.2:%u/", ws_server_port(srv2));
  o.ca_file = CERT.cert;
  ws = ws_open(loop, url2, NULL, 0, &o, NULL);
  watch(ws, &r2);
  run_until_closed(loop, &r2);
  WS_CHECK_EQ_INT(r2.code, 1015);
  WS_CHECK_MSG(strstr(r2.detail, "mismatch") != NULL || strstr(r2.detail, "verify") != NULL, "%s",
               r2.detail);

  rec r3 = {0};
  ws_open_options_init(&o);
  o.insecure = true;
  ws = ws_open(loop, url, NULL, 0, &o, NULL);
  watch(ws, &r3);
  run_until_closed(loop, &r3);
  WS_CHECK_EQ_STR(r3.log, "open,close");
  WS_CHECK_EQ_INT(r3.messages, 200);

  int err = 0;
  ws_open_options_init(&o);
  o.ca_file = "/nonexistent/ca.pem";
  WS_CHECK(ws_open(loop, url, NULL, 0, &o, &err) == NULL);
  WS_CHECK_EQ_INT(err, WS_ERR_TLS_CONFIG);
  ws_server_shutdown(srv2, 1001, 100);
  finish(loop, srv);
}

/* ws_pause inside a message handler while OpenSSL still holds decrypted bytes (a 150-byte read
 * buffer splits the one record), then ws_resume with nothing more on the socket: the held
 * bytes must be read without waiting for epoll, which has nothing to report. */
static void pause_first(const ws_event *ev, void *ud) {
  int *msgs = ud;
  if (++*msgs == 1)
    WS_CHECK_EQ_INT(ws_pause(ws_event_socket(ev)), WS_OK);
}

WS_TEST(wss_resume_reads_what_tls_held_during_the_pause) {
  ws_loop *loop = ws_loop_new(NULL);
  ws__loop_set_rbuf_cap(loop, 150);
  ws_server_options so;
  ws_server_options_init(&so);
  so.host = "127.0.0.1";
  so.tls_cert_file = CERT.cert;
  so.tls_key_file = CERT.key;
  int err = 0;
  ws_server *srv = ws_server_new(loop, &so, &err);
  WS_CHECK_EQ_INT(err, WS_OK);
  ws_server_route(srv, "*", NULL, 0, on_conn_small, NULL);
  char url[96];
  snprintf(url, sizeof url, "wss://127.0.0.1:%u/", ws_server_port(srv));
  ws_open_options o;
  ws_open_options_init(&o);
  o.ca_file = CERT.cert;
  int msgs = 0;
  ws_socket *ws = ws_open(loop, url, NULL, 0, &o, NULL);
  ws_on(ws, "message", pause_first, &msgs);
  for (int i = 0; i < 300 && msgs == 0; i++)
    ws_loop_run_once(loop, 10);
  for (int i = 0; i < 10; i++) /* paused: nothing more arrives */
    ws_loop_run_once(loop, 10);
  WS_CHECK_EQ_INT(msgs, 1);
  WS_CHECK(ws_is_paused(ws));
  WS_CHECK_EQ_INT(ws_resume(ws), WS_OK);
  for (int i = 0; i < 100 && msgs < 3; i++)
    ws_loop_run_once(loop, 10);
  WS_CHECK_EQ_INT(msgs, 3);
  ws_close(ws, 1000, NULL);
  finish(loop, srv);
}

WS_TEST(server_refuses_missing_key_files) {
  ws_loop *loop = ws_loop_new(NULL);
  ws_server_options o;
  ws_server_options_init(&o);
  o.host = "127.0.0.1";
  o.tls_cert_file = CERT.cert;
  o.tls_key_file = "/nonexistent/key.pem";
  int err = 0;
  WS_CHECK(ws_server_new(loop, &o, &err) == NULL);
  WS_CHECK_EQ_INT(err, WS_ERR_TLS_CONFIG);
  o.tls_key_file = NULL; /* one without the other */
  WS_CHECK(ws_server_new(loop, &o, &err) == NULL);
  WS_CHECK_EQ_INT(err, WS_ERR_INVAL);
  ws_loop_free(loop);
}

int main(void) {
  if (!wstest_cert_make(&CERT)) {
    fprintf(stderr, "cannot make a test certificate\n");
    return 1;
  }
  int rc = ws_test_main();
  wstest_cert_remove(&CERT);
  return rc;
}
