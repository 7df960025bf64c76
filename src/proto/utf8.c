#include "proto/utf8.h"

#include <string.h>

/* Three implementations share one contract (utf8.h): a portable one (the byte-at-a-time
 * reference below behind an ASCII skip of 16 bytes at a time) and on x86_64 two vector ones
 * (SSE4.1, AVX2) built with target attributes so the build needs no -m flags; the vector ones
 * fall back on the reference to name the exact first bad byte. Which one runs is decided per call from
 * the CPU's feature bits (libgcc's __builtin_cpu_supports), so we keep no mutable state of our
 * own. docs/internals/utf8.md explains the vector algorithm and the numbers. */

/* -DWS_NO_SIMD builds the portable code alone, as on other CPUs (used to test that build). */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && !defined(WS_NO_SIMD)
#define WS_UTF8_X86 1
#include <immintrin.h>
#endif

/* Scalar reference validator. The tables of RFC 3629 section 4 in code form: after a lead
 * byte, the first continuation byte's range depends on the lead (E0: A0-BF excludes overlongs,
 * ED: 80-9F excludes surrogates, F0: 90-BF overlongs, F4: 80-8F caps at U+10FFFF). */
static size_t feed_bytes(ws__utf8 *st, const uint8_t *p, size_t n) {
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

/* The length of the all-ASCII prefix of p[0..n), in whole 16-byte steps (two 64-bit words whose
 * high bits are all clear). */
static size_t ascii_prefix(const uint8_t *p, size_t n) {
  const uint64_t high = 0x8080808080808080u;
  size_t i = 0;
  while (n - i >= 16) {
    uint64_t a, b;
    memcpy(&a, p + i, 8);
    memcpy(&b, p + i + 8, 8);
    if ((a | b) & high)
      break;
    i += 16;
  }
  return i;
}

/* True when all of q[0..r) (r < 16) is ASCII: two overlapping loads instead of a byte loop, so
 * the tail of a short message costs a few instructions. */
static bool ascii_short(const uint8_t *q, size_t r) {
  uint64_t a = 0, b = 0;
  if (r >= 8) {
    memcpy(&a, q, 8);
    memcpy(&b, q + r - 8, 8);
  } else if (r >= 4) {
    uint32_t x, y;
    memcpy(&x, q, 4);
    memcpy(&y, q + r - 4, 4);
    a = x | y;
  } else {
    for (size_t k = 0; k < r; k++)
      a |= q[k];
  }
  return ((a | b) & 0x8080808080808080u) == 0;
}

/* Portable: while no sequence is open, skip 16 ASCII bytes at a time (two 64-bit words whose
 * high bits are all clear); anything else goes through the byte loop 16 bytes at a time, after
 * which the ASCII skip is tried again. Text that is mostly ASCII (JSON, logs) runs at word speed. */
static size_t feed_portable(ws__utf8 *st, const uint8_t *p, size_t n) {
  size_t i = 0;
  while (i < n) {
    if (st->need == 0) {
      i += ascii_prefix(p + i, n - i);
      if (n - i < 16 && ascii_short(p + i, n - i))
        return n;
    }
    size_t chunk = n - i < 16 ? n - i : 16;
    size_t r = feed_bytes(st, p + i, chunk);
    if (r != chunk)
      return i + r;
    i += chunk;
  }
  return n;
}

#ifdef WS_UTF8_X86
/* Where the sequence holding p[end-1] starts, if it is unfinished at `end`; else `end`.
 * p[start..end) must be a valid prefix beginning at a sequence boundary (the vector loop has
 * proved it), so at most three bytes need a look. */
static size_t open_sequence_start(const uint8_t *p, size_t start, size_t end) {
  for (size_t k = 1; k <= 3 && k <= end - start; k++) {
    uint8_t c = p[end - k];
    if (c < 0x80)
      return end;
    if (c >= 0xC0) {
      size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
      return k < len ? end - k : end;
    }
  }
  return end; /* three continuation bytes: the fourth byte of a sequence just ended */
}

/* The vector loop found an error somewhere at or after `block` (everything in
 * p[start..block) is a valid prefix). Re-run the reference from the start of the sequence that
 * straddles `block`, so the index returned is exactly the reference's. When the reference finds
 * no error (the "error" was the zero padding of the last block after an open sequence) its
 * verdict and state stand. */
static size_t locate_error(ws__utf8 *st, const uint8_t *p, size_t n, size_t start, size_t block) {
  size_t from = open_sequence_start(p, start, block);
  ws__utf8 fresh;
  ws__utf8_reset(&fresh);
  size_t r = feed_bytes(&fresh, p + from, n - from);
  *st = fresh;
  return from + r;
}

/* The vector loop processed p[start..end) without an error and end == n; a sequence may be open
 * at the end. Rebuild the state by running the reference over that sequence's (at most three)
 * bytes. */
static size_t finish_tail(ws__utf8 *st, const uint8_t *p, size_t n, size_t start, size_t end) {
  size_t from = open_sequence_start(p, start, end);
  ws__utf8 fresh;
  ws__utf8_reset(&fresh);
  size_t r = feed_bytes(&fresh, p + from, n - from);
  *st = fresh;
  return from + r;
}

/* Close an open sequence with the reference (at most three bytes), so the vector loop always
 * starts at a boundary. Returns the bytes consumed; *bad is set when an error was found. */
static size_t lead_in(ws__utf8 *st, const uint8_t *p, size_t n, int *bad) {
  size_t k = st->need < n ? st->need : n;
  size_t r = feed_bytes(st, p, k);
  *bad = r != k;
  return r;
}

/* The last, partial block (n - i bytes, 0 < n - i < 64), two ways:
 * - When the loop ran at least once and the buffer holds a whole vector before q = n - 64, the
 *   vector code checks p[q..n) again, overlapping bytes already checked, with the vector before
 *   it as `prev`. If state was carried in and q < start + 3, the lead-in's continuation bytes
 *   can look like stray ones: that is reported as an error and locate_error, which trusts only
 *   the reference, finds none. Correct, merely slower, and only in that corner.
 * - Otherwise the remaining bytes are copied into a block padded with zeros. A zero is ASCII,
 *   so the padded block is valid exactly when the real bytes are valid and leave no sequence
 *   open; an open sequence shows as an error at the first zero, and locate_error tells the two
 *   apart.
 * Either is cheaper than a scalar loop over up to 63 bytes of non-ASCII text. */
static void pad_last_block(uint8_t last[64], const uint8_t *q, size_t r) {
  memset(last, 0, 64);
  memcpy(last, q, r);
}

/* Error classes of the lookup ("range/shuffle") validator. Each byte pair (prev, cur) is
 * classified three times, by prev's high nibble, prev's low nibble and cur's high nibble; each
 * table lists the error classes the nibble is compatible with, and the AND of the three lookups
 * is non-zero exactly when the pair is one of the bad patterns below (RFC 3629 section 4):
 *   SHORT   11xxxxxx followed by a non-continuation (a lead cut short)
 *   LONG    0xxxxxxx followed by 10xxxxxx (a stray continuation)
 *   OVL3    E0 followed by 80-9F (overlong 3-byte)
 *   BIG     F4 followed by 90-BF, or F5-FF followed by 90-BF (above U+10FFFF)
 *   SURR    ED followed by A0-BF (UTF-16 surrogates D800-DFFF)
 *   OVL2    C0/C1 followed by a continuation (overlong 2-byte)
 *   OVL4    F0 followed by 80-8F (overlong 4-byte); F5-FF followed by 80-8F shares the bit
 *   TWO     10xxxxxx followed by 10xxxxxx: only an error when no lead 2 or 3 bytes back asks
 *           for it, which a second test (prev2 >= E0 or prev3 >= F0) decides by XOR. */
enum {
  E_SHORT = 0x01,
  E_LONG = 0x02,
  E_OVL3 = 0x04,
  E_BIG = 0x08,
  E_SURR = 0x10,
  E_OVL2 = 0x20,
  E_OVL4 = 0x40,
  E_TWO = 0x80,
  E_ANY = E_SHORT | E_LONG | E_TWO /* what any lead's low nibble allows */
};
/* Indexed by the high nibble of the previous byte. */
static const uint8_t tab_prev_hi[16] = {
    E_LONG, E_LONG, E_LONG, E_LONG, E_LONG, E_LONG, E_LONG, E_LONG, /* ASCII */
    E_TWO,  E_TWO,  E_TWO,  E_TWO,                                  /* continuation */
    E_SHORT | E_OVL2,                                               /* C0-CF */
    E_SHORT,                                                        /* D0-DF */
    E_SHORT | E_OVL3 | E_SURR,                                      /* E0-EF */
    E_SHORT | E_BIG | E_OVL4,                                       /* F0-FF */
};
/* Indexed by the low nibble of the previous byte (only meaningful for leads). */
static const uint8_t tab_prev_lo[16] = {
    E_ANY | E_OVL2 | E_OVL3 | E_OVL4,  /* C0, E0, F0 */
    E_ANY | E_OVL2,                    /* C1 */
    E_ANY,           E_ANY,            /* ..2, ..3 */
    E_ANY | E_BIG,                     /* F4 */
    E_ANY | E_BIG | E_OVL4,            /* F5 */
    E_ANY | E_BIG | E_OVL4,            /* F6 */
    E_ANY | E_BIG | E_OVL4,            /* F7 */
    E_ANY | E_BIG | E_OVL4,            /* F8 */
    E_ANY | E_BIG | E_OVL4,            /* F9 */
    E_ANY | E_BIG | E_OVL4,            /* FA */
    E_ANY | E_BIG | E_OVL4,            /* FB */
    E_ANY | E_BIG | E_OVL4,            /* FC */
    E_ANY | E_BIG | E_OVL4 | E_SURR,   /* ED, FD */
    E_ANY | E_BIG | E_OVL4,            /* FE */
    E_ANY | E_BIG | E_OVL4,            /* FF */
};
/* Indexed by the high nibble of the current byte. */
static const uint8_t tab_cur_hi[16] = {
    E_SHORT, E_SHORT, E_SHORT, E_SHORT, E_SHORT, E_SHORT, E_SHORT, E_SHORT, /* ASCII */
    E_LONG | E_TWO | E_OVL2 | E_OVL3 | E_OVL4,                           /* 80-8F */
    E_LONG | E_TWO | E_OVL2 | E_OVL3 | E_BIG,                            /* 90-9F */
    E_LONG | E_TWO | E_OVL2 | E_SURR | E_BIG,                            /* A0-AF */
    E_LONG | E_TWO | E_OVL2 | E_SURR | E_BIG,                            /* B0-BF */
    E_SHORT, E_SHORT, E_SHORT, E_SHORT,                                  /* leads */
};
/* Subtracting these (saturating) leaves a non-zero byte in the last three positions exactly when
 * a sequence is still open at the end of the block: the last byte a lead (>= C0), the one
 * before a 3- or 4-byte lead (>= E0), the one before that a 4-byte lead (>= F0). */
static const uint8_t tab_open_end[32] = {
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xEF, 0xDF, 0xBF,
};

/* ---- SSE4.1 (pshufb, palignr, ptest): 16 bytes per vector, 64 per step ---- */
#define WS_SSE __attribute__((target("sse4.1")))

typedef struct {
  __m128i prev_hi, prev_lo, cur_hi, open_end;
} sse_tables;

static inline WS_SSE __m128i sse_check(const sse_tables *t, __m128i cur, __m128i prev) {
  const __m128i nib = _mm_set1_epi8(0x0F);
  __m128i p1 = _mm_alignr_epi8(cur, prev, 15);
  __m128i p2 = _mm_alignr_epi8(cur, prev, 14);
  __m128i p3 = _mm_alignr_epi8(cur, prev, 13);
  __m128i a = _mm_shuffle_epi8(t->prev_hi, _mm_and_si128(_mm_srli_epi16(p1, 4), nib));
  __m128i b = _mm_shuffle_epi8(t->prev_lo, _mm_and_si128(p1, nib));
  __m128i c = _mm_shuffle_epi8(t->cur_hi, _mm_and_si128(_mm_srli_epi16(cur, 4), nib));
  __m128i special = _mm_and_si128(_mm_and_si128(a, b), c);
  /* A continuation is required here when the byte two back is a 3/4-byte lead or the byte three
   * back a 4-byte lead; that is exactly when a continuation after a continuation is allowed. */
  __m128i third = _mm_subs_epu8(p2, _mm_set1_epi8((char)(0xE0 - 0x80)));
  __m128i fourth = _mm_subs_epu8(p3, _mm_set1_epi8((char)(0xF0 - 0x80)));
  __m128i must = _mm_and_si128(_mm_or_si128(third, fourth), _mm_set1_epi8((char)0x80));
  return _mm_xor_si128(must, special);
}

/* One 64-byte step: the error vector of the block at q, given the block before it. */
static inline WS_SSE __m128i sse_step(const sse_tables *t, const uint8_t *q, __m128i *prev,
                                      __m128i *open) {
  __m128i v0 = _mm_loadu_si128((const __m128i *)q);
  __m128i v1 = _mm_loadu_si128((const __m128i *)(q + 16));
  __m128i v2 = _mm_loadu_si128((const __m128i *)(q + 32));
  __m128i v3 = _mm_loadu_si128((const __m128i *)(q + 48));
  __m128i any = _mm_or_si128(_mm_or_si128(v0, v1), _mm_or_si128(v2, v3));
  __m128i err;
  if (_mm_movemask_epi8(any) == 0) {
    err = *open; /* all ASCII: fine unless the previous block left a sequence open */
    *open = _mm_setzero_si128();
  } else {
    err = _mm_or_si128(_mm_or_si128(sse_check(t, v0, *prev), sse_check(t, v1, v0)),
                       _mm_or_si128(sse_check(t, v2, v1), sse_check(t, v3, v2)));
    *open = _mm_subs_epu8(v3, t->open_end);
  }
  *prev = v3;
  return err;
}

static WS_SSE size_t feed_sse41(ws__utf8 *st, const uint8_t *p, size_t n) {
  int bad;
  size_t start = lead_in(st, p, n, &bad);
  if (bad || start == n)
    return start; /* an error, or the input ended inside the carried sequence (state kept) */
  sse_tables t;
  t.prev_hi = _mm_loadu_si128((const __m128i *)tab_prev_hi);
  t.prev_lo = _mm_loadu_si128((const __m128i *)tab_prev_lo);
  t.cur_hi = _mm_loadu_si128((const __m128i *)tab_cur_hi);
  t.open_end = _mm_loadu_si128((const __m128i *)(tab_open_end + 16));
  __m128i prev = _mm_setzero_si128(), open = _mm_setzero_si128();
  size_t i = start;
  for (; n - i >= 64; i += 64) {
    __m128i err = sse_step(&t, p + i, &prev, &open);
    if (!_mm_testz_si128(err, err))
      return locate_error(st, p, n, start, i);
  }
  if (i == n)
    return finish_tail(st, p, n, start, i);
  __m128i err;
  if (i != start && n >= 64 + 16) {
    /* the last 64 bytes again, overlapping what the loop checked (see pad_last_block) */
    size_t q = n - 64;
    prev = _mm_loadu_si128((const __m128i *)(p + q - 16));
    err = sse_step(&t, p + q, &prev, &open);
    if (!_mm_testz_si128(err, err))
      return locate_error(st, p, n, start, q);
    return _mm_testz_si128(open, open) ? (ws__utf8_reset(st), n) : finish_tail(st, p, n, start, n);
  }
  uint8_t last[64];
  pad_last_block(last, p + i, n - i);
  err = sse_step(&t, last, &prev, &open);
  if (!_mm_testz_si128(err, err))
    return locate_error(st, p, n, start, i);
  ws__utf8_reset(st);
  return n;
}

/* ---- AVX2: 32 bytes per vector, 64 per step ---- */
#define WS_AVX2 __attribute__((target("avx2")))

typedef struct {
  __m256i prev_hi, prev_lo, cur_hi, open_end;
} avx_tables;

static inline WS_AVX2 __m256i avx_check(const avx_tables *t, __m256i cur, __m256i prev) {
  const __m256i nib = _mm256_set1_epi8(0x0F);
  /* palignr works within 128-bit lanes; first build [prev.hi | cur.lo] so each lane of the
   * result sees the 16 bytes that precede it. */
  __m256i mid = _mm256_permute2x128_si256(prev, cur, 0x21);
  __m256i p1 = _mm256_alignr_epi8(cur, mid, 15);
  __m256i p2 = _mm256_alignr_epi8(cur, mid, 14);
  __m256i p3 = _mm256_alignr_epi8(cur, mid, 13);
  __m256i a = _mm256_shuffle_epi8(t->prev_hi, _mm256_and_si256(_mm256_srli_epi16(p1, 4), nib));
  __m256i b = _mm256_shuffle_epi8(t->prev_lo, _mm256_and_si256(p1, nib));
  __m256i c = _mm256_shuffle_epi8(t->cur_hi, _mm256_and_si256(_mm256_srli_epi16(cur, 4), nib));
  __m256i special = _mm256_and_si256(_mm256_and_si256(a, b), c);
  __m256i third = _mm256_subs_epu8(p2, _mm256_set1_epi8((char)(0xE0 - 0x80)));
  __m256i fourth = _mm256_subs_epu8(p3, _mm256_set1_epi8((char)(0xF0 - 0x80)));
  __m256i must = _mm256_and_si256(_mm256_or_si256(third, fourth), _mm256_set1_epi8((char)0x80));
  return _mm256_xor_si256(must, special);
}

static WS_AVX2 __m256i avx_table(const uint8_t *tab) {
  return _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)tab));
}

