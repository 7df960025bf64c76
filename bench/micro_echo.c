/* micro_echo — the sans-I/O echo path of a server ws_conn, per message (issue 8).
 *
 *   bench_micro_echo                           timed: 20 B (64 frames per read) and 64 KiB
 *                                              (1 per read), ns and msgs/s, median of 7 reps
 *   bench_micro_echo --size S --count N [--per-read K] [--copy-only]
 *                                              exactly N messages, no timing: for callgrind
 *                                              (bench/callgrind.sh takes the difference of two
 *                                              counts, so set-up cost cancels out)
 *
 * Each read is K masked frames (text for 20 B, binary for 64 KiB) restored from a pristine copy
 * (the core unmasks in place) and fed to ws_conn_recv; on_message answers with ws_conn_send; the
 * output is then taken with ws_conn_pending_out + ws_conn_consume_out as a loop would after
 * writev. --copy-only does the restore alone, so its cost can be subtracted. Nothing is asserted.
 * Built only once src/proto/frame.h (branch conn) exists. */
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

typedef struct echo_ctx {
  uint8_t *pristine, *work;
  size_t len;
  uint64_t echoed, out_bytes;
  bool copy_only;
} echo_ctx;

static int on_message(ws_conn *c, void *ud, ws_opcode op, const uint8_t *data, size_t len) {
  echo_ctx *e = ud;
  e->echoed++;
  return ws_conn_send(c, op, data, len) == 0 ? 0 : 1;
}

static void one_read(echo_ctx *e, ws_conn *c) {
  memcpy(e->work, e->pristine, e->len);
  if (e->copy_only)
    return;
  ws_conn_recv(c, e->work, e->len);
  ws_slice sl[16];
  int n;
  while ((n = ws_conn_pending_out(c, sl, 16)) > 0) {
    size_t tot = 0;
    for (int i = 0; i < n; i++)
      tot += sl[i].len;
    e->out_bytes += tot;
    ws_conn_consume_out(c, tot);
  }
}

static ws_conn *setup(echo_ctx *e, size_t size, size_t per_read, bool copy_only) {
  memset(e, 0, sizeof *e);
  e->copy_only = copy_only;
  size_t cap = per_read * (size + WS__FRAME_HDR_MAX);
  e->pristine = ws__malloc(NULL, cap);
  e->work = ws__malloc(NULL, cap);
  if (!e->pristine || !e->work)
    return NULL;
  uint8_t key[4] = {0x37, 0xfa, 0x21, 0x3d};
  ws_opcode op = size >= 1024 ? WS_OP_BINARY : WS_OP_TEXT;
  size_t off = 0;
  for (size_t i = 0; i < per_read; i++) {
    off += ws__frame_build(e->pristine + off, true, 0, (uint8_t)op, key, size);
    for (size_t j = 0; j < size; j++)
      e->pristine[off + j] = (uint8_t)((op == WS_OP_TEXT ? 'a' + j % 26 : j * 131u) ^ key[j & 3]);
    off += size;
  }
  e->len = off;
  ws_conn_options o;
  ws_conn_options_init(&o, WS_ROLE_SERVER);
  o.max_message_size = 64u << 20;
  ws_conn_callbacks cb;
  memset(&cb, 0, sizeof cb);
  cb.on_message = on_message;
  return ws_conn_new(&o, &cb, e, 0);
}

static void teardown(echo_ctx *e, ws_conn *c) {
  ws_conn_free(c);
  ws__free(NULL, e->pristine);
  ws__free(NULL, e->work);
}

/* Median seconds per read over 7 reps of >= 0.2 s each. */
static double timed(size_t size, size_t per_read, bool copy_only, uint64_t *echoed) {
  echo_ctx e;
  ws_conn *c = setup(&e, size, per_read, copy_only);
  if (!c)
    exit(1);
  double per[7];
  for (int r = 0; r < 7; r++) {
    long reads = 0;
    double t0 = bench_now_s(), t;
    do {
      one_read(&e, c);
      reads++;
    } while ((t = bench_now_s() - t0) < 0.2);
    per[r] = t / (double)reads;
  }
  *echoed = e.echoed;
  if (ws_conn_failed(c)) {
    fprintf(stderr, "micro_echo: the connection failed\n");
    exit(1);
  }
  teardown(&e, c);
  qsort(per, 7, sizeof per[0], bench_cmp_double);
  return per[3];
}

int main(int argc, char **argv) {
  size_t size = 0, per_read = 1;
  unsigned long long count = 0;
  bool copy_only = false;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--size") == 0 && i + 1 < argc)
      size = (size_t)strtoul(argv[++i], NULL, 10);
    else if (strcmp(argv[i], "--count") == 0 && i + 1 < argc)
      count = strtoull(argv[++i], NULL, 10);
    else if (strcmp(argv[i], "--per-read") == 0 && i + 1 < argc)
      per_read = (size_t)strtoul(argv[++i], NULL, 10);
    else if (strcmp(argv[i], "--copy-only") == 0)
      copy_only = true;
    else {
      fprintf(stderr,
              "usage: bench_micro_echo [--size S --count N [--per-read K] [--copy-only]]\n");
      return 2;
    }
  }
  if (count) {
    if (size == 0 || per_read == 0 || size > (64u << 20))
      return 2;
    echo_ctx e;
    ws_conn *c = setup(&e, size, per_read, copy_only);
    if (!c)
      return 1;
    for (unsigned long long m = 0; m < count; m += per_read)
      one_read(&e, c);
    printf("echoed=%llu out_bytes=%llu failed=%d\n", (unsigned long long)e.echoed,
           (unsigned long long)e.out_bytes, ws_conn_failed(c) ? 1 : 0);
    int bad = ws_conn_failed(c) || (!copy_only && e.echoed == 0);
    teardown(&e, c);
    return bad ? 1 : 0;
  }
  printf("sans-I/O echo path of a server ws_conn (recv + unmask + validate + send + take output),\n"
         "restore memcpy subtracted; median of 7 reps\n");
  printf("%-8s %-9s %12s %12s %10s\n", "payload", "per read", "ns/msg", "Mmsg/s", "GB/s");
  const size_t sizes[2] = {20, 65536}, reads[2] = {64, 1};
  for (int k = 0; k < 2; k++) {
    uint64_t echoed = 0, dummy = 0;
    double t = timed(sizes[k], reads[k], false, &echoed) - timed(sizes[k], reads[k], true, &dummy);
    if (echoed == 0)
      return 1;
    double per_msg = t / (double)reads[k];
    printf("%-8zu %-9zu %12.1f %12.2f %10.2f\n", sizes[k], reads[k], per_msg * 1e9, 1e-6 / per_msg,
           (double)sizes[k] / per_msg / 1e9);
  }
  return 0;
}
#else
int main(void) {
  fprintf(stderr, "micro_echo: needs src/proto/frame.h (the conn branch); not built in\n");
  return 0;
}
#endif
