/* permessage-deflate cost per message: compress (ws__pmd_compress, tail stripped) and inflate
 * (ws__pmd_inflate, tail appended) of chat-like JSON, for the settings docs/deflate.md weighs:
 * level 1 and 6, memLevel 5 and 8, context takeover on and off (off: zlib state freed and made
 * again for every message, as wsclean does). Two message sizes: ~220 bytes (one event) and
 * ~22 KB (a batch of 100).
 *
 *   taskset -c 1 build/bench/bench_micro_deflate [messages per cell, default 2000]
 *
 * Prints, per cell: microseconds per message to compress, to inflate, and the compressed size as
 * a share of the original. Runs a few seconds. */
#include "proto/deflate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_util.h"

static uint64_t rng = BENCH_RNG_SEED;

static const char *const words[] = {"the",     "quick",  "brown", "fox",   "jumps", "over",
                                    "lazy",    "dog",    "hello", "world", "price", "order",
                                    "status",  "ok",     "error", "room",  "chat",  "typing",
                                    "message", "update", "user",  "ready", "done",  "again"};

/* One JSON event of about 220 bytes. */
static size_t event(char *p, size_t cap, int id) {
  static const char *const types[] = {"chat", "presence", "tick", "order"};
  int n = snprintf(p, cap, "{\"type\":\"%s\",\"id\":%d,\"user\":\"user%u\",\"ts\":%d,\"body\":\"",
                   types[bench_rand(&rng, 4)], id, (unsigned)bench_rand(&rng, 50) + 1, 1700000000 + id * 17);
  int words_n = 3 + (int)bench_rand(&rng, 38);
  for (int i = 0; i < words_n && (size_t)n + 16 < cap; i++)
    n += snprintf(p + n, cap - (size_t)n, "%s%s", i ? " " : "", words[bench_rand(&rng, 24)]);
  n += snprintf(p + n, cap - (size_t)n, "\",\"price\":%u.%02u}", (unsigned)bench_rand(&rng, 1000),
                (unsigned)bench_rand(&rng, 100));
  return (size_t)n;
}

typedef struct {
  char *data;
  size_t len;
} msg;

static void cell(const msg *ms, int count, int level, int mem, bool nct, const char *label) {
  ws__pmd_config cfg;
  ws__pmd_config_init(&cfg);
  cfg.level = level;
  cfg.mem_level = mem;
  cfg.threshold = 0;
  ws__pmd_params tp = {15, 15, nct, false}, rp = {15, 15, false, nct};
  ws__pmd tx, rx;
  ws__pmd_init(&tx, NULL, &cfg, &tp);
  ws__pmd_init(&rx, NULL, &cfg, &rp);
  ws__buf *comp = calloc((size_t)count, sizeof *comp);
  size_t in_bytes = 0, out_bytes = 0;
  double t0 = bench_now_s();
  for (int i = 0; i < count; i++) {
    ws__buf_init(&comp[i], NULL, SIZE_MAX);
    if (ws__pmd_compress(&tx, ms[i].data, ms[i].len, true, &comp[i]) != WS_OK)
      abort();
    in_bytes += ms[i].len;
    out_bytes += comp[i].len;
  }
  double t1 = bench_now_s();
  ws__buf out;
  ws__buf_init(&out, NULL, 1 << 20);
  for (int i = 0; i < count; i++) {
    out.len = 0;
    if (ws__pmd_inflate(&rx, comp[i].data, comp[i].len, true, &out) != WS_OK ||
        out.len != ms[i].len)
      abort();
  }
  double t2 = bench_now_s();
  printf("| %-11s | %d | %d | %-3s | %7.2f | %7.2f | %5.1f%% |\n", label, level, mem,
         nct ? "off" : "on", (t1 - t0) * 1e6 / count, (t2 - t1) * 1e6 / count,
         100.0 * (double)out_bytes / (double)in_bytes);
  for (int i = 0; i < count; i++)
    ws__buf_free(&comp[i]);
  free(comp);
  ws__buf_free(&out);
  ws__pmd_free(&tx);
  ws__pmd_free(&rx);
}

int main(int argc, char **argv) {
  int count = argc > 1 ? atoi(argv[1]) : 2000;
  if (count < 1)
    count = 1;
  msg *small = calloc((size_t)count, sizeof *small),
      *big = calloc((size_t)count / 10 + 1, sizeof *big);
  for (int i = 0; i < count; i++) {
    small[i].data = malloc(512);
    small[i].len = event(small[i].data, 512, i);
  }
  int nbig = count / 10 + 1;
  for (int i = 0; i < nbig; i++) {
    big[i].data = malloc(40000);
    size_t n = 0;
    big[i].data[n++] = '[';
    for (int k = 0; k < 100; k++) {
      n += event(big[i].data + n, 40000 - n - 2, i * 100 + k);
      big[i].data[n++] = k == 99 ? ']' : ',';
    }
    big[i].len = n;
  }
  printf("| messages    | level | memLevel | takeover | compress us | inflate us | size |\n");
  printf("|---|---|---|---|---|---|---|\n");
  static const int settings[][2] = {{6, 5}, {6, 8}, {1, 5}};
  for (size_t s = 0; s < sizeof settings / sizeof settings[0]; s++)
    for (int nct = 0; nct < 2; nct++) {
      cell(small, count, settings[s][0], settings[s][1], nct, "~220 B JSON");
      cell(big, nbig, settings[s][0], settings[s][1], nct, "~22 KB JSON");
    }
  for (int i = 0; i < count; i++)
    free(small[i].data);
  for (int i = 0; i < nbig; i++)
    free(big[i].data);
  free(small);
  free(big);
  return 0;
}
