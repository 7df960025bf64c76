/* src/proto/conn.c + conn_out.c: the data path of ws_conn, byte-exact in both roles. The
 * closing handshake has its own file (test_conn_close.c). */
#include "conn_harness.h"

static const ws_role ROLES[2] = {WS_ROLE_SERVER, WS_ROLE_CLIENT};

WS_TEST(conn_sizeof_is_small) {
  printf("  ws_conn_sizeof() = %zu bytes\n", ws_conn_sizeof());
  WS_CHECK(ws_conn_sizeof() < 1024);
  /* Idle connections hold no buffers. */
  h_conn *h = h_new(WS_ROLE_SERVER);
  WS_CHECK(h->c->msg.data == NULL && h->c->head == NULL);
  h_free(h);
}

WS_TEST(conn_new_refuses_bad_options) {
  ws_conn_options o;
  ws_conn_options_init(&o, WS_ROLE_CLIENT);
  WS_CHECK(ws_conn_new(&o, &H_CB, NULL, 0) == NULL); /* a client needs a random source */
  ws_conn_options_init(&o, WS_ROLE_SERVER);
  o.max_message_size = 0;
  WS_CHECK(ws_conn_new(&o, &H_CB, NULL, 0) == NULL);
  ws_conn_options_init(&o, WS_ROLE_SERVER);
  o.close_timeout_ms = 0;
  WS_CHECK(ws_conn_new(&o, &H_CB, NULL, 0) == NULL);
  ws_conn_options_init(&o, WS_ROLE_SERVER);
  o.text_only = o.binary_only = true;
  WS_CHECK(ws_conn_new(&o, &H_CB, NULL, 0) == NULL);
  ws_conn_options_init(&o, WS_ROLE_SERVER);
  o.size = 4;
  WS_CHECK(ws_conn_new(&o, &H_CB, NULL, 0) == NULL);
  WS_CHECK(ws_conn_new(NULL, &H_CB, NULL, 0) == NULL);
  ws_conn_options_init(&o, WS_ROLE_SERVER);
  ws_conn *c = ws_conn_new(&o, NULL, NULL, 0); /* no callbacks is fine */
  WS_CHECK(c != NULL);
  WS_CHECK_EQ_INT(ws_conn_ready_state(c), WS_OPEN);
  WS_CHECK_EQ_INT(ws_conn_role(c), WS_ROLE_SERVER);
  WS_CHECK_EQ_INT(ws_conn_recv(c, NULL, 1), WS_ERR_INVAL);
  ws_conn_free(c);
}

/* RFC 6455 5.7 examples, byte for byte. */
WS_TEST(conn_rfc_examples) {
  /* A single-frame masked text message to a server. */
  uint8_t masked_hello[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58};
  h_conn *s = h_new(WS_ROLE_SERVER);
  WS_CHECK_EQ_INT(h_feed(s, masked_hello, sizeof masked_hello, 0), sizeof masked_hello);
  WS_CHECK_EQ_STR(s->log, "T:Hello;");
  /* The server's unmasked answer. */
  WS_CHECK_EQ_INT(ws_conn_send(s->c, WS_OP_TEXT, "Hello", 5), WS_OK);
  h_drain(s);
  static const uint8_t hello[] = {0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f};
  WS_CHECK_EQ_MEM(s->out, s->out_len, hello, sizeof hello);
  h_free(s);

  /* The client: receives unmasked, sends masked with the key from its random source. */
  h_conn *c = h_new(WS_ROLE_CLIENT);
  WS_CHECK_EQ_INT(h_feed(c, hello, sizeof hello, 0), sizeof hello);
  WS_CHECK_EQ_STR(c->log, "T:Hello;");
  WS_CHECK_EQ_INT(ws_conn_send(c->c, WS_OP_TEXT, "Hello", 5), WS_OK);
  h_drain(c);
  WS_CHECK_EQ_MEM(c->out, c->out_len, masked_hello, sizeof masked_hello);
  h_free(c);

  /* A fragmented unmasked text message, to a client. */
  static const uint8_t frag[] = {0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f};
  c = h_new(WS_ROLE_CLIENT);
  WS_CHECK_EQ_INT(h_feed(c, frag, sizeof frag, 0), sizeof frag);
  WS_CHECK_EQ_STR(c->log, "T:Hello;");
  h_free(c);

  /* Unmasked ping -> masked pong carrying the same data (the RFC's exact bytes). */
  static const uint8_t ping[] = {0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f};
  static const uint8_t pong[] = {0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58};
  c = h_new(WS_ROLE_CLIENT);
  h_feed(c, ping, sizeof ping, 0);
  WS_CHECK_EQ_STR(c->log, "ping:Hello;");
  h_drain(c);
  WS_CHECK_EQ_MEM(c->out, c->out_len, pong, sizeof pong);
  h_free(c);

  /* 256 bytes and 64 KiB binary messages: 16- and 64-bit lengths. */
  static uint8_t big[65536 + 14];
  static uint8_t payload[65536];
  for (size_t i = 0; i < sizeof payload; i++)
    payload[i] = (uint8_t)(i * 7);
  const size_t sizes[] = {256, 65536};
  for (int r = 0; r < 2; r++)
    for (size_t k = 0; k < 2; k++) {
      h_conn *h = h_new(ROLES[r]);
      size_t n = h_frame(big, ROLES[r], 0x82, payload, sizes[k]);
      WS_CHECK_EQ_INT(n, sizes[k] + (sizes[k] == 256 ? 4 : 10) + (r == 0 ? 4 : 0));
      WS_CHECK_EQ_INT(h_feed(h, big, n, 0), n);
      WS_CHECK_EQ_INT(h->n_msg, 1);
      WS_CHECK_EQ_MEM(h->last_msg, h->last_msg_len, payload, sizes[k]);
      /* Server sending the same: RFC 6455 5.7's 0x82 0x7E 0x0100 and 0x82 0x7F ...0x010000. */
      if (r == 0) {
        ws_conn_send(h->c, WS_OP_BINARY, payload, sizes[k]);
        h_drain(h);
        WS_CHECK_EQ_INT(h->out_len, n - 4);
        WS_CHECK_EQ_INT(h->out[0], 0x82);
        WS_CHECK_EQ_INT(h->out[1], sizes[k] == 256 ? 0x7E : 0x7F);
        WS_CHECK_EQ_MEM(h->out + h->out_len - sizes[k], sizes[k], payload, sizes[k]);
      }
      h_free(h);
    }
}

