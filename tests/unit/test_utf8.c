/* src/proto/utf8: every implementation (scalar, SSE4.1, AVX2 where the CPU has them) against an
 * expectation computed here by decoding code points, over exhaustive tables of short sequences,
 * errors at every offset of 64-byte blocks, and random inputs fed in random pieces. */
#include "proto/utf8.h"
#include "wstest.h"

#include <stdbool.h>
#include <stdlib.h>

/* ---- The independent expectation ----
 * A prefix of a byte string is acceptable when some continuation could make it valid UTF-8
 * (RFC 3629 section 3: scalar values U+0000..U+10FFFF minus the surrogates U+D800..U+DFFF, each
 * in the shortest form). Fail fast means: report the first byte whose prefix is not acceptable.
 * This decodes by bit patterns (not by the RFC's byte-range table the library uses) and asks,
 * after each byte, whether the interval of code points still reachable holds a valid one. */
static bool completable(uint32_t bits, int len, int seen) {
  static const uint32_t min_cp[5] = {0, 0, 0x80, 0x800, 0x10000};
  int rest = 6 * (len - seen);
  uint32_t lo = bits << rest, hi = lo | ((1u << rest) - 1);
  if (lo < min_cp[len])
    lo = min_cp[len];
  if (hi > 0x10FFFF)
    hi = 0x10FFFF;
  if (lo > hi)
    return false; /* overlong or above U+10FFFF whatever follows */
  if (lo >= 0xD800 && hi <= 0xDFFF)
    return false; /* only surrogates reachable */
  return true;
}

/* Index of the first unacceptable byte, or n; *open: a sequence is unfinished at n. */
static size_t expect_bad(const uint8_t *p, size_t n, bool *open) {
  *open = false;
  size_t i = 0;
  while (i < n) {
    uint8_t c = p[i];
    int len;
    uint32_t bits;
    if (c < 0x80) {
      i++;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      len = 2, bits = c & 0x1Fu;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3, bits = c & 0x0Fu;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4, bits = c & 0x07u;
    } else {
      return i; /* 10xxxxxx without a lead, or 11111xxx */
    }
    if (!completable(bits, len, 1))
      return i;
    for (int k = 1; k < len; k++) {
      if (i + (size_t)k >= n) {
        *open = true;
        return n;
      }
      uint8_t d = p[i + (size_t)k];
      if ((d & 0xC0) != 0x80)
        return i + (size_t)k;
      bits = bits << 6 | (d & 0x3Fu);
      if (!completable(bits, len, k + 1))
        return i + (size_t)k;
    }
    i += (size_t)len;
  }
  return n;
}

/* ---- Helpers ---- */
static ws__utf8_impl impls[WS_UTF8_IMPLS];
static size_t n_impls;

static long failures; /* per test: stop reporting after 200, so a broken table stays readable */

/* Every test starts here: which implementations to compare, and a fresh failure count. */
static void find_impls(void) {
  failures = 0;
  n_impls = 0;
  for (int i = 0; i < WS_UTF8_IMPLS; i++)
    if (ws__utf8_impl_available((ws__utf8_impl)i))
      impls[n_impls++] = (ws__utf8_impl)i;
}

/* WS_UTF8_IMPLS stands for the dispatching entry point ws__utf8_feed. */
static size_t feed_any(ws__utf8_impl impl, ws__utf8 *st, const uint8_t *p, size_t n) {
  return impl == WS_UTF8_IMPLS ? ws__utf8_feed(st, p, n) : ws__utf8_feed_with(impl, st, p, n);
}

static const char *impl_name(ws__utf8_impl impl) {
  return impl == WS_UTF8_IMPLS ? "dispatch" : ws__utf8_impl_name(impl);
}

static size_t run_whole(ws__utf8_impl impl, const uint8_t *p, size_t n, bool *complete) {
  ws__utf8 st;
  ws__utf8_reset(&st);
  size_t r = feed_any(impl, &st, p, n);
  *complete = ws__utf8_complete(&st);
  return r;
}

/* Feeds p in pieces whose sizes come from `sizes` (cycled); returns the absolute index of the
 * first bad byte or n. */
