/* src/proto/mask: every implementation the CPU has (forced through ws__mask_copy_with) and the
 * dispatching ws__mask_copy / ws__mask_inplace, against a byte-by-byte reference of RFC 6455
 * 5.3 (octet i XOR key[i % 4]):
 *   - every length 0..300 (each width's byte, two-word, two-, four-vector and loop paths and the
 *     boundaries between them: 8, 16, 32, 64, 128, 256), key offsets 0..3 (4..7 once: offset is
 *     taken mod 4), every source and destination address mod 64, copy and in place, with guard
 *     bytes on both sides of the destination and a check that a copy leaves its source alone;
 *   - sizes around the dispatch and loop boundaries up to 4 MiB + 1 (AVX-512 from 4 KiB on
 *     Intel, the 4-vector steps), at payload offsets past 2^40, with guards;
 *   - payloads unmasked in pieces of every split, as the receive path does across reads. */
#include "proto/mask.h"
#include "wstest.h"

#include <stdlib.h>

static void reference(uint8_t *dst, const uint8_t *src, size_t n, const uint8_t key[4],
                      uint64_t offset) {
  for (size_t i = 0; i < n; i++)
    dst[i] = (uint8_t)(src[i] ^ key[(offset + i) % 4]);
}

static uint64_t rng_state = 0x243F6A8885A308D3u;
static uint64_t rnd(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return rng_state;
}

static void fill_random(uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; i++)
    p[i] = (uint8_t)rnd();
}

/* Implementations to compare; WS_MASK_IMPLS stands for the dispatching ws__mask_copy and
 * ws__mask_inplace. */
static void run(int impl, uint8_t *dst, const uint8_t *src, size_t n, const uint8_t key[4],
                uint64_t offset) {
  if (impl == WS_MASK_IMPLS) {
    if (dst == src)
      ws__mask_inplace(dst, n, key, offset);
    else
      ws__mask_copy(dst, src, n, key, offset);
  } else {
    ws__mask_copy_with((ws__mask_impl)impl, dst, src, n, key, offset);
  }
}

static const char *impl_name(int impl) {
  return impl == WS_MASK_IMPLS ? "dispatch" : ws__mask_impl_name((ws__mask_impl)impl);
}

static int impl_runs(int impl) {
  return impl == WS_MASK_IMPLS || ws__mask_impl_available((ws__mask_impl)impl);
}

WS_TEST(mask_impl_names) {
  WS_CHECK_EQ_STR(ws__mask_impl_name(WS_MASK_PORTABLE), "portable");
  WS_CHECK_EQ_STR(ws__mask_impl_name(WS_MASK_SSE2), "sse2");
  WS_CHECK_EQ_STR(ws__mask_impl_name(WS_MASK_AVX2), "avx2");
  WS_CHECK_EQ_STR(ws__mask_impl_name(WS_MASK_AVX512), "avx512");
  WS_CHECK_EQ_STR(ws__mask_impl_name(WS_MASK_IMPLS), "?");
  WS_CHECK(ws__mask_impl_available(WS_MASK_PORTABLE));
  for (int i = 0; i < WS_MASK_IMPLS; i++)
    if (ws__mask_impl_available((ws__mask_impl)i))
      printf("  mask implementation available: %s\n", ws__mask_impl_name((ws__mask_impl)i));
}

/* RFC 6455 5.3's own example is the 'Hello' frame of 5.7: key 37 fa 21 3d. */
WS_TEST(mask_rfc_example) {
  static const uint8_t key[4] = {0x37, 0xfa, 0x21, 0x3d};
  static const uint8_t masked[5] = {0x7f, 0x9f, 0x4d, 0x51, 0x58};
  uint8_t buf[5], out[5];
  memcpy(buf, masked, 5);
  ws__mask_inplace(buf, 5, key, 0);
  WS_CHECK_EQ_MEM(buf, 5, "Hello", 5);
  ws__mask_copy(out, masked, 5, key, 0);
  WS_CHECK_EQ_MEM(out, 5, "Hello", 5);
  /* the same payload unmasked in two calls, the second starting at offset 2 */
  memcpy(buf, masked, 5);
  ws__mask_inplace(buf, 2, key, 0);
  ws__mask_inplace(buf + 2, 3, key, 2);
  WS_CHECK_EQ_MEM(buf, 5, "Hello", 5);
}

enum { GUARD = 64, MAXN = 300, MIS = 64 };

/* One case: mask n bytes from src_arena + smis to dst_arena + dmis (or in place there), and
 * check the whole destination arena (payload and guards) and, for a copy, the source arena.
 * Returns 1 when something is wrong. */
static _Alignas(64) uint8_t src_arena[GUARD + MIS + MAXN + GUARD];
static _Alignas(64) uint8_t dst_arena[GUARD + MIS + MAXN + GUARD];
static uint8_t src_saved[sizeof src_arena], dst_want[sizeof dst_arena];

static int one_case(int impl, size_t n, const uint8_t key[4], uint64_t off, size_t dmis,
                    size_t smis, int inplace, const uint8_t *dst_pristine) {
  uint8_t *src = src_arena + GUARD + smis, *dst = dst_arena + GUARD + dmis;
  memcpy(dst_arena, dst_pristine, sizeof dst_arena);
  memcpy(dst_want, dst_pristine, sizeof dst_arena);
  reference(dst_want + GUARD + dmis, src, n, key, off);
  if (inplace) {
    memcpy(dst, src, n);
    run(impl, dst, dst, n, key, off);
  } else {
    run(impl, dst, src, n, key, off);
  }
  return memcmp(dst_arena, dst_want, sizeof dst_arena) != 0 ||
         (!inplace && memcmp(src_arena, src_saved, sizeof src_arena) != 0);
}