/* Zero copy: a whole single-frame message inside one recv buffer is delivered in place. */
WS_TEST(conn_zero_copy_when_whole) {
  for (int r = 0; r < 2; r++) {
    uint8_t buf[64];
    size_t n = h_frame(buf, ROLES[r], 0x82, "abcdef", 6);
    h_conn *h = h_new(ROLES[r]);
    WS_CHECK_EQ_INT(ws_conn_recv(h->c, buf, n), n);
    WS_CHECK(h->last_msg_ptr == buf + n - 6);
    WS_CHECK_EQ_MEM(buf + n - 6, 6, "abcdef", 6); /* unmasked in place */
    WS_CHECK(h->c->msg.data == NULL);            /* nothing buffered */
    /* Split: copied into the message buffer, released after delivery. */
    n = h_frame(buf, ROLES[r], 0x82, "abcdef", 6);
    WS_CHECK_EQ_INT(ws_conn_recv(h->c, buf, n - 3), n - 3);
    WS_CHECK(h->c->msg.data != NULL);
    WS_CHECK_EQ_INT(ws_conn_recv(h->c, buf + n - 3, 3), 3);
    WS_CHECK(h->last_msg_ptr != buf + n - 6);
    WS_CHECK_EQ_MEM(h->last_msg, h->last_msg_len, "abcdef", 6);
    WS_CHECK(h->c->msg.data == NULL);
    /* Header split from a whole payload: still zero copy. */
    n = h_frame(buf, ROLES[r], 0x81, "xyz", 3);
    size_t hl = n - 3;
    WS_CHECK_EQ_INT(ws_conn_recv(h->c, buf, 1), 1);
    WS_CHECK_EQ_INT(ws_conn_recv(h->c, buf + 1, hl - 1), hl - 1);
    WS_CHECK_EQ_INT(ws_conn_recv(h->c, buf + hl, 3), 3);
    WS_CHECK(h->last_msg_ptr == buf + hl);
    WS_CHECK_EQ_STR(h->log, "B6;B6;T:xyz;");
    h_free(h);
  }
}

/* ---- the rules, with the bad bytes ---------------------------------------------------------- */
typedef struct {
  const char *name;
  int roles;           /* 1 server, 2 client, 3 both */
  uint8_t b0;          /* first frame byte */
  uint64_t len;        /* payload length written in the header */
  bool flip_mask;      /* masked to a client / unmasked to a server */
  const char *payload; /* NULL: zeros */
  size_t plen;         /* payload bytes actually sent */
  const char *prefix;  /* frames sent first: "F" = TEXT fin=0 "Hel" */
  int err;
  uint16_t code;
} rule_row;