static size_t run_split(ws__utf8_impl impl, const uint8_t *p, size_t n, const size_t *sizes,
                        size_t nsizes, bool *complete) {
  ws__utf8 st;
  ws__utf8_reset(&st);
  size_t pos = 0, s = 0;
  while (pos < n) {
    size_t len = sizes[s++ % nsizes];
    if (len > n - pos)
      len = n - pos;
    size_t r = feed_any(impl, &st, p + pos, len);
    if (r != len)
      return pos + r;
    pos += len;
  }
  *complete = ws__utf8_complete(&st);
  return n;
}

/* Checks every implementation against the expectation; returns false on a mismatch. */
static bool check_buf(const uint8_t *p, size_t n, const char *what) {
  bool open;
  size_t want = expect_bad(p, n, &open);
  bool ok = true;
  for (size_t k = 0; k <= n_impls; k++) {
    ws__utf8_impl impl = k < n_impls ? impls[k] : WS_UTF8_IMPLS; /* then the dispatcher */
    bool complete = false;
    size_t got = run_whole(impl, p, n, &complete);
    bool good = got == want && (want < n || complete == !open);
    if (!good && failures++ < 200) {
      ws_test_fail(__FILE__, __LINE__, "%s [%s] n=%zu: got %zu (complete %d), want %zu (open %d)",
                   what, impl_name(impl), n, got, complete, want, open);
      ws_test_hexdump("input", p, n < 80 ? n : 80);
    }
    ok &= good;
  }
  return ok;
}

static uint64_t rng_state = 0x9E3779B97F4A7C15u;
static uint64_t rnd(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return rng_state;
}

/* Places seq in an ASCII block of 64..127 bytes at an offset that walks over the block as idx
 * grows, so the vector paths see every sequence at (almost) every lane position, at the very end
 * (where it may be left open), and in the last partial block that the vector code handles by
 * padding or by re-reading the last 64 bytes. */
static bool check_padded(const uint8_t *seq, size_t len, uint64_t idx, const char *what) {
  uint8_t block[128];
  size_t n = 64 + (size_t)(idx / 61 % 64);
  memset(block, 'a', n);
  size_t off = (size_t)(idx % (n - len + 1));
  memcpy(block + off, seq, len);
  return check_buf(block, n, what);
}

/* ---- Hand-written rows: the classic cases, each with its fail-fast index ---- */
typedef struct {
  const char *name;
  const char *bytes;
  size_t len;
  size_t bad;    /* expected index, len when valid so far */
  bool complete; /* when bad == len */
} row;
#define ROW(name, lit, bad, complete) {name, lit, sizeof(lit) - 1, bad, complete}

static const row rows[] = {
    ROW("empty", "", 0, true),
    ROW("ascii", "hello", 5, true),
    ROW("2-byte U+00E9", "\xC3\xA9", 2, true),
    ROW("3-byte U+20AC", "\xE2\x82\xAC", 3, true),
    ROW("4-byte U+1F600", "\xF0\x9F\x98\x80", 4, true),
    ROW("max U+10FFFF", "\xF4\x8F\xBF\xBF", 4, true),
    ROW("U+D7FF", "\xED\x9F\xBF", 3, true),
    ROW("U+E000", "\xEE\x80\x80", 3, true),
    ROW("U+FFFF", "\xEF\xBF\xBF", 3, true),
    ROW("stray continuation", "a\x80", 1, false),
    ROW("overlong C0", "\xC0\x80", 0, false),
    ROW("overlong C1", "\xC1\xBF", 0, false),
    ROW("overlong E0 80", "\xE0\x80\x80", 1, false),
    ROW("overlong E0 9F", "\xE0\x9F\xBF", 1, false),
    ROW("overlong F0 8F", "\xF0\x8F\xBF\xBF", 1, false),
    ROW("surrogate ED A0", "\xED\xA0\x80", 1, false),
    ROW("surrogate ED BF", "\xED\xBF\xBF", 1, false),
    ROW("above max F4 90", "\xF4\x90\x80\x80", 1, false),
    ROW("F5 lead", "\xF5\x80\x80\x80", 0, false),
    ROW("FF", "ab\xFF", 2, false),
    ROW("FE", "\xFE", 0, false),
    ROW("truncated 2 then ascii", "\xC3" "a", 1, false),
    ROW("truncated 3 then ascii", "\xE2\x82" "a", 2, false),
    ROW("truncated 4 then lead", "\xF0\x9F\x98\xC3\xA9", 3, false),
    ROW("open 2 at end", "a\xC3", 2, false),
    ROW("open 3 at end", "\xE2\x82", 2, false),
    ROW("open 4 at end", "\xF0\x9F\x98", 3, false),
    ROW("open E0 at end", "\xE0", 1, false),
    ROW("open ED 9F at end", "\xED\x9F", 2, false),
    ROW("5 bytes", "\xF0\x9F\x98\x80\x80", 4, false),
    ROW("Autobahn 6.3.1 (prefix)", "\xCE\xBA\xE1\xBD\xB9\xCF\x83\xCE\xBC\xCE\xB5\xED\xA0\x80", 12, false),
};