/* One 64-byte step: the error vector of the block at q, given the block before it. */
static inline WS_AVX2 __m256i avx_step(const avx_tables *t, const uint8_t *q, __m256i *prev,
                                       __m256i *open) {
  __m256i v0 = _mm256_loadu_si256((const __m256i *)q);
  __m256i v1 = _mm256_loadu_si256((const __m256i *)(q + 32));
  __m256i err;
  if (_mm256_movemask_epi8(_mm256_or_si256(v0, v1)) == 0) {
    err = *open; /* all ASCII: fine unless the previous block left a sequence open */
    *open = _mm256_setzero_si256();
  } else {
    err = _mm256_or_si256(avx_check(t, v0, *prev), avx_check(t, v1, v0));
    *open = _mm256_subs_epu8(v1, t->open_end);
  }
  *prev = v1;
  return err;
}

static WS_AVX2 size_t feed_avx2(ws__utf8 *st, const uint8_t *p, size_t n) {
  int bad;
  size_t start = lead_in(st, p, n, &bad);
  if (bad || start == n)
    return start; /* an error, or the input ended inside the carried sequence (state kept) */
  avx_tables t;
  t.prev_hi = avx_table(tab_prev_hi);
  t.prev_lo = avx_table(tab_prev_lo);
  t.cur_hi = avx_table(tab_cur_hi);
  t.open_end = _mm256_loadu_si256((const __m256i *)tab_open_end);
  __m256i prev = _mm256_setzero_si256(), open = _mm256_setzero_si256();
  size_t i = start;
  for (; n - i >= 64; i += 64) {
    __m256i err = avx_step(&t, p + i, &prev, &open);
    if (!_mm256_testz_si256(err, err))
      return locate_error(st, p, n, start, i);
  }
  if (i == n)
    return finish_tail(st, p, n, start, i);
  __m256i err;
  if (i != start && n >= 64 + 32) {
    size_t q = n - 64; /* see pad_last_block */
    prev = _mm256_loadu_si256((const __m256i *)(p + q - 32));
    err = avx_step(&t, p + q, &prev, &open);
    if (!_mm256_testz_si256(err, err))
      return locate_error(st, p, n, start, q);
    return _mm256_testz_si256(open, open) ? (ws__utf8_reset(st), n)
                                          : finish_tail(st, p, n, start, n);
  }
  uint8_t last[64];
  pad_last_block(last, p + i, n - i);
  err = avx_step(&t, last, &prev, &open);
  if (!_mm256_testz_si256(err, err))
    return locate_error(st, p, n, start, i);
  ws__utf8_reset(st);
  return n;
}

