/* Differential fuzzer for src/proto/utf8: every implementation the CPU has, fed the whole input
 * and fed in pieces at split points drawn from the input, must agree with the reference below
 * on the index of the first invalid byte and on whether a sequence is left open. Any
 * disagreement aborts.
 *
 * Input layout: byte 0 chooses how many ASCII bytes (0..63) go before the text, so the same
 * text is seen at every position of a 64-byte vector step; byte 1 seeds the piece sizes; the
 * rest is the text. */
#include "proto/utf8.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The reference: RFC 3629 section 4's ABNF, one row per alternative, read literally. A lead
 * byte in [lead_lo, lead_hi] takes `len` bytes; the second must be in [lo2, hi2], any further
 * ones in 80..BF (UTF8-tail). */
typedef struct {
  uint8_t lead_lo, lead_hi, len, lo2, hi2;
} abnf_row;
static const abnf_row abnf[] = {
    {0x00, 0x7F, 1, 0, 0},       /* UTF8-1 */
    {0xC2, 0xDF, 2, 0x80, 0xBF}, /* UTF8-2 */
    {0xE0, 0xE0, 3, 0xA0, 0xBF}, /* UTF8-3 */
    {0xE1, 0xEC, 3, 0x80, 0xBF}, {0xED, 0xED, 3, 0x80, 0x9F}, {0xEE, 0xEF, 3, 0x80, 0xBF},
    {0xF0, 0xF0, 4, 0x90, 0xBF}, /* UTF8-4 */
    {0xF1, 0xF3, 4, 0x80, 0xBF}, {0xF4, 0xF4, 4, 0x80, 0x8F},
};

static size_t reference(const uint8_t *p, size_t n, int *open) {
  *open = 0;
  size_t i = 0;
  while (i < n) {
    const abnf_row *r = NULL;
    for (size_t k = 0; k < sizeof abnf / sizeof abnf[0]; k++)
      if (p[i] >= abnf[k].lead_lo && p[i] <= abnf[k].lead_hi)
        r = &abnf[k];
    if (!r)
      return i;
    for (size_t k = 1; k < r->len; k++) {
      if (i + k == n) {
        *open = 1;
        return n;
      }
      uint8_t lo = k == 1 ? r->lo2 : 0x80, hi = k == 1 ? r->hi2 : 0xBF;
      if (p[i + k] < lo || p[i + k] > hi)
        return i + k;
    }
    i += r->len;
  }
  return n;
}

static void disagree(const char *what, ws__utf8_impl impl, size_t got, size_t want) {
  fprintf(stderr, "fuzz_utf8: %s [%s]: got %zu, reference %zu\n", what, ws__utf8_impl_name(impl),
          got, want);
  abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2)
    return 0;
  size_t pad = data[0] & 63;
  uint32_t seed = data[1] * 2654435761u + 1;
  size_t n = pad + size - 2;
  uint8_t *buf = malloc(n ? n : 1);
  if (!buf)
    return 0;
  memset(buf, 'p', pad);
  memcpy(buf + pad, data + 2, size - 2);

  int open;
  size_t want = reference(buf, n, &open);
  for (int i = 0; i < WS_UTF8_IMPLS; i++) {
    ws__utf8_impl impl = (ws__utf8_impl)i;
    if (!ws__utf8_impl_available(impl))
      continue;
    ws__utf8 st;
    ws__utf8_reset(&st);
    size_t got = ws__utf8_feed_with(impl, &st, buf, n);
    if (got != want)
      disagree("whole", impl, got, want);
    if (want == n && ws__utf8_complete(&st) == open)
      disagree("whole: open sequence", impl, got, want);

    /* the same bytes in pieces of 1..130 bytes */
    uint32_t x = seed;
    size_t pos = 0;
    ws__utf8_reset(&st);
    got = n;
    while (pos < n) {
      x = x * 1103515245u + 12345u;
      size_t len = 1 + (x >> 16) % 130;
      if (len > n - pos)
        len = n - pos;
      size_t r = ws__utf8_feed_with(impl, &st, buf + pos, len);
      if (r != len) {
        got = pos + r;
        break;
      }
      pos += len;
    }
    if (got != want)
      disagree("split", impl, got, want);
    if (want == n && ws__utf8_complete(&st) == open)
      disagree("split: open sequence", impl, got, want);
  }
  ws__utf8 st;
  ws__utf8_reset(&st);
  if (ws__utf8_feed(&st, buf, n) != want)
    disagree("ws__utf8_feed", WS_UTF8_IMPLS, ws__utf8_feed(&st, buf, n), want);
  if (ws__utf8_valid(buf, n) != (want == n && !open))
    disagree("ws__utf8_valid", WS_UTF8_IMPLS, 0, want);
  free(buf);
  return 0;
}
