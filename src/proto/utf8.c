#include "proto/utf8.h"

/* Scalar reference validator. The tables of RFC 3629 section 4 in code form: after a lead
 * byte, the first continuation byte's range depends on the lead (E0: A0-BF excludes overlongs,
 * ED: 80-9F excludes surrogates, F0: 90-BF overlongs, F4: 80-8F caps at U+10FFFF). */
static size_t feed_scalar(ws__utf8 *st, const uint8_t *p, size_t n) {
  uint8_t need = st->need, lo = st->lo, hi = st->hi;
  for (size_t i = 0; i < n; i++) {
    uint8_t c = p[i];
    if (need) {
      if (c < lo || c > hi)
        return i;
      need--;
      lo = 0x80;
      hi = 0xBF;
      continue;
    }
    if (c < 0x80)
      continue;
    if (c < 0xC2)
      return i; /* continuation byte without a lead, or an overlong C0/C1 lead */
    if (c < 0xE0) {
      need = 1;
    } else if (c < 0xF0) {
      need = 2;
      if (c == 0xE0)
        lo = 0xA0;
      else if (c == 0xED)
        hi = 0x9F;
    } else if (c < 0xF5) {
      need = 3;
      if (c == 0xF0)
        lo = 0x90;
      else if (c == 0xF4)
        hi = 0x8F;
    } else {
      return i; /* F5-FF never appear */
    }
  }
  st->need = need;
  st->lo = lo;
  st->hi = hi;
  return n;
}

bool ws__utf8_impl_available(ws__utf8_impl impl) { return impl == WS_UTF8_SCALAR; }

const char *ws__utf8_impl_name(ws__utf8_impl impl) {
  static const char *const names[] = {"scalar", "sse4.1", "avx2"};
  return impl < WS_UTF8_IMPLS ? names[impl] : "?";
}

size_t ws__utf8_feed_with(ws__utf8_impl impl, ws__utf8 *st, const uint8_t *p, size_t n) {
  (void)impl;
  return feed_scalar(st, p, n);
}

size_t ws__utf8_feed(ws__utf8 *st, const uint8_t *p, size_t n) { return feed_scalar(st, p, n); }

bool ws__utf8_valid(const uint8_t *p, size_t n) {
  ws__utf8 st;
  ws__utf8_reset(&st);
  return ws__utf8_feed(&st, p, n) == n && ws__utf8_complete(&st);
}