/* For the tests and benchmarks: __builtin_cpu_init() makes the answer right even before
 * libgcc's constructor has filled its CPU model. */
static bool cpu_has(ws__utf8_impl impl) {
  __builtin_cpu_init();
  switch (impl) {
  case WS_UTF8_SSE41:
    return __builtin_cpu_supports("sse4.1");
  case WS_UTF8_AVX2:
    return __builtin_cpu_supports("avx2");
  default:
    return impl == WS_UTF8_SCALAR;
  }
}
#endif /* WS_UTF8_X86 */

bool ws__utf8_impl_available(ws__utf8_impl impl) {
#ifdef WS_UTF8_X86
  return cpu_has(impl);
#else
  return impl == WS_UTF8_SCALAR;
#endif
}

const char *ws__utf8_impl_name(ws__utf8_impl impl) {
  static const char *const names[] = {"scalar", "sse4.1", "avx2"};
  return impl < WS_UTF8_IMPLS ? names[impl] : "?";
}

/* An implementation the CPU lacks falls back to the portable one (never an illegal
 * instruction); tests ask ws__utf8_impl_available first. */
size_t ws__utf8_feed_with(ws__utf8_impl impl, ws__utf8 *st, const uint8_t *p, size_t n) {
#ifdef WS_UTF8_X86
  if (impl == WS_UTF8_AVX2 && cpu_has(WS_UTF8_AVX2))
    return feed_avx2(st, p, n);
  if (impl == WS_UTF8_SSE41 && cpu_has(WS_UTF8_SSE41))
    return feed_sse41(st, p, n);
#else
  (void)impl;
#endif
  return feed_portable(st, p, n);
}

