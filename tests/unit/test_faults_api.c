/* Fault injection through the whole stack (issue 9): a ws_loop, a ws_server and a ws_open
 * client talking over loopback inside one loop, every object on one allocator that fails the
 * Nth allocation, for every N the fault-free run makes.
 *
 * Each run must: not crash (ASan in the asan. variant), leave nothing allocated once the loop is
 * freed, fire the client's close event at most once (exactly once when the run finished) with
 * error before close when the connection failed, never hang past its time budget, and end as the
 * fault-free run or with a clean failure: the client reports the expected code, 1011 or 1006,
 * and ws_open / ws_server_new / ws_loop_new return NULL + WS_ERR_NOMEM rather than crash.
 * The last scenario runs over TLS (wss://, a throwaway self-signed certificate); OpenSSL's own
 * allocations do not go through our allocator, ours around it do. */
#include "wsclean/wsclean.h"
#include "wstest.h"
#include "wstest_cert.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "faults_pair.h" /* fp_alloc */

/* The TLS scenario's throwaway certificate (tests/unit/support/wstest_cert.h); when OpenSSL
 * cannot make one the scenario is skipped, loudly. */
static wstest_cert CERT;
static bool make_cert(void) { return CERT.cert[0] || wstest_cert_make(&CERT); }

typedef struct api_rec {
  int opens, closes, errors, msgs;
  bool error_after_close;
  uint16_t code;
  bool clean;
  uint32_t hash;
} api_rec;

typedef struct api_run {
  fp_alloc fa;
  ws_allocator a;
  ws_loop *loop;
  ws_server *srv;
  ws_socket *client;
  api_rec c, s;
  int scenario;
  bool server_closed;
} api_run;

static void r_event(const ws_event *ev, void *ud) {
  api_rec *r = ud;
  const char *t = ws_event_type(ev);
  if (!strcmp(t, "open"))
    r->opens++;
  else if (!strcmp(t, "error")) {
    if (r->closes)
      r->error_after_close = true;
    r->errors++;
  } else if (!strcmp(t, "message")) {
    size_t n;
    const uint8_t *d = ws_message_event_data(ws_event_as_message(ev), &n);
    r->msgs++;
    r->hash = fp_fnv(r->hash, d, n);
  } else if (!strcmp(t, "close")) {
    const ws_close_event *c = ws_event_as_close(ev);
    r->closes++;
    r->code = ws_close_event_code(c);
    r->clean = ws_close_event_was_clean(c);
  }
}

/* The application's answer to a send that ran out of memory: close with 1011 (a message it
 * could not send would otherwise leave its peer waiting). */
static void sent(ws_socket *ws, int rc) {
  if (rc == WS_ERR_NOMEM)
    (void)ws_close_with(ws, 1011, "out of memory");
}

/* false when a handler could not be set (out of memory): an application then gives up on the
 * connection, or its bookkeeping (the server's message count here) silently goes wrong. */
static bool watch(ws_socket *ws, api_rec *r) {
  return ws_on(ws, "open", r_event, r) == WS_OK && ws_on(ws, "message", r_event, r) == WS_OK &&
         ws_on(ws, "error", r_event, r) == WS_OK && ws_on(ws, "close", r_event, r) == WS_OK;
}

/* server: echo; scenario 1 closes with 4000 after the third message; scenario 2 sends two
 * messages and shuts the whole server down with 1012 */
static void s_message(const ws_event *ev, void *ud) {
  api_run *r = ud;
  size_t n;
  const ws_message_event *m = ws_event_as_message(ev);
  const uint8_t *d = ws_message_event_data(m, &n);
  ws_socket *ws = ws_event_socket(ev);
  if (ws_message_event_is_binary(m))
    sent(ws, ws_send_binary(ws, d, n));
  else
    sent(ws, ws_send_text(ws, (const char *)d, n));
  if (r->scenario == 1 && r->s.msgs == 3)
    (void)ws_close_with(ws, 4000, "enough");
  if (r->scenario == 2 && r->s.msgs == 2 && r->srv) {
    (void)ws_server_shutdown(r->srv, 1012, 500);
    r->srv = NULL; /* it frees itself when done */
  }
}
static void s_close(const ws_event *ev, void *ud) {
  (void)ev;
  ((api_run *)ud)->server_closed = true;
}

