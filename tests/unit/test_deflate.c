/* src/proto/deflate: permessage-deflate (RFC 7692) negotiation, compression, capped inflation. */
#include "api/api.h"
#include "base/buf.h"
#include "proto/conn_internal.h"
#include "proto/deflate.h"
#include "wsclean/conn.h"
#include "wsclean/deflate.h"
#include "wsclean/errors.h"
#include "wsclean/handshake.h"
#include "wsclean/wsclean.h"
#include "wstest.h"
#include "wstest_alloc.h"

#include <stdlib.h>
#include <zlib.h>

/* ---- the shared counting allocator (wstest_alloc.h), never failing unless told ---------------- */

typedef ws_test_counting counter;

static ws_allocator counting_allocator(counter *c) {
  *c = (counter){.budget = -1};
  return ws_test_counting_allocator(c);
}

/* ---- helpers --------------------------------------------------------------------------------- */

static size_t unhex(const char *s, uint8_t *out, size_t cap) {
  size_t n = 0;
  while (*s) {
    if (*s == ' ') {
      s++;
      continue;
    }
    unsigned v;
    if (sscanf(s, "%2x", &v) != 1 || n == cap)
      break;
    out[n++] = (uint8_t)v;
    s += 2;
  }
  return n;
}

/* Split "a; b=1; c" (no quotes) into params; names and values point into buf. */
static size_t split_params(char *buf, ws__pmd_param *ps, size_t cap) {
  size_t n = 0;
  char *save = NULL;
  for (char *tok = strtok_r(buf, ";", &save); tok && n < cap; tok = strtok_r(NULL, ";", &save)) {
    while (*tok == ' ')
      tok++;
    if (!*tok)
      continue;
    char *eq = strchr(tok, '=');
    ws__pmd_param *p = &ps[n++];
    p->name = tok;
    if (eq) {
      *eq = 0;
      p->value = eq + 1;
      p->value_len = strlen(eq + 1);
    } else {
      p->value = NULL;
      p->value_len = 0;
    }
    p->name_len = strlen(tok);
  }
  return n;
}

static int parse_str(const char *s, ws__pmd_offer *o) {
  char buf[512];
  ws__pmd_param ps[16];
  snprintf(buf, sizeof buf, "%s", s);
  size_t n = split_params(buf, ps, 16);
  return ws__pmd_parse(ps, n, o);
}

static ws__pmd_params params(uint8_t tx, uint8_t rx, bool tx_nct, bool rx_nct) {
  ws__pmd_params p = {tx, rx, tx_nct, rx_nct};
  return p;
}

static ws__pmd_config config(void) {
  ws__pmd_config c;
  ws__pmd_config_init(&c);
  c.threshold = 0;
  return c;
}

static uint32_t rng_next(uint32_t *s) {
  *s ^= *s << 13;
  *s ^= *s >> 17;
  *s ^= *s << 5;
  return *s;
}

/* Compress one whole message with d into a fresh buffer (caller frees). */
static int compress_msg(ws__pmd *d, const void *in, size_t len, ws__buf *out) {
  ws__buf_init(out, d->alloc, SIZE_MAX);
  return ws__pmd_compress(d, in, len, true, out);
}

/* ---- RFC 7692 7.2.3: the examples, byte for byte --------------------------------------------- */

typedef struct {
  const char *name;
  bool rx_nct;
  const char *msgs[3][3]; /* per message, its fragments' payloads in hex */
  const char *want[3];
} inflate_case;

static const inflate_case rfc_cases[] = {
    {"7.2.3.1 one message", false, {{"f2 48 cd c9 c9 07 00"}}, {"Hello"}},
    {"7.2.3.1 fragmented", false, {{"f2 48 cd", "c9 c9 07 00"}}, {"Hello"}},
    {"7.2.3.2 no context takeover",
     true,
     {{"f2 48 cd c9 c9 07 00"}, {"f2 48 cd c9 c9 07 00"}},
     {"Hello", "Hello"}},
    {"7.2.3.2 context takeover",
     false,
     {{"f2 48 cd c9 c9 07 00"}, {"f2 00 11 00 00"}},
     {"Hello", "Hello"}},
    {"7.2.3.3 no compression block", false, {{"00 05 00 fa ff 48 65 6c 6c 6f 00"}}, {"Hello"}},
    {"7.2.3.4 BFINAL block", false, {{"f3 48 cd c9 c9 07 00 00"}}, {"Hello"}},
    {"7.2.3.4 BFINAL, then the window is still shared",
     false,
     {{"f3 48 cd c9 c9 07 00 00"}, {"f2 00 11 00 00"}},
     {"Hello", "Hello"}},
    {"7.2.3.5 two blocks", false, {{"f2 48 05 00 00 00 ff ff ca c9 c9 07 00"}}, {"Hello"}},
    {"BFINAL with nothing after it",
     false,
     {{"f3 48 cd c9 c9 07 00"}, {"f2 00 11 00 00"}},
     {"Hello", "Hello"}},
    {"BFINAL, then a new stream in the same message",
     false,
     {{"f3 48 cd c9 c9 07 00", "f2 00 11 00 00"}},
     {"HelloHello"}},
    {"BFINAL without takeover",
     true,
     {{"f3 48 cd c9 c9 07 00 00"}, {"f3 48 cd c9 c9 07 00"}},
     {"Hello", "Hello"}},
    {"7.2.3.6 empty message", false, {{"00"}, {"f2 48 cd c9 c9 07 00"}}, {"", "Hello"}},
    {"empty payload with RSV1", false, {{""}, {"f2 48 cd c9 c9 07 00"}}, {"", "Hello"}},
};

WS_TEST(rfc7692_examples_inflate) {
  for (size_t i = 0; i < sizeof rfc_cases / sizeof rfc_cases[0]; i++) {
    const inflate_case *tc = &rfc_cases[i];
    counter cn;
    ws_allocator a = counting_allocator(&cn);
    ws__pmd_config cfg = config();
    ws__pmd_params p = params(15, 15, false, tc->rx_nct);
    ws__pmd d;
    ws__pmd_init(&d, &a, &cfg, &p);
    for (size_t m = 0; m < 3 && tc->want[m]; m++) {
      ws__buf out;
      ws__buf_init(&out, &a, 1024);
      int rc = WS_OK;
      size_t nf = 0;
      while (nf < 3 && tc->msgs[m][nf])
        nf++;
      for (size_t f = 0; f < nf && !rc; f++) {
        uint8_t in[64];
        size_t n = unhex(tc->msgs[m][f], in, sizeof in);
        rc = ws__pmd_inflate(&d, in, n, f + 1 == nf, &out);
      }
      WS_CHECK_MSG(rc == WS_OK, "%s msg %zu: %s", tc->name, m, ws_errname(rc));
      if (*tc->want[m])
        WS_CHECK_EQ_MEM(out.data, out.len, tc->want[m], strlen(tc->want[m]));
      else
        WS_CHECK_EQ_INT(out.len, 0);
      ws__buf_free(&out);
    }
    /* Without takeover the inflater is freed after each message. */
    if (tc->rx_nct)
      WS_CHECK(d.rx == NULL);
    ws__pmd_free(&d);
    WS_CHECK_EQ_INT(cn.live, 0);
  }
}

WS_TEST(rfc7692_examples_compress) {
  static const uint8_t hello1[] = {0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00};
  static const uint8_t hello2[] = {0xf2, 0x00, 0x11, 0x00, 0x00};
  for (int nct = 0; nct < 2; nct++) {
    counter cn;
    ws_allocator a = counting_allocator(&cn);
    ws__pmd_config cfg = config();
    ws__pmd_params p = params(15, 15, nct, false);
    ws__pmd d;
    ws__pmd_init(&d, &a, &cfg, &p);
    ws__buf out;
    WS_CHECK_EQ_INT(compress_msg(&d, "Hello", 5, &out), WS_OK);
    WS_CHECK_EQ_MEM(out.data, out.len, hello1, sizeof hello1); /* 7.2.3.1 */
    ws__buf_free(&out);
    WS_CHECK_EQ_INT(compress_msg(&d, "Hello", 5, &out), WS_OK);
    if (nct) /* 7.2.3.2: every message on its own */
      WS_CHECK_EQ_MEM(out.data, out.len, hello1, sizeof hello1);
    else /* 7.2.3.2: the second refers back to the first */
      WS_CHECK_EQ_MEM(out.data, out.len, hello2, sizeof hello2);
    ws__buf_free(&out);
    /* 7.2.3.6: the empty message is a single 0x00 (also right after a flush). */
    WS_CHECK_EQ_INT(compress_msg(&d, "", 0, &out), WS_OK);
    WS_CHECK_EQ_MEM(out.data, out.len, "\0", 1);
    ws__buf_free(&out);
    /* Fragments: "Hel" + "lo" as two calls give the same message. */
    ws__buf_init(&out, &a, SIZE_MAX);
    ws__pmd_free(&d);
    ws__pmd_init(&d, &a, &cfg, &p);
    WS_CHECK_EQ_INT(ws__pmd_compress(&d, "Hel", 3, false, &out), WS_OK);
    WS_CHECK_EQ_INT(ws__pmd_compress(&d, "lo", 2, true, &out), WS_OK);
    WS_CHECK_EQ_MEM(out.data, out.len, hello1, sizeof hello1);
    ws__buf_free(&out);
    if (nct)
      WS_CHECK(d.tx == NULL); /* freed between messages */
    else
      WS_CHECK(d.tx != NULL);
    ws__pmd_free(&d);
    WS_CHECK_EQ_INT(cn.live, 0);
  }
}

WS_TEST(threshold_decides_what_is_compressed) {
  ws__pmd_config cfg;
  ws__pmd_config_init(&cfg);
  WS_CHECK_EQ_INT(cfg.threshold, 128);
  ws__pmd_params p = params(15, 15, false, false);
  ws__pmd d;
  ws__pmd_init(&d, NULL, &cfg, &p);
  WS_CHECK(!ws__pmd_should_compress(&d, 0));
  WS_CHECK(!ws__pmd_should_compress(&d, 127));
  WS_CHECK(ws__pmd_should_compress(&d, 128));
  ws__pmd_free(&d);
}

