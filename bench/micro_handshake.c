/* micro_handshake — the opening handshake, server side, in requests per second (issue 8).
 *
 *   bench_micro_handshake [--reps R (7)]
 *
 * Two requests: a minimal one (what a load generator sends, ~150 B) and a browser's (Chrome's
 * header set, ~500 B). Measured, each the median of R repetitions of >= 0.2 s:
 *   parse   ws__http_parse_request alone (the bounded HTTP head parser)
 *   accept  ws__accept_key alone (SHA-1 + base64 of Sec-WebSocket-Key, RFC 6455 4.2.2)
 *   full    ws_server_handshake_new + recv + response + free (what a server does per upgrade)
 * Nothing is asserted. Built only once src/proto/http.h (branch handshake) exists. */
/* WS_BENCH_HAVE_HANDSHAKE: defined by bench/CMakeLists.txt when src/proto/http.h exists (a compile
 * definition, so the build system rebuilds this file the day the header appears). */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_util.h"

#ifdef WS_BENCH_HAVE_HANDSHAKE
#include "proto/http.h"
#include "wsclean/handshake.h"

static const char req_min[] =
    "GET / HTTP/1.1\r\nHost: 127.0.0.1:9001\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

static const char req_browser[] =
    "GET /chat?room=1 HTTP/1.1\r\n"
    "Host: localhost:8080\r\n"
    "Connection: Upgrade\r\n"
    "Pragma: no-cache\r\n"
    "Cache-Control: no-cache\r\n"
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36\r\n"
    "Upgrade: websocket\r\n"
    "Origin: http://localhost:8080\r\n"
    "Sec-WebSocket-Version: 13\r\n"
    "Accept-Encoding: gzip, deflate, br\r\n"
    "Accept-Language: en-US,en;q=0.9,fr;q=0.8\r\n"
    "Sec-WebSocket-Key: x3JJHMbDL1EzLkh9GBhXDw==\r\n"
    "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
    "\r\n";

typedef struct hs_case {
  const uint8_t *req;
  size_t len;
  volatile long sink;
} hs_case;

typedef long (*op_fn)(hs_case *c);

static long op_parse(hs_case *c) {
  ws__http_limits lim = {8192, 100, 4096};
  ws_http_request r;
  ws_header hdrs[100];
  return ws__http_parse_request(c->req, c->len, &lim, &r, hdrs, NULL);
}

static long op_accept(hs_case *c) {
  (void)c;
  char out[29];
  return ws__accept_key("x3JJHMbDL1EzLkh9GBhXDw==", 24, out) == 0 ? out[3] : -1;
}

static long op_full(hs_case *c) {
  ws_server_handshake_options o;
  ws_server_handshake_options_init(&o);
  ws_server_handshake *h = ws_server_handshake_new(&o, NULL);
  if (!h)
    return -1;
  size_t used = 0, rlen = 0;
  int rc = ws_server_handshake_recv(h, c->req, c->len, &used);
  const uint8_t *resp = ws_server_handshake_response(h, &rlen);
  long v = rc == 0 && resp ? (long)rlen : -1;
  ws_server_handshake_free(h);
  return v;
}

/* Median seconds per operation; -1 if the operation fails. */
static double measure(hs_case *c, op_fn fn, int reps) {
  double per[32];
  if (reps > 32)
    reps = 32;
  if (fn(c) < 0)
    return -1;
  for (int r = 0; r < reps; r++) {
    long n = 0;
    double t0 = bench_now_s(), t;
    do {
      for (int i = 0; i < 64; i++)
        c->sink += fn(c);
      n += 64;
    } while ((t = bench_now_s() - t0) < 0.2);
    per[r] = t / (double)n;
  }
  qsort(per, (size_t)reps, sizeof per[0], bench_cmp_double);
  return per[reps / 2];
}

int main(int argc, char **argv) {
  int reps = 7;
  if (argc == 3 && strcmp(argv[1], "--reps") == 0)
    reps = atoi(argv[2]);
  if (reps <= 0)
    return 2;
  hs_case cases[2] = {{(const uint8_t *)req_min, sizeof req_min - 1, 0},
                      {(const uint8_t *)req_browser, sizeof req_browser - 1, 0}};
  const char *case_names[2] = {"minimal", "browser"};
  const char *op_names[3] = {"parse", "accept", "full"};
  op_fn ops[3] = {op_parse, op_accept, op_full};
  printf("server opening handshake, median of %d reps\n", reps);
  printf("%-8s %6s %-7s %12s %10s\n", "request", "bytes", "what", "M req/s", "ns/req");
  for (int k = 0; k < 2; k++) {
    for (int o = 0; o < 3; o++) {
      double t = measure(&cases[k], ops[o], reps);
      if (t < 0) {
        printf("%-8s %6zu %-7s %12s\n", case_names[k], cases[k].len, op_names[o], "FAILED");
        continue;
      }
      printf("%-8s %6zu %-7s %12.3f %10.1f\n", case_names[k], cases[k].len, op_names[o], 1e-6 / t,
             t * 1e9);
    }
  }
  return 0;
}
#else
int main(void) {
  fprintf(stderr, "micro_handshake: needs src/proto/http.h (the handshake branch); not built in\n");
  return 0;
}
#endif
