#include "proto/mask.h"

#include <string.h>

/* RFC 6455 5.3: octet i of the payload is XORed with key[i % 4]. A call that starts at payload
 * offset `offset` therefore uses the key rotated by offset % 4; 8, 16, 32 and 64 are multiples
 * of 4, so one rotated key word or vector serves every word or vector at a multiple of 4 bytes.
 * bench/RESULTS-micro.md ("Unmasking") has the numbers that chose this shape. */

/* -DWS_NO_SIMD builds the portable code alone, as on other CPUs (used to test that build). */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && !defined(WS_NO_SIMD)
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
/* The vector versions share one shape, with a vector width W of 16, 32 or 64 bytes and no byte
 * loop for n >= 8:
 *   - n < W: the halves of W (two overlapping vectors of W/2, then 16, then two 8-byte words);
 *   - W <= n <= 4W: two or four overlapping vectors (the first and the last one or two), all
 *     loaded before the first store so that the in-place case reads them unmasked; no loop;
 *   - n > 4W: load the first and the last W bytes, run the main loop, four vectors per step,
 *     from the first W-aligned source address, then store the first and last vectors.
 * The overlapping vectors write the same values twice, so the result is right for any
 * alignment, length and offset. Every vector that ends at n starts a multiple of 4 bytes before
 * it, so two key vectors (offset 0 and offset n) serve all but the loop. Aligning the loads
 * rather than the stores was measured: copying 64 KiB (L2) with a destination 3 bytes off a
 * line went from 80% to 95% of memcpy; in place both are the same (bench/RESULTS-micro.md). */

/* The 4-byte key as a little-endian word rotated so that its byte 0 is key[offset % 4]. */
static uint32_t key_at(uint32_t k32, uint64_t offset) {
  unsigned r = (unsigned)(offset & 3) * 8;
  return r ? k32 >> r | k32 << (32 - r) : k32;
}

/* The key word for payload offset `offset` with one load (x86 is little-endian: byte 0 of the
 * word is key[0]). */
static uint32_t key_word(const uint8_t key[4], uint64_t offset) {
  uint32_t k32;
  memcpy(&k32, key, 4);
  return key_at(k32, offset);
}

/* n < 16: two overlapping 8-byte words, or bytes. */
static inline void mask_small(uint8_t *dst, const uint8_t *src, size_t n, uint32_t k32) {
  if (n >= 8) {
    uint64_t a, b, ka = (uint64_t)k32 * 0x100000001u;
    uint64_t kb = (uint64_t)key_at(k32, n) * 0x100000001u;
    memcpy(&a, src, 8);
    memcpy(&b, src + n - 8, 8);
    a ^= ka;
    b ^= kb;
    memcpy(dst, &a, 8);
    memcpy(dst + n - 8, &b, 8);
    return;
  }
  for (size_t i = 0; i < n; i++)
    dst[i] = (uint8_t)(src[i] ^ (k32 >> ((i & 3) * 8)));
}

/* 16 <= n <= 32: the first and the last 16 bytes. */
static inline void mask_16_32(uint8_t *dst, const uint8_t *src, size_t n, uint32_t k32) {
  const __m128i a = _mm_loadu_si128((const __m128i *)src);
  const __m128i b = _mm_loadu_si128((const __m128i *)(src + n - 16));
  _mm_storeu_si128((__m128i *)dst, _mm_xor_si128(a, _mm_set1_epi32((int)k32)));
  _mm_storeu_si128((__m128i *)(dst + n - 16),
                   _mm_xor_si128(b, _mm_set1_epi32((int)key_at(k32, n))));
}

/* 32 <= n <= 64: the first and the last 32 bytes. */
__attribute__((target("avx2"))) static inline void mask_32_64(uint8_t *dst, const uint8_t *src,
                                                              size_t n, uint32_t k32) {
  const __m256i a = _mm256_loadu_si256((const __m256i *)src);
  const __m256i b = _mm256_loadu_si256((const __m256i *)(src + n - 32));
  _mm256_storeu_si256((__m256i *)dst, _mm256_xor_si256(a, _mm256_set1_epi32((int)k32)));
  _mm256_storeu_si256((__m256i *)(dst + n - 32),
                      _mm256_xor_si256(b, _mm256_set1_epi32((int)key_at(k32, n))));
}