static const rule_row rules[] = {
    {"rsv1 without extension", 3, 0xC1, 1, false, "a", 1, NULL, WS_ERR_PROTO_RSV, 1002},
    {"rsv2", 3, 0xA1, 1, false, "a", 1, NULL, WS_ERR_PROTO_RSV, 1002},
    {"rsv3", 3, 0x91, 1, false, "a", 1, NULL, WS_ERR_PROTO_RSV, 1002},
    {"rsv1 on ping", 3, 0xC9, 0, false, NULL, 0, NULL, WS_ERR_PROTO_RSV, 1002},
    {"opcode 3", 3, 0x83, 0, false, NULL, 0, NULL, WS_ERR_PROTO_OPCODE, 1002},
    {"opcode 4", 3, 0x84, 0, false, NULL, 0, NULL, WS_ERR_PROTO_OPCODE, 1002},
    {"opcode 5", 3, 0x85, 0, false, NULL, 0, NULL, WS_ERR_PROTO_OPCODE, 1002},
    {"opcode 6", 3, 0x86, 0, false, NULL, 0, NULL, WS_ERR_PROTO_OPCODE, 1002},
    {"opcode 7", 3, 0x87, 0, false, NULL, 0, NULL, WS_ERR_PROTO_OPCODE, 1002},
    {"opcode 11", 3, 0x8B, 0, false, NULL, 0, NULL, WS_ERR_PROTO_OPCODE, 1002},
    {"opcode 12", 3, 0x8C, 0, false, NULL, 0, NULL, WS_ERR_PROTO_OPCODE, 1002},
    {"opcode 13", 3, 0x8D, 0, false, NULL, 0, NULL, WS_ERR_PROTO_OPCODE, 1002},
    {"opcode 14", 3, 0x8E, 0, false, NULL, 0, NULL, WS_ERR_PROTO_OPCODE, 1002},
    {"opcode 15", 3, 0x8F, 0, false, NULL, 0, NULL, WS_ERR_PROTO_OPCODE, 1002},
    {"unmasked to server", 1, 0x81, 1, true, "a", 1, NULL, WS_ERR_PROTO_UNMASKED, 1002},
    {"masked to client", 2, 0x81, 1, true, "a", 1, NULL, WS_ERR_PROTO_MASKED, 1002},
    {"ping 126 bytes", 3, 0x89, 126, false, NULL, 126, NULL, WS_ERR_PROTO_CONTROL_TOO_LONG, 1002},
    {"pong 126 bytes", 3, 0x8A, 126, false, NULL, 126, NULL, WS_ERR_PROTO_CONTROL_TOO_LONG, 1002},
    {"close 126 bytes", 3, 0x88, 126, false, NULL, 126, NULL, WS_ERR_PROTO_CONTROL_TOO_LONG, 1002},
    {"fragmented ping", 3, 0x09, 1, false, "a", 1, NULL, WS_ERR_PROTO_CONTROL_FRAGMENTED, 1002},
    {"fragmented close", 3, 0x08, 0, false, NULL, 0, NULL, WS_ERR_PROTO_CONTROL_FRAGMENTED, 1002},
    {"continuation with no message", 3, 0x80, 1, false, "a", 1, NULL, WS_ERR_PROTO_CONTINUATION, 1002},
    {"unfinished continuation with no message", 3, 0x00, 0, false, NULL, 0, NULL,
     WS_ERR_PROTO_CONTINUATION, 1002},
    {"text inside a fragmented message", 3, 0x81, 1, false, "a", 1, "F",
     WS_ERR_PROTO_EXPECTED_CONTINUATION, 1002},
    {"binary inside a fragmented message", 3, 0x82, 1, false, "a", 1, "F",
     WS_ERR_PROTO_EXPECTED_CONTINUATION, 1002},
    {"64-bit length top bit", 3, 0x82, 0x8000000000000000ull, false, NULL, 0, NULL,
     WS_ERR_PROTO_LENGTH, 1002},
    {"close body of 1 byte", 3, 0x88, 1, false, "\x03", 1, NULL, WS_ERR_PROTO_CLOSE_PAYLOAD, 1002},
    {"close code 1005", 3, 0x88, 2, false, "\x03\xed", 2, NULL, WS_ERR_PROTO_CLOSE_CODE, 1002},
    {"close reason not UTF-8", 3, 0x88, 3, false, "\x03\xe8\xff", 3, NULL,
     WS_ERR_PROTO_INVALID_UTF8_REASON, 1007},
    {"text not UTF-8", 3, 0x81, 2, false, "a\xc0", 2, NULL, WS_ERR_PROTO_INVALID_UTF8, 1007},
    {"text surrogate", 3, 0x81, 3, false, "\xed\xa0\x80", 3, NULL, WS_ERR_PROTO_INVALID_UTF8, 1007},
    {"text over U+10FFFF", 3, 0x81, 4, false, "\xf4\x90\x80\x80", 4, NULL, WS_ERR_PROTO_INVALID_UTF8,
     1007},
    {"text ends inside a sequence", 3, 0x81, 2, false, "a\xe2", 2, NULL, WS_ERR_PROTO_INVALID_UTF8,
     1007},
    {"continuation not UTF-8", 3, 0x80, 1, false, "\xff", 1, "F", WS_ERR_PROTO_INVALID_UTF8, 1007},
    {"message over max (header)", 3, 0x82, 1025, false, NULL, 0, NULL, WS_ERR_PROTO_MESSAGE_TOO_BIG,
     1009},
    {"fragments over max (header)", 3, 0x80, 1022, false, NULL, 0, "F", WS_ERR_PROTO_MESSAGE_TOO_BIG,
     1009},
};

static size_t rule_bytes(const rule_row *row, ws_role role, uint8_t *out, size_t *bad_at) {
  size_t n = 0;
  if (row->prefix)
    n += h_frame(out, role, 0x01, "Hel", 3);
  bool mask = (role == WS_ROLE_SERVER) != row->flip_mask;
  static const uint8_t zeros[200];
  const uint8_t *p = row->payload ? (const uint8_t *)row->payload : zeros;
  /* The header with the announced length, then plen payload bytes. */
  uint8_t tmp[300];
  size_t hl = h_frame_ex(tmp, row->b0, mask, NULL, row->len < 126 ? row->len : 0);
  if (row->len >= 126) {
    hl = 0;
    tmp[hl++] = row->b0;
    if (row->len <= 0xFFFF) {
      tmp[hl++] = (uint8_t)((mask ? 0x80 : 0) | 126);
      tmp[hl++] = (uint8_t)(row->len >> 8);
      tmp[hl++] = (uint8_t)row->len;
    } else {
      tmp[hl++] = (uint8_t)((mask ? 0x80 : 0) | 127);
      for (int k = 7; k >= 0; k--)
        tmp[hl++] = (uint8_t)(row->len >> (8 * k));
    }
    if (mask) {
      memcpy(tmp + hl, H_KEY, 4);
      hl += 4;
    }
  } else {
    hl -= (size_t)row->len;
  }
  memcpy(out + n, tmp, hl);
  for (size_t k = 0; k < row->plen; k++)
    out[n + hl + k] = mask ? (uint8_t)(p[k] ^ H_KEY[k % 4]) : p[k];
  *bad_at = n + hl;
  return n + hl + row->plen;
}