WS_TEST(utf8_rows) {
  find_impls();
  WS_CHECK(n_impls >= 1 && impls[0] == WS_UTF8_SCALAR);
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
    const row *r = &rows[i];
    const uint8_t *p = (const uint8_t *)r->bytes;
    bool open;
    /* the rows check the expectation itself, then every implementation against it */
    WS_CHECK_MSG(expect_bad(p, r->len, &open) == r->bad, "%s: expectation", r->name);
    for (size_t k = 0; k < n_impls; k++) {
      bool complete = false;
      size_t got = run_whole(impls[k], p, r->len, &complete);
      WS_CHECK_MSG(got == r->bad, "%s [%s]: got %zu want %zu", r->name,
                   ws__utf8_impl_name(impls[k]), got, r->bad);
      if (r->bad == r->len)
        WS_CHECK_MSG(complete == r->complete, "%s [%s]: complete", r->name,
                     ws__utf8_impl_name(impls[k]));
    }
    bool valid = r->bad == r->len && r->complete;
    WS_CHECK_MSG(ws__utf8_valid(p, r->len) == valid, "%s: ws__utf8_valid", r->name);
    check_padded(p, r->len, i, r->name);
  }
}

WS_TEST(utf8_impl_names) {
  WS_CHECK_EQ_STR(ws__utf8_impl_name(WS_UTF8_SCALAR), "scalar");
  WS_CHECK_EQ_STR(ws__utf8_impl_name(WS_UTF8_SSE41), "sse4.1");
  WS_CHECK_EQ_STR(ws__utf8_impl_name(WS_UTF8_AVX2), "avx2");
  WS_CHECK_EQ_STR(ws__utf8_impl_name(WS_UTF8_IMPLS), "?");
  WS_CHECK(ws__utf8_impl_available(WS_UTF8_SCALAR));
  WS_CHECK(!ws__utf8_impl_available(WS_UTF8_IMPLS));
  find_impls();
  for (size_t k = 0; k < n_impls; k++)
    printf("  utf8 implementation available: %s\n", ws__utf8_impl_name(impls[k]));
}

/* ---- Exhaustive tables ---- */
WS_TEST(utf8_every_1_and_2_byte_sequence) {
  find_impls();
  uint8_t s[2];
  for (unsigned a = 0; a < 256; a++) {
    s[0] = (uint8_t)a;
    check_buf(s, 1, "1-byte");
    check_padded(s, 1, a, "1-byte padded");
    for (unsigned b = 0; b < 256; b++) {
      s[1] = (uint8_t)b;
      check_buf(s, 2, "2-byte");
      check_padded(s, 2, a * 256 + b, "2-byte padded");
    }
  }
}

WS_TEST(utf8_every_3_byte_sequence) {
  find_impls();
  uint8_t s[3];
  uint64_t idx = 0;
  for (unsigned a = 0; a < 256; a++) {
    s[0] = (uint8_t)a;
    for (unsigned b = 0; b < 256; b++) {
      s[1] = (uint8_t)b;
      for (unsigned c = 0; c < 256; c++, idx++) {
        s[2] = (uint8_t)c;
        check_buf(s, 3, "3-byte");
        check_padded(s, 3, idx, "3-byte padded");
      }
    }
  }
}

/* Every 4-byte sequence whose lead is F0..F7 and whose other bytes are continuations, plus
 * boundary bytes (ASCII, leads of each length, the first invalid leads) in every position. */