WS_TEST(window_8_output_fits_a_256_byte_window) {
  /* zlib refuses raw windowBits 8, so "8" deflates with 9; its distances stay <= 250 (zlib's
   * MAX_DIST), which a strict 256-byte inflater fed one byte at a time (so that only its window
   * can resolve a match) must accept, over many messages with context takeover. The control:
   * the same data deflated with 10 must be refused by that inflater, or the check proves
   * nothing. */
  for (int control = 0; control < 2; control++) {
    ws__pmd_config cfg = config();
    cfg.level = 9;
    ws__pmd_params p = params(control ? 10 : 8, 15, false, false);
    ws__pmd d;
    ws__pmd_init(&d, NULL, &cfg, &p);
    z_stream z;
    memset(&z, 0, sizeof z);
    WS_CHECK_EQ_INT(inflateInit2(&z, -8), Z_OK);
    uint32_t seed = 77;
    bool refused = false;
    size_t total = 0;
    static uint8_t msg[3000], out[3100];
    for (int m = 0; m < 300 && !refused; m++) {
      size_t n = rng_next(&seed) % sizeof msg;
      for (size_t i = 0; i < n; i++) {
        if (i > 20 && rng_next(&seed) % 3 == 0) {
          size_t back = 1 + rng_next(&seed) % 500;
          msg[i] = msg[i - (back > i ? i : back)];
        } else {
          msg[i] = (uint8_t)('a' + rng_next(&seed) % 10);
        }
      }
      ws__buf comp;
      WS_CHECK_EQ_INT(compress_msg(&d, msg, n, &comp), WS_OK);
      WS_CHECK_EQ_INT(ws__buf_append(&comp, "\x00\x00\xff\xff", 4), WS_OK);
      size_t o = 0;
      for (size_t i = 0; i < comp.len && !refused; i++) {
        z.next_in = comp.data + i;
        z.avail_in = 1;
        z.next_out = out + o;
        z.avail_out = (uInt)(sizeof out - o);
        int rc = inflate(&z, Z_SYNC_FLUSH);
        o = sizeof out - z.avail_out;
        refused = rc != Z_OK && rc != Z_BUF_ERROR;
      }
      if (!refused)
        WS_CHECK_EQ_MEM(out, o, msg, n);
      total += n;
      ws__buf_free(&comp);
    }
    if (control)
      WS_CHECK_MSG(refused, "a 10-bit deflater was not caught by the 256-byte inflater");
    else
      WS_CHECK_MSG(!refused, "window 8 output needed more than 256 bytes (after %zu bytes)", total);
    inflateEnd(&z);
    ws__pmd_free(&d);
  }
}

WS_TEST(compress_failure_stops_compression_for_good) {
  /* Output over the buffer's maximum in mid-stream: zlib's history is ahead of what the peer
   * will see, so nothing may be compressed with this deflater again. */
  uint8_t msg[4000];
  uint32_t x = 1;
  for (size_t i = 0; i < sizeof msg; i++)
    msg[i] = (uint8_t)((x = x * 1103515245u + 12345u) >> 24);
  ws__pmd_config cfg = config();
  ws__pmd_params p = params(15, 15, false, false);
  ws__pmd d;
  ws__pmd_init(&d, NULL, &cfg, &p);
  ws__buf out;
  ws__buf_init(&out, NULL, 1000);
  WS_CHECK_EQ_INT(ws__pmd_compress(&d, msg, sizeof msg, true, &out), WS_ERR_LIMIT);
  WS_CHECK(!ws__pmd_should_compress(&d, 1000));
  WS_CHECK_EQ_INT(ws__pmd_compress(&d, "x", 1, true, &out), WS_ERR_STATE);
  ws__buf_free(&out);
  ws__pmd_free(&d);
}

WS_TEST(window_9_stream_inflates_when_8_was_negotiated) {
  /* zlib deflates "8" with a 512-byte window; a distance of 300 must still inflate. */
  uint8_t msg[700];
  uint32_t x = 12345; /* no period shorter than 300: the only match is 300 back */
  for (size_t i = 0; i < 300; i++)
    msg[i] = (uint8_t)((x = x * 1103515245u + 12345u) >> 24);
  memcpy(msg + 300, msg, 300); /* a match 300 back */
  memset(msg + 600, 'x', 100);
  z_stream z;
  memset(&z, 0, sizeof z);
  WS_CHECK_EQ_INT(deflateInit2(&z, 9, Z_DEFLATED, -9, 8, Z_DEFAULT_STRATEGY), Z_OK);
  uint8_t comp[1024];
  z.next_in = msg;
  z.avail_in = sizeof msg;
  z.next_out = comp;
  z.avail_out = sizeof comp;
  WS_CHECK_EQ_INT(deflate(&z, Z_SYNC_FLUSH), Z_OK);
  size_t clen = sizeof comp - z.avail_out - 4;
  deflateEnd(&z);
  ws__pmd_config cfg = config();
  ws__pmd_params p = params(15, 8, false, false);
  ws__pmd d;
  ws__pmd_init(&d, NULL, &cfg, &p);
  ws__buf out;
  ws__buf_init(&out, NULL, 4096);
  WS_CHECK_EQ_INT(ws__pmd_inflate(&d, comp, clen, true, &out), WS_OK);
  WS_CHECK_EQ_MEM(out.data, out.len, msg, sizeof msg);
  ws__buf_free(&out);
  ws__pmd_free(&d);
  /* Fed one byte at a time, the match 300 back must come from zlib's window rather than from
   * the output of the same inflate call: a 256-byte window would fail here. */
  ws__pmd_init(&d, NULL, &cfg, &p);
  ws__buf_init(&out, NULL, 4096);
  int rc = WS_OK;
  for (size_t i = 0; i < clen && rc == WS_OK; i++)
    rc = ws__pmd_inflate(&d, comp + i, 1, i + 1 == clen, &out);
  WS_CHECK_EQ_INT(rc, WS_OK);
  WS_CHECK_EQ_MEM(out.data, out.len, msg, sizeof msg);
  ws__buf_free(&out);
  ws__pmd_free(&d);
}

WS_TEST(bad_compressed_data_is_1007) {
  static const char *bad[] = {
      "ff ff ff ff",                   /* BTYPE 11: reserved */
      "f3 48 cd c9 c9 07 00 ff",       /* after the final block, a reserved block type */
      "01 05 00 00 00 48 65 6c 6c 6f", /* stored block: NLEN is not ~LEN */
      "f2 00 11 00 00",                /* refers back to a window that is empty */
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    counter cn;
    ws_allocator a = counting_allocator(&cn);
    ws__pmd_config cfg = config();
    ws__pmd_params p = params(15, 15, false, false);
    ws__pmd d;
    ws__pmd_init(&d, &a, &cfg, &p);
    uint8_t in[64];
    size_t n = unhex(bad[i], in, sizeof in);
    ws__buf out;
    ws__buf_init(&out, &a, 1024);
    int rc = ws__pmd_inflate(&d, in, n, true, &out);
    WS_CHECK_MSG(rc == WS_ERR_PMD_DATA, "case %zu: %s", i, ws_errname(rc));
    WS_CHECK(d.broken);
    WS_CHECK_EQ_INT(ws__pmd_inflate(&d, in, n, true, &out), WS_ERR_STATE);
    ws__buf_free(&out);
    ws__pmd_free(&d);
    WS_CHECK_EQ_INT(cn.live, 0);
  }
}

WS_TEST(no_context_takeover_really_forgets) {
  /* With the peer's context takeover off, a message referring to the previous one is corrupt:
   * the inflater must have been reset (RFC 7692 7.1.1.1). With it on, the same bytes inflate. */
  static const uint8_t m1[] = {0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00};
  static const uint8_t m2[] = {0xf2, 0x00, 0x11, 0x00, 0x00};
  for (int nct = 0; nct < 2; nct++) {
    ws__pmd_config cfg = config();
    ws__pmd_params p = params(15, 15, false, nct);
    ws__pmd d;
    ws__pmd_init(&d, NULL, &cfg, &p);
    ws__buf out;
    ws__buf_init(&out, NULL, 100);
    WS_CHECK_EQ_INT(ws__pmd_inflate(&d, m1, sizeof m1, true, &out), WS_OK);
    WS_CHECK_EQ_INT(ws__pmd_inflate(&d, m2, sizeof m2, true, &out), nct ? WS_ERR_PMD_DATA : WS_OK);
    if (!nct)
      WS_CHECK_EQ_MEM(out.data, out.len, "HelloHello", 10);
    ws__buf_free(&out);
    ws__pmd_free(&d);
  }
}

/* ---- negotiation (RFC 7692 7.1) -------------------------------------------------------------- */

typedef struct {
  const char *params; /* the offer's parameters, "a; b=1" */
  int rc;             /* ws__pmd_parse */
} parse_case;

static const parse_case parse_cases[] = {
    {"", WS_OK},
    {"server_no_context_takeover", WS_OK},
    {"client_no_context_takeover", WS_OK},
    {"server_max_window_bits=8", WS_OK},
    {"server_max_window_bits=15", WS_OK},
    {"client_max_window_bits", WS_OK},
    {"client_max_window_bits=9", WS_OK},
    {"Server_No_Context_Takeover", WS_OK},
    {"server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; "
     "client_max_window_bits=11",
     WS_OK},
    /* unknown parameter */
    {"x_unknown", WS_ERR_PMD_PARAMS},
    {"server_max_window_bit=10", WS_ERR_PMD_PARAMS},
    /* repeated */
    {"server_no_context_takeover; server_no_context_takeover", WS_ERR_PMD_PARAMS},
    {"client_no_context_takeover; client_no_context_takeover", WS_ERR_PMD_PARAMS},
    {"server_max_window_bits=10; server_max_window_bits=10", WS_ERR_PMD_PARAMS},
    {"client_max_window_bits; client_max_window_bits=10", WS_ERR_PMD_PARAMS},
    /* values where none is allowed, none where one is required */
    {"server_no_context_takeover=1", WS_ERR_PMD_PARAMS},
    {"client_no_context_takeover=", WS_ERR_PMD_PARAMS},
    {"server_max_window_bits", WS_ERR_PMD_PARAMS},
    /* out of range, leading zeros, not decimal */
    {"server_max_window_bits=7", WS_ERR_PMD_PARAMS},
    {"server_max_window_bits=16", WS_ERR_PMD_PARAMS},
    {"server_max_window_bits=0", WS_ERR_PMD_PARAMS},
    {"server_max_window_bits=010", WS_ERR_PMD_PARAMS},
    {"server_max_window_bits=09", WS_ERR_PMD_PARAMS},
    {"server_max_window_bits=+9", WS_ERR_PMD_PARAMS},
    {"server_max_window_bits=0x0f", WS_ERR_PMD_PARAMS},
    {"server_max_window_bits=", WS_ERR_PMD_PARAMS},
    {"client_max_window_bits=1", WS_ERR_PMD_PARAMS},
    {"client_max_window_bits=150", WS_ERR_PMD_PARAMS},
    {"client_max_window_bits=a", WS_ERR_PMD_PARAMS},
};