WS_TEST(conn_rules_fail_with_the_right_code) {
  for (size_t r = 0; r < sizeof rules / sizeof rules[0]; r++) {
    const rule_row *row = &rules[r];
    for (int ri = 0; ri < 2; ri++) {
      if (!(row->roles & (1 << ri)))
        continue;
      ws_role role = ROLES[ri];
      for (int chunk = 0; chunk <= 1; chunk++) { /* whole, and one byte at a time */
        ws_conn_options o;
        h_opts(&o, role, NULL);
        o.max_message_size = 1024;
        h_conn *h = h_new_opts(&o);
        uint8_t in[400];
        size_t bad_at;
        size_t n = rule_bytes(row, role, in, &bad_at);
        size_t used = h_feed(h, in, n, (size_t)chunk);
        WS_CHECK_MSG(h->c->failed, "%s (%s): not failed", row->name, ri ? "client" : "server");
        WS_CHECK_MSG(used <= n && used >= bad_at - (bad_at > 0), "%s: consumed %zu of %zu", row->name,
                     used, n);
        WS_CHECK_MSG(h->n_msg == 0, "%s: message delivered", row->name);
        WS_CHECK_EQ_INT(ws_conn_transport(h->c), WS_TRANSPORT_SHUTDOWN);
        WS_CHECK_EQ_INT(ws_conn_ready_state(h->c), WS_CLOSING);
        WS_CHECK_EQ_INT(ws_conn_close_code_sent(h->c), row->code);
        h_drain(h);
        uint8_t want[200];
        size_t wn = h_fail_frame(want, role, row->code, row->err);
        if (role == WS_ROLE_SERVER)
          WS_CHECK_EQ_MEM(h->out, h->out_len, want, wn);
        else
          WS_CHECK_EQ_INT(h->out_len, wn);
        /* Anything more is discarded. */
        WS_CHECK_EQ_INT(ws_conn_recv(h->c, in, n), n);
        ws_conn_transport_closed(h->c, WS_OK, NULL);
        WS_CHECK_EQ_INT(h->n_error, 1);
        WS_CHECK_EQ_INT(h->err_seen, row->err);
        WS_CHECK_EQ_INT(h->n_close, 1);
        WS_CHECK(h->error_before_close);
        WS_CHECK_EQ_INT(h->ev_code, 1006);
        WS_CHECK(!h->ev_clean);
        WS_CHECK_MSG(h->diag.error == row->err, "%s: diag %s", row->name, ws_errname(h->diag.error));
        WS_CHECK_EQ_INT(h->diag.code_sent, row->code);
        WS_CHECK_EQ_INT(h->diag.initiator, WS_CLOSER_LOCAL);
        h_free(h);
      }
    }
  }
}

/* Fail fast: the bad byte fails the connection before the frame (or message) ends. */
WS_TEST(conn_utf8_fails_at_the_first_bad_byte) {
  for (int ri = 0; ri < 2; ri++) {
    uint8_t in[64];
    /* 10-byte text frame whose 4th byte is bad; feed only 5 payload bytes. */
    size_t n = h_frame(in, ROLES[ri], 0x81, "abc\xff" "efghij", 10);
    size_t hl = n - 10;
    h_conn *h = h_new(ROLES[ri]);
    long r = ws_conn_recv(h->c, in, hl + 5);
    WS_CHECK_EQ_INT(r, hl + 4); /* consumed up to and including the bad byte */
    WS_CHECK(h->c->failed);
    WS_CHECK_EQ_INT(ws_conn_close_code_sent(h->c), 1007);
    h_free(h);
    /* Across fragments and reads: E2 82 | AC is fine, E2 82 | 41 fails at the 41. */
    h = h_new(ROLES[ri]);
    n = h_frame(in, ROLES[ri], 0x01, "\xe2\x82", 2);
    n += h_frame(in + n, ROLES[ri], 0x80, "\xac" "A", 2);
    WS_CHECK_EQ_INT(h_feed(h, in, n, 1), n);
    WS_CHECK_EQ_STR(h->log, "T:\xe2\x82\xac" "A;");
    n = h_frame(in, ROLES[ri], 0x01, "\xe2\x82", 2);
    size_t n1 = n;
    n += h_frame(in + n, ROLES[ri], 0x80, "A", 1);
    WS_CHECK_EQ_INT(h_feed(h, in, n, 1), n - 0);
    WS_CHECK(h->c->failed);
    WS_CHECK_EQ_INT(ws_conn_close_code_sent(h->c), 1007);
    (void)n1;
    h_free(h);
  }
}

/* 1009 from the header: nothing past the limit is buffered. */
WS_TEST(conn_max_message_size_from_the_header) {
  ws_conn_options o;
  h_opts(&o, WS_ROLE_SERVER, NULL);
  o.max_message_size = 10;
  h_conn *h = h_new_opts(&o);
  uint8_t in[64];
  size_t n = h_frame(in, WS_ROLE_SERVER, 0x82, "0123456789", 10); /* exactly the limit: fine */
  WS_CHECK_EQ_INT(h_feed(h, in, n, 0), n);
  WS_CHECK_EQ_INT(h->n_msg, 1);
  n = h_frame(in, WS_ROLE_SERVER, 0x82, "0123456789A", 11);
  WS_CHECK_EQ_INT(ws_conn_recv(h->c, in, n), 6); /* the header alone decided */
  WS_CHECK_EQ_INT(ws_conn_close_code_sent(h->c), 1009);
  h_free(h);
  /* Fragments: 6 then 5 -> the second header fails; only 6 bytes were ever buffered. */
  h = h_new_opts(&o);
  n = h_frame(in, WS_ROLE_SERVER, 0x02, "012345", 6);
  size_t n1 = n;
  n += h_frame(in + n, WS_ROLE_SERVER, 0x80, "6789A", 5);
  WS_CHECK_EQ_INT(ws_conn_recv(h->c, in, n), n1 + 6);
  WS_CHECK_EQ_INT(h->c->fail_err, WS_ERR_PROTO_MESSAGE_TOO_BIG);
  h_free(h);
  /* max_frame_size and max_fragments. */
  h_opts(&o, WS_ROLE_SERVER, NULL);
  o.max_frame_size = 4;
  o.max_fragments = 3;
  h = h_new_opts(&o);
  n = h_frame(in, WS_ROLE_SERVER, 0x82, "01234", 5);
  WS_CHECK_EQ_INT(ws_conn_recv(h->c, in, n), 6);
  WS_CHECK_EQ_INT(h->c->fail_err, WS_ERR_PROTO_FRAME_TOO_BIG);
  WS_CHECK_EQ_INT(ws_conn_close_code_sent(h->c), 1009);
  h_free(h);
  h = h_new_opts(&o);
  n = h_frame(in, WS_ROLE_SERVER, 0x02, "a", 1);
  n += h_frame(in + n, WS_ROLE_SERVER, 0x00, "b", 1);
  n += h_frame(in + n, WS_ROLE_SERVER, 0x80, "c", 1);
  WS_CHECK_EQ_INT(h_feed(h, in, n, 0), n); /* 3 fragments: fine */
  WS_CHECK_EQ_INT(h->n_msg, 1);
  n = 0;
  for (int k = 0; k < 4; k++)
    n += h_frame(in + n, WS_ROLE_SERVER, k == 0 ? 0x02 : k == 3 ? 0x80 : 0x00, "x", 1);
  h_feed(h, in, n, 0);
  WS_CHECK_EQ_INT(h->c->fail_err, WS_ERR_PROTO_TOO_MANY_FRAGMENTS);
  WS_CHECK_EQ_INT(h->n_msg, 1);
  h_free(h);
}

