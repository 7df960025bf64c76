/* UTF-8 validation speed, GB/s (10^9 bytes per second), for each implementation on four kinds of
 * text, beside memcpy of the same buffer: messages of 100 and 1500 bytes (call overhead and
 * the handling of the last partial block show), 64 KiB (L2), 16 MiB (the size the issue names; it
 * fits a 32 MiB L3) and 64 MiB (twice that L3: mostly memory bandwidth).
 *
 *   taskset -c 1 build/bench/bench_micro_utf8 [seconds-per-cell, default 0.04]
 *
 * Each cell repeats the call in batches for its time budget and keeps the best batch, so a
 * shared machine's noise costs speed only in some batches. Runs about 4 s in all. */
#include "proto/utf8.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_util.h"

static uint64_t rng = BENCH_RNG_SEED;

static size_t put_cp(uint8_t *p, size_t n, uint32_t cp) {
  if (cp < 0x80) {
    p[n++] = (uint8_t)cp;
  } else if (cp < 0x800) {
    p[n++] = (uint8_t)(0xC0 | cp >> 6);
    p[n++] = (uint8_t)(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    p[n++] = (uint8_t)(0xE0 | cp >> 12);
    p[n++] = (uint8_t)(0x80 | (cp >> 6 & 0x3F));
    p[n++] = (uint8_t)(0x80 | (cp & 0x3F));
  } else {
    p[n++] = (uint8_t)(0xF0 | cp >> 18);
    p[n++] = (uint8_t)(0x80 | (cp >> 12 & 0x3F));
    p[n++] = (uint8_t)(0x80 | (cp >> 6 & 0x3F));
    p[n++] = (uint8_t)(0x80 | (cp & 0x3F));
  }
  return n;
}

/* Word-like text: words of 2..9 letters from the class's alphabet, separated by ASCII spaces
 * and now and then punctuation, as real text has. */
enum { ASCII, LATIN, CJK, EMOJI, KINDS };
static const char *const kind_names[KINDS] = {"ascii", "latin (2-byte)", "cjk (3-byte)",
                                              "emoji (4-byte)"};

static uint32_t letter(int kind) {
  switch (kind) {
  case ASCII:
    return 'a' + bench_rand(&rng, 26);
  case LATIN: /* Cyrillic and Latin-1 letters: all 2-byte */
    return bench_rand(&rng, 2) ? 0x430 + bench_rand(&rng, 32) : 0xE0 + bench_rand(&rng, 31);
  case CJK:
    return 0x4E00 + bench_rand(&rng, 0x5000);
  default:
    return 0x1F300 + bench_rand(&rng, 0x300);
  }
}

static size_t make_text(uint8_t *p, size_t len, int kind) {
  size_t n = 0;
  while (n + 40 < len) { /* a word is at most 9 letters of 4 bytes, and a space */
    int w = 2 + (int)bench_rand(&rng, 8);
    for (int i = 0; i < w; i++)
      n = put_cp(p, n, letter(kind));
    p[n++] = bench_rand(&rng, 10) ? ' ' : '.';
  }
  while (n < len)
    p[n++] = ' ';
  return n;
}

typedef struct {
  int impl; /* -1: memcpy; WS_UTF8_IMPLS: the dispatching ws__utf8_feed */
  uint8_t *buf, *dst;
  size_t n;
} job;

static size_t sink;

static void run_once(const job *j) {
  if (j->impl < 0) {
    memcpy(j->dst, j->buf, j->n);
    sink += j->dst[j->n / 2];
    return;
  }
  ws__utf8 st;
  ws__utf8_reset(&st);
  size_t r = j->impl == WS_UTF8_IMPLS ? ws__utf8_feed(&st, j->buf, j->n)
                                      : ws__utf8_feed_with((ws__utf8_impl)j->impl, &st, j->buf, j->n);
  if (r != j->n) {
    fprintf(stderr, "bench text is invalid at %zu?\n", r);
    exit(1);
  }
  sink += r;
}

static double measure(const job *j, double budget) {
  /* batches of about a millisecond's worth of bytes (at least one call) */
  size_t reps = j->n >= (1u << 20) ? 1 : (size_t)((1u << 20) / j->n);
  double best = 0, end = bench_now_s() + budget;
  int batches = 0;
  while (bench_now_s() < end || batches < 2) {
    double t0 = bench_now_s();
    for (size_t r = 0; r < reps; r++)
      run_once(j);
    double dt = bench_now_s() - t0;
    double gbs = (double)j->n * (double)reps / dt / 1e9;
    if (gbs > best)
      best = gbs;
    batches++;
  }
  return best;
}

int main(int argc, char **argv) {
  double budget = argc > 1 ? atof(argv[1]) : 0.04;
  static const size_t sizes[] = {100, 1500, 64u << 10, 16u << 20, 64u << 20};
  static const char *const size_names[] = {"100B", "1500B", "64KiB", "16MiB", "64MiB"};
  enum { TILE = 64 << 10 };
  printf("UTF-8 validation, GB/s (best batch; memcpy of the same buffer beside)\n");
  printf("%-16s %-7s %9s %9s", "text", "size", "memcpy", "dispatch");
  for (int i = 0; i < WS_UTF8_IMPLS; i++)
    printf(" %9s", ws__utf8_impl_name((ws__utf8_impl)i));
  printf("  %s\n", "(- = CPU lacks it)");
  for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
    size_t n = sizes[s];
    size_t alloc = n < TILE ? TILE : n;
    uint8_t *buf = malloc(alloc), *dst = malloc(alloc);
    if (!buf || !dst)
      return 1;
    memset(dst, 0, alloc);
    for (int kind = 0; kind < KINDS; kind++) {
      /* one 64 KiB text tiled: it ends on a character boundary, so the tiling stays valid;
       * the small sizes are texts of their own size, which end on a boundary too */
      make_text(buf, n < TILE ? n : TILE, kind);
      for (size_t off = TILE; off < n; off += TILE)
        memcpy(buf + off, buf, TILE);
      printf("%-16s %-7s", kind_names[kind], size_names[s]);
      job j = {-1, buf, dst, n};
      printf(" %9.2f", measure(&j, budget));
      j.impl = WS_UTF8_IMPLS;
      printf(" %9.2f", measure(&j, budget));
      for (int i = 0; i < WS_UTF8_IMPLS; i++) {
        if (!ws__utf8_impl_available((ws__utf8_impl)i)) {
          printf(" %9s", "-");
          continue;
        }
        j.impl = i;
        printf(" %9.2f", measure(&j, budget));
      }
      printf("\n");
      fflush(stdout);
    }
    free(buf);
    free(dst);
  }
  return sink == 42 ? 2 : 0;
}