/* SSE2 is part of x86_64, so this needs no feature check. */
static void mask_sse2(uint8_t *dst, const uint8_t *src, size_t n, uint32_t k32) {
  if (n < 16) {
    mask_small(dst, src, n, k32);
    return;
  }
  if (n <= 32) {
    mask_16_32(dst, src, n, k32);
    return;
  }
  const __m128i k0 = _mm_set1_epi32((int)k32), kn = _mm_set1_epi32((int)key_at(k32, n));
  if (n <= 64) {
    const __m128i a = _mm_loadu_si128((const __m128i *)src);
    const __m128i b = _mm_loadu_si128((const __m128i *)(src + 16));
    const __m128i c = _mm_loadu_si128((const __m128i *)(src + n - 32));
    const __m128i d = _mm_loadu_si128((const __m128i *)(src + n - 16));
    _mm_storeu_si128((__m128i *)dst, _mm_xor_si128(a, k0));
    _mm_storeu_si128((__m128i *)(dst + 16), _mm_xor_si128(b, k0));
    _mm_storeu_si128((__m128i *)(dst + n - 32), _mm_xor_si128(c, kn));
    _mm_storeu_si128((__m128i *)(dst + n - 16), _mm_xor_si128(d, kn));
    return;
  }
  const __m128i first = _mm_loadu_si128((const __m128i *)src);
  const __m128i last = _mm_loadu_si128((const __m128i *)(src + n - 16));
  size_t i = (size_t)(-(uintptr_t)src & 15);
  const __m128i k = _mm_set1_epi32((int)key_at(k32, i));
  for (; n - i >= 64; i += 64) {
    __m128i a = _mm_load_si128((const __m128i *)(src + i));
    __m128i b = _mm_load_si128((const __m128i *)(src + i + 16));
    __m128i c = _mm_load_si128((const __m128i *)(src + i + 32));
    __m128i d = _mm_load_si128((const __m128i *)(src + i + 48));
    _mm_storeu_si128((__m128i *)(dst + i), _mm_xor_si128(a, k));
    _mm_storeu_si128((__m128i *)(dst + i + 16), _mm_xor_si128(b, k));
    _mm_storeu_si128((__m128i *)(dst + i + 32), _mm_xor_si128(c, k));
    _mm_storeu_si128((__m128i *)(dst + i + 48), _mm_xor_si128(d, k));
  }
  for (; n - i >= 16; i += 16)
    _mm_storeu_si128((__m128i *)(dst + i),
                     _mm_xor_si128(_mm_load_si128((const __m128i *)(src + i)), k));
  _mm_storeu_si128((__m128i *)dst, _mm_xor_si128(first, k0));
  _mm_storeu_si128((__m128i *)(dst + n - 16), _mm_xor_si128(last, kn));
}