WS_TEST(conn_text_only_binary_only_1003) {
  for (int k = 0; k < 2; k++) {
    ws_conn_options o;
    h_opts(&o, WS_ROLE_SERVER, NULL);
    o.text_only = k == 0;
    o.binary_only = k == 1;
    h_conn *h = h_new_opts(&o);
    uint8_t in[32];
    size_t n = h_frame(in, WS_ROLE_SERVER, k == 0 ? 0x81 : 0x82, "ok", 2);
    h_feed(h, in, n, 0);
    WS_CHECK_EQ_INT(h->n_msg, 1);
    n = h_frame(in, WS_ROLE_SERVER, k == 0 ? 0x82 : 0x81, "no", 2);
    WS_CHECK_EQ_INT(ws_conn_recv(h->c, in, n), 6);
    WS_CHECK_EQ_INT(ws_conn_close_code_sent(h->c), 1003);
    WS_CHECK_EQ_INT(h->c->fail_err, WS_ERR_PROTO_UNSUPPORTED_DATA);
    h_free(h);
  }
}

WS_TEST(conn_handler_failure_1011) {
  h_conn *h = h_new(WS_ROLE_SERVER);
  h->app_ret = -1;
  uint8_t in[64];
  size_t n = h_frame(in, WS_ROLE_SERVER, 0x81, "boom", 4);
  n += h_frame(in + n, WS_ROLE_SERVER, 0x81, "next", 4);
  WS_CHECK_EQ_INT(ws_conn_recv(h->c, in, n), 10);
  WS_CHECK_EQ_STR(h->log, "T:boom;");
  WS_CHECK_EQ_INT(ws_conn_close_code_sent(h->c), 1011);
  ws_conn_transport_closed(h->c, WS_OK, NULL);
  WS_CHECK_EQ_INT(h->err_seen, WS_ERR_PROTO_APP_ERROR);
  WS_CHECK_EQ_STR(h->log, "T:boom;error:WS_ERR_PROTO_APP_ERROR;close:1006:0:WS_ERR_PROTO_APP_ERROR;");
  h_free(h);
}

/* Control frames between the fragments of a message; empty frames and messages. */
WS_TEST(conn_control_frames_interleave) {
  for (int ri = 0; ri < 2; ri++) {
    ws_role role = ROLES[ri];
    uint8_t in[128];
    size_t n = h_frame(in, role, 0x01, "Hel", 3);
    n += h_frame(in + n, role, 0x89, "p1", 2);
    n += h_frame(in + n, role, 0x00, "", 0);
    n += h_frame(in + n, role, 0x8A, "u", 1);
    n += h_frame(in + n, role, 0x80, "lo", 2);
    n += h_frame(in + n, role, 0x81, "", 0);
    n += h_frame(in + n, role, 0x02, "", 0);
    n += h_frame(in + n, role, 0x80, "", 0);
    for (size_t chunk = 0; chunk <= 3; chunk++) {
      h_conn *h = h_new(role);
      WS_CHECK_EQ_INT(h_feed(h, in, n, chunk), n);
      WS_CHECK_EQ_STR(h->log, "ping:p1;pong:u;T:Hello;T:;B0;");
      h_drain(h);
      uint8_t want[16];
      size_t wn = h_frame_ex(want, 0x8A, role == WS_ROLE_CLIENT, "p1", 2);
      WS_CHECK_EQ_MEM(h->out, h->out_len, want, wn);
      h_free(h);
    }
  }
}

/* Every ping gets its pong (Autobahn 2.10 sends ten back to back); a pong already being written
 * is finished before the next. */
WS_TEST(conn_every_ping_gets_a_pong) {
  h_conn *h = h_new(WS_ROLE_SERVER);
  uint8_t in[64];
  size_t n = h_frame(in, WS_ROLE_SERVER, 0x89, "one", 3);
  n += h_frame(in + n, WS_ROLE_SERVER, 0x89, "two!", 4);
  h_feed(h, in, n, 0);
  h_drain(h);
  static const uint8_t want[] = {0x8A, 0x03, 'o', 'n', 'e', 0x8A, 0x04, 't', 'w', 'o', '!'};
  WS_CHECK_EQ_MEM(h->out, h->out_len, want, sizeof want);
  h->out_len = 0;
  n = h_frame(in, WS_ROLE_SERVER, 0x89, "a", 1);
  h_feed(h, in, n, 0);
  ws_conn_consume_out(h->c, 1);
  n = h_frame(in, WS_ROLE_SERVER, 0x89, "b", 1);
  h_feed(h, in, n, 0);
  h_drain(h);
  static const uint8_t want2[] = {0x01, 'a', 0x8A, 0x01, 'b'};
  WS_CHECK_EQ_MEM(h->out, h->out_len, want2, sizeof want2);
  /* Unsolicited pongs are fine. */
  n = h_frame(in, WS_ROLE_SERVER, 0x8A, "x", 1);
  h_feed(h, in, n, 0);
  WS_CHECK(!h->c->failed);
  h_free(h);
}