WS_TEST(parse_table) {
  for (size_t i = 0; i < sizeof parse_cases / sizeof parse_cases[0]; i++) {
    ws__pmd_offer o;
    int rc = parse_str(parse_cases[i].params, &o);
    WS_CHECK_MSG(rc == parse_cases[i].rc, "\"%s\": %s", parse_cases[i].params, ws_errname(rc));
  }
  ws__pmd_offer o;
  WS_CHECK_EQ_INT(parse_str("client_max_window_bits; server_max_window_bits=9", &o), WS_OK);
  WS_CHECK(o.client_max_window_bits && o.client_max_window_bits_value == 0);
  WS_CHECK_EQ_INT(o.server_max_window_bits, 9);
  WS_CHECK(!o.server_no_context_takeover && !o.client_no_context_takeover);
}

typedef struct {
  const char *cfg;      /* config tweaks: "tx=N rx=N txnct rxnct" */
  const char *offers;   /* the client's header value after the name, offers split by ',' */
  const char *response; /* expected Sec-WebSocket-Extensions answer, NULL: all declined */
  uint8_t tx, rx;       /* agreed windows (server's own deflater, the client's) */
  bool tx_nct, rx_nct;
} server_case;

static const server_case server_cases[] = {
    {"", "", "permessage-deflate", 15, 15, false, false},
    {"", "client_max_window_bits", "permessage-deflate", 15, 15, false, false},
    {"", "client_max_window_bits=10", "permessage-deflate; client_max_window_bits=10", 15, 10,
     false, false},
    {"", "server_max_window_bits=10", "permessage-deflate; server_max_window_bits=10", 10, 15,
     false, false},
    {"", "server_no_context_takeover", "permessage-deflate; server_no_context_takeover", 15, 15,
     true, false},
    {"", "client_no_context_takeover", "permessage-deflate; client_no_context_takeover", 15, 15,
     false, true},
    /* 8 asked of our deflater: answered 8 (zlib deflates with 9, distances <= 250) */
    {"", "server_max_window_bits=8", "permessage-deflate; server_max_window_bits=8", 8, 15, false,
     false},
    /* our own limits */
    {"tx=12", "", "permessage-deflate; server_max_window_bits=12", 12, 15, false, false},
    {"tx=12", "server_max_window_bits=14", "permessage-deflate; server_max_window_bits=12", 12, 15,
     false, false},
    {"tx=12", "server_max_window_bits=10", "permessage-deflate; server_max_window_bits=10", 10, 15,
     false, false},
    {"rx=10", "", "permessage-deflate", 15, 15, false,
     false}, /* cannot limit an unwilling client */
    {"rx=10", "client_max_window_bits", "permessage-deflate; client_max_window_bits=10", 15, 10,
     false, false},
    {"rx=10", "client_max_window_bits=9", "permessage-deflate; client_max_window_bits=9", 15, 9,
     false, false},
    {"rx=8", "client_max_window_bits", "permessage-deflate; client_max_window_bits=8", 15, 8, false,
     false},
    {"txnct rxnct", "",
     "permessage-deflate; server_no_context_takeover; client_no_context_takeover", 15, 15, true,
     true},
    /* several offers: the first valid one wins */
    {"", "x_bad, server_max_window_bits=9", "permessage-deflate; server_max_window_bits=9", 9, 15,
     false, false},
    {"", "server_max_window_bits=7, client_no_context_takeover",
     "permessage-deflate; client_no_context_takeover", 15, 15, false, true},
    {"", "server_max_window_bits=10; server_max_window_bits=10, server_no_context_takeover=x, ",
     NULL, 0, 0, false, false},
    {"", "server_max_window_bits=10, client_max_window_bits=9",
     "permessage-deflate; server_max_window_bits=10", 10, 15, false, false},
    /* every offer invalid: declined */
    {"", "x_bad, client_max_window_bits=16", NULL, 0, 0, false, false},
};

static void apply_cfg(ws__pmd_config *c, const char *s) {
  const char *p;
  if ((p = strstr(s, "tx=")))
    c->tx_max_window_bits = (uint8_t)atoi(p + 3);
  if ((p = strstr(s, "rx=")))
    c->rx_max_window_bits = (uint8_t)atoi(p + 3);
  c->tx_no_context_takeover = strstr(s, "txnct") != NULL;
  c->rx_no_context_takeover = strstr(s, "rxnct") != NULL;
}

WS_TEST(server_negotiation_table) {
  for (size_t i = 0; i < sizeof server_cases / sizeof server_cases[0]; i++) {
    const server_case *tc = &server_cases[i];
    ws__pmd_config cfg = config();
    apply_cfg(&cfg, tc->cfg);
    WS_CHECK_EQ_INT(ws__pmd_config_check(&cfg), WS_OK);
    char all[512];
    snprintf(all, sizeof all, "%s", tc->offers);
    char *save = NULL;
    int accepted = 0;
    ws__pmd_offer r;
    ws__pmd_params agreed;
    /* RFC 7692 5.1: offers are tried in order; an invalid one is declined, the next is tried. */
    char *start = all;
    for (;;) {
      char *comma = strchr(start, ',');
      if (comma)
        *comma = 0;
      ws__pmd_offer o;
      if (parse_str(start, &o) == WS_OK && ws__pmd_server_accept(&cfg, &o, &r, &agreed) == 1) {
        accepted = 1;
        break;
      }
      if (!comma)
        break;
      start = comma + 1;
      /* a trailing empty element is not an offer */
      while (*start == ' ')
        start++;
      if (!*start)
        break;
    }
    (void)save;
    if (!tc->response) {
      WS_CHECK_MSG(!accepted, "case %zu: accepted", i);
      continue;
    }
    WS_CHECK_MSG(accepted, "case %zu (%s): declined", i, tc->offers);
    if (!accepted)
      continue;
    char out[WS__PMD_FORMAT_MAX];
    WS_CHECK(ws__pmd_format(&r, out, sizeof out) > 0);
    WS_CHECK_EQ_INT(ws__pmd_format(&r, out, strlen(tc->response)), WS_ERR_LIMIT);
    WS_CHECK(ws__pmd_format(&r, out, sizeof out) > 0);
    WS_CHECK_EQ_STR(out, tc->response);
    WS_CHECK_MSG(agreed.tx_window_bits == tc->tx && agreed.rx_window_bits == tc->rx &&
                     agreed.tx_no_context_takeover == tc->tx_nct &&
                     agreed.rx_no_context_takeover == tc->rx_nct,
                 "case %zu: agreed tx %u rx %u txnct %d rxnct %d", i, agreed.tx_window_bits,
                 agreed.rx_window_bits, agreed.tx_no_context_takeover,
                 agreed.rx_no_context_takeover);
  }
}

typedef struct {
  const char *cfg;      /* the client's config */
  const char *offer;    /* expected offer */
  const char *response; /* the server's response parameters */
  int rc;
  uint8_t tx, rx;
  bool tx_nct, rx_nct;
} client_case;

static const client_case client_cases[] = {
    {"", "permessage-deflate; client_max_window_bits", "", WS_OK, 15, 15, false, false},
    {"", "permessage-deflate; client_max_window_bits", "client_max_window_bits=10", WS_OK, 10, 15,
     false, false},
    {"", "permessage-deflate; client_max_window_bits", "client_max_window_bits=8", WS_OK, 8, 15,
     false, false}, /* accepted: zlib's 9 stays within 256 bytes */
    {"", "permessage-deflate; client_max_window_bits", "server_max_window_bits=9", WS_OK, 15, 9,
     false, false},
    {"", "permessage-deflate; client_max_window_bits", "server_no_context_takeover", WS_OK, 15, 15,
     false, true},
    {"", "permessage-deflate; client_max_window_bits", "client_no_context_takeover", WS_OK, 15, 15,
     true, false},
    {"txnct", "permessage-deflate; client_no_context_takeover; client_max_window_bits", "", WS_OK,
     15, 15, true, false},
    {"rxnct", "permessage-deflate; server_no_context_takeover; client_max_window_bits",
     "server_no_context_takeover", WS_OK, 15, 15, false, true},
    {"rx=10 tx=12", "permessage-deflate; server_max_window_bits=10; client_max_window_bits=12",
     "server_max_window_bits=10", WS_OK, 12, 10, false, false},
    {"rx=10 tx=12", "permessage-deflate; server_max_window_bits=10; client_max_window_bits=12",
     "server_max_window_bits=9; client_max_window_bits=11", WS_OK, 11, 9, false, false},
    /* invalid answers: the handshake fails */
    {"", "permessage-deflate; client_max_window_bits", "client_max_window_bits", WS_ERR_PMD_PARAMS,
     0, 0, false, false}, /* a response must give a value */
    {"", "permessage-deflate; client_max_window_bits", "x_unknown", WS_ERR_PMD_PARAMS, 0, 0, false,
     false},
    {"", "permessage-deflate; client_max_window_bits",
     "server_no_context_takeover; server_no_context_takeover", WS_ERR_PMD_PARAMS, 0, 0, false,
     false},
    {"", "permessage-deflate; client_max_window_bits", "server_max_window_bits=16",
     WS_ERR_PMD_PARAMS, 0, 0, false, false},
    {"rxnct", "permessage-deflate; server_no_context_takeover; client_max_window_bits", "",
     WS_ERR_PMD_PARAMS, 0, 0, false, false}, /* our server_no_context_takeover not echoed */
    {"rx=10", "permessage-deflate; server_max_window_bits=10; client_max_window_bits", "",
     WS_ERR_PMD_PARAMS, 0, 0, false, false}, /* our limit not answered */
    {"rx=10", "permessage-deflate; server_max_window_bits=10; client_max_window_bits",
     "server_max_window_bits=11", WS_ERR_PMD_PARAMS, 0, 0, false, false}, /* larger than asked */
    {"tx=12", "permessage-deflate; client_max_window_bits=12", "client_max_window_bits=13",
     WS_ERR_PMD_PARAMS, 0, 0, false, false}, /* larger than offered */
};