/* AVX2: 128 bytes per step. */
__attribute__((target("avx2"))) static void mask_avx2(uint8_t *dst, const uint8_t *src, size_t n,
                                                      uint32_t k32) {
  if (n < 32) {
    if (n >= 16)
      mask_16_32(dst, src, n, k32);
    else
      mask_small(dst, src, n, k32);
    return;
  }
  if (n <= 64) {
    mask_32_64(dst, src, n, k32);
    return;
  }
  const __m256i k0 = _mm256_set1_epi32((int)k32), kn = _mm256_set1_epi32((int)key_at(k32, n));
  if (n <= 128) {
    const __m256i a = _mm256_loadu_si256((const __m256i *)src);
    const __m256i b = _mm256_loadu_si256((const __m256i *)(src + 32));
    const __m256i c = _mm256_loadu_si256((const __m256i *)(src + n - 64));
    const __m256i d = _mm256_loadu_si256((const __m256i *)(src + n - 32));
    _mm256_storeu_si256((__m256i *)dst, _mm256_xor_si256(a, k0));
    _mm256_storeu_si256((__m256i *)(dst + 32), _mm256_xor_si256(b, k0));
    _mm256_storeu_si256((__m256i *)(dst + n - 64), _mm256_xor_si256(c, kn));
    _mm256_storeu_si256((__m256i *)(dst + n - 32), _mm256_xor_si256(d, kn));
    return;
  }
  const __m256i first = _mm256_loadu_si256((const __m256i *)src);
  const __m256i last = _mm256_loadu_si256((const __m256i *)(src + n - 32));
  size_t i = (size_t)(-(uintptr_t)src & 31);
  const __m256i k = _mm256_set1_epi32((int)key_at(k32, i));
  for (; n - i >= 128; i += 128) {
    __m256i a = _mm256_load_si256((const __m256i *)(src + i));
    __m256i b = _mm256_load_si256((const __m256i *)(src + i + 32));
    __m256i c = _mm256_load_si256((const __m256i *)(src + i + 64));
    __m256i d = _mm256_load_si256((const __m256i *)(src + i + 96));
    _mm256_storeu_si256((__m256i *)(dst + i), _mm256_xor_si256(a, k));
    _mm256_storeu_si256((__m256i *)(dst + i + 32), _mm256_xor_si256(b, k));
    _mm256_storeu_si256((__m256i *)(dst + i + 64), _mm256_xor_si256(c, k));
    _mm256_storeu_si256((__m256i *)(dst + i + 96), _mm256_xor_si256(d, k));
  }
  for (; n - i >= 32; i += 32)
    _mm256_storeu_si256((__m256i *)(dst + i),
                        _mm256_xor_si256(_mm256_load_si256((const __m256i *)(src + i)), k));
  _mm256_storeu_si256((__m256i *)dst, _mm256_xor_si256(first, k0));
  _mm256_storeu_si256((__m256i *)(dst + n - 32), _mm256_xor_si256(last, kn));
}

/* AVX-512 (F is enough: 512-bit XOR, loads and stores): 256 bytes per step. */
__attribute__((target("avx512f"))) static void mask_avx512(uint8_t *dst, const uint8_t *src,
                                                           size_t n, uint32_t k32) {
  if (__builtin_expect(n < 64, 0)) {
    if (n >= 32)
      mask_32_64(dst, src, n, k32);
    else if (n >= 16)
      mask_16_32(dst, src, n, k32);
    else
      mask_small(dst, src, n, k32);
    return;
  }
  const __m512i k0 = _mm512_set1_epi32((int)k32), kn = _mm512_set1_epi32((int)key_at(k32, n));
  if (n <= 256) {
    if (n <= 128) {
      const __m512i a = _mm512_loadu_si512((const void *)src);
      const __m512i b = _mm512_loadu_si512((const void *)(src + n - 64));
      _mm512_storeu_si512((void *)dst, _mm512_xor_si512(a, k0));
      _mm512_storeu_si512((void *)(dst + n - 64), _mm512_xor_si512(b, kn));
      return;
    }
    const __m512i a = _mm512_loadu_si512((const void *)src);
    const __m512i b = _mm512_loadu_si512((const void *)(src + 64));
    const __m512i c = _mm512_loadu_si512((const void *)(src + n - 128));
    const __m512i d = _mm512_loadu_si512((const void *)(src + n - 64));
    _mm512_storeu_si512((void *)dst, _mm512_xor_si512(a, k0));
    _mm512_storeu_si512((void *)(dst + 64), _mm512_xor_si512(b, k0));
    _mm512_storeu_si512((void *)(dst + n - 128), _mm512_xor_si512(c, kn));
    _mm512_storeu_si512((void *)(dst + n - 64), _mm512_xor_si512(d, kn));
    return;
  }
  const __m512i first = _mm512_loadu_si512((const void *)src);
  const __m512i last = _mm512_loadu_si512((const void *)(src + n - 64));
  size_t i = (size_t)(-(uintptr_t)src & 63);
  const __m512i k = _mm512_set1_epi32((int)key_at(k32, i));
  for (; n - i >= 256; i += 256) {
    __m512i a = _mm512_load_si512((const void *)(src + i));
    __m512i b = _mm512_load_si512((const void *)(src + i + 64));
    __m512i c = _mm512_load_si512((const void *)(src + i + 128));
    __m512i d = _mm512_load_si512((const void *)(src + i + 192));
    _mm512_storeu_si512((void *)(dst + i), _mm512_xor_si512(a, k));
    _mm512_storeu_si512((void *)(dst + i + 64), _mm512_xor_si512(b, k));
    _mm512_storeu_si512((void *)(dst + i + 128), _mm512_xor_si512(c, k));
    _mm512_storeu_si512((void *)(dst + i + 192), _mm512_xor_si512(d, k));
  }
  for (; n - i >= 64; i += 64)
    _mm512_storeu_si512((void *)(dst + i),
                        _mm512_xor_si512(_mm512_load_si512((const void *)(src + i)), k));
  _mm512_storeu_si512((void *)dst, _mm512_xor_si512(first, k0));
  _mm512_storeu_si512((void *)(dst + n - 64), _mm512_xor_si512(last, kn));
}
#endif