/* Scripts fed split at every byte boundary give the same events and output as fed whole. */
WS_TEST(conn_split_at_every_boundary) {
  static uint8_t long_payload[300];
  for (size_t i = 0; i < sizeof long_payload; i++)
    long_payload[i] = (uint8_t)('a' + i % 26);
  for (int ri = 0; ri < 2; ri++) {
    ws_role role = ROLES[ri];
    uint8_t in[1024];
    size_t n = 0;
    n += h_frame(in + n, role, 0x81, "caf\xc3\xa9", 5);
    n += h_frame(in + n, role, 0x82, long_payload, sizeof long_payload);
    n += h_frame(in + n, role, 0x01, "\xf0\x9f", 2);
    n += h_frame(in + n, role, 0x89, "ping", 4);
    n += h_frame(in + n, role, 0x80, "\x98\x80!", 3);
    n += h_frame(in + n, role, 0x81, "", 0);
    n += h_close_frame(in + n, role, 1000, "done", 4);
    n += h_frame(in + n, role, 0x81, "after", 5); /* discarded */
    h_conn *ref = h_new(role);
    WS_CHECK_EQ_INT(h_feed(ref, in, n, 0), n);
    h_drain(ref);
    WS_CHECK_EQ_STR(ref->log, "T:caf\xc3\xa9;B300;ping:ping;T:\xf0\x9f\x98\x80!;T:;cf:1000:done;");
    for (size_t at = 0; at <= n; at++) {
      h_conn *h = h_new(role);
      WS_CHECK_EQ_INT(h_feed_split(h, in, n, at), n);
      h_drain(h);
      WS_CHECK_MSG(strcmp(h->log, ref->log) == 0, "split at %zu: %s", at, h->log);
      WS_CHECK_MSG(h->out_len == ref->out_len && memcmp(h->out, ref->out, h->out_len) == 0,
                   "split at %zu: output differs", at);
      h_free(h);
    }
    for (size_t chunk = 1; chunk <= 7; chunk++) {
      h_conn *h = h_new(role);
      WS_CHECK_EQ_INT(h_feed(h, in, n, chunk), n);
      WS_CHECK_MSG(strcmp(h->log, ref->log) == 0, "chunk %zu: %s", chunk, h->log);
      h_free(h);
    }
    h_free(ref);
  }
}

/* A failing script split at every boundary: the same events, the same close frame, and the
 * bytes before the failure delivered intact. */
WS_TEST(conn_split_failing_script) {
  for (int ri = 0; ri < 2; ri++) {
    ws_role role = ROLES[ri];
    uint8_t in[256];
    size_t n = 0;
    n += h_frame(in + n, role, 0x81, "first", 5);
    n += h_frame(in + n, role, 0x01, "ok \xe2\x82", 5);
    n += h_frame(in + n, role, 0x80, "\xac then \xc0 bad", 12);
    n += h_frame(in + n, role, 0x81, "never", 5);
    h_conn *ref = h_new(role);
    size_t used = h_feed(ref, in, n, 0);
    h_drain(ref);
    WS_CHECK_EQ_STR(ref->log, "T:first;");
    WS_CHECK_EQ_INT(ws_conn_close_code_sent(ref->c), 1007);
    for (size_t at = 0; at <= n; at++) {
      h_conn *h = h_new(role);
      size_t u = h_feed_split(h, in, n, at);
      h_drain(h);
      /* A failure on the last byte of the first piece: the second piece is a later call,
       * discarded whole (len returned). */
      WS_CHECK_MSG(u == used || (at == used && u == n), "at %zu: consumed %zu, want %zu", at, u,
                   used);
      WS_CHECK_MSG(strcmp(h->log, ref->log) == 0, "at %zu: %s", at, h->log);
      WS_CHECK_MSG(h->out_len == ref->out_len && memcmp(h->out, ref->out, h->out_len) == 0,
                   "at %zu: output differs", at);
      h_free(h);
    }
    h_free(ref);
  }
}

/* ---- output ------------------------------------------------------------------------------- */
WS_TEST(conn_send_rules) {
  h_conn *h = h_new(WS_ROLE_SERVER);
  ws_conn *c = h->c;
  WS_CHECK_EQ_INT(ws_conn_send(c, WS_OP_PING, "x", 1), WS_ERR_INVAL);
  WS_CHECK_EQ_INT(ws_conn_send(c, WS_OP_TEXT, "\xff", 1), WS_ERR_INVAL);
  WS_CHECK_EQ_INT(ws_conn_send(c, WS_OP_TEXT, NULL, 1), WS_ERR_INVAL);
  WS_CHECK_EQ_INT(ws_conn_send_fragment(c, WS_OP_CONTINUATION, "x", 1, true), WS_ERR_STATE);
  WS_CHECK_EQ_INT(ws_conn_send_fragment(c, WS_OP_TEXT, "\xe2\x82", 2, false), WS_OK);
  WS_CHECK_EQ_INT(ws_conn_send(c, WS_OP_TEXT, "x", 1), WS_ERR_STATE);
  WS_CHECK_EQ_INT(ws_conn_send_fragment(c, WS_OP_TEXT, "x", 1, false), WS_ERR_STATE);
  WS_CHECK_EQ_INT(ws_conn_ping(c, "p", 1), WS_OK); /* control frames may interleave */
  WS_CHECK_EQ_INT(ws_conn_send_fragment(c, WS_OP_CONTINUATION, "A", 1, true), WS_ERR_INVAL);
  WS_CHECK_EQ_INT(ws_conn_send_fragment(c, WS_OP_CONTINUATION, "\xac", 1, true), WS_OK);
  WS_CHECK_EQ_INT(ws_conn_send(c, WS_OP_BINARY, "", 0), WS_OK);
  static const uint8_t want[] = {0x01, 0x02, 0xe2, 0x82, 0x89, 0x01, 'p', 0x80, 0x01, 0xac, 0x82, 0x00};
  h_drain(h);
  WS_CHECK_EQ_MEM(h->out, h->out_len, want, sizeof want);
  static uint8_t big[126];
  WS_CHECK_EQ_INT(ws_conn_ping(c, big, 126), WS_ERR_INVAL);
  WS_CHECK_EQ_INT(ws_conn_pong(c, big, 125), WS_OK);
  h_free(h);
}

