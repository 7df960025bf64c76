/* src/proto/frame.c: RFC 6455 5.2 headers, byte-exact, parse and build. */
#include "proto/frame.h"
#include "wsclean/errors.h"
#include "wstest.h"

typedef struct {
  const char *name;
  uint8_t bytes[14];
  size_t n;
  int rc; /* header length, or an error */
  bool fin;
  uint8_t rsv, op;
  bool masked;
  uint64_t len;
} parse_row;

static const parse_row parse_rows[] = {
    {"text fin 5", {0x81, 0x05}, 2, 2, true, 0, 1, false, 5},
    {"binary not fin 0", {0x02, 0x00}, 2, 2, false, 0, 2, false, 0},
    {"rsv1 ping", {0xC9, 0x00}, 2, 2, true, 4, 9, false, 0},
    {"rsv2", {0xA1, 0x00}, 2, 2, true, 2, 1, false, 0},
    {"rsv3", {0x91, 0x00}, 2, 2, true, 1, 1, false, 0},
    {"masked 125", {0x82, 0xFD, 1, 2, 3, 4}, 6, 6, true, 0, 2, true, 125},
    {"16-bit 126", {0x82, 0x7E, 0x00, 0x7E}, 4, 4, true, 0, 2, false, 126},
    {"16-bit 65535 masked", {0x82, 0xFE, 0xFF, 0xFF, 9, 9, 9, 9}, 8, 8, true, 0, 2, true, 65535},
    {"16-bit non-minimal 5 accepted", {0x81, 0x7E, 0x00, 0x05}, 4, 4, true, 0, 1, false, 5},
    {"64-bit 65536", {0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0}, 10, 10, true, 0, 2, false, 65536},
    {"64-bit non-minimal 5", {0x82, 0x7F, 0, 0, 0, 0, 0, 0, 0, 5}, 10, 10, true, 0, 2, false, 5},
    {"64-bit max valid", {0x82, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 1, 2, 3, 4},
     14, 14, true, 0, 2, true, 0x7FFFFFFFFFFFFFFFull},
    {"64-bit top bit", {0x82, 0x7F, 0x80, 0, 0, 0, 0, 0, 0, 0}, 10, WS_ERR_PROTO_LENGTH, 0, 0, 0, 0, 0},
    {"64-bit all ones", {0x82, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 1, 2, 3, 4}, 14,
     WS_ERR_PROTO_LENGTH, 0, 0, 0, 0, 0},
    {"opcode 15 parses (checked later)", {0x8F, 0x00}, 2, 2, true, 0, 15, false, 0},
};

WS_TEST(frame_parse_table) {
  for (size_t r = 0; r < sizeof parse_rows / sizeof parse_rows[0]; r++) {
    const parse_row *row = &parse_rows[r];
    ws__frame_hdr h;
    /* Every strict prefix asks for more bytes. */
    for (size_t k = 0; k < row->n; k++)
      WS_CHECK_MSG(ws__frame_parse(row->bytes, k, &h) == 0, "%s: prefix %zu", row->name, k);
    WS_CHECK_EQ_INT(ws__frame_hdr_need(row->bytes, row->n), row->n);
    int rc = ws__frame_parse(row->bytes, row->n, &h);
    WS_CHECK_MSG(rc == row->rc, "%s: rc %d want %d", row->name, rc, row->rc);
    if (rc > 0) {
      WS_CHECK_MSG(h.fin == row->fin && h.rsv == row->rsv && h.opcode == row->op &&
                       h.masked == row->masked && h.len == row->len && h.hdr_len == row->n,
                   "%s: fields", row->name);
      if (row->masked)
        WS_CHECK_EQ_MEM(h.mask, 4, row->bytes + row->n - 4, 4);
    }
  }
}

typedef struct {
  uint64_t len;
  bool mask;
  uint8_t want[14];
  size_t n;
} build_row;

static const build_row build_rows[] = {
    {0, false, {0x82, 0x00}, 2},
    {125, false, {0x82, 0x7D}, 2},
    {126, false, {0x82, 0x7E, 0x00, 0x7E}, 4},
    {65535, false, {0x82, 0x7E, 0xFF, 0xFF}, 4},
    {65536, false, {0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0}, 10},
    {0x100000000ull, false, {0x82, 0x7F, 0, 0, 0, 1, 0, 0, 0, 0}, 10},
    {5, true, {0x82, 0x85, 0x37, 0xfa, 0x21, 0x3d}, 6},
    {300, true, {0x82, 0xFE, 0x01, 0x2C, 0x37, 0xfa, 0x21, 0x3d}, 8},
    {70000, true, {0x82, 0xFF, 0, 0, 0, 0, 0, 1, 0x11, 0x70, 0x37, 0xfa, 0x21, 0x3d}, 14},
};