WS_TEST(utf8_4_byte_sequences) {
  find_impls();
  static const uint8_t edge[] = {0x00, 0x41, 0x7F, 0xC0, 0xC1, 0xC2, 0xDF,
                                 0xE0, 0xEF, 0xF0, 0xF4, 0xF5, 0xFF};
  uint8_t tail[64 + sizeof edge];
  size_t nt = 0;
  for (unsigned c = 0x80; c <= 0xBF; c++)
    tail[nt++] = (uint8_t)c;
  for (size_t i = 0; i < sizeof edge; i++)
    tail[nt++] = edge[i];
  uint8_t s[4];
  uint64_t idx = 0;
  for (unsigned a = 0xF0; a <= 0xF7; a++) {
    s[0] = (uint8_t)a;
    for (size_t b = 0; b < nt; b++)
      for (size_t c = 0; c < nt; c++)
        for (size_t d = 0; d < nt; d++, idx++) {
          s[1] = tail[b], s[2] = tail[c], s[3] = tail[d];
          check_buf(s, 4, "4-byte");
          check_padded(s, 4, idx, "4-byte padded");
        }
  }
}

/* All leads 00..FF with all second bytes, followed by two continuation bytes, so every 4-byte
 * sequence head is seen by the 4-byte checks too. */
WS_TEST(utf8_every_lead_and_second_byte_then_continuations) {
  find_impls();
  static const uint8_t ends[][2] = {{0x80, 0x80}, {0xBF, 0xBF}, {0x8F, 0x41}};
  uint8_t s[4];
  uint64_t idx = 0;
  for (unsigned a = 0; a < 256; a++)
    for (unsigned b = 0; b < 256; b++)
      for (size_t e = 0; e < sizeof ends / sizeof ends[0]; e++, idx++) {
        s[0] = (uint8_t)a, s[1] = (uint8_t)b, s[2] = ends[e][0], s[3] = ends[e][1];
        check_buf(s, 4, "lead+second+2");
        check_padded(s, 4, idx * 7, "lead+second+2 padded");
      }
}

