#include "proto/mask.h"

#include <string.h>

/* RFC 6455 5.3: octet i of the payload is XORed with key[i % 4]. A call that starts at payload
 * offset `offset` therefore uses the key rotated by offset % 4; 8, 16 and 32 are multiples of
 * 4, so one rotated key word or vector serves a whole call. docs/internals/utf8.md ("Masking")
 * has the numbers that chose this shape. */

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define WS_MASK_X86 1
#include <immintrin.h>
#endif

/* The key as 4 bytes starting at payload offset `offset`. */
static uint32_t rotated_key(const uint8_t key[4], uint64_t offset) {
  uint8_t k[4];
  for (unsigned i = 0; i < 4; i++)
    k[i] = key[(offset + i) & 3];
  uint32_t k32;
  memcpy(&k32, k, 4);
  return k32;
}

/* Portable word-at-a-time version: 8 bytes at a time through memcpy (plain loads/stores). */
static void mask_portable(uint8_t *dst, const uint8_t *src, size_t n, uint32_t k32) {
  uint64_t k64 = (uint64_t)k32 | (uint64_t)k32 << 32;
  uint8_t k[8];
  memcpy(k, &k64, 8);
  size_t i = 0;
  for (; n - i >= 8; i += 8) {
    uint64_t w;
    memcpy(&w, src + i, 8);
    w ^= k64;
    memcpy(dst + i, &w, 8);
  }
  for (; i < n; i++)
    dst[i] = (uint8_t)(src[i] ^ k[i & 7]);
}

#ifdef WS_MASK_X86
/* SSE2 is part of x86_64, so this needs no feature check: 64 bytes per step, unaligned loads and
 * stores (on current cores they cost the same as aligned ones unless they split a cache line). */
static void mask_sse2(uint8_t *dst, const uint8_t *src, size_t n, uint32_t k32) {
  const __m128i k = _mm_set1_epi32((int)k32);
  size_t i = 0;
  for (; n - i >= 64; i += 64) {
    __m128i a = _mm_loadu_si128((const __m128i *)(src + i));
    __m128i b = _mm_loadu_si128((const __m128i *)(src + i + 16));
    __m128i c = _mm_loadu_si128((const __m128i *)(src + i + 32));
    __m128i d = _mm_loadu_si128((const __m128i *)(src + i + 48));
    _mm_storeu_si128((__m128i *)(dst + i), _mm_xor_si128(a, k));
    _mm_storeu_si128((__m128i *)(dst + i + 16), _mm_xor_si128(b, k));
    _mm_storeu_si128((__m128i *)(dst + i + 32), _mm_xor_si128(c, k));
    _mm_storeu_si128((__m128i *)(dst + i + 48), _mm_xor_si128(d, k));
  }
  for (; n - i >= 16; i += 16)
    _mm_storeu_si128((__m128i *)(dst + i),
                     _mm_xor_si128(_mm_loadu_si128((const __m128i *)(src + i)), k));
  mask_portable(dst + i, src + i, n - i, k32);
}

/* AVX2: 128 bytes per step. The destination is first brought to a 32-byte boundary so no store
 * splits a cache line; the key is rotated again by the bytes that took. */
__attribute__((target("avx2"))) static void mask_avx2(uint8_t *dst, const uint8_t *src, size_t n,
                                                      const uint8_t key[4], uint64_t offset) {
  size_t head = (size_t)(-(uintptr_t)dst & 31);
  if (head > n)
    head = n;
  mask_portable(dst, src, head, rotated_key(key, offset));
  dst += head;
  src += head;
  n -= head;
  uint32_t k32 = rotated_key(key, offset + head);
  const __m256i k = _mm256_set1_epi32((int)k32);
  size_t i = 0;
  for (; n - i >= 128; i += 128) {
    __m256i a = _mm256_loadu_si256((const __m256i *)(src + i));
    __m256i b = _mm256_loadu_si256((const __m256i *)(src + i + 32));
    __m256i c = _mm256_loadu_si256((const __m256i *)(src + i + 64));
    __m256i d = _mm256_loadu_si256((const __m256i *)(src + i + 96));
    _mm256_store_si256((__m256i *)(dst + i), _mm256_xor_si256(a, k));
    _mm256_store_si256((__m256i *)(dst + i + 32), _mm256_xor_si256(b, k));
    _mm256_store_si256((__m256i *)(dst + i + 64), _mm256_xor_si256(c, k));
    _mm256_store_si256((__m256i *)(dst + i + 96), _mm256_xor_si256(d, k));
  }
  for (; n - i >= 32; i += 32)
    _mm256_store_si256((__m256i *)(dst + i),
                       _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(src + i)), k));
  mask_portable(dst + i, src + i, n - i, k32);
}
#endif

void ws__mask_copy(uint8_t *dst, const uint8_t *src, size_t n, const uint8_t key[4], uint64_t offset) {
#ifdef WS_MASK_X86
  /* The feature test is a load and a bit test in libgcc's CPU model (no state of ours); below
   * 256 bytes the head alignment would cost more than AVX2 saves. */
  if (n >= 256) {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2")) {
      mask_avx2(dst, src, n, key, offset);
      return;
    }
  }
  mask_sse2(dst, src, n, rotated_key(key, offset));
#else
  mask_portable(dst, src, n, rotated_key(key, offset));
#endif
}

bool ws__mask_impl_available(ws__mask_impl impl) {
#ifdef WS_MASK_X86
  if (impl == WS_MASK_AVX2) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2");
  }
  return impl == WS_MASK_SSE2 || impl == WS_MASK_PORTABLE;
#else
  return impl == WS_MASK_PORTABLE;
#endif
}

const char *ws__mask_impl_name(ws__mask_impl impl) {
  static const char *const names[] = {"portable", "sse2", "avx2"};
  return impl < WS_MASK_IMPLS ? names[impl] : "?";
}

void ws__mask_copy_with(ws__mask_impl impl, uint8_t *dst, const uint8_t *src, size_t n,
                        const uint8_t key[4], uint64_t offset) {
#ifdef WS_MASK_X86
  if (impl == WS_MASK_AVX2 && ws__mask_impl_available(WS_MASK_AVX2)) {
    mask_avx2(dst, src, n, key, offset);
    return;
  }
  if (impl == WS_MASK_SSE2) {
    mask_sse2(dst, src, n, rotated_key(key, offset));
    return;
  }
#else
  (void)impl;
#endif
  mask_portable(dst, src, n, rotated_key(key, offset));
}

void ws__mask_inplace(uint8_t *p, size_t n, const uint8_t key[4], uint64_t offset) {
  ws__mask_copy(p, p, n, key, offset);
}