/* A client masks every frame with a fresh key from its random source. */
WS_TEST(conn_client_fresh_key_per_frame) {
  h_conn *h = h_new(WS_ROLE_CLIENT);
  h->key_counter = true;
  ws_conn_send(h->c, WS_OP_BINARY, "\0\0\0\0", 4);
  ws_conn_send(h->c, WS_OP_BINARY, "\0\0", 2);
  h_drain(h);
  static const uint8_t want[] = {0x82, 0x84, 0, 1, 2, 3, 0, 1, 2, 3, 0x82, 0x82, 4, 5, 6, 7, 4, 5};
  WS_CHECK_EQ_MEM(h->out, h->out_len, want, sizeof want);
  h_free(h);
}

/* bufferedAmount (WHATWG): payload bytes queued and not yet written; headers do not count. */
WS_TEST(conn_buffered_amount_and_queue_limit) {
  ws_conn_options o;
  h_opts(&o, WS_ROLE_SERVER, NULL);
  o.send_queue_limit = 100;
  h_conn *h = h_new_opts(&o);
  ws_conn *c = h->c;
  WS_CHECK_EQ_INT(ws_conn_send(c, WS_OP_BINARY, "0123456789", 10), WS_OK);
  WS_CHECK_EQ_INT(ws_conn_buffered_amount(c), 10);
  WS_CHECK_EQ_INT(ws_conn_pending_bytes(c), 12);
  ws_conn_consume_out(c, 1); /* header byte */
  WS_CHECK_EQ_INT(ws_conn_buffered_amount(c), 10);
  ws_conn_consume_out(c, 4);
  WS_CHECK_EQ_INT(ws_conn_buffered_amount(c), 7);
  ws_slice s[4];
  WS_CHECK_EQ_INT(ws_conn_pending_out(c, s, 4), 1);
  WS_CHECK_EQ_MEM(s[0].data, s[0].len, "3456789", 7);
  ws_conn_ping(c, "", 0); /* control frames are not application data */
  WS_CHECK_EQ_INT(ws_conn_buffered_amount(c), 7);
  static uint8_t big[100];
  WS_CHECK_EQ_INT(ws_conn_send(c, WS_OP_BINARY, big, 90), WS_ERR_BUFFER_FULL);
  WS_CHECK_EQ_INT(ws_conn_send(c, WS_OP_BINARY, big, 89), WS_OK); /* 7 + 2 + 2 + 89 = 100 */
  WS_CHECK_EQ_INT(ws_conn_send(c, WS_OP_BINARY, big, 0), WS_ERR_BUFFER_FULL);
  WS_CHECK_EQ_INT(ws_conn_pending_bytes(c), 100);
  WS_CHECK_EQ_INT(ws_conn_buffered_amount(c), 96);
  h_drain(h);
  WS_CHECK_EQ_INT(ws_conn_buffered_amount(c), 0);
  WS_CHECK_EQ_INT(ws_conn_pending_bytes(c), 0);
  WS_CHECK(c->head == NULL);
  /* A limit smaller than a frame header refuses everything (no wrap-around). */
  h_opts(&o, WS_ROLE_CLIENT, NULL);
  o.send_queue_limit = 1;
  h_conn *tiny = h_new_opts(&o);
  WS_CHECK_EQ_INT(ws_conn_send(tiny->c, WS_OP_BINARY, "", 0), WS_ERR_BUFFER_FULL);
  WS_CHECK_EQ_INT(ws_conn_ping(tiny->c, "", 0), WS_ERR_BUFFER_FULL);
  WS_CHECK_EQ_INT(ws_conn_close(tiny->c, 1000, "", 0), WS_OK); /* the close frame always fits */
  h_drain(tiny);
  WS_CHECK_EQ_INT(tiny->out_len, 2 + 4 + 2);
  h_free(tiny);
  /* Small frames queued together share a node: one writev slice, the frames in order (the
   * slices of several nodes: tests/unit/test_conn_out.c). */
  ws_conn_send(c, WS_OP_TEXT, "a", 1);
  ws_conn_send(c, WS_OP_TEXT, "b", 1);
  WS_CHECK_EQ_INT(ws_conn_pending_out(c, s, 4), 1);
  WS_CHECK_EQ_MEM(s[0].data, s[0].len, "\x81\x01" "a" "\x81\x01" "b", 6);
  WS_CHECK_EQ_INT(ws_conn_pending_out(c, s, 1), 1);
  h_free(h);
}

WS_TEST(conn_shared_frames) {
  ws_frame_shared *f = ws_frame_shared_new(NULL, WS_OP_TEXT, "news", 4);
  WS_CHECK(f != NULL);
  WS_CHECK(ws_frame_shared_new(NULL, WS_OP_TEXT, "\xff", 1) == NULL);
  WS_CHECK(ws_frame_shared_new(NULL, WS_OP_PING, "", 0) == NULL);
  h_conn *hs[3];
  for (int i = 0; i < 3; i++) {
    hs[i] = h_new(WS_ROLE_SERVER);
    WS_CHECK_EQ_INT(ws_conn_send_shared(hs[i]->c, f), WS_OK);
    WS_CHECK_EQ_INT(ws_conn_buffered_amount(hs[i]->c), 4);
  }
  h_conn *cl = h_new(WS_ROLE_CLIENT);
  WS_CHECK_EQ_INT(ws_conn_send_shared(cl->c, f), WS_ERR_INVAL);
  h_free(cl);
  ws_frame_shared_release(f); /* the queues still hold it */
  static const uint8_t want[] = {0x81, 0x04, 'n', 'e', 'w', 's'};
  h_drain(hs[0]);
  WS_CHECK_EQ_MEM(hs[0]->out, hs[0]->out_len, want, sizeof want);
  ws_conn_consume_out(hs[1]->c, 3);
  h_drain(hs[1]);
  WS_CHECK_EQ_MEM(hs[1]->out, hs[1]->out_len, want + 3, 3);
  for (int i = 0; i < 3; i++)
    h_free(hs[i]); /* the last reference goes with hs[2]'s queue (ASan checks the leak) */
}