/* ---- Text generators ---- */
/* Appends the UTF-8 form of cp (assumed valid) and returns the new length. */
static size_t put_cp(uint8_t *p, size_t n, uint32_t cp) {
  if (cp < 0x80) {
    p[n++] = (uint8_t)cp;
  } else if (cp < 0x800) {
    p[n++] = (uint8_t)(0xC0 | cp >> 6);
    p[n++] = (uint8_t)(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    p[n++] = (uint8_t)(0xE0 | cp >> 12);
    p[n++] = (uint8_t)(0x80 | (cp >> 6 & 0x3F));
    p[n++] = (uint8_t)(0x80 | (cp & 0x3F));
  } else {
    p[n++] = (uint8_t)(0xF0 | cp >> 18);
    p[n++] = (uint8_t)(0x80 | (cp >> 12 & 0x3F));
    p[n++] = (uint8_t)(0x80 | (cp >> 6 & 0x3F));
    p[n++] = (uint8_t)(0x80 | (cp & 0x3F));
  }
  return n;
}

/* A random valid code point of a random length class (edges of each class included). */
static uint32_t random_cp(void) {
  static const uint32_t edges[] = {0, 0x7F, 0x80, 0x7FF, 0x800, 0xFFF, 0x1000, 0xD7FF, 0xE000,
                                   0xFFFD, 0xFFFF, 0x10000, 0x3FFFF, 0x40000, 0xFFFFF, 0x100000,
                                   0x10FFFF};
  switch (rnd() % 6) {
  case 0:
    return edges[rnd() % (sizeof edges / sizeof edges[0])];
  case 1:
  case 2:
    return (uint32_t)(0x20 + rnd() % 0x5F);
  case 3:
    return (uint32_t)(0x80 + rnd() % (0x800 - 0x80));
  case 4: {
    uint32_t cp = (uint32_t)(0x800 + rnd() % (0x10000 - 0x800));
    return cp >= 0xD800 && cp <= 0xDFFF ? cp - 0x800 : cp;
  }
  default:
    return (uint32_t)(0x10000 + rnd() % (0x110000 - 0x10000));
  }
}

/* ---- Errors at every offset of several 64-byte blocks ---- */
typedef struct {
  const char *name;
  const uint8_t bytes[5];
  size_t len;
} bad_pattern;

static const bad_pattern bad_patterns[] = {
    {"stray 80", {0x80}, 1},
    {"stray BF BF", {0xBF, 0xBF}, 2},
    {"C0 80", {0xC0, 0x80}, 2},
    {"C1 BF", {0xC1, 0xBF}, 2},
    {"C2 41", {0xC2, 0x41}, 2},
    {"E0 9F 80", {0xE0, 0x9F, 0x80}, 3},
    {"ED A0 80", {0xED, 0xA0, 0x80}, 3},
    {"E1 80 41", {0xE1, 0x80, 0x41}, 3},
    {"E1 41", {0xE1, 0x41}, 2},
    {"F0 8F BF BF", {0xF0, 0x8F, 0xBF, 0xBF}, 4},
    {"F4 90 80 80", {0xF4, 0x90, 0x80, 0x80}, 4},
    {"F1 80 80 41", {0xF1, 0x80, 0x80, 0x41}, 4},
    {"F1 80 41", {0xF1, 0x80, 0x41}, 3},
    {"F5 80 80 80", {0xF5, 0x80, 0x80, 0x80}, 4},
    {"F8 88 80 80 80", {0xF8, 0x88, 0x80, 0x80, 0x80}, 5},
    {"FF", {0xFF}, 1},
    {"C3 A9 80 (one too many)", {0xC3, 0xA9, 0x80}, 3},
    {"E2 82 AC 80 (one too many)", {0xE2, 0x82, 0xAC, 0x80}, 4},
    {"F0 9F 98 80 80 (one too many)", {0xF0, 0x9F, 0x98, 0x80, 0x80}, 5},
    {"open E2 82 (then the text goes on)", {0xE2, 0x82}, 2},
    {"open F0 9F 98", {0xF0, 0x9F, 0x98}, 3},
};

/* Valid text of exactly `len` bytes: random code points of the wanted class, with ASCII to fill
 * the last bytes when a sequence would not fit. */
static void fill_valid(uint8_t *p, size_t len, int ascii_only) {
  size_t n = 0;
  while (n < len) {
    uint8_t tmp[4];
    size_t k = put_cp(tmp, 0, ascii_only ? (uint32_t)('a' + rnd() % 26) : random_cp());
    if (k > len - n)
      continue;
    memcpy(p + n, tmp, k);
    n += k;
  }
}

WS_TEST(utf8_first_bad_byte_at_every_offset) {
  find_impls();
  enum { MAXLEN = 320 }; /* five 64-byte blocks */
  uint8_t buf[MAXLEN];
  for (size_t pi = 0; pi < sizeof bad_patterns / sizeof bad_patterns[0]; pi++) {
    /* a whole number of blocks, or a partial last one (re-read or padded by the vector code) */
    const size_t LEN = pi % 2 ? MAXLEN : MAXLEN - 1 - pi;
    const bad_pattern *bp = &bad_patterns[pi];
    for (size_t off = 0; off + bp->len <= LEN; off++) {
      for (int kind = 0; kind < 3; kind++) {
        /* kind 0: ASCII around; 1: mixed text around; 2: mixed before, ASCII after (the
         * vector loop's all-ASCII shortcut must still see a sequence left open) */
        fill_valid(buf, off, kind == 0);
        memcpy(buf + off, bp->bytes, bp->len);
        fill_valid(buf + off + bp->len, LEN - off - bp->len, kind != 1);
        char what[96];
        snprintf(what, sizeof what, "%s at %zu kind %d", bp->name, off, kind);
        bool open;
        size_t want = expect_bad(buf, LEN, &open);
        WS_CHECK_MSG(want >= off && want < off + bp->len + 1, "%s: expectation %zu", what, want);
        check_buf(buf, LEN, what);
        /* and split around the bad byte: the carried state must give the same index */
        for (size_t k = 0; k <= n_impls; k++) {
          ws__utf8_impl impl = k < n_impls ? impls[k] : WS_UTF8_IMPLS;
          for (size_t cut = off > 3 ? off - 3 : 0; cut <= off + bp->len && cut <= LEN; cut++) {
            size_t sizes[2] = {cut ? cut : 1, LEN};
            bool complete;
            size_t got = run_split(impl, buf, LEN, sizes, 2, &complete);
            if (got != want && failures++ < 200)
              ws_test_fail(__FILE__, __LINE__, "%s [%s] split at %zu: got %zu want %zu", what,
                           impl_name(impl), cut, got, want);
          }
        }
      }
    }
  }
}

/* ---- Differential random testing with random splits ---- */
WS_TEST(utf8_random_differential_with_splits) {
  find_impls();
  enum { MAXLEN = 700 };
  uint8_t buf[MAXLEN + 8];
  for (int iter = 0; iter < 30000; iter++) {
    size_t target = (size_t)(rnd() % MAXLEN);
    size_t n = 0;
    int style = (int)(rnd() % 4); /* 0 mixed, 1 mostly ASCII, 2 long ASCII runs, 3 all 4-byte */
    while (n < target) {
      uint32_t cp;
      if (style == 1)
        cp = rnd() % 20 ? (uint32_t)('a' + rnd() % 26) : random_cp();
      else if (style == 2)
        cp = rnd() % 200 ? (uint32_t)'x' : random_cp();
      else if (style == 3)
        cp = (uint32_t)(0x10000 + rnd() % 0x100000);
      else
        cp = random_cp();
      n = put_cp(buf, n, cp);
    }
    /* 0..2 mutations: replace, delete or insert one byte */
    int muts = (int)(rnd() % 3);
    for (int m = 0; m < muts && n > 0; m++) {
      size_t at = (size_t)(rnd() % n);
      switch (rnd() % 3) {
      case 0:
        buf[at] = (uint8_t)rnd();
        break;
      case 1:
        memmove(buf + at, buf + at + 1, n - at - 1);
        n--;
        break;
      default:
        memmove(buf + at + 1, buf + at, n - at);
        buf[at] = (uint8_t)(0x80 + rnd() % 0x80);
        n++;
        break;
      }
    }
    if (!check_buf(buf, n, "random"))
      continue;
    bool open;
    size_t want = expect_bad(buf, n, &open);
    /* pieces of 1..N bytes (N from 1 to beyond the vector step) */
    static const size_t maxpiece[] = {1, 2, 3, 5, 16, 33, 64, 65, 130, 500};
    size_t sizes[16];
    size_t cap = maxpiece[rnd() % (sizeof maxpiece / sizeof maxpiece[0])];
    for (size_t s = 0; s < 16; s++)
      sizes[s] = 1 + (size_t)(rnd() % cap);
    for (size_t k = 0; k <= n_impls; k++) {
      ws__utf8_impl impl = k < n_impls ? impls[k] : WS_UTF8_IMPLS; /* then the dispatcher */
      bool complete = false;
      size_t got = run_split(impl, buf, n, sizes, 16, &complete);
      bool good = got == want && (want < n || complete == !open);
      if (!good && failures++ < 200) {
        ws_test_fail(__FILE__, __LINE__, "random split [%s] n=%zu cap=%zu: got %zu want %zu",
                     impl_name(impl), n, cap, got, want);
        ws_test_hexdump("input", buf, n);
      }
    }
    WS_CHECK(ws__utf8_valid(buf, n) == (want == n && !open));
  }
}

/* ---- Large inputs: long valid texts of each class, then one bad byte near the end ---- */
WS_TEST(utf8_large_buffers) {
  find_impls();
  enum { LEN = 1 << 20 };
  uint8_t *buf = malloc(LEN);
  WS_CHECK(buf != NULL);
  if (!buf)
    return;
  for (int cls = 0; cls < 4; cls++) {
    size_t n = 0;
    while (n + 4 <= LEN) {
      static const uint32_t base[4] = {'a', 0xE9, 0x4E2D, 0x1F600};
      n = put_cp(buf, n, base[cls] + (uint32_t)(n % 7));
    }
    for (size_t k = 0; k < n_impls; k++) {
      bool complete = false;
      WS_CHECK_EQ_INT(run_whole(impls[k], buf, n, &complete), n);
      WS_CHECK(complete);
    }
    WS_CHECK(ws__utf8_valid(buf, n));
    uint8_t saved = buf[n - 5];
    buf[n - 5] = 0xFF;
    check_buf(buf, n, "large with FF near the end");
    WS_CHECK(!ws__utf8_valid(buf, n));
    buf[n - 5] = saved;
  }
  free(buf);
}

int main(void) { return ws_test_main(); }