WS_TEST(client_negotiation_table) {
  for (size_t i = 0; i < sizeof client_cases / sizeof client_cases[0]; i++) {
    const client_case *tc = &client_cases[i];
    ws__pmd_config cfg = config();
    apply_cfg(&cfg, tc->cfg);
    ws__pmd_offer offer, resp;
    ws__pmd_client_offer(&cfg, &offer);
    char out[WS__PMD_FORMAT_MAX];
    WS_CHECK(ws__pmd_format(&offer, out, sizeof out) > 0);
    WS_CHECK_EQ_STR(out, tc->offer);
    /* The offer parses back to itself. */
    ws__pmd_offer again;
    WS_CHECK_EQ_INT(parse_str(out + strlen("permessage-deflate"), &again), WS_OK);
    WS_CHECK(memcmp(&again, &offer, sizeof offer) == 0);
    int rc = parse_str(tc->response, &resp);
    ws__pmd_params agreed;
    memset(&agreed, 0, sizeof agreed);
    if (rc == WS_OK)
      rc = ws__pmd_client_verify(&cfg, &offer, &resp, &agreed);
    WS_CHECK_MSG(rc == tc->rc, "case %zu (%s): %s", i, tc->response, ws_errname(rc));
    if (rc != WS_OK || tc->rc != WS_OK)
      continue;
    WS_CHECK_MSG(agreed.tx_window_bits == tc->tx && agreed.rx_window_bits == tc->rx &&
                     agreed.tx_no_context_takeover == tc->tx_nct &&
                     agreed.rx_no_context_takeover == tc->rx_nct,
                 "case %zu: agreed tx %u rx %u txnct %d rxnct %d", i, agreed.tx_window_bits,
                 agreed.rx_window_bits, agreed.tx_no_context_takeover,
                 agreed.rx_no_context_takeover);
  }
}

WS_TEST(server_and_client_agree_with_each_other) {
  /* Every pair of configurations: the client's offer, the server's answer, the client's check;
   * both ends must hold mirror-image parameters. */
  static const char *cfgs[] = {"", "tx=9", "rx=8", "tx=10 rx=12", "txnct", "rxnct", "txnct rxnct"};
  size_t nc = sizeof cfgs / sizeof cfgs[0];
  for (size_t i = 0; i < nc; i++)
    for (size_t j = 0; j < nc; j++) {
      ws__pmd_config cc = config(), sc = config();
      apply_cfg(&cc, cfgs[i]);
      apply_cfg(&sc, cfgs[j]);
      ws__pmd_offer offer, resp;
      ws__pmd_params s, c;
      ws__pmd_client_offer(&cc, &offer);
      WS_CHECK_EQ_INT(ws__pmd_server_accept(&sc, &offer, &resp, &s), 1);
      char text[WS__PMD_FORMAT_MAX];
      WS_CHECK(ws__pmd_format(&resp, text, sizeof text) > 0);
      ws__pmd_offer parsed;
      WS_CHECK_EQ_INT(parse_str(text + strlen("permessage-deflate"), &parsed), WS_OK);
      int rc = ws__pmd_client_verify(&cc, &offer, &parsed, &c);
      WS_CHECK_MSG(rc == WS_OK, "client \"%s\" server \"%s\": %s", cfgs[i], cfgs[j], text);
      WS_CHECK_MSG(c.tx_window_bits <= s.rx_window_bits && s.tx_window_bits <= c.rx_window_bits &&
                       (!s.rx_no_context_takeover || c.tx_no_context_takeover) &&
                       (!c.rx_no_context_takeover || s.tx_no_context_takeover),
                   "client \"%s\" server \"%s\": mismatch", cfgs[i], cfgs[j]);
    }
}

WS_TEST(config_ranges) {
  ws__pmd_config c;
  ws__pmd_config_init(&c);
  WS_CHECK_EQ_INT(ws__pmd_config_check(&c), WS_OK);
  struct {
    int level, mem;
    uint8_t tx, rx;
    int rc;
  } rows[] = {
      {1, 1, 8, 8, WS_OK},           {9, 9, 15, 15, WS_OK},        {0, 8, 15, 15, WS_ERR_INVAL},
      {10, 8, 15, 15, WS_ERR_INVAL}, {6, 0, 15, 15, WS_ERR_INVAL}, {6, 10, 15, 15, WS_ERR_INVAL},
      {6, 8, 7, 15, WS_ERR_INVAL},   {6, 8, 16, 15, WS_ERR_INVAL}, {6, 8, 15, 7, WS_ERR_INVAL},
      {6, 8, 15, 16, WS_ERR_INVAL},
  };
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
    c.level = rows[i].level;
    c.mem_level = rows[i].mem;
    c.tx_max_window_bits = rows[i].tx;
    c.rx_max_window_bits = rows[i].rx;
    WS_CHECK_MSG(ws__pmd_config_check(&c) == rows[i].rc, "row %zu", i);
  }
  WS_CHECK_EQ_INT(ws__pmd_config_check(NULL), WS_ERR_INVAL);
}

/* ---- bombs: the cap is on inflated bytes, and so is the memory ------------------------------- */

/* n zero bytes deflated into *out (a bomb: ratio about 1000:1). */
static size_t make_zeros(size_t n, uint8_t **out) {
  uint8_t *zeros = calloc(1, n);
  uint8_t *comp = malloc(n / 100 + 1024);
  z_stream z;
  memset(&z, 0, sizeof z);
  deflateInit2(&z, 9, Z_DEFLATED, -15, 9, Z_DEFAULT_STRATEGY);
  z.next_in = zeros;
  z.avail_in = (uInt)n;
  z.next_out = comp;
  z.avail_out = (uInt)(n / 100 + 1024);
  deflate(&z, Z_SYNC_FLUSH);
  size_t len = (size_t)(z.next_out - comp) - 4;
  deflateEnd(&z);
  free(zeros);
  *out = comp;
  return len;
}

WS_TEST(bomb_fails_with_1009_within_the_cap) {
  uint8_t *bomb;
  size_t blen = make_zeros((size_t)1 << 20, &bomb);
  printf("  1 MiB of zeros deflates to %zu bytes\n", blen);
  WS_CHECK(blen < 2048);
  const size_t cap = 64 * 1024;
  /* In one piece, and in 16-byte frames: the failure comes as soon as the cap is passed. */
  for (size_t step = 16; step <= blen; step = step == 16 ? blen : blen + 1) {
    for (int nct = 0; nct < 2; nct++) {
      counter cn;
      ws_allocator a = counting_allocator(&cn);
      ws__pmd_config cfg = config();
      ws__pmd_params p = params(15, 15, false, nct);
      ws__pmd d;
      ws__pmd_init(&d, &a, &cfg, &p);
      ws__buf out;
      ws__buf_init(&out, &a, cap);
      int rc = WS_OK;
      size_t fed = 0;
      while (fed < blen && rc == WS_OK) {
        size_t n = blen - fed < step ? blen - fed : step;
        rc = ws__pmd_inflate(&d, bomb + fed, n, fed + n == blen, &out);
        fed += n;
      }
      WS_CHECK_EQ_INT(rc, WS_ERR_PROTO_MESSAGE_TOO_BIG);
      WS_CHECK_EQ_INT(out.len, cap);
      WS_CHECK(out.cap <= cap);
      /* About 1/1000 of the bomb was needed to pass 64 KiB. */
      if (step == 16)
        WS_CHECK_MSG(fed < 200, "fed %zu compressed bytes before 1009", fed);
      /* Everything ever held at once: the cap, the inflater (about 7 KiB) and its 32 KiB
       * window, plus the z_stream. */
      size_t bound = cap + 48 * 1024;
      WS_CHECK_MSG(cn.peak <= bound, "peak %zu > %zu", cn.peak, bound);
      if (step == 16 && nct == 0)
        printf("  bomb with a 64 KiB cap: 1009 after %zu compressed bytes, peak %zu bytes "
               "(cap + %zu)\n",
               fed, cn.peak, cn.peak - cap);
      ws__buf_free(&out);
      ws__pmd_free(&d);
      WS_CHECK_EQ_INT(cn.live, 0);
    }
  }
  free(bomb);
}

WS_TEST(cap_boundary_is_exact) {
  /* A message of exactly the cap inflates; one byte more is 1009. */
  for (size_t extra = 0; extra < 2; extra++) {
    const size_t cap = 5000;
    uint8_t msg[5001];
    for (size_t i = 0; i < sizeof msg; i++)
      msg[i] = (uint8_t)(i % 13);
    ws__pmd_config cfg = config();
    ws__pmd_params p = params(15, 15, false, false);
    ws__pmd tx, rx;
    ws__pmd_init(&tx, NULL, &cfg, &p);
    ws__pmd_init(&rx, NULL, &cfg, &p);
    ws__buf comp, out;
    WS_CHECK_EQ_INT(compress_msg(&tx, msg, cap + extra, &comp), WS_OK);
    ws__buf_init(&out, NULL, cap);
    int rc = ws__pmd_inflate(&rx, comp.data, comp.len, true, &out);
    WS_CHECK_EQ_INT(rc, extra ? WS_ERR_PROTO_MESSAGE_TOO_BIG : WS_OK);
    if (!extra)
      WS_CHECK_EQ_MEM(out.data, out.len, msg, cap);
    ws__buf_free(&comp);
    ws__buf_free(&out);
    ws__pmd_free(&tx);
    ws__pmd_free(&rx);
  }
}

/* ---- random round trips ---------------------------------------------------------------------- */

/* Random bytes with some repetition: an alphabet of `alpha` symbols and runs. */
static void fill(uint8_t *p, size_t n, uint32_t *s) {
  uint32_t alpha = 1 + rng_next(s) % 255;
  for (size_t i = 0; i < n;) {
    if (i > 16 && rng_next(s) % 4 == 0) {
      size_t back = 1 + rng_next(s) % (i < 4000 ? i : 4000);
      size_t len = 3 + rng_next(s) % 60;
      for (size_t k = 0; k < len && i < n; k++, i++)
        p[i] = p[i - back];
    } else {
      p[i++] = (uint8_t)(rng_next(s) % alpha);
    }
  }
}