/* ---- fault injection ------------------------------------------------------------------------ */
/* Fail allocation N for every N a scenario makes: no crash, no leak, a clean error. */
typedef void (*scenario_fn)(ws_conn *c, ws_role role);

static void sc_echo(ws_conn *c, ws_role role) {
  uint8_t in[64];
  size_t n = h_frame(in, role, 0x81, "echo", 4);
  ws_conn_recv(c, in, n);
  ws_conn_send(c, WS_OP_TEXT, "echo", 4);
  ws_conn_ping(c, "x", 1);
}
static void sc_fragmented(ws_conn *c, ws_role role) {
  static uint8_t payload[700];
  uint8_t in[2000];
  size_t n = h_frame(in, role, 0x02, payload, 300);
  n += h_frame(in + n, role, 0x89, "p", 1);
  n += h_frame(in + n, role, 0x80, payload, 400);
  for (size_t i = 0; i < n; i += 100)
    ws_conn_recv(c, in + i, n - i < 100 ? n - i : 100);
  ws_conn_send_fragment(c, WS_OP_BINARY, payload, 10, false);
  ws_conn_send_fragment(c, WS_OP_CONTINUATION, payload, 10, true);
}
static void sc_close_local(ws_conn *c, ws_role role) {
  ws_conn_send(c, WS_OP_BINARY, "data", 4);
  ws_conn_close(c, 1000, "bye", 3);
  uint8_t in[64];
  size_t n = h_close_frame(in, role, 1000, "", 0);
  ws_conn_recv(c, in, n);
}
static void sc_close_remote(ws_conn *c, ws_role role) {
  uint8_t in[64];
  size_t n = h_frame(in, role, 0x01, "x", 1);
  n += h_close_frame(in + n, role, 1001, "away", 4);
  ws_conn_recv(c, in, n);
}

WS_TEST(conn_fault_injection_every_allocation) {
  scenario_fn scenarios[] = {sc_echo, sc_fragmented, sc_close_local, sc_close_remote};
  for (size_t s = 0; s < sizeof scenarios / sizeof scenarios[0]; s++)
    for (int ri = 0; ri < 2; ri++) {
      h_alloc a = {-1, 0, 0};
      ws_allocator al = {ha_malloc, ha_realloc, ha_free, &a};
      long total = -1;
      for (long fail = -1; fail < total || total < 0; fail++) {
        a.fail_at = fail;
        a.calls = 0;
        a.live = 0;
        h_conn *h = calloc(1, sizeof *h);
        ws_conn_options o;
        h_opts(&o, ROLES[ri], h);
        o.alloc = &al;
        h->c = ws_conn_new(&o, &H_CB, h, 0);
        if (h->c) {
          scenarios[s](h->c, ROLES[ri]);
          h_drain(h);
          if (h->c->failed)
            WS_CHECK_MSG(h->c->fail_err == WS_ERR_NOMEM, "scenario %zu fail %ld: %s", s, fail,
                         ws_errname(h->c->fail_err));
          ws_conn_eof(h->c);
          ws_conn_transport_closed(h->c, WS_OK, NULL);
          WS_CHECK_EQ_INT(h->n_close, 1);
          ws_conn_free(h->c);
          h->c = NULL;
        } else {
          WS_CHECK(fail == 0);
        }
        WS_CHECK_MSG(a.live == 0, "scenario %zu fail %ld: %ld blocks leaked", s, fail, a.live);
        if (fail == -1)
          total = a.calls;
        free(h);
      }
      WS_CHECK(total > 0);
    }
}

/* A ping flood from a peer that does not read: past WS__MAX_QUEUED_PONGS unsent pongs, a newer
 * ping rewrites the newest pong instead of queuing another (RFC 6455 5.5.3), so memory is
 * bounded whatever the flood's length. */
WS_TEST(conn_ping_flood_is_bounded) {
  h_conn *h = h_new(WS_ROLE_SERVER);
  for (int i = 0; i < 1000; i++) {
    uint8_t in[16];
    char p[8];
    int pl = snprintf(p, sizeof p, "%d", i);
    size_t n = h_frame(in, WS_ROLE_SERVER, 0x89, p, (size_t)pl);
    h_feed(h, in, n, 0);
  }
  WS_CHECK_EQ_INT(h->c->pongs, WS__MAX_QUEUED_PONGS);
  h_drain(h);
  /* The first WS__MAX_QUEUED_PONGS - 1 pongs answer pings 0..30, the last the newest ping. */
  size_t off = 0;
  for (int i = 0; i < WS__MAX_QUEUED_PONGS; i++) {
    char p[8];
    int pl = snprintf(p, sizeof p, "%d", i == WS__MAX_QUEUED_PONGS - 1 ? 999 : i);
    WS_CHECK(off + 2 + (size_t)pl <= h->out_len);
    if (off + 2 + (size_t)pl > h->out_len)
      break;
    WS_CHECK_EQ_INT(h->out[off], 0x8A);
    WS_CHECK_EQ_MEM(h->out + off + 2, h->out[off + 1], p, (size_t)pl);
    off += 2 + h->out[off + 1];
  }
  WS_CHECK_EQ_INT(off, h->out_len);
  WS_CHECK_EQ_INT(h->c->pongs, 0);
  h_free(h);
}

int main(void) { return ws_test_main(); }
