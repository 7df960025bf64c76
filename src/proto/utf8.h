/* Incremental, fail-fast UTF-8 validation (RFC 3629, as RFC 6455 8.1 requires).
 *
 * Text messages and close reasons arrive split across frames and reads; the state carries an
 * unfinished sequence across calls. "Fail fast" means the index returned is that of the first
 * byte that no valid continuation could follow (0xC0 itself, the 0x90 of F4 90, the A0 of
 * ED A0), not the end of the message. */
#ifndef WS_PROTO_UTF8_H
#define WS_PROTO_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct ws__utf8 {
  uint8_t need; /* continuation bytes still expected */
  uint8_t lo;   /* allowed range of the next continuation byte */
  uint8_t hi;
} ws__utf8;

static inline void ws__utf8_reset(ws__utf8 *st) {
  st->need = 0;
  st->lo = 0x80;
  st->hi = 0xBF;
}
/* True when no sequence is left open (the message may end here). */
static inline bool ws__utf8_complete(const ws__utf8 *st) { return st->need == 0; }

/* Validate p[0..n) continuing from *st. Returns n when every byte is valid so far (a sequence
 * may remain open), else the index of the first invalid byte; *st is then unspecified. */
size_t ws__utf8_feed(ws__utf8 *st, const uint8_t *p, size_t n);
/* Whole-buffer check: valid and complete. */
bool ws__utf8_valid(const uint8_t *p, size_t n);

/* The implementations, exposed for tests and benchmarks, which compare them. Each has the
 * contract of ws__utf8_feed. The SIMD ones exist only when the compiler can build them and
 * the CPU has the feature (ws__utf8_impl_available). */
typedef enum ws__utf8_impl { WS_UTF8_SCALAR = 0, WS_UTF8_SSE41, WS_UTF8_AVX2, WS_UTF8_IMPLS } ws__utf8_impl;
bool ws__utf8_impl_available(ws__utf8_impl impl);
size_t ws__utf8_feed_with(ws__utf8_impl impl, ws__utf8 *st, const uint8_t *p, size_t n);
const char *ws__utf8_impl_name(ws__utf8_impl impl);

#endif
