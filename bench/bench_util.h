/* Helpers shared by the microbenchmarks (bench/micro_*.c): a monotonic clock in seconds, a
 * comparison for qsort-ing timings (medians), and a fixed-seed xorshift so that every run
 * measures the same inputs. */
#ifndef WS_BENCH_UTIL_H
#define WS_BENCH_UTIL_H

#include <stdint.h>
#include <time.h>

static inline double bench_now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static inline int bench_cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

#define BENCH_RNG_SEED 88172645463325252u

/* A value in [0, n) from the xorshift state *s (seed it with BENCH_RNG_SEED). */
static inline uint32_t bench_rand(uint64_t *s, uint32_t n) {
  *s ^= *s << 13;
  *s ^= *s >> 7;
  *s ^= *s << 17;
  return (uint32_t)(*s % n);
}

#endif