WS_TEST(mask_every_length_offset_alignment) {
  static const uint8_t keys[3][4] = {
      {0x37, 0xfa, 0x21, 0x3d}, {0, 0, 0, 0}, {0xff, 0x01, 0x80, 0x7f}};
  static uint8_t pristine[sizeof dst_arena];
  long bad = 0, cases = 0;
  fill_random(pristine, sizeof pristine);
  for (int impl = 0; impl <= WS_MASK_IMPLS; impl++) {
    if (!impl_runs(impl))
      continue;
    for (size_t n = 0; n <= MAXN; n++) {
      fill_random(src_arena, sizeof src_arena);
      memcpy(src_saved, src_arena, sizeof src_arena);
      for (size_t ki = 0; ki < 3; ki++)
        for (uint64_t off = 0; off < 8; off++)
          for (size_t m = 0; m < MIS; m++) {
            /* offsets 4..7 only check that offset is taken mod 4: a few alignments do */
            if (off >= 4 && m % 16 != 0)
              continue;
            /* every destination and source address mod 64, skewed differently for each n */
            size_t dmis = m, smis = (m * 7 + n) % MIS;
            for (int inplace = 0; inplace < 2; inplace++) {
              cases++;
              if (one_case(impl, n, keys[ki], off, dmis, smis, inplace, pristine) && bad++ < 20)
                ws_test_fail(__FILE__, __LINE__,
                             "[%s] key %zu n=%zu offset=%llu dst%%64=%zu src%%64=%zu %s",
                             impl_name(impl), ki, n, (unsigned long long)off, dmis, smis,
                             inplace ? "in place" : "copy");
            }
          }
    }
  }
  printf("  %ld cases\n", cases);
  WS_CHECK_EQ_INT(bad, 0);
}

/* Sizes around the loop and dispatch boundaries (the 4-vector steps of 64, 128 and 256 bytes,
 * AVX-512 from 4 KiB on Intel) and large buffers, with 64 guard bytes on each side. */
WS_TEST(mask_large_buffers) {
  static const size_t sizes[] = {
      301,           383,  384,  385,  511,  512,  513,  1000, 1023,  1024,
      1025,          2047, 4095, 4096, 4097, 8191, 8192, 8193, 65539, (1u << 20) + 17,
      (4u << 20) + 1};
  static const uint8_t key[4] = {0xa1, 0xb2, 0xc3, 0xd4};
  size_t max = (4u << 20) + 1 + 3 * 64;
  uint8_t *src = malloc(max), *dst = malloc(max), *want = malloc(max), *pristine = malloc(max);
  WS_CHECK(src && dst && want && pristine);
  if (!src || !dst || !want || !pristine) {
    free(src);
    free(dst);
    free(want);
    free(pristine);
    return;
  }
  fill_random(src, max);
  fill_random(pristine, max);
  long cases = 0;
  for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
    size_t n = sizes[s];
    for (int impl = 0; impl <= WS_MASK_IMPLS; impl++) {
      if (!impl_runs(impl))
        continue;
      for (uint64_t off = 0; off < 4; off++) {
        size_t smis = (size_t)(off * 13 + s) % 64, dmis = 63 - smis;
        uint64_t pos = off + (1ull << 40); /* a payload past 1 TiB */
        uint8_t *d = dst + 64 + dmis;
        /* copy: the payload is right and the guards are untouched */
        memcpy(dst, pristine, n + 3 * 64);
        memcpy(want, pristine, n + 3 * 64);
        reference(want + 64 + dmis, src + smis, n, key, pos);
        run(impl, d, src + smis, n, key, pos);
        WS_CHECK_MSG(memcmp(dst, want, n + 3 * 64) == 0, "[%s] n=%zu off=%llu copy",
                     impl_name(impl), n, (unsigned long long)off);
        /* in place: unmasking again gives the source back, guards still untouched */
        run(impl, d, d, n, key, pos);
        memcpy(want + 64 + dmis, src + smis, n);
        WS_CHECK_MSG(memcmp(dst, want, n + 3 * 64) == 0, "[%s] n=%zu off=%llu in place",
                     impl_name(impl), n, (unsigned long long)off);
        cases += 2;
      }
    }
  }
  printf("  %ld cases\n", cases);
  free(src);
  free(dst);
  free(want);
  free(pristine);
}

/* The receive path unmasks a payload in pieces, one per read, each at its payload offset. Every
 * split of a 300-byte payload into two pieces and a few three-piece splits must give the same
 * bytes as one call. */
WS_TEST(mask_in_pieces) {
  static const uint8_t key[4] = {0x5a, 0xc3, 0x0f, 0x96};
  static uint8_t src[MAXN], want[MAXN], buf[MAXN + 1];
  fill_random(src, MAXN);
  reference(want, src, MAXN, key, 0);
  long bad = 0;
  for (int impl = 0; impl <= WS_MASK_IMPLS; impl++) {
    if (!impl_runs(impl))
      continue;
    for (size_t a = 0; a <= MAXN; a++)
      for (size_t b = a; b <= MAXN; b += (b < a + 8 ? 1 : 37)) {
        memcpy(buf + 1, src, MAXN); /* + 1: pieces start at odd addresses too */
        run(impl, buf + 1, buf + 1, a, key, 0);
        run(impl, buf + 1 + a, buf + 1 + a, b - a, key, a);
        run(impl, buf + 1 + b, buf + 1 + b, MAXN - b, key, b);
        if (memcmp(buf + 1, want, MAXN) != 0 && bad++ < 10)
          ws_test_fail(__FILE__, __LINE__, "[%s] pieces 0..%zu..%zu..%d", impl_name(impl), a, b,
                       MAXN);
      }
  }
  WS_CHECK_EQ_INT(bad, 0);
}

int main(void) { return ws_test_main(); }