WS_TEST(random_round_trips_both_takeover_modes) {
  uint32_t seed = 0x12345678;
  uint8_t *msg = malloc(70000);
  int messages = 0;
  for (int nct = 0; nct < 2; nct++)
    for (uint8_t wbits = 9; wbits <= 15; wbits += 3) {
      counter cn;
      ws_allocator a = counting_allocator(&cn);
      ws__pmd_config cfg = config();
      cfg.mem_level = 1 + (int)(rng_next(&seed) % 9);
      cfg.level = 1 + (int)(rng_next(&seed) % 9);
      ws__pmd_params tp = params(wbits, 15, nct, false), rp = params(15, wbits, false, nct);
      ws__pmd tx, rx;
      ws__pmd_init(&tx, &a, &cfg, &tp);
      ws__pmd_init(&rx, &a, &cfg, &rp);
      for (int m = 0; m < 40; m++, messages++) {
        size_t n = rng_next(&seed) % (m % 8 == 0 ? 70000 : 600);
        fill(msg, n, &seed);
        /* Sent in up to 4 fragments, received in random splits. */
        ws__buf comp;
        ws__buf_init(&comp, &a, SIZE_MAX);
        size_t off = 0;
        int rc = WS_OK;
        for (int f = 0; f < 4 && rc == WS_OK; f++) {
          size_t k = f == 3 ? n - off : rng_next(&seed) % (n - off + 1);
          rc = ws__pmd_compress(&tx, msg + off, k, f == 3, &comp);
          off += k;
        }
        WS_CHECK_EQ_INT(rc, WS_OK);
        ws__buf out;
        ws__buf_init(&out, &a, 70000);
        off = 0;
        do {
          size_t k = rng_next(&seed) % (comp.len - off + 1);
          rc = ws__pmd_inflate(&rx, comp.data + off, k, off + k == comp.len, &out);
          off += k;
        } while (rc == WS_OK && off < comp.len);
        if (comp.len == 0) /* never: the empty message is 0x00 */
          WS_CHECK(0);
        WS_CHECK_MSG(rc == WS_OK, "nct %d wbits %u msg %d: %s", nct, wbits, m, ws_errname(rc));
        WS_CHECK_EQ_MEM(out.data, out.len, msg, n);
        ws__buf_free(&comp);
        ws__buf_free(&out);
        if (nct)
          WS_CHECK(tx.tx == NULL && rx.rx == NULL);
      }
      ws__pmd_free(&tx);
      ws__pmd_free(&rx);
      WS_CHECK_EQ_INT(cn.live, 0);
    }
  free(msg);
  printf("  %d random messages round-tripped\n", messages);
}

/* ---- allocation failure at every index ------------------------------------------------------- */

/* Compress and inflate three messages; returns the first error, and leaks nothing either way. */
static int scenario(const ws_allocator *a, bool nct, const uint8_t *msg, size_t n) {
  ws__pmd_config cfg = config();
  ws__pmd_params tp = params(15, 15, nct, false), rp = params(15, 15, false, nct);
  ws__pmd tx, rx;
  ws__pmd_init(&tx, a, &cfg, &tp);
  ws__pmd_init(&rx, a, &cfg, &rp);
  int rc = WS_OK;
  for (int m = 0; m < 3 && rc == WS_OK; m++) {
    ws__buf comp, out;
    ws__buf_init(&comp, a, SIZE_MAX);
    ws__buf_init(&out, a, 1 << 20);
    rc = ws__pmd_compress(&tx, msg, n, true, &comp);
    if (rc == WS_OK)
      rc = ws__pmd_inflate(&rx, comp.data, comp.len, true, &out);
    if (rc == WS_OK && (out.len != n || memcmp(out.data, msg, n) != 0))
      rc = WS_ERR_INVAL;
    ws__buf_free(&comp);
    ws__buf_free(&out);
  }
  ws__pmd_free(&tx);
  ws__pmd_free(&rx);
  return rc;
}

WS_TEST(allocation_failure_at_every_index) {
  uint8_t msg[3000];
  uint32_t seed = 99;
  fill(msg, sizeof msg, &seed);
  for (int nct = 0; nct < 2; nct++) {
    counter cn;
    ws_allocator a = counting_allocator(&cn);
    WS_CHECK_EQ_INT(scenario(&a, nct, msg, sizeof msg), WS_OK);
    long total = cn.calls;
    WS_CHECK(total > 5);
    for (long i = 0; i < total; i++) {
      a = counting_allocator(&cn);
      cn.budget = i;
      int rc = scenario(&a, nct, msg, sizeof msg);
      WS_CHECK_MSG(rc == WS_ERR_NOMEM, "nct %d fail at %ld: %s", nct, i, ws_errname(rc));
      WS_CHECK_MSG(cn.live == 0, "nct %d fail at %ld: %ld blocks leaked", nct, i, cn.live);
    }
    printf("  takeover %s: %ld allocations, each failed in turn\n", nct ? "off" : "on", total);
  }
}

/* ---- memory per connection ------------------------------------------------------------------- */

WS_TEST(memory_per_connection) {
  /* What a connection holds after one message each way, for the window/memLevel pairs worth
   * documenting (docs/deflate.md copies these numbers). */
  static const struct {
    uint8_t wbits;
    int mem;
  } rows[] = {{15, 8}, {15, 5}, {12, 5}, {10, 4}, {9, 1}};
  uint8_t msg[4096];
  uint32_t seed = 7;
  fill(msg, sizeof msg, &seed);
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
    for (int nct = 0; nct < 2; nct++) {
      counter cn;
      ws_allocator a = counting_allocator(&cn);
      ws__pmd_config cfg = config();
      cfg.mem_level = rows[i].mem;
      ws__pmd_params tp = params(rows[i].wbits, 15, nct, false);
      ws__pmd_params rp = params(15, rows[i].wbits, false, nct);
      ws__pmd tx, rx;
      ws__pmd_init(&tx, &a, &cfg, &tp);
      ws__pmd_init(&rx, &a, &cfg, &rp);
      ws__buf comp, out;
      WS_CHECK_EQ_INT(compress_msg(&tx, msg, sizeof msg, &comp), WS_OK);
      size_t tx_held = cn.bytes - comp.cap;
      size_t tx_peak = cn.peak - comp.cap;
      ws__buf_init(&out, &a, sizeof msg);
      size_t before = cn.bytes;
      cn.peak = cn.bytes;
      WS_CHECK_EQ_INT(ws__pmd_inflate(&rx, comp.data, comp.len, true, &out), WS_OK);
      size_t rx_held = cn.bytes - before - out.cap;
      size_t rx_peak = cn.peak - before - out.cap;
      printf("  wbits %2u memLevel %d takeover %-3s: deflater %6zu (peak %6zu) inflater %6zu "
             "(peak %6zu) bytes held between messages\n",
             rows[i].wbits, rows[i].mem, nct ? "off" : "on", tx_held, tx_peak, rx_held, rx_peak);
      if (nct) {
        WS_CHECK_EQ_INT(tx_held, 0);
        WS_CHECK_EQ_INT(rx_held, 0);
      } else {
        /* zlib's formula (zconf.h) plus the state and our z_stream: within 8 KiB of it. */
        size_t want = ((size_t)1 << (rows[i].wbits + 2)) + ((size_t)1 << (rows[i].mem + 9));
        WS_CHECK_MSG(tx_held >= want && tx_held <= want + 8 * 1024, "deflater %zu vs %zu", tx_held,
                     want);
        size_t iw = (size_t)1 << (rows[i].wbits < 9 ? 9 : rows[i].wbits);
        WS_CHECK_MSG(rx_held >= iw && rx_held <= iw + 8 * 1024, "inflater %zu", rx_held);
      }
      ws__buf_free(&comp);
      ws__buf_free(&out);
      ws__pmd_free(&tx);
      ws__pmd_free(&rx);
      WS_CHECK_EQ_INT(cn.live, 0);
    }
}

/* ---- through the real handshake (wsclean/deflate.h + the handshake's extension hooks) -------- */

static void fixed_nonce(void *ud, uint8_t *out, size_t n) {
  (void)ud;
  for (size_t i = 0; i < n; i++)
    out[i] = (uint8_t)(i + 1);
}

/* Server side: a request with the given Sec-WebSocket-Extensions lines (NULL: none); returns
 * the handshake result and copies the response's extension header value ("" if none). */
static int server_sees(const ws_deflate_options *so, const char *ext1, const char *ext2,
                       char *resp_ext, size_t cap, ws_deflate_params *agreed) {
  char req[1024];
  int n = snprintf(req, sizeof req,
                   "GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n"
                   "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                   "Sec-WebSocket-Version: 13\r\n%s%s%s%s%s%s\r\n",
                   ext1 ? "Sec-WebSocket-Extensions: " : "", ext1 ? ext1 : "", ext1 ? "\r\n" : "",
                   ext2 ? "Sec-WebSocket-Extensions: " : "", ext2 ? ext2 : "", ext2 ? "\r\n" : "");
  ws_extension ext;
  ws_deflate_extension(&ext, so);
  ws_server_handshake_options o;
  ws_server_handshake_options_init(&o);
  if (so->enabled) {
    o.extensions = &ext;
    o.num_extensions = 1;
  }
  ws_server_handshake *h = ws_server_handshake_new(&o, NULL);
  int rc = ws_server_handshake_recv(h, (const uint8_t *)req, (size_t)n, NULL);
  size_t rlen;
  const uint8_t *rb = ws_server_handshake_response(h, &rlen);
  char resp[2048]; /* the response is not NUL-terminated */
  snprintf(resp, sizeof resp, "%.*s", (int)rlen, (const char *)rb);
  resp_ext[0] = 0;
  const char *e = strstr(resp, "Sec-WebSocket-Extensions: ");
  if (e) {
    e += strlen("Sec-WebSocket-Extensions: ");
    size_t k = (size_t)(strstr(e, "\r\n") - e);
    snprintf(resp_ext, cap, "%.*s", (int)k, e);
  }
  if (rc == WS_OK)
    WS_CHECK(ws_deflate_params_from_handshake(agreed, WS_ROLE_SERVER, so,
                                              ws_server_handshake_extensions(h)) >= 0);
  if (rc == WS_OK && resp_ext[0])
    WS_CHECK_EQ_INT(ws_server_handshake_rsv(h), 0x4);
  ws_server_handshake_free(h);
  return rc;
}