#ifdef WS_MASK_X86
/* 1 when AVX-512 serves every size: the CPU has it and is not Intel's. Intel cores lower their
 * clock for a while after 512-bit instructions, so there (as glibc's memcpy does, which prefers
 * 256-bit code on Intel: Prefer_No_AVX512) only payloads of 4 KiB and more use it, where it lifts
 * in-place unmasking of 64 KiB from ~160 to ~230 GB/s. AMD's Zen 4/5 keep their clock, and there
 * AVX-512 lifts 1 KiB from ~117 to ~180 GB/s in place (bench/RESULTS-micro.md).
 *
 * The one piece of mutable state of this file: written once by a constructor, before main() and
 * before any thread of the program exists (hence no race), read-only afterwards. One load instead
 * of the two of libgcc's CPU model (features, vendor) bought 125-byte calls ~5%. A call made
 * before this constructor has run (from another constructor) reads 0 and takes the tests below,
 * which are right too. */
static int avx512_all_sizes;
__attribute__((constructor)) static void mask_init(void) {
  __builtin_cpu_init(); /* libgcc's CPU model may not be filled yet in a constructor */
  avx512_all_sizes = __builtin_cpu_supports("avx512f") && !__builtin_cpu_is("intel");
}
#endif

void ws__mask_copy(uint8_t *dst, const uint8_t *src, size_t n, const uint8_t key[4],
                   uint64_t offset) {
#ifdef WS_MASK_X86
  /* The feature tests below are a load and a bit test in libgcc's CPU model. Should we run
   * before libgcc's constructor has filled the model, they read "no AVX2" and the SSE2 path,
   * which is always right, runs instead. The AVX-512 path is marked likely so that it is laid
   * out as the straight line: a 125-byte call is ~2 ns, and each taken branch shows. */
  uint32_t k32 = key_word(key, offset);
  if (__builtin_expect(avx512_all_sizes, 1) || (n >= 4096 && __builtin_cpu_supports("avx512f"))) {
    mask_avx512(dst, src, n, k32);
    return;
  }
  if (__builtin_cpu_supports("avx2")) {
    mask_avx2(dst, src, n, k32);
    return;
  }
  mask_sse2(dst, src, n, k32);
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
  if (impl == WS_MASK_AVX512) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f");
  }
  return impl == WS_MASK_SSE2 || impl == WS_MASK_PORTABLE;
#else
  return impl == WS_MASK_PORTABLE;
#endif
}

const char *ws__mask_impl_name(ws__mask_impl impl) {
  static const char *const names[] = {"portable", "sse2", "avx2", "avx512"};
  return impl < WS_MASK_IMPLS ? names[impl] : "?";
}

void ws__mask_copy_with(ws__mask_impl impl, uint8_t *dst, const uint8_t *src, size_t n,
                        const uint8_t key[4], uint64_t offset) {
#ifdef WS_MASK_X86
  if (impl == WS_MASK_AVX512 && ws__mask_impl_available(WS_MASK_AVX512)) {
    mask_avx512(dst, src, n, key_word(key, offset));
    return;
  }
  if (impl == WS_MASK_AVX2 && ws__mask_impl_available(WS_MASK_AVX2)) {
    mask_avx2(dst, src, n, key_word(key, offset));
    return;
  }
  if (impl == WS_MASK_SSE2) {
    mask_sse2(dst, src, n, key_word(key, offset));
    return;
  }
#else
  (void)impl;
#endif
  mask_portable(dst, src, n, rotated_key(key, offset));
}
