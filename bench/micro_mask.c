/* Unmasking speed, GB/s (10^9 payload bytes per second), in place (the receive path) and while
 * copying (the send path), for each implementation and the dispatching entry points, beside
 * memcpy of the same buffer: 1 KiB and 64 KiB (L1/L2), 16 MiB (fits a 32 MiB L3), 64 MiB
 * (mostly memory bandwidth).
 *
 *   taskset -c 1 build/bench/bench_micro_mask [seconds-per-cell, default 0.05]
 *
 * Each cell keeps the best of its batches (noise on a shared machine only ever slows a batch).
 * The payload starts 3 bytes past an allocation and uses key offset 1, so neither the buffer
 * nor the key is conveniently aligned. Runs about 4 s in all. */
#include "proto/mask.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

enum { MEMCPY = -1, DISPATCH_INPLACE = -2, DISPATCH_COPY = -3 };
typedef struct {
  int what; /* an ws__mask_impl (in place) or one of the negative values above */
  int copy; /* for an ws__mask_impl: copy instead of in place */
  uint8_t *src, *dst;
  size_t n;
} job;

static const uint8_t key[4] = {0x12, 0x34, 0x56, 0x78};
static size_t sink;

static void run_once(const job *j) {
  switch (j->what) {
  case MEMCPY:
    memcpy(j->dst, j->src, j->n);
    break;
  case DISPATCH_INPLACE:
    ws__mask_inplace(j->dst, j->n, key, 1);
    break;
  case DISPATCH_COPY:
    ws__mask_copy(j->dst, j->src, j->n, key, 1);
    break;
  default:
    ws__mask_copy_with((ws__mask_impl)j->what, j->dst, j->copy ? j->src : j->dst, j->n, key, 1);
  }
  sink += j->dst[j->n / 2];
}

static double measure(const job *j, double budget) {
  size_t reps = j->n >= (1u << 20) ? 1 : (size_t)((1u << 20) / j->n);
  double best = 0, end = now() + budget;
  int batches = 0;
  while (now() < end || batches < 2) {
    double t0 = now();
    for (size_t r = 0; r < reps; r++)
      run_once(j);
    double gbs = (double)j->n * (double)reps / (now() - t0) / 1e9;
    if (gbs > best)
      best = gbs;
    batches++;
  }
  return best;
}

int main(int argc, char **argv) {
  double budget = argc > 1 ? atof(argv[1]) : 0.05;
  static const size_t sizes[] = {1u << 10, 64u << 10, 16u << 20, 64u << 20};
  static const char *const size_names[] = {"1KiB", "64KiB", "16MiB", "64MiB"};
  printf("Unmasking, GB/s (best batch); memcpy of the same buffer first\n");
  printf("%-7s %-8s %9s %9s", "size", "mode", "memcpy", "dispatch");
  for (int i = 0; i < WS_MASK_IMPLS; i++)
    printf(" %9s", ws__mask_impl_name((ws__mask_impl)i));
  printf("  %s\n", "(- = CPU lacks it; dispatch/memcpy)");
  for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
    size_t n = sizes[s];
    uint8_t *a = malloc(n + 64), *b = malloc(n + 64);
    if (!a || !b)
      return 1;
    for (size_t i = 0; i < n + 64; i++)
      a[i] = (uint8_t)(i * 131u), b[i] = 0;
    for (int copy = 0; copy < 2; copy++) {
      job j = {MEMCPY, copy, a + 3, b + 3, n};
      double mc = measure(&j, budget);
      j.what = copy ? DISPATCH_COPY : DISPATCH_INPLACE;
      double disp = measure(&j, budget);
      printf("%-7s %-8s %9.2f %9.2f", size_names[s], copy ? "copy" : "inplace", mc, disp);
      for (int i = 0; i < WS_MASK_IMPLS; i++) {
        if (!ws__mask_impl_available((ws__mask_impl)i)) {
          printf(" %9s", "-");
          continue;
        }
        j.what = i;
        printf(" %9.2f", measure(&j, budget));
      }
      printf("  %5.0f%%\n", 100.0 * disp / mc);
      fflush(stdout);
    }
    free(a);
    free(b);
  }
  return sink == 42 ? 2 : 0;
}