typedef struct {
  const char *who;
  const char *ext1, *ext2; /* request header lines */
  const char *want;        /* response header value, "" for none */
  uint8_t tx, rx;
  bool tx_nct, rx_nct;
} server_hs_case;

static const server_hs_case server_hs_cases[] = {
    {"Chromium", "permessage-deflate; client_max_window_bits", NULL, "permessage-deflate", 15, 15,
     false, false},
    {"Firefox", "permessage-deflate", NULL, "permessage-deflate", 15, 15, false, false},
    {"none", NULL, NULL, "", 0, 0, false, false},
    {"quoted value", "permessage-deflate; client_max_window_bits=\"10\"", NULL,
     "permessage-deflate; client_max_window_bits=10", 15, 10, false, false},
    {"two offers, the first invalid",
     "permessage-deflate; server_max_window_bits=16, permessage-deflate; "
     "server_no_context_takeover",
     NULL, "permessage-deflate; server_no_context_takeover", 15, 15, true, false},
    {"offers over two header lines", "permessage-deflate; x=1",
     "permessage-deflate; client_no_context_takeover",
     "permessage-deflate; client_no_context_takeover", 15, 15, false, true},
    {"every offer invalid", "permessage-deflate; server_max_window_bits, permessage-deflate; a",
     NULL, "", 0, 0, false, false},
    {"unknown extension first", "x-webkit-deflate-frame, permessage-deflate", NULL,
     "permessage-deflate", 15, 15, false, false},
};

WS_TEST(server_handshake_answers_real_offers) {
  ws_deflate_options so;
  ws_deflate_options_init(&so, WS_ROLE_SERVER);
  WS_CHECK(!so.enabled); /* docs/deflate.md: off by default on servers */
  so.enabled = true;
  for (size_t i = 0; i < sizeof server_hs_cases / sizeof server_hs_cases[0]; i++) {
    const server_hs_case *tc = &server_hs_cases[i];
    char got[256];
    ws_deflate_params a;
    memset(&a, 0, sizeof a);
    int rc = server_sees(&so, tc->ext1, tc->ext2, got, sizeof got, &a);
    WS_CHECK_MSG(rc == WS_OK, "%s: %s", tc->who, ws_errname(rc));
    WS_CHECK_MSG(strcmp(got, tc->want) == 0, "%s: got \"%s\" want \"%s\"", tc->who, got, tc->want);
    WS_CHECK_EQ_INT(a.enabled, tc->want[0] != 0);
    if (a.enabled)
      WS_CHECK_MSG(a.tx_window_bits == tc->tx && a.rx_window_bits == tc->rx &&
                       a.tx_no_context_takeover == tc->tx_nct &&
                       a.rx_no_context_takeover == tc->rx_nct && a.mem_level == 5 && a.level == 6 &&
                       a.threshold == 128,
                   "%s: agreed tx %u rx %u", tc->who, a.tx_window_bits, a.rx_window_bits);
  }
  /* Disabled: the offer is ignored. */
  so.enabled = false;
  char got[256];
  ws_deflate_params a;
  WS_CHECK_EQ_INT(server_sees(&so, "permessage-deflate", NULL, got, sizeof got, &a), WS_OK);
  WS_CHECK_EQ_STR(got, "");
}

/* Client side: start, check the offer in the request, answer with a response carrying `ext`
 * (NULL: no extension header); returns the result of ws_client_handshake_recv. */
static int client_gets(const ws_deflate_options *co, const char *ext, char *offer, size_t cap,
                       ws_deflate_params *agreed) {
  ws_extension e;
  ws_deflate_extension(&e, co);
  ws_client_handshake_options o;
  ws_client_handshake_options_init(&o);
  o.url = "ws://example.com/chat";
  o.random = fixed_nonce;
  o.extensions = &e;
  o.num_extensions = co->enabled ? 1 : 0;
  ws_client_handshake *h = ws_client_handshake_new(NULL);
  WS_CHECK_EQ_INT(ws_client_handshake_start(h, &o), WS_OK);
  size_t qlen;
  const uint8_t *qb = ws_client_handshake_request(h, &qlen);
  char req[2048]; /* the request is not NUL-terminated */
  snprintf(req, sizeof req, "%.*s", (int)qlen, (const char *)qb);
  offer[0] = 0;
  const char *x = strstr(req, "Sec-WebSocket-Extensions: ");
  if (x) {
    x += strlen("Sec-WebSocket-Extensions: ");
    snprintf(offer, cap, "%.*s", (int)(strstr(x, "\r\n") - x), x);
  }
  char accept[29];
  const char *key = ws_client_handshake_key(h);
  ws_handshake_accept_key(key, strlen(key), accept);
  char resp[1024];
  int n =
      snprintf(resp, sizeof resp,
               "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
               "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n%s%s%s\r\n",
               accept, ext ? "Sec-WebSocket-Extensions: " : "", ext ? ext : "", ext ? "\r\n" : "");
  int rc = ws_client_handshake_recv(h, (const uint8_t *)resp, (size_t)n, NULL);
  if (rc == WS_OK)
    WS_CHECK(ws_deflate_params_from_handshake(agreed, WS_ROLE_CLIENT, co,
                                              ws_client_handshake_extensions(h)) >= 0);
  ws_client_handshake_free(h);
  return rc;
}

WS_TEST(client_handshake_offers_and_verifies) {
  ws_deflate_options co;
  ws_deflate_options_init(&co, WS_ROLE_CLIENT);
  WS_CHECK(co.enabled); /* docs/deflate.md: on by default on clients */
  struct {
    const char *response;
    int rc;
    uint8_t tx, rx;
    bool tx_nct, rx_nct;
  } rows[] = {
      {"permessage-deflate", WS_OK, 15, 15, false, false},
      {NULL, WS_OK, 0, 0, false, false}, /* declined: no compression */
      {"permessage-deflate; server_no_context_takeover; client_no_context_takeover", WS_OK, 15, 15,
       true, true},
      {"permessage-deflate; server_max_window_bits=10; client_max_window_bits=12", WS_OK, 12, 10,
       false, false},
      {"permessage-deflate; client_max_window_bits", WS_ERR_PMD_PARAMS, 0, 0, false, false},
      {"permessage-deflate; server_max_window_bits=7", WS_ERR_PMD_PARAMS, 0, 0, false, false},
      {"permessage-deflate; mystery", WS_ERR_PMD_PARAMS, 0, 0, false, false},
      {"permessage-deflate; client_no_context_takeover; client_no_context_takeover",
       WS_ERR_PMD_PARAMS, 0, 0, false, false},
      {"permessage-deflate, permessage-deflate", WS_ERR_HS_EXTENSION, 0, 0, false, false},
  };
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
    char offer[256];
    ws_deflate_params a;
    memset(&a, 0, sizeof a);
    int rc = client_gets(&co, rows[i].response, offer, sizeof offer, &a);
    WS_CHECK_EQ_STR(offer, "permessage-deflate; client_max_window_bits");
    WS_CHECK_MSG(rc == rows[i].rc, "row %zu: %s", i, ws_errname(rc));
    if (rc != WS_OK)
      continue;
    WS_CHECK_EQ_INT(a.enabled, rows[i].response != NULL);
    if (a.enabled)
      WS_CHECK_MSG(a.tx_window_bits == rows[i].tx && a.rx_window_bits == rows[i].rx &&
                       a.tx_no_context_takeover == rows[i].tx_nct &&
                       a.rx_no_context_takeover == rows[i].rx_nct,
                   "row %zu: agreed tx %u rx %u", i, a.tx_window_bits, a.rx_window_bits);
  }
  /* What we ask for shows in the offer. */
  co.no_context_takeover = true;
  co.peer_no_context_takeover = true;
  co.max_window_bits = 12;
  co.peer_max_window_bits = 10;
  char offer[256];
  ws_deflate_params a;
  WS_CHECK_EQ_INT(client_gets(&co,
                              "permessage-deflate; server_no_context_takeover; "
                              "server_max_window_bits=10",
                              offer, sizeof offer, &a),
                  WS_OK);
  WS_CHECK_EQ_STR(offer, "permessage-deflate; server_no_context_takeover; "
                         "client_no_context_takeover; server_max_window_bits=10; "
                         "client_max_window_bits=12");
  WS_CHECK(a.tx_no_context_takeover && a.rx_no_context_takeover && a.tx_window_bits == 12 &&
           a.rx_window_bits == 10);
  /* The server ignored our server_no_context_takeover: refused. */
  WS_CHECK_EQ_INT(
      client_gets(&co, "permessage-deflate; server_max_window_bits=10", offer, sizeof offer, &a),
      WS_ERR_PMD_PARAMS);
  /* Disabled: nothing offered. */
  co.enabled = false;
  WS_CHECK_EQ_INT(client_gets(&co, NULL, offer, sizeof offer, &a), WS_OK);
  WS_CHECK_EQ_STR(offer, "");
}

WS_TEST(public_options_ranges) {
  ws_deflate_options o;
  ws_deflate_options_init(&o, WS_ROLE_CLIENT);
  WS_CHECK_EQ_INT(ws_deflate_options_check(&o), WS_OK);
  o.max_window_bits = 8;
  WS_CHECK_EQ_INT(ws_deflate_options_check(&o), WS_OK);
  o.max_window_bits = 7;
  WS_CHECK_EQ_INT(ws_deflate_options_check(&o), WS_ERR_INVAL);
  o.max_window_bits = 15;
  o.peer_max_window_bits = 8;
  WS_CHECK_EQ_INT(ws_deflate_options_check(&o), WS_OK);
  o.level = 0;
  WS_CHECK_EQ_INT(ws_deflate_options_check(&o), WS_ERR_INVAL);
  o.level = 6;
  o.size = 0;
  WS_CHECK_EQ_INT(ws_deflate_options_check(&o), WS_ERR_INVAL);
  WS_CHECK_EQ_INT(ws_deflate_options_check(NULL), WS_ERR_INVAL);
}

/* ---- inside ws_conn: RSV1, control frames, incremental inflation, compression on send ------- */

typedef struct {
  uint8_t got[1 << 17];
  size_t got_len;
  int messages;
  int op;
  int err;
} sink;

static int on_msg(ws_conn *c, void *ud, ws_opcode op, const uint8_t *data, size_t len) {
  (void)c;
  sink *k = ud;
  k->messages++;
  k->op = (int)op;
  if (len <= sizeof k->got) {
    memcpy(k->got, data, len);
    k->got_len = len;
  }
  return 0;
}

