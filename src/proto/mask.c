#include "proto/mask.h"

#include <string.h>

/* Portable word-at-a-time version: rotate the key to the payload offset, then XOR 8 bytes at a
 * time through memcpy (the compiler turns it into plain loads/stores, and vectorises the loop). */
void ws__mask_copy(uint8_t *dst, const uint8_t *src, size_t n, const uint8_t key[4], uint64_t offset) {
  uint8_t k[8];
  for (int i = 0; i < 8; i++)
    k[i] = key[(offset + (uint64_t)i) & 3];
  uint64_t k64;
  memcpy(&k64, k, 8);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    memcpy(&w, src + i, 8);
    w ^= k64;
    memcpy(dst + i, &w, 8);
  }
  for (; i < n; i++)
    dst[i] = (uint8_t)(src[i] ^ k[i & 7]);
}

void ws__mask_inplace(uint8_t *p, size_t n, const uint8_t key[4], uint64_t offset) {
  ws__mask_copy(p, p, n, key, offset);
}