static int on_conn(ws_server *srv, ws_socket *ws, const ws_http_request *req, void *ud) {
  (void)srv, (void)req;
  api_run *r = ud;
  if (!watch(ws, &r->s))
    return -1; /* out of memory: the server closes with 1011 */
  if (ws_event_target_add_listener(ws_target(ws), "message", s_message, r) != WS_OK)
    return -1; /* out of memory: the server closes with 1011 */
  if (ws_event_target_add_listener(ws_target(ws), "close", s_close, r) != WS_OK)
    return -1;
  return 0;
}

static void c_open(const ws_event *ev, void *ud) {
  api_run *r = ud;
  ws_socket *ws = ws_event_socket(ev);
  static const char hello[] = "h\xc3\xa9llo";
  static uint8_t bin[70000];
  sent(ws, ws_send_text(ws, hello, sizeof hello - 1));
  sent(ws, ws_send_binary(ws, bin, r->scenario == 3 ? 70000 : 300));
  sent(ws, ws_send_text(ws, "three", 5));
  if (r->scenario == 0 || r->scenario == 4)
    (void)ws_close(ws, 1000, "bye");
}

static long elapsed_ms(const struct timespec *t0) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

typedef struct api_result {
  long allocs, live;
  bool created, finished, hung;
  api_rec c;
} api_result;

static api_result run_api(int scenario, long fail_at) {
  api_run *r = calloc(1, sizeof *r);
  api_result res;
  memset(&res, 0, sizeof res);
  r->fa.fail_at = fail_at;
  r->a = (ws_allocator){fp_malloc, fp_realloc, fp_free, &r->fa};
  r->scenario = scenario;
  r->c.hash = r->s.hash = 2166136261u;
  r->loop = ws_loop_new(&r->a);
  if (r->loop) {
    ws_server_options so;
    ws_server_options_init(&so);
    so.host = "127.0.0.1";
    so.handshake_timeout_ms = 1000;
    so.conn.close_timeout_ms = 500;
    if (scenario == 4) {
      so.tls_cert_file = CERT.cert;
      so.tls_key_file = CERT.key;
    }
    int err = 0;
    r->srv = ws_server_new(r->loop, &so, &err);
    if (!r->srv)
      WS_CHECK_MSG(err == WS_ERR_NOMEM, "ws_server_new: %s", ws_errname(err));
    if (r->srv && ws_server_route(r->srv, "*", NULL, 0, on_conn, r) == WS_OK) {
      char url[64];
      snprintf(url, sizeof url, "%s://127.0.0.1:%u/x", scenario == 4 ? "wss" : "ws",
               ws_server_port(r->srv));
      ws_open_options oo;
      ws_open_options_init(&oo);
      oo.handshake_timeout_ms = 1000;
      oo.conn.close_timeout_ms = 500;
      if (scenario == 3)
        oo.conn.max_message_size = 1000; /* the 70000-byte echo is too big: 1009 */
      oo.insecure = scenario == 4;       /* the throwaway certificate verifies nothing */
      r->client = ws_open(r->loop, url, NULL, 0, &oo, &err);
      if (!r->client)
        WS_CHECK_MSG(err == WS_ERR_NOMEM, "ws_open: %s", ws_errname(err));
      else if (!watch(r->client, &r->c)) {
        /* out of memory for the handlers: give up on the socket (its close event may not be
         * seen now; the loop still frees it) */
        (void)ws_close(r->client, 4001, NULL);
      } else {
        res.created = true;
        if (ws_event_target_add_listener(ws_target(r->client), "open", c_open, r) != WS_OK)
          (void)ws_close(r->client, 4001, NULL);
      }
    }
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    /* done: the client's close fired and the server's connection (if any) is gone */
    while (elapsed_ms(&t0) < 5000) {
      if (!res.created || (r->c.closes && (r->s.opens == 0 || r->server_closed)))
        break;
      ws_loop_run_once(r->loop, 20);
    }
    res.finished = !res.created || r->c.closes > 0;
    if (getenv("FAPI_DEBUG"))
      fprintf(stderr,
              "sc %d fail@%ld: client opens %d msgs %d closes %d code %u; server opens %d msgs %d "
              "closes %d code %u closed %d\n",
              scenario, fail_at, r->c.opens, r->c.msgs, r->c.closes, r->c.code, r->s.opens,
              r->s.msgs, r->s.closes, r->s.code, r->server_closed);
    res.hung = elapsed_ms(&t0) >= 5000;
    if (r->srv)
      (void)ws_server_shutdown(r->srv, 1001, 100);
    for (int i = 0; i < 50 && ws_loop_run_once(r->loop, 10) > 0; i++) {
    }
    ws_loop_free(r->loop);
  }
  res.c = r->c;
  res.allocs = r->fa.calls;
  res.live = r->fa.live;
  free(r);
  return res;
}