static void on_err(ws_conn *c, void *ud, int err) {
  (void)c;
  ((sink *)ud)->err = err;
}

static void zero_key(void *ud, uint8_t *out, size_t n) {
  (void)ud;
  memset(out, 0, n);
}

static ws_deflate_params pmd_params(bool nct, size_t threshold) {
  ws_deflate_params p;
  memset(&p, 0, sizeof p);
  p.enabled = true;
  p.tx_window_bits = p.rx_window_bits = 15;
  p.tx_no_context_takeover = p.rx_no_context_takeover = nct;
  p.level = 6;
  p.mem_level = 5;
  p.threshold = threshold;
  return p;
}

static ws_conn *conn_new(ws_role role, const ws_deflate_params *dp, const ws_allocator *a,
                         uint64_t max_message, sink *k) {
  ws_conn_options o;
  ws_conn_options_init(&o, role);
  o.random = zero_key;
  o.alloc = a;
  o.deflate = dp;
  if (max_message)
    o.max_message_size = max_message;
  ws_conn_callbacks cb;
  memset(&cb, 0, sizeof cb);
  cb.on_message = on_msg;
  cb.on_error = on_err;
  memset(k, 0, sizeof *k);
  return ws_conn_new(&o, &cb, k, 0);
}

/* Everything the connection wants to send, concatenated. */
static size_t take_out(ws_conn *c, uint8_t *out, size_t cap) {
  ws_slice sl[16];
  int n = ws_conn_pending_out(c, sl, 16);
  size_t len = 0;
  for (int i = 0; i < n; i++) {
    if (len + sl[i].len <= cap)
      memcpy(out + len, sl[i].data, sl[i].len);
    len += sl[i].len;
  }
  ws_conn_consume_out(c, len);
  return len;
}

typedef struct {
  const char *name;
  const char *frames; /* client frames (masked with key 0), hex */
  bool deflate;
  int messages;     /* delivered */
  const char *want; /* the last message */
  uint16_t code;    /* close code sent, 0: none */
} conn_rx_case;

static const conn_rx_case conn_rx_cases[] = {
    {"7.2.3.1 one frame", "c1 87 00000000 f2 48 cd c9 c9 07 00", true, 1, "Hello", 0},
    {"7.2.3.1 fragmented", "41 83 00000000 f2 48 cd  80 84 00000000 c9 c9 07 00", true, 1, "Hello",
     0},
    {"7.2.3.2 takeover", "c1 87 00000000 f2 48 cd c9 c9 07 00  c1 85 00000000 f2 00 11 00 00", true,
     2, "Hello", 0},
    {"ping between fragments",
     "41 83 00000000 f2 48 cd  89 80 00000000  80 84 00000000 c9 c9 07 00", true, 1, "Hello", 0},
    {"uncompressed message still fine", "81 85 00000000 48 65 6c 6c 6f", true, 1, "Hello", 0},
    {"empty compressed message", "c1 80 00000000", true, 1, "", 0},
    {"RSV1 on a continuation frame: 1002", "41 83 00000000 f2 48 cd  c0 84 00000000 c9 c9 07 00",
     true, 0, NULL, 1002},
    {"RSV1 on a ping: 1002", "c9 80 00000000", true, 0, NULL, 1002},
    {"RSV1 on a close: 1002", "c8 82 00000000 03 e8", true, 0, NULL, 1002},
    {"RSV1 without the extension: 1002", "c1 87 00000000 f2 48 cd c9 c9 07 00", false, 0, NULL,
     1002},
    {"not DEFLATE: 1007", "c2 84 00000000 ff ff ff ff", true, 0, NULL, 1007},
    {"compressed text that is not UTF-8: 1007", "c1 84 00000000 fa 07 00 00", true, 0, NULL, 1007},
};

WS_TEST(conn_receives_compressed_messages) {
  for (size_t i = 0; i < sizeof conn_rx_cases / sizeof conn_rx_cases[0]; i++) {
    const conn_rx_case *tc = &conn_rx_cases[i];
    counter cn;
    ws_allocator a = counting_allocator(&cn);
    ws_deflate_params dp = pmd_params(false, 0);
    sink *k = calloc(1, sizeof *k);
    ws_conn *c = conn_new(WS_ROLE_SERVER, tc->deflate ? &dp : NULL, &a, 0, k);
    uint8_t in[256];
    size_t n = unhex(tc->frames, in, sizeof in);
    /* Whole, then again one byte at a time. */
    for (int bytewise = 0; bytewise < 2; bytewise++) {
      if (bytewise) {
        ws_conn_free(c);
        c = conn_new(WS_ROLE_SERVER, tc->deflate ? &dp : NULL, &a, 0, k);
        n = unhex(tc->frames, in, sizeof in);
        for (size_t b = 0; b < n; b++)
          ws_conn_recv(c, in + b, 1);
      } else {
        ws_conn_recv(c, in, n);
      }
      WS_CHECK_MSG(k->messages == tc->messages, "%s (bytewise %d): %d messages", tc->name, bytewise,
                   k->messages);
      if (tc->want && k->messages)
        WS_CHECK_MSG(k->got_len == strlen(tc->want) && memcmp(k->got, tc->want, k->got_len) == 0,
                     "%s: wrong message", tc->name);
      WS_CHECK_MSG(ws_conn_close_code_sent(c) == tc->code, "%s: close code %u", tc->name,
                   ws_conn_close_code_sent(c));
    }
    ws_conn_free(c);
    WS_CHECK_EQ_INT(cn.live, 0);
    free(k);
  }
}

WS_TEST(conn_bomb_is_1009_within_the_cap) {
  uint8_t *bomb;
  size_t blen = make_zeros((size_t)1 << 20, &bomb);
  const size_t cap = 64 * 1024;
  /* One frame; the server must not wait for the end of the frame to stop. */
  uint8_t *frame = malloc(blen + 14);
  frame[0] = 0xc2;
  frame[1] = 0x80 | 126;
  frame[2] = (uint8_t)(blen >> 8);
  frame[3] = (uint8_t)blen;
  memset(frame + 4, 0, 4);
  memcpy(frame + 8, bomb, blen);
  counter cn;
  ws_allocator a = counting_allocator(&cn);
  ws_deflate_params dp = pmd_params(false, 0);
  sink *k = calloc(1, sizeof *k);
  ws_conn *c = conn_new(WS_ROLE_SERVER, &dp, &a, cap, k);
  size_t base = cn.bytes;
  cn.peak = cn.bytes;
  size_t fed = 0;
  while (fed < blen + 8 && ws_conn_close_code_sent(c) == 0) {
    ws_conn_recv(c, frame + fed, 16);
    fed += 16;
  }
  WS_CHECK_EQ_INT(ws_conn_close_code_sent(c), 1009);
  ws_conn_transport_closed(c, WS_OK, NULL); /* on_error fires with the CloseEvent */
  WS_CHECK_EQ_INT(k->err, WS_ERR_PROTO_MESSAGE_TOO_BIG);
  WS_CHECK_EQ_INT(k->messages, 0);
  WS_CHECK_MSG(fed < 200, "1009 only after %zu bytes", fed);
  WS_CHECK_MSG(cn.peak - base <= cap + 48 * 1024, "peak %zu", cn.peak - base);
  printf("  ws_conn, bomb of %zu bytes, cap 64 KiB: 1009 after %zu bytes, peak +%zu bytes\n", blen,
         fed, cn.peak - base);
  ws_conn_free(c);
  WS_CHECK_EQ_INT(cn.live, 0);
  free(k);
  free(frame);
  free(bomb);
}

WS_TEST(conn_sends_compressed_messages) {
  /* Client role with a zero mask key, so the payload bytes are the compressed bytes.
   * Threshold 0: everything compressed; takeover on: the second refers to the first (7.2.3.2). */
  ws_deflate_params dp = pmd_params(false, 0);
  sink k;
  ws_conn *c = conn_new(WS_ROLE_CLIENT, &dp, NULL, 0, &k);
  uint8_t out[256], want[64];
  WS_CHECK_EQ_INT(ws_conn_send(c, WS_OP_TEXT, "Hello", 5), WS_OK);
  WS_CHECK_EQ_INT(ws_conn_send(c, WS_OP_TEXT, "Hello", 5), WS_OK);
  size_t n = take_out(c, out, sizeof out);
  size_t wn = unhex("c1 87 00000000 f2 48 cd c9 c9 07 00  c1 85 00000000 f2 00 11 00 00", want,
                    sizeof want);
  WS_CHECK_EQ_MEM(out, n, want, wn);
  /* Control frames are never compressed (RFC 7692 6.1). */
  WS_CHECK_EQ_INT(ws_conn_ping(c, "Hello", 5), WS_OK);
  n = take_out(c, out, sizeof out);
  wn = unhex("89 85 00000000 48 65 6c 6c 6f", want, sizeof want);
  WS_CHECK_EQ_MEM(out, n, want, wn);
  /* A fragmented message: RSV1 on the first frame only. */
  WS_CHECK_EQ_INT(ws_conn_send_fragment(c, WS_OP_BINARY, "Hel", 3, false), WS_OK);
  WS_CHECK_EQ_INT(ws_conn_send_fragment(c, WS_OP_CONTINUATION, "lo", 2, true), WS_OK);
  n = take_out(c, out, sizeof out);
  WS_CHECK(n >= 12);
  WS_CHECK_EQ_INT(out[0], 0x42); /* RSV1 + BINARY, not FIN */
  size_t f1 = 6 + (out[1] & 0x7f);
  WS_CHECK_EQ_INT(out[f1], 0x80); /* FIN + CONTINUATION, no RSV1 */
  ws_conn_free(c);

  /* Under the threshold: sent as is. */
  dp = pmd_params(false, 128);
  c = conn_new(WS_ROLE_SERVER, &dp, NULL, 0, &k);
  WS_CHECK_EQ_INT(ws_conn_send(c, WS_OP_TEXT, "Hello", 5), WS_OK);
  n = take_out(c, out, sizeof out);
  wn = unhex("81 05 48 65 6c 6c 6f", want, sizeof want);
  WS_CHECK_EQ_MEM(out, n, want, wn);
  ws_conn_free(c);

  /* A window of 8 for our deflater compresses too (with zlib's 9, see deflate.c). */
  dp = pmd_params(false, 0);
  dp.tx_window_bits = 8;
  c = conn_new(WS_ROLE_SERVER, &dp, NULL, 0, &k);
  WS_CHECK_EQ_INT(ws_conn_send(c, WS_OP_TEXT, "Hello", 5), WS_OK);
  n = take_out(c, out, sizeof out);
  wn = unhex("c1 07 f2 48 cd c9 c9 07 00", want, sizeof want);
  WS_CHECK_EQ_MEM(out, n, want, wn);
  ws_conn_free(c);
}

