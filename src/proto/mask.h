/* Masking (RFC 6455 5.3): XOR with a 4-byte key, repeating. Used in place on receive and
 * while copying on send. */
#ifndef WS_PROTO_MASK_H
#define WS_PROTO_MASK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* dst[i] = src[i] ^ key[(offset + i) % 4]; dst and src may be the same but not overlap otherwise. */
void ws__mask_copy(uint8_t *dst, const uint8_t *src, size_t n, const uint8_t key[4], uint64_t offset);
/* XOR p[0..n) in place with key, where p[0] is at payload offset `offset` (so the key byte
 * used for p[0] is key[offset % 4]). */
static inline void ws__mask_inplace(uint8_t *p, size_t n, const uint8_t key[4], uint64_t offset) {
  ws__mask_copy(p, p, n, key, offset);
}

/* The implementations, exposed for tests and benchmarks, which compare them; each has the
 * contract of ws__mask_copy. ws__mask_copy itself picks AVX-512 for every size on CPUs that have
 * it and are not Intel's, on Intel's for 4 KiB and more (they lower their clock after 512-bit
 * instructions); else AVX2 when the CPU has it, else SSE2 (always present on x86_64); elsewhere
 * the portable word loop. An implementation the CPU lacks falls back to the portable one. */
typedef enum ws__mask_impl { WS_MASK_PORTABLE = 0, WS_MASK_SSE2, WS_MASK_AVX2, WS_MASK_AVX512, WS_MASK_IMPLS } ws__mask_impl;
bool ws__mask_impl_available(ws__mask_impl impl);
const char *ws__mask_impl_name(ws__mask_impl impl);
void ws__mask_copy_with(ws__mask_impl impl, uint8_t *dst, const uint8_t *src, size_t n,
                        const uint8_t key[4], uint64_t offset);

#endif