static const struct {
  const char *name;
  uint16_t code;
  bool clean;
} API_SCEN[] = {
    {"client_close_1000", 1000, true},
    {"server_close_4000", 4000, true},
    {"server_shutdown_1012", 1012, true},
    {"client_limit_1009", 1006, false}, /* the client fails the connection: its own view */
    {"tls_client_close_1000", 1000, true},
};

WS_TEST(api_every_allocation_over_loopback) {
  long runs = 0;
  for (int sc = 0; sc < (int)(sizeof API_SCEN / sizeof API_SCEN[0]); sc++) {
    if (sc == 4 && !make_cert()) {
      printf("SKIPPED %s: OpenSSL could not make a test certificate\n", API_SCEN[sc].name);
      continue;
    }
    api_result base = run_api(sc, -1);
    WS_CHECK_MSG(base.created && base.finished && !base.hung, "%s: fault-free run did not end",
                 API_SCEN[sc].name);
    WS_CHECK_MSG(base.c.code == API_SCEN[sc].code && base.c.clean == API_SCEN[sc].clean,
                 "%s: fault-free close %u clean %d", API_SCEN[sc].name, base.c.code, base.c.clean);
    WS_CHECK_MSG(base.live == 0, "%s: %ld blocks leaked", API_SCEN[sc].name, base.live);
    for (long k = 0; k < base.allocs; k++) {
      api_result r = run_api(sc, k);
      runs++;
      WS_CHECK_MSG(r.live == 0, "%s fail@%ld: %ld blocks leaked", API_SCEN[sc].name, k, r.live);
      WS_CHECK_MSG(!r.hung, "%s fail@%ld: hung", API_SCEN[sc].name, k);
      WS_CHECK_MSG(r.c.closes <= 1 && !r.c.error_after_close, "%s fail@%ld: %d closes",
                   API_SCEN[sc].name, k, r.c.closes);
      if (r.created && r.finished) {
        uint16_t c = r.c.code;
        /* over TLS, a connection cut during the TLS handshake reports 1015 */
        WS_CHECK_MSG(c == API_SCEN[sc].code || c == 1011 || c == 1006 || (sc == 4 && c == 1015),
                     "%s fail@%ld: client close %u", API_SCEN[sc].name, k, c);
        WS_CHECK_MSG(!r.c.errors || !r.c.clean, "%s fail@%ld: error yet clean", API_SCEN[sc].name,
                     k);
      }
    }
    printf("%s: %ld allocations, each failed in turn\n", API_SCEN[sc].name, base.allocs);
  }
  printf("api fault runs: %ld\n", runs);
  wstest_cert_remove(&CERT);
}

int main(void) { return ws_test_main(); }
