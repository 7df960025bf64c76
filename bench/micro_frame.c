/* micro_frame — frame parsing of many small frames per buffer (issue 8), in frames per second.
 *
 *   bench_micro_frame [--frames N (4096)] [--reps R (7)]
 *
 * A buffer holds N masked client frames (as a server reads them, many per read) of 2, 20 and 125
 * payload bytes, text. Measured, each the median of R repetitions of >= 0.2 s:
 *   hdr    ws__frame_parse + skip over the whole buffer (header decoding alone)
 *   recv   a server ws_conn fed the whole buffer in one ws_conn_recv: header checks, unmasking
 *          in place, UTF-8 validation, on_message per frame (the buffer is restored from a
 *          pristine copy before each pass; that memcpy is timed alone and subtracted)
 * Nothing is asserted; numbers only. Built only once src/proto/frame.h (branch conn) exists. */
/* WS_BENCH_HAVE_FRAME: defined by bench/CMakeLists.txt when src/proto/frame.h exists (a compile
 * definition, so the build system rebuilds this file the day the header appears). */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_util.h"

#ifdef WS_BENCH_HAVE_FRAME
#include "base/alloc.h"
#include "proto/frame.h"
#include "wsclean/conn.h"

typedef struct bench_ctx {
  uint8_t *pristine, *work;
  size_t len;
  size_t frames;
  uint64_t seen;
  volatile uint64_t sink;
} bench_ctx;

static size_t build(uint8_t *out, size_t n, size_t payload) {
  size_t off = 0;
  uint8_t key[4] = {0x37, 0xfa, 0x21, 0x3d};
  for (size_t i = 0; i < n; i++) {
    off += ws__frame_build(out + off, true, 0, WS_OP_TEXT, key, payload);
    for (size_t j = 0; j < payload; j++)
      out[off + j] = (uint8_t)(('a' + (j % 26)) ^ key[j & 3]);
    off += payload;
  }
  return off;
}

static int on_message(ws_conn *c, void *ud, ws_opcode op, const uint8_t *data, size_t len) {
  (void)c;
  (void)op;
  (void)data;
  bench_ctx *b = ud;
  b->seen += len + 1;
  return 0;
}

/* One pass of the measured body; returns seconds. */
typedef double (*pass_fn)(bench_ctx *b, ws_conn *c);

static double pass_hdr(bench_ctx *b, ws_conn *c) {
  (void)c;
  double t0 = bench_now_s();
  size_t off = 0, n = 0;
  uint64_t acc = 0;
  while (off < b->len) {
    ws__frame_hdr h;
    int r = ws__frame_parse(b->pristine + off, b->len - off, &h);
    if (r <= 0)
      break;
    acc += h.len ^ h.opcode;
    off += (size_t)r + (size_t)h.len;
    n++;
  }
  b->sink = acc + n;
  return bench_now_s() - t0;
}

static double pass_copy(bench_ctx *b, ws_conn *c) {
  (void)c;
  double t0 = bench_now_s();
  memcpy(b->work, b->pristine, b->len);
  b->sink = b->work[b->len / 2];
  return bench_now_s() - t0;
}

static double pass_recv(bench_ctx *b, ws_conn *c) {
  double t0 = bench_now_s();
  memcpy(b->work, b->pristine, b->len);
  ws_conn_recv(c, b->work, b->len);
  return bench_now_s() - t0;
}

/* Median over reps of (seconds per pass) for passes repeated for >= 0.2 s. */
static double measure(bench_ctx *b, ws_conn *c, pass_fn fn, int reps) {
  double per[32];
  if (reps > 32)
    reps = 32;
  for (int r = 0; r < reps; r++) {
    double tot = 0;
    long passes = 0;
    while (tot < 0.2) {
      tot += fn(b, c);
      passes++;
    }
    per[r] = tot / (double)passes;
  }
  qsort(per, (size_t)reps, sizeof per[0], bench_cmp_double);
  return per[reps / 2];
}

int main(int argc, char **argv) {
  size_t frames = 4096;
  int reps = 7;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (strcmp(argv[i], "--frames") == 0)
      frames = (size_t)strtoul(argv[i + 1], NULL, 10);
    else if (strcmp(argv[i], "--reps") == 0)
      reps = atoi(argv[i + 1]);
  }
  if (frames == 0 || reps <= 0)
    return 2;
  printf("frame parsing, %zu masked text frames per buffer, median of %d reps\n", frames, reps);
  printf("%-8s %-6s %12s %10s %12s\n", "payload", "what", "Mframes/s", "ns/frame", "GB/s(wire)");
  const size_t sizes[] = {2, 20, 125};
  for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
    bench_ctx b;
    memset(&b, 0, sizeof b);
    b.frames = frames;
    size_t cap = frames * (sizes[si] + WS__FRAME_HDR_MAX);
    b.pristine = ws__malloc(NULL, cap);
    b.work = ws__malloc(NULL, cap);
    if (!b.pristine || !b.work)
      return 1;
    b.len = build(b.pristine, frames, sizes[si]);
    ws_conn_options o;
    ws_conn_options_init(&o, WS_ROLE_SERVER);
    ws_conn_callbacks cb;
    memset(&cb, 0, sizeof cb);
    cb.on_message = on_message;
    ws_conn *c = ws_conn_new(&o, &cb, &b, 0);
    if (!c)
      return 1;
    double t_hdr = measure(&b, c, pass_hdr, reps);
    double t_copy = measure(&b, c, pass_copy, reps);
    double t_recv = measure(&b, c, pass_recv, reps) - t_copy;
    if (b.seen == 0 || ws_conn_failed(c)) {
      fprintf(stderr, "micro_frame: the connection failed or saw no message\n");
      return 1;
    }
    const char *names[2] = {"hdr", "recv"};
    double ts[2] = {t_hdr, t_recv};
    for (int k = 0; k < 2; k++)
      printf("%-8zu %-6s %12.1f %10.2f %12.2f\n", sizes[si], names[k], (double)frames / ts[k] / 1e6,
             ts[k] * 1e9 / (double)frames, (double)b.len / ts[k] / 1e9);
    ws_conn_free(c);
    ws__free(NULL, b.pristine);
    ws__free(NULL, b.work);
  }
  return 0;
}
#else
int main(void) {
  fprintf(stderr, "micro_frame: needs src/proto/frame.h (the conn branch); not built in\n");
  return 0;
}
#endif
