/* Masking (RFC 6455 5.3): XOR with a 4-byte key, repeating. Used in place on receive and
 * while copying on send. */
#ifndef WS_PROTO_MASK_H
#define WS_PROTO_MASK_H

#include <stddef.h>
#include <stdint.h>

/* XOR p[0..n) in place with key, where p[0] is at payload offset `offset` (so the key byte
 * used for p[0] is key[offset % 4]). */
void ws__mask_inplace(uint8_t *p, size_t n, const uint8_t key[4], uint64_t offset);
/* dst[i] = src[i] ^ key[(offset + i) % 4]; dst and src may be the same but not overlap otherwise. */
void ws__mask_copy(uint8_t *dst, const uint8_t *src, size_t n, const uint8_t key[4], uint64_t offset);

#endif
