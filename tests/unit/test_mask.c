/* src/proto/mask: every implementation against a byte-by-byte reference of RFC 6455 5.3
 * (octet i XOR key[i % 4]) for every length 0..300, every key offset, every misalignment of
 * source and destination 0..31, in place and copying, plus large buffers and guard bytes that
 * catch a write past either end. */
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

WS_TEST(mask_impl_names) {
  WS_CHECK_EQ_STR(ws__mask_impl_name(WS_MASK_PORTABLE), "portable");
  WS_CHECK_EQ_STR(ws__mask_impl_name(WS_MASK_SSE2), "sse2");
  WS_CHECK_EQ_STR(ws__mask_impl_name(WS_MASK_AVX2), "avx2");
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
  uint8_t buf[5];
  memcpy(buf, masked, 5);
  ws__mask_inplace(buf, 5, key, 0);
  WS_CHECK_EQ_MEM(buf, 5, "Hello", 5);
  /* the same payload unmasked in two calls, the second starting at offset 2 */
  memcpy(buf, masked, 5);
  ws__mask_inplace(buf, 2, key, 0);
  ws__mask_inplace(buf + 2, 3, key, 2);
  WS_CHECK_EQ_MEM(buf, 5, "Hello", 5);
}

enum { GUARD = 40, MAXN = 300, MAXMIS = 32 };

WS_TEST(mask_every_length_offset_alignment) {
  /* 32-byte aligned arenas so that "misalignment m" means address % 32 == m */
  static _Alignas(32) uint8_t src_arena[GUARD + MAXMIS + MAXN + GUARD];
  static _Alignas(32) uint8_t dst_arena[GUARD + MAXMIS + MAXN + GUARD];
  static uint8_t want[MAXN], pristine[sizeof dst_arena];
  static const uint8_t keys[3][4] = {{0x37, 0xfa, 0x21, 0x3d}, {0, 0, 0, 0}, {0xff, 0x01, 0x80, 0x7f}};
  long bad = 0;
  for (int impl = 0; impl <= WS_MASK_IMPLS; impl++) {
    if (impl < WS_MASK_IMPLS && !ws__mask_impl_available((ws__mask_impl)impl))
      continue;
    for (size_t ki = 0; ki < 3; ki++)
      for (size_t n = 0; n <= MAXN; n++)
        for (uint64_t off = 0; off < 8; off++) /* 4..7 check that offset is taken mod 4 */
          for (size_t mis = 0; mis < MAXMIS; mis++) {
            /* source and destination misaligned differently, so both kinds of skew occur */
            size_t smis = (mis * 7 + n) % MAXMIS;
            uint8_t *src = src_arena + GUARD + smis, *dst = dst_arena + GUARD + mis;
            fill_random(src_arena, sizeof src_arena);
            fill_random(dst_arena, sizeof dst_arena);
            memcpy(pristine, dst_arena, sizeof dst_arena);
            reference(want, src, n, keys[ki], off);
            int inplace = (int)((n + mis) & 1);
            if (inplace) {
              memcpy(dst, src, n);
              memcpy(pristine + GUARD + mis, src, n);
              run(impl, dst, dst, n, keys[ki], off);
            } else {
              run(impl, dst, src, n, keys[ki], off);
            }
            /* the payload is right and nothing around it changed */
            memcpy(pristine + GUARD + mis, want, n);
            if (memcmp(dst_arena, pristine, sizeof dst_arena) != 0 && bad++ < 20)
              ws_test_fail(__FILE__, __LINE__, "[%s] key %zu n=%zu offset=%llu dst%%32=%zu src%%32=%zu %s",
                           impl_name(impl), ki, n, (unsigned long long)off, mis, smis,
                           inplace ? "in place" : "copy");
          }
  }
  WS_CHECK_EQ_INT(bad, 0);
}

WS_TEST(mask_large_buffers) {
  static const size_t sizes[] = {4096, 65536 + 3, (1u << 20) + 17, (4u << 20) + 1};
  static const uint8_t key[4] = {0xa1, 0xb2, 0xc3, 0xd4};
  for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
    size_t n = sizes[s];
    uint8_t *src = malloc(n + 64), *dst = malloc(n + 64), *want = malloc(n);
    WS_CHECK(src && dst && want);
    if (src && dst && want) {
      fill_random(src, n + 64);
      for (int impl = 0; impl <= WS_MASK_IMPLS; impl++) {
        if (impl < WS_MASK_IMPLS && !ws__mask_impl_available((ws__mask_impl)impl))
          continue;
        for (uint64_t off = 0; off < 4; off++) {
          size_t mis = (size_t)(off * 13 + s) % 64;
          reference(want, src + mis, n, key, off + (1ull << 40)); /* a payload past 1 TiB */
          run(impl, dst + (63 - mis), src + mis, n, key, off + (1ull << 40));
          WS_CHECK_MSG(memcmp(dst + (63 - mis), want, n) == 0, "[%s] n=%zu off=%llu copy",
                       impl_name(impl), n, (unsigned long long)off);
          /* unmasking twice gives the input back, in place */
          run(impl, dst + (63 - mis), dst + (63 - mis), n, key, off + (1ull << 40));
          WS_CHECK_MSG(memcmp(dst + (63 - mis), src + mis, n) == 0, "[%s] n=%zu off=%llu twice",
                       impl_name(impl), n, (unsigned long long)off);
        }
      }
    }
    free(src);
    free(dst);
    free(want);
  }
}

int main(void) { return ws_test_main(); }
