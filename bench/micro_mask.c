/* Unmasking speed, GB/s (10^9 payload bytes per second), in place (the receive path) and while
 * copying (the send path), for each implementation and the dispatching entry points, beside
 * memcpy of the same bytes: 125 B (the largest control frame and a short text message), 256 B,
 * 1 KiB and 4 KiB (L1), 64 KiB (L2), 16 MiB (fits a 32 MiB L3), 64 MiB (mostly memory
 * bandwidth).
 *
 *   taskset -c 1 build/bench/bench_micro_mask [--seconds S] [--same-buffer]
 *   valgrind --tool=callgrind build/bench/bench_micro_mask --loop SIZE COUNT
 *
 * --seconds: time per cell (default 0.05; the whole run takes about 5 s). The cells of a row
 * take turns, one batch each, and each keeps its best batch: noise on a shared machine only
 * ever slows a batch down, and taking turns exposes all cells to the same noise.
 *
 * Buffers: the source payload starts 3 bytes past a 64-byte line, the copy's destination 14
 * bytes past one (a client frame's header with a 64-bit length and the key is 14 bytes), so a
 * copy can align its loads or its stores but not both, as on the send path; the key offset is 1.
 * In place works on the source buffer. Up to 4 KiB, successive calls go round 8 such buffers
 * (4 for 4 KiB: about 33 KiB of the 48 KiB L1 in all), because the library never unmasks the
 * same bytes twice in a row (a received payload is unmasked once, after the read that brought
 * it); a loop over one buffer measures instead how soon a load can pick up the previous call's
 * store of the same bytes, which for small sizes is most of what it measures (125 B in place:
 * 27 GB/s on one buffer, 76 on eight). --same-buffer measures that way anyway.
 *
 * --loop SIZE COUNT: no timing; calls ws__mask_inplace and then ws__mask_copy COUNT times each on
 * SIZE bytes (same buffers as above) for an instruction count that the machine's load does not
 * move. Valgrind hides AVX-512 from the program, so this counts the AVX2 path at most. */
#include "proto/mask.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_util.h"

enum { MEMCPY = -1, DISPATCH_INPLACE = -2, DISPATCH_COPY = -3 };
enum { SRC_SKEW = 3, DST_SKEW = 14 };
typedef struct {
  int what;           /* an ws__mask_impl (in place) or one of the negative values above */
  int copy;           /* for an ws__mask_impl: copy instead of in place */
  uint8_t *src, *dst; /* slot 0 */
  size_t n, stride;   /* slot i is at src + i * stride, dst + i * stride */
  size_t slots;
} job;

static const uint8_t key[4] = {0x12, 0x34, 0x56, 0x78};
static size_t sink;

static void run_once(const job *j, size_t slot) {
  uint8_t *dst = j->dst + slot * j->stride, *src = j->src + slot * j->stride;
  switch (j->what) {
  case MEMCPY:
    memcpy(dst, src, j->n);
    break;
  case DISPATCH_INPLACE:
    ws__mask_inplace(src, j->n, key, 1);
    break;
  case DISPATCH_COPY:
    ws__mask_copy(dst, src, j->n, key, 1);
    break;
  default:
    if (j->copy)
      ws__mask_copy_with((ws__mask_impl)j->what, dst, src, j->n, key, 1);
    else
      ws__mask_copy_with((ws__mask_impl)j->what, src, src, j->n, key, 1);
  }
}

/* One batch of calls; GB/s. */
static double batch(const job *j) {
  size_t reps = j->n >= (1u << 20) ? 1 : (size_t)((1u << 20) / j->n);
  double t0 = bench_now_s();
  for (size_t r = 0; r < reps; r++)
    run_once(j, r & (j->slots - 1)); /* slots is 1, 4 or 8 */
  return (double)j->n * (double)reps / (bench_now_s() - t0) / 1e9;
}

/* best[c] = the best batch of column what[c]. The columns take turns, one batch each, so that
 * all of them see the same quiet and busy moments of the machine (memcpy of 125 B alone gave
 * 61 or 81 GB/s from one 50 ms cell to the next). */
static void measure_row(job *j, const int *what, size_t ncols, double budget, double *best) {
  for (size_t c = 0; c < ncols; c++)
    best[c] = 0;
  double end = bench_now_s() + budget * (double)ncols;
  for (int round = 0; round < 3 || bench_now_s() < end; round++)
    for (size_t c = 0; c < ncols; c++) {
      j->what = what[c];
      double gbs = batch(j);
      if (gbs > best[c])
        best[c] = gbs;
    }
  sink += j->src[j->n / 2] + j->dst[j->n / 2];
}