/* A server conn with deflate: two compressed messages in, two out. Returns 0 when all went
 * well, else 1; never leaks (checked by the caller). */
static int conn_scenario(const ws_allocator *a, bool nct) {
  ws_deflate_params dp = pmd_params(nct, 0);
  sink *k = calloc(1, sizeof *k);
  ws_conn *c = conn_new(WS_ROLE_SERVER, &dp, a, 0, k);
  if (!c) {
    free(k);
    return 1;
  }
  uint8_t in[64];
  size_t n = unhex("c1 87 00000000 f2 48 cd c9 c9 07 00  c1 87 00000000 f2 48 cd c9 c9 07 00", in,
                   sizeof in);
  ws_conn_recv(c, in, n);
  int bad = k->messages != 2;
  bad |= ws_conn_send(c, WS_OP_TEXT, "Hello", 5) != WS_OK;
  bad |= ws_conn_send(c, WS_OP_BINARY, "Hello", 5) != WS_OK;
  uint8_t out[128];
  take_out(c, out, sizeof out);
  ws_conn_transport_closed(c, WS_OK, NULL);
  ws_conn_free(c);
  free(k);
  return bad;
}

WS_TEST(conn_allocation_failure_at_every_index) {
  for (int nct = 0; nct < 2; nct++) {
    counter cn;
    ws_allocator a = counting_allocator(&cn);
    WS_CHECK_EQ_INT(conn_scenario(&a, nct), 0);
    long total = cn.calls;
    for (long i = 0; i < total; i++) {
      a = counting_allocator(&cn);
      cn.budget = i;
      WS_CHECK_MSG(conn_scenario(&a, nct) == 1, "nct %d: failing allocation %ld went unnoticed",
                   nct, i);
      WS_CHECK_MSG(cn.live == 0, "nct %d fail at %ld: %ld blocks leaked", nct, i, cn.live);
    }
    printf("  ws_conn with deflate, takeover %s: %ld allocations, each failed in turn\n",
           nct ? "off" : "on", total);
  }
}

WS_TEST(conn_to_conn_round_trips) {
  uint32_t seed = 4242;
  uint8_t *msg = malloc(40000);
  uint8_t *wire = malloc(1 << 17);
  int total = 0;
  for (int nct = 0; nct < 2; nct++) {
    counter cn;
    ws_allocator a = counting_allocator(&cn);
    ws_deflate_params dp = pmd_params(nct, 64);
    sink *ks = calloc(1, sizeof *ks), *kc = calloc(1, sizeof *kc);
    ws_conn *cli = conn_new(WS_ROLE_CLIENT, &dp, &a, 0, kc);
    ws_conn *srv = conn_new(WS_ROLE_SERVER, &dp, &a, 0, ks);
    for (int m = 0; m < 60; m++, total++) {
      size_t n = rng_next(&seed) % (m % 10 == 0 ? 40000 : 700);
      fill(msg, n, &seed);
      bool text = false;
      ws_conn *from = m % 2 ? srv : cli, *to = m % 2 ? cli : srv;
      sink *k = m % 2 ? kc : ks;
      int before = k->messages;
      if (m % 3 == 0 && n > 10) {
        WS_CHECK_EQ_INT(ws_conn_send_fragment(from, WS_OP_BINARY, msg, n / 2, false), WS_OK);
        WS_CHECK_EQ_INT(
            ws_conn_send_fragment(from, WS_OP_CONTINUATION, msg + n / 2, n - n / 2, true), WS_OK);
      } else {
        WS_CHECK_EQ_INT(ws_conn_send(from, text ? WS_OP_TEXT : WS_OP_BINARY, msg, n), WS_OK);
      }
      size_t wl = take_out(from, wire, 1 << 17);
      WS_CHECK(wl <= (1 << 17));
      /* Delivered in random pieces. */
      size_t off = 0;
      while (off < wl) {
        size_t step = 1 + rng_next(&seed) % 3000;
        if (step > wl - off)
          step = wl - off;
        ws_conn_recv(to, wire + off, step);
        off += step;
      }
      WS_CHECK_MSG(k->messages == before + 1, "nct %d msg %d not delivered (err %s)", nct, m,
                   ws_errname(k->err));
      WS_CHECK_EQ_MEM(k->got, k->got_len, msg, n);
    }
    ws_conn_free(cli);
    ws_conn_free(srv);
    WS_CHECK_EQ_INT(cn.live, 0);
    free(ks);
    free(kc);
  }
  printf("  %d messages between two ws_conn, takeover on and off\n", total);
  free(msg);
  free(wire);
}

/* ---- through the public API (wsclean.h): loop, server, ws_open ---------------------------------
 */

typedef struct {
  ws_server *srv;
  char ext_client[128], ext_server[128];
  int next; /* message the client sends next */
  int echoed;
  bool closed;
  uint16_t code;
  uint8_t *big;
  int compressed; /* big echoes that came back compressed, after ours went compressed */
} api_run;

#define API_BIG (100 * 1024)

static void api_send_next(ws_socket *ws, api_run *r) {
  switch (r->next++) {
  case 0:
    ws_send_text(ws, "hello", 5); /* under the threshold: sent as is */
    break;
  case 1:
    ws_send_text(ws, (const char *)r->big, API_BIG);
    break;
  case 2:
    ws_send_binary(ws, r->big, 10000);
    break;
  default:
    ws_close(ws, 1000, "done");
  }
}

static void api_client_open(const ws_event *ev, void *ud) {
  api_run *r = ud;
  snprintf(r->ext_client, sizeof r->ext_client, "%s", ws_extensions(ws_event_socket(ev)));
  api_send_next(ws_event_socket(ev), r);
}

static void api_client_message(const ws_event *ev, void *ud) {
  api_run *r = ud;
  size_t len;
  const uint8_t *d = ws_message_event_data(ws_event_as_message(ev), &len);
  int k = r->next - 1;
  bool ok = (k == 0 && len == 5 && memcmp(d, "hello", 5) == 0) ||
            (k == 1 && len == API_BIG && memcmp(d, r->big, len) == 0) ||
            (k == 2 && len == 10000 && memcmp(d, r->big, len) == 0);
  WS_CHECK_MSG(ok, "echo %d wrong (%zu bytes)", k, len);
  r->echoed += ok;
  /* White-box: the zlib streams exist once a compressed message went each way (context
   * takeover keeps them), so the echo really was compressed both ways. */
  const ws__pmd *pmd = ws_event_socket(ev)->live->conn->pmd;
  if (k >= 1 && pmd && pmd->tx && pmd->rx && pmd->p.tx_window_bits == 15)
    r->compressed++;
  api_send_next(ws_event_socket(ev), r);
}

static void api_client_close(const ws_event *ev, void *ud) {
  api_run *r = ud;
  r->closed = true;
  r->code = ws_close_event_code(ws_event_as_close(ev));
  ws_server_shutdown(r->srv, 1001, 1000);
}

static void api_server_message(const ws_event *ev, void *ud) {
  (void)ud;
  size_t len;
  const ws_message_event *m = ws_event_as_message(ev);
  const uint8_t *d = ws_message_event_data(m, &len);
  if (ws_message_event_is_binary(m))
    ws_send_binary(ws_event_socket(ev), d, len);
  else
    ws_send_text(ws_event_socket(ev), (const char *)d, len);
}

static int api_on_conn(ws_server *srv, ws_socket *ws, const ws_http_request *req, void *ud) {
  (void)srv, (void)req;
  api_run *r = ud;
  snprintf(r->ext_server, sizeof r->ext_server, "%s", ws_extensions(ws));
  ws_on(ws, "message", api_server_message, r);
  return 0;
}

static void api_echo(bool server_on, bool client_on, const char *want_ext) {
  api_run r;
  memset(&r, 0, sizeof r);
  r.big = malloc(API_BIG);
  for (size_t i = 0; i < API_BIG; i++)
    r.big[i] = (uint8_t) "wsclean permessage-deflate "[i % 27];
  ws_loop *loop = ws_loop_new(NULL);
  ws_server_options so;
  ws_server_options_init(&so);
  WS_CHECK(!so.deflate.enabled); /* off by default on servers */
  so.host = "127.0.0.1";
  so.deflate.enabled = server_on;
  int err;
  r.srv = ws_server_new(loop, &so, &err);
  WS_CHECK(r.srv != NULL);
  ws_server_route(r.srv, "*", NULL, 0, api_on_conn, &r);
  ws_open_options oo;
  ws_open_options_init(&oo);
  WS_CHECK(oo.deflate.enabled); /* offered by default by clients */
  oo.deflate.enabled = client_on;
  char url[64];
  snprintf(url, sizeof url, "ws://127.0.0.1:%u/", (unsigned)ws_server_port(r.srv));
  ws_socket *ws = ws_open(loop, url, NULL, 0, &oo, &err);
  WS_CHECK(ws != NULL);
  ws_on(ws, "open", api_client_open, &r);
  ws_on(ws, "message", api_client_message, &r);
  ws_on(ws, "close", api_client_close, &r);
  for (int i = 0; i < 1000 && ws_loop_run_once(loop, 10) > 0; i++) {
  }
  WS_CHECK(r.closed);
  WS_CHECK_EQ_INT(r.code, 1000);
  WS_CHECK_EQ_INT(r.echoed, 3);
  WS_CHECK_EQ_INT(r.compressed, *want_ext ? 2 : 0);
  WS_CHECK_EQ_STR(r.ext_client, want_ext);
  WS_CHECK_EQ_STR(r.ext_server, want_ext);
  ws_loop_free(loop);
  free(r.big);
}

WS_TEST(api_negotiates_and_echoes) {
  api_echo(true, true, "permessage-deflate");
  api_echo(false, true, ""); /* the server's default: declined */
  api_echo(true, false, "");
}

int main(void) { return ws_test_main(); }