WS_TEST(frame_build_minimal_encoding) {
  static const uint8_t key[4] = {0x37, 0xfa, 0x21, 0x3d};
  for (size_t r = 0; r < sizeof build_rows / sizeof build_rows[0]; r++) {
    const build_row *row = &build_rows[r];
    uint8_t out[WS__FRAME_HDR_MAX];
    size_t n = ws__frame_build(out, true, 0, 2, row->mask ? key : NULL, row->len);
    WS_CHECK_EQ_MEM(out, n, row->want, row->n);
    WS_CHECK_EQ_INT(ws__frame_hdr_size(row->len, row->mask), row->n);
    ws__frame_hdr h;
    WS_CHECK_EQ_INT(ws__frame_parse(out, n, &h), (int)n);
    WS_CHECK(h.len == row->len && h.masked == row->mask && h.fin && h.opcode == 2);
  }
  /* FIN, RSV and opcode bits land where RFC 6455 5.2 puts them. */
  uint8_t out[WS__FRAME_HDR_MAX];
  ws__frame_build(out, false, WS__RSV1 | WS__RSV3, 0x0, NULL, 0);
  WS_CHECK_EQ_INT(out[0], 0x50);
  ws__frame_build(out, true, WS__RSV2, 0xA, NULL, 0);
  WS_CHECK_EQ_INT(out[0], 0xAA);
}

WS_TEST(frame_check_rules) {
  ws__frame_hdr h = {0};
  h.fin = true;
  h.masked = true;
  /* Opcodes: 0,1,2,8,9,10 valid; 3-7 and 11-15 reserved. */
  for (int op = 0; op < 16; op++) {
    h.opcode = (uint8_t)op;
    bool valid = op <= 2 || (op >= 8 && op <= 10);
    WS_CHECK_MSG(ws__frame_check(&h, true, 0) == (valid ? 0 : WS_ERR_PROTO_OPCODE), "op %d", op);
  }
  h.opcode = 1;
  /* RSV bits: each one not allowed fails. */
  for (int rsv = 0; rsv < 8; rsv++)
    for (int allowed = 0; allowed < 8; allowed++) {
      h.rsv = (uint8_t)rsv;
      int want = (rsv & ~allowed) ? WS_ERR_PROTO_RSV : 0;
      WS_CHECK_MSG(ws__frame_check(&h, true, (uint8_t)allowed) == want, "rsv %d allowed %d", rsv,
                   allowed);
    }
  /* Negotiated RSV bits: never on control frames, RSV1 never on a continuation. */
  h.rsv = WS__RSV1;
  for (int op = 8; op <= 10; op++) {
    h.opcode = (uint8_t)op;
    WS_CHECK_EQ_INT(ws__frame_check(&h, true, 0x7), WS_ERR_PROTO_RSV);
  }
  h.opcode = 0;
  WS_CHECK_EQ_INT(ws__frame_check(&h, true, 0x7), WS_ERR_PROTO_RSV);
  h.rsv = WS__RSV2;
  WS_CHECK_EQ_INT(ws__frame_check(&h, true, 0x7), 0);
  h.opcode = 2;
  h.rsv = WS__RSV1;
  WS_CHECK_EQ_INT(ws__frame_check(&h, true, 0x4), 0);
  h.opcode = 1;
  h.rsv = 0;
  /* Masking per role. */
  h.masked = false;
  WS_CHECK_EQ_INT(ws__frame_check(&h, true, 0), WS_ERR_PROTO_UNMASKED);
  WS_CHECK_EQ_INT(ws__frame_check(&h, false, 0), 0);
  h.masked = true;
  WS_CHECK_EQ_INT(ws__frame_check(&h, false, 0), WS_ERR_PROTO_MASKED);
  /* Control frames: 125 bytes max, never fragmented. */
  for (int op = 8; op <= 10; op++) {
    h.opcode = (uint8_t)op;
    h.len = 125;
    WS_CHECK_EQ_INT(ws__frame_check(&h, true, 0), 0);
    h.len = 126;
    WS_CHECK_EQ_INT(ws__frame_check(&h, true, 0), WS_ERR_PROTO_CONTROL_TOO_LONG);
    h.len = 0;
    h.fin = false;
    WS_CHECK_EQ_INT(ws__frame_check(&h, true, 0), WS_ERR_PROTO_CONTROL_FRAGMENTED);
    h.fin = true;
  }
  /* Data frames may be long and unfinished. */
  h.opcode = 2;
  h.fin = false;
  h.len = 1u << 30;
  WS_CHECK_EQ_INT(ws__frame_check(&h, true, 0), 0);
}

int main(void) { return ws_test_main(); }