size_t ws__utf8_feed(ws__utf8 *st, const uint8_t *p, size_t n) {
#ifdef WS_UTF8_X86
  /* Per call, a load and a bit test in libgcc's CPU model (no state of ours). Before libgcc's
   * constructor has run the model reads "no features" and the portable path, always right,
   * runs instead. A short input (under one 64-byte step) first gets the portable ASCII skip:
   * short all-ASCII messages (JSON, chat) are done in a few ns, while the vector code would pay
   * for padding its last block (measured: 16-47 ASCII bytes ~4 ns against ~12 ns). */
  size_t i = 0;
  if (n < 64 && st->need == 0) {
    i = ascii_prefix(p, n);
    if (n - i < 16 && ascii_short(p + i, n - i))
      return n; /* all ASCII: no sequence can be open */
  }
  if (n - i >= 16) {
    if (__builtin_cpu_supports("avx2"))
      return i + feed_avx2(st, p + i, n - i);
    if (__builtin_cpu_supports("sse4.1"))
      return i + feed_sse41(st, p + i, n - i);
  }
  return i + feed_portable(st, p + i, n - i);
#else
  return feed_portable(st, p, n);
#endif
}

bool ws__utf8_valid(const uint8_t *p, size_t n) {
  ws__utf8 st;
  ws__utf8_reset(&st);
  return ws__utf8_feed(&st, p, n) == n && ws__utf8_complete(&st);
}