/* Two arenas of `slots` slots, each slot the payload plus 61 to 124 bytes, like frames that
 * follow each other in a buffer. The destination arena starts 2 KiB past a 4 KiB boundary and the
 * source arena at one, so that the loads of a copy do not share address bits 0..11 with its
 * recent stores ("4K aliasing": the CPU then holds the load back as if it depended on the store):
 * with the arenas where malloc happened to put them, memcpy of 1 KiB measured anywhere from 65 to
 * 145 GB/s from one layout to the next, and the unmasking code likewise. */
static int make_job(job *j, size_t n, size_t slots, uint8_t **a, uint8_t **b) {
  size_t stride = (n + 64 + 63) / 64 * 64;
  size_t size = stride * slots + 4096;
  *a = aligned_alloc(4096, size);
  *b = aligned_alloc(4096, size);
  if (!*a || !*b)
    return -1;
  for (size_t i = 0; i < size; i++)
    (*a)[i] = (uint8_t)(i * 131u), (*b)[i] = 0;
  *j = (job){MEMCPY, 0, *a + SRC_SKEW, *b + 2048 + DST_SKEW, n, stride, slots};
  return 0;
}

static int usage(void) {
  fprintf(stderr, "usage: bench_micro_mask [--seconds S] [--same-buffer] | --loop SIZE COUNT\n"
                  "  (see the comment at the top of bench/micro_mask.c)\n");
  return 2;
}

int main(int argc, char **argv) {
  double budget = 0.05;
  int same_buffer = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
      budget = atof(argv[++i]);
    } else if (strcmp(argv[i], "--same-buffer") == 0) {
      same_buffer = 1;
    } else if (strcmp(argv[i], "--loop") == 0 && i + 2 < argc) {
      size_t n = strtoul(argv[i + 1], NULL, 10), count = strtoul(argv[i + 2], NULL, 10);
      uint8_t *a, *b;
      job j;
      if (n == 0 || make_job(&j, n, 1, &a, &b) != 0)
        return usage();
      for (size_t r = 0; r < count; r++)
        ws__mask_inplace(j.src, n, key, 1);
      for (size_t r = 0; r < count; r++)
        ws__mask_copy(j.dst, j.src, n, key, 1);
      int rc = j.dst[n / 2] == 42 && j.src[n / 3] == 42;
      free(a);
      free(b);
      return rc;
    } else {
      return usage();
    }
  }
  {
    /* warm up (clock, caches, lazy binding): the first cell measured came out 25% low before */
    uint8_t *a, *b;
    job j;
    if (make_job(&j, 1024, 8, &a, &b) != 0)
      return 1;
    j.what = MEMCPY;
    for (double end = bench_now_s() + 0.2; bench_now_s() < end;)
      batch(&j);
    free(a);
    free(b);
  }
  static const size_t sizes[] = {125, 256, 1u << 10, 4u << 10, 64u << 10, 16u << 20, 64u << 20};
  static const char *const size_names[] = {"125B",  "256B",  "1KiB", "4KiB",
                                           "64KiB", "16MiB", "64MiB"};
  printf("Unmasking, GB/s (best batch); memcpy of the same bytes first; %s\n",
         same_buffer ? "every call on the same buffer" : "calls go round 8 buffers up to 4 KiB");
  printf("%-7s %-8s %9s %9s", "size", "mode", "memcpy", "dispatch");
  for (int i = 0; i < WS_MASK_IMPLS; i++)
    printf(" %9s", ws__mask_impl_name((ws__mask_impl)i));
  printf("  %s\n", "(- = CPU lacks it; dispatch/memcpy)");
  for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
    size_t n = sizes[s];
    uint8_t *a, *b;
    job j;
    /* at most 8 slots and about 32 KiB of the 48 KiB L1 for both arenas together */
    size_t slots = same_buffer || n > (4u << 10) ? 1 : n > (1u << 10) ? 4 : 8;
    if (make_job(&j, n, slots, &a, &b) != 0)
      return 1;
    for (int copy = 0; copy < 2; copy++) {
      int what[2 + WS_MASK_IMPLS] = {MEMCPY, copy ? DISPATCH_COPY : DISPATCH_INPLACE};
      size_t ncols = 2;
      for (int i = 0; i < WS_MASK_IMPLS; i++)
        if (ws__mask_impl_available((ws__mask_impl)i))
          what[ncols++] = i;
      double best[2 + WS_MASK_IMPLS];
      j.copy = copy;
      measure_row(&j, what, ncols, budget, best);
      printf("%-7s %-8s %9.2f %9.2f", size_names[s], copy ? "copy" : "inplace", best[0], best[1]);
      for (int i = 0, c = 2; i < WS_MASK_IMPLS; i++) {
        if (ws__mask_impl_available((ws__mask_impl)i))
          printf(" %9.2f", best[c++]);
        else
          printf(" %9s", "-");
      }
      printf("  %5.0f%%\n", 100.0 * best[1] / best[0]);
      fflush(stdout);
    }
    free(a);
    free(b);
  }
  return sink == 42 ? 3 : 0;
}
