/* The closing handshake of ws_conn: every line of DESIGN.md "The close contract" that the
 * protocol core owns, both roles, byte-exact. */
#include "conn_harness.h"

static const ws_role ROLES[2] = {WS_ROLE_SERVER, WS_ROLE_CLIENT};

/* Move pending output from a to b (as a socket would), n bytes at most (0: all). */
static size_t pump(h_conn *from, h_conn *to) {
  size_t before = from->out_len;
  h_drain(from);
  size_t n = from->out_len - before;
  if (n && to->c)
    h_feed(to, from->out + before, n, 0);
  return n;
}

/* Our close frame as the conn of role `from` writes it (a client masks with H_KEY). */
static size_t our_close(uint8_t *out, ws_role from, uint16_t code, const char *reason, size_t rl) {
  uint8_t body[130];
  size_t n = 0;
  if (code) {
    body[0] = (uint8_t)(code >> 8);
    body[1] = (uint8_t)code;
    memcpy(body + 2, reason, rl);
    n = 2 + rl;
  }
  return h_frame_ex(out, 0x88, from == WS_ROLE_CLIENT, body, n);
}

/* ---- received close frames ------------------------------------------------------------------ */

/* Every code 0..65535 in a received close frame: the on-the-wire ones are echoed, the others
 * fail the connection with 1002. Both roles. */
WS_TEST(close_every_code_received) {
  int echoed = 0, refused = 0;
  h_conn *h = h_new(WS_ROLE_SERVER);
  for (int ri = 0; ri < 2; ri++) {
    ws_role role = ROLES[ri];
    for (uint32_t code = 0; code <= 0xFFFF; code++) {
      bool valid = (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
                   (code >= 3000 && code <= 4999);
      h_renew(h, role);
      uint8_t in[16];
      size_t n = h_close_frame(in, role, (uint16_t)code, "", 0);
      long used = ws_conn_recv(h->c, in, n);
      uint8_t want[16];
      h_drain(h);
      if (valid) {
        echoed++;
        size_t wn = our_close(want, role, (uint16_t)code, "", 0);
        if (h->out_len != wn || memcmp(h->out, want, wn) != 0 || used != (long)n ||
            ws_conn_close_code_received(h->c) != code || h->c->failed)
          WS_CHECK_MSG(0, "code %u (%s): not echoed", code, ri ? "client" : "server");
      } else {
        refused++;
        if (!h->c->failed || h->c->fail_err != WS_ERR_PROTO_CLOSE_CODE ||
            ws_conn_close_code_sent(h->c) != 1002 || ws_conn_close_code_received(h->c) != 0 ||
            used != (long)n)
          WS_CHECK_MSG(0, "code %u (%s): not refused", code, ri ? "client" : "server");
      }
    }
  }
  h_free(h);
  WS_CHECK_EQ_INT(echoed, 2 * (4 + 8 + 2000));
  WS_CHECK_EQ_INT(refused, 2 * (65536 - 2012));
}

/* Every close payload length 0..126. */
WS_TEST(close_every_payload_length) {
  for (int ri = 0; ri < 2; ri++) {
    ws_role role = ROLES[ri];
    for (size_t len = 0; len <= 126; len++) {
      uint8_t body[126];
      body[0] = 0x03; /* 1000 */
      body[1] = 0xe8;
      for (size_t k = 2; k < len; k++)
        body[k] = (uint8_t)('a' + k % 26);
      uint8_t in[200];
      size_t n = h_frame(in, role, 0x88, body, len);
      h_conn *h = h_new(role);
      long used = ws_conn_recv(h->c, in, n);
      h_drain(h);
      uint8_t want[200];
      if (len == 0) {
        /* No body: reported as 1005; the answer has no body either. */
        WS_CHECK_EQ_INT(ws_conn_close_code_received(h->c), 1005);
        size_t wn = our_close(want, role, 0, "", 0);
        WS_CHECK_EQ_MEM(h->out, h->out_len, want, wn);
        WS_CHECK_EQ_INT(ws_conn_close_code_sent(h->c), 1005);
        WS_CHECK(!h->c->failed);
      } else if (len == 1 || len == 126) {
        WS_CHECK_MSG(h->c->failed, "len %zu", len);
        WS_CHECK_EQ_INT(h->c->fail_err,
                        len == 1 ? WS_ERR_PROTO_CLOSE_PAYLOAD : WS_ERR_PROTO_CONTROL_TOO_LONG);
        WS_CHECK_EQ_INT(ws_conn_close_code_sent(h->c), 1002);
        WS_CHECK(used < (long)n); /* decided at the header */
      } else {
        WS_CHECK_MSG(!h->c->failed && used == (long)n, "len %zu", len);
        WS_CHECK_EQ_INT(ws_conn_close_code_received(h->c), 1000);
        size_t rl;
        const char *r = ws_conn_close_reason_received(h->c, &rl);
        WS_CHECK_EQ_MEM(r, rl, body + 2, len - 2);
        WS_CHECK(r[rl] == '\0');
        /* The echo: the code and the reason, as Python websockets and Node ws answer. */
        size_t wn = our_close(want, role, 1000, (const char *)body + 2, len - 2);
        WS_CHECK_EQ_MEM(h->out, h->out_len, want, wn);
        ws_conn_eof(h->c);
        ws_conn_transport_closed(h->c, WS_OK, NULL);
        WS_CHECK_EQ_INT(h->ev_code, 1000);
        WS_CHECK_EQ_MEM(h->ev_reason, h->ev_reason_len, body + 2, len - 2);
        WS_CHECK(h->ev_clean);
      }
      h_free(h);
    }
  }
}

/* A close reason that is not UTF-8 fails with 1007, at its first bad byte, mid-frame. */
WS_TEST(close_reason_utf8) {
  static const struct {
    const char *reason;
    size_t len;
    bool ok;
  } rows[] = {
      {"\xc3\xa9t\xc3\xa9", 5, true},   {"\xf0\x9f\x98\x80", 4, true}, {"\xff", 1, false},
      {"ok\xc0\xaf", 4, false},         {"\xed\xa0\x80", 3, false},    {"\xe2\x82", 2, false},
      {"abc\xf4\x90\x80\x80", 7, false},
  };
  for (int ri = 0; ri < 2; ri++)
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++)
      for (size_t chunk = 0; chunk <= 1; chunk++) {
        h_conn *h = h_new(ROLES[ri]);
        uint8_t in[64];
        size_t n = h_close_frame(in, ROLES[ri], 1000, rows[r].reason, rows[r].len);
        h_feed(h, in, n, chunk);
        WS_CHECK_MSG(h->c->failed != rows[r].ok, "row %zu", r);
        if (!rows[r].ok) {
          WS_CHECK_EQ_INT(h->c->fail_err, WS_ERR_PROTO_INVALID_UTF8_REASON);
          WS_CHECK_EQ_INT(ws_conn_close_code_sent(h->c), 1007);
          WS_CHECK_EQ_INT(ws_conn_close_code_received(h->c), 0);
        }
        h_free(h);
      }
  /* Fail fast: a bad byte fails before the rest of the frame arrives. */
  h_conn *h = h_new(WS_ROLE_SERVER);
  uint8_t in[64];
  size_t n = h_close_frame(in, WS_ROLE_SERVER, 1000, "a\xff" "bcdef", 7);
  long used = ws_conn_recv(h->c, in, n - 4);
  WS_CHECK(h->c->failed);
  WS_CHECK_EQ_INT(used, (long)(n - 5));
  h_free(h);
  /* The code too: the second byte of 1004 fails before the reason comes. */
  h = h_new(WS_ROLE_SERVER);
  n = h_close_frame(in, WS_ROLE_SERVER, 1004, "reason", 6);
  used = ws_conn_recv(h->c, in, 6 + 2 + 1);
  WS_CHECK_EQ_INT(used, 6 + 2);
  WS_CHECK_EQ_INT(h->c->fail_err, WS_ERR_PROTO_CLOSE_CODE);
  h_free(h);
}

/* ---- closing flows -------------------------------------------------------------------------- */

/* The server starts: send close; no data after it; the client's echo completes the handshake;
 * the server shuts TCP down and the client's EOF ends it cleanly. */
WS_TEST(close_server_initiates) {
  h_conn *s = h_new(WS_ROLE_SERVER);
  h_conn *c = h_new(WS_ROLE_CLIENT);
  WS_CHECK_EQ_INT(ws_conn_send(s->c, WS_OP_TEXT, "before", 6), WS_OK);
  WS_CHECK_EQ_INT(ws_conn_close(s->c, 1000, "bye", 3), WS_OK);
  WS_CHECK_EQ_INT(ws_conn_ready_state(s->c), WS_CLOSING);
  /* After the close frame: sends are refused, counted in bufferedAmount (WHATWG). */
  uint64_t ba = ws_conn_buffered_amount(s->c);
  WS_CHECK_EQ_INT(ws_conn_send(s->c, WS_OP_TEXT, "after", 5), WS_ERR_STATE);
  WS_CHECK_EQ_INT(ws_conn_send_fragment(s->c, WS_OP_BINARY, "x", 1, true), WS_ERR_STATE);
  WS_CHECK_EQ_INT(ws_conn_buffered_amount(s->c), ba + 6);
  WS_CHECK_EQ_INT(ws_conn_ping(s->c, "", 0), WS_ERR_STATE);
  WS_CHECK_EQ_INT(ws_conn_close(s->c, 1001, "", 0), WS_OK); /* second close: nothing */
  WS_CHECK_EQ_INT(ws_conn_transport(s->c), WS_TRANSPORT_KEEP);
  /* Exactly: the data frame, then the close frame, nothing else. */
  h_drain(s);
  static const uint8_t want[] = {0x81, 6, 'b', 'e', 'f', 'o', 'r', 'e', 0x88, 5, 0x03, 0xe8, 'b', 'y', 'e'};
  WS_CHECK_EQ_MEM(s->out, s->out_len, want, sizeof want);
  WS_CHECK(s->c->close_flushed);
  h_feed(c, s->out, s->out_len, 0);
  WS_CHECK_EQ_STR(c->log, "T:before;cf:1000:bye;");
  WS_CHECK_EQ_INT(ws_conn_transport(c->c), WS_TRANSPORT_KEEP); /* the client waits for the FIN */
  WS_CHECK_EQ_INT(ws_conn_next_deadline(c->c), 1000 + 5000);
  pump(c, s);
  WS_CHECK_EQ_INT(ws_conn_transport(s->c), WS_TRANSPORT_SHUTDOWN);
  /* The server's FIN reaches the client: it closes. */
  ws_conn_eof(c->c);
  WS_CHECK_EQ_INT(ws_conn_transport(c->c), WS_TRANSPORT_CLOSE);
  ws_conn_transport_closed(c->c, WS_OK, NULL);
  ws_conn_eof(s->c);
  WS_CHECK_EQ_INT(ws_conn_transport(s->c), WS_TRANSPORT_CLOSE);
  ws_conn_transport_closed(s->c, WS_OK, NULL);
  WS_CHECK_EQ_INT(ws_conn_ready_state(s->c), WS_CLOSED);
  WS_CHECK_EQ_STR(s->log, "cf:1000:bye;close:1000:1:WS_OK;"); /* the client echoed "bye" */
  WS_CHECK_EQ_STR(c->log, "T:before;cf:1000:bye;close:1000:1:WS_OK;");
  WS_CHECK_EQ_INT(s->diag.initiator, WS_CLOSER_LOCAL);
  WS_CHECK_EQ_INT(c->diag.initiator, WS_CLOSER_REMOTE);
  WS_CHECK_EQ_INT(s->diag.code_sent, 1000);
  WS_CHECK_EQ_INT(s->diag.code_received, 1000);
  WS_CHECK_EQ_STR(c->ev_reason, "bye");
  WS_CHECK_EQ_INT(s->n_error + c->n_error, 0);
  h_free(s);
  h_free(c);
}

/* The client starts; the server answers and shuts down; the client waits for the FIN, or
 * closes itself at the close timeout: clean either way (the handshake completed). */
WS_TEST(close_client_initiates) {
  for (int eof = 0; eof <= 1; eof++) {
    h_conn *s = h_new(WS_ROLE_SERVER);
    h_conn *c = h_new(WS_ROLE_CLIENT);
    ws_conn_close(c->c, 4000, "app", 3);
    uint8_t want[16];
    size_t wn = our_close(want, WS_ROLE_CLIENT, 4000, "app", 3);
    h_drain(c);
    WS_CHECK_EQ_MEM(c->out, c->out_len, want, wn);
    h_feed(s, c->out, c->out_len, 0);
    WS_CHECK_EQ_INT(ws_conn_transport(s->c), WS_TRANSPORT_SHUTDOWN); /* server closes first */
    WS_CHECK_EQ_INT(ws_conn_next_deadline(s->c), 6000);
    pump(s, c);
    WS_CHECK_EQ_INT(ws_conn_transport(c->c), WS_TRANSPORT_KEEP);
    ws_conn_tick(c->c, 5999);
    WS_CHECK_EQ_INT(ws_conn_transport(c->c), WS_TRANSPORT_KEEP);
    if (eof)
      ws_conn_eof(c->c);
    else
      ws_conn_tick(c->c, 6000);
    WS_CHECK_EQ_INT(ws_conn_transport(c->c), WS_TRANSPORT_CLOSE);
    ws_conn_transport_closed(c->c, WS_OK, NULL);
    WS_CHECK_EQ_STR(c->log, "cf:4000:app;close:4000:1:WS_OK;"); /* the server echoed "app" */
    WS_CHECK_EQ_INT(c->diag.initiator, WS_CLOSER_LOCAL);
    WS_CHECK_EQ_INT(c->diag.duration_ms, eof ? 4999 : 5000);
    /* The server: the client's EOF, or the close timeout, ends it; clean. */
    if (eof)
      ws_conn_eof(s->c);
    else
      ws_conn_tick(s->c, 6000);
    WS_CHECK_EQ_INT(ws_conn_transport(s->c), WS_TRANSPORT_CLOSE);
    ws_conn_transport_closed(s->c, WS_OK, NULL);
    WS_CHECK_EQ_STR(s->log, "cf:4000:app;close:4000:1:WS_OK;");
    WS_CHECK_EQ_STR(s->ev_reason, "app");
    h_free(s);
    h_free(c);
  }
}

/* Simultaneous close: both send a close frame before seeing the other's. */
WS_TEST(close_simultaneous) {
  h_conn *s = h_new(WS_ROLE_SERVER);
  h_conn *c = h_new(WS_ROLE_CLIENT);
  ws_conn_close(s->c, 1001, "s", 1);
  ws_conn_close(c->c, 1000, "c", 1);
  size_t s_out = pump(s, c);
  size_t c_out = pump(c, s);
  /* Each sent exactly one close frame: no echo of the other's. */
  WS_CHECK_EQ_INT(s_out, 2 + 3);
  WS_CHECK_EQ_INT(c_out, 2 + 4 + 3);
  WS_CHECK_EQ_INT(pump(s, c) + pump(c, s), 0);
  WS_CHECK_EQ_INT(ws_conn_transport(s->c), WS_TRANSPORT_SHUTDOWN);
  WS_CHECK_EQ_INT(ws_conn_transport(c->c), WS_TRANSPORT_KEEP);
  ws_conn_eof(c->c);
  ws_conn_transport_closed(c->c, WS_OK, NULL);
  ws_conn_eof(s->c);
  ws_conn_transport_closed(s->c, WS_OK, NULL);
  WS_CHECK_EQ_STR(s->log, "cf:1000:c;close:1000:1:WS_OK;");
  WS_CHECK_EQ_STR(c->log, "cf:1001:s;close:1001:1:WS_OK;");
  WS_CHECK_EQ_INT(s->diag.code_sent, 1001);
  WS_CHECK_EQ_INT(s->diag.code_received, 1000);
  WS_CHECK_EQ_INT(s->diag.initiator, WS_CLOSER_LOCAL);
  h_free(s);
  h_free(c);
}

/* The peer starts: the echo is queued at once; the server shuts down, the client keeps. */
WS_TEST(close_peer_initiates_echo) {
  for (int ri = 0; ri < 2; ri++) {
    ws_role role = ROLES[ri];
    h_conn *h = h_new(role);
    uint8_t in[64];
    size_t n = h_close_frame(in, role, 1012, "restart", 7);
    WS_CHECK_EQ_INT(h_feed(h, in, n, 0), n);
    WS_CHECK_EQ_INT(ws_conn_ready_state(h->c), WS_CLOSING);
    WS_CHECK_EQ_INT(ws_conn_transport(h->c),
                    role == WS_ROLE_SERVER ? WS_TRANSPORT_SHUTDOWN : WS_TRANSPORT_KEEP);
    WS_CHECK_EQ_INT(ws_conn_close(h->c, 1000, "", 0), WS_OK); /* already closing: nothing */
    h_drain(h);
    uint8_t want[32];
    size_t wn = our_close(want, role, 1012, "restart", 7); /* code and reason echoed */
    WS_CHECK_EQ_MEM(h->out, h->out_len, want, wn);
    ws_conn_eof(h->c);
    ws_conn_transport_closed(h->c, WS_OK, NULL);
    WS_CHECK_EQ_STR(h->log, "cf:1012:restart;close:1012:1:WS_OK;");
    WS_CHECK_EQ_INT(h->diag.initiator, WS_CLOSER_REMOTE);
    h_free(h);
  }
}

/* Data received before the close frame is delivered intact and in order; data after it is
 * discarded (same read, a later read, fragments cut by the close). */
WS_TEST(close_data_before_delivered_after_discarded) {
  for (int ri = 0; ri < 2; ri++) {
    ws_role role = ROLES[ri];
    uint8_t in[512];
    size_t n = 0;
    n += h_frame(in + n, role, 0x81, "one", 3);
    n += h_frame(in + n, role, 0x82, "two", 3);
    n += h_frame(in + n, role, 0x01, "thr", 3);
    n += h_frame(in + n, role, 0x80, "ee", 2);
    n += h_frame(in + n, role, 0x01, "cut", 3); /* unfinished when the close comes */
    n += h_close_frame(in + n, role, 1000, "", 0);
    n += h_frame(in + n, role, 0x80, "late", 4);
    n += h_frame(in + n, role, 0x81, "late", 4);
    n += h_frame(in + n, role, 0x89, "late", 4);
    n += h_frame(in + n, role, 0xFF, "bad", 3); /* even a protocol error is ignored */
    for (size_t at = 0; at <= n; at++) {
      h_conn *h = h_new(role);
      WS_CHECK_EQ_INT(h_feed_split(h, in, n, at), n);
      WS_CHECK_MSG(strcmp(h->log, "T:one;B3;T:three;cf:1000:;") == 0, "at %zu: %s", at, h->log);
      WS_CHECK(!h->c->failed && h->c->msg.data == NULL);
      uint8_t again[16];
      size_t k = h_frame(again, role, 0x81, "more", 4);
      WS_CHECK_EQ_INT(ws_conn_recv(h->c, again, k), k);
      WS_CHECK_EQ_INT(h->n_msg, 3);
      h_drain(h);
      uint8_t want[16];
      WS_CHECK_EQ_MEM(h->out, h->out_len, want, our_close(want, role, 1000, "", 0)); /* no pong */
      h_free(h);
    }
  }
}

/* After our close frame: pings are not answered, messages still arrive until the peer's close. */
WS_TEST(close_after_ours_no_more_frames) {
  h_conn *h = h_new(WS_ROLE_SERVER);
  ws_conn_close(h->c, 1000, "", 0);
  uint8_t in[64];
  size_t n = h_frame(in, WS_ROLE_SERVER, 0x89, "p", 1);
  n += h_frame(in + n, WS_ROLE_SERVER, 0x81, "still", 5);
  h_feed(h, in, n, 0);
  h_drain(h);
  static const uint8_t want[] = {0x88, 0x02, 0x03, 0xe8};
  WS_CHECK_EQ_MEM(h->out, h->out_len, want, sizeof want);
  WS_CHECK_EQ_STR(h->log, "ping:p;T:still;");
  h_free(h);
}

/* A peer that never answers our close frame is cut at the close timeout: 1006, not clean, no
 * error event (the connection was not failed). */
WS_TEST(close_timeout) {
  for (int ri = 0; ri < 2; ri++) {
    ws_conn_options o;
    h_opts(&o, ROLES[ri], NULL);
    o.close_timeout_ms = 300;
    h_conn *h = h_new_opts(&o);
    ws_conn_tick(h->c, 2000);
    ws_conn_close(h->c, 1000, "", 0);
    WS_CHECK_EQ_INT(ws_conn_next_deadline(h->c), 2300);
    ws_conn_tick(h->c, 2299);
    WS_CHECK_EQ_INT(ws_conn_transport(h->c), WS_TRANSPORT_KEEP);
    ws_conn_tick(h->c, 2300);
    WS_CHECK_EQ_INT(ws_conn_transport(h->c), WS_TRANSPORT_CLOSE);
    WS_CHECK_EQ_INT(ws_conn_next_deadline(h->c), UINT64_MAX);
    ws_conn_transport_closed(h->c, WS_OK, NULL);
    WS_CHECK_EQ_STR(h->log, "close:1006:0:WS_ERR_PROTO_CLOSE_TIMEOUT;");
    WS_CHECK_EQ_INT(h->diag.code_sent, 1000);
    WS_CHECK_EQ_INT(h->diag.code_received, 0);
    WS_CHECK_EQ_INT(h->diag.duration_ms, 1300);
    h_free(h);
  }
}

/* TCP EOF at every state. */
WS_TEST(close_eof_at_every_state) {
  for (int ri = 0; ri < 2; ri++) {
    ws_role role = ROLES[ri];
    uint8_t in[64];
    /* OPEN, idle: 1006, not clean, no error event. */
    h_conn *h = h_new(role);
    ws_conn_eof(h->c);
    WS_CHECK_EQ_INT(ws_conn_transport(h->c), WS_TRANSPORT_CLOSE);
    WS_CHECK_EQ_INT(ws_conn_ready_state(h->c), WS_CLOSING);
    WS_CHECK_EQ_INT(ws_conn_send(h->c, WS_OP_TEXT, "x", 1), WS_ERR_STATE);
    WS_CHECK_EQ_INT(ws_conn_close(h->c, 1000, "", 0), WS_OK);
    WS_CHECK_EQ_INT(ws_conn_pending_bytes(h->c), 0); /* no close frame into a dead socket */
    ws_conn_transport_closed(h->c, WS_ERR_PROTO_EOF, NULL);
    WS_CHECK_EQ_STR(h->log, "close:1006:0:WS_ERR_PROTO_EOF;");
    h_free(h);
    /* OPEN, in the middle of a frame and of a fragmented message. */
    h = h_new(role);
    size_t n = h_frame(in, role, 0x01, "abc", 3);
    n += h_frame(in + n, role, 0x80, "defgh", 5);
    h_feed(h, in, n - 2, 0);
    ws_conn_eof(h->c);
    WS_CHECK_EQ_INT(ws_conn_recv(h->c, in + n - 2, 2), 2); /* discarded */
    ws_conn_transport_closed(h->c, WS_OK, NULL);
    WS_CHECK_EQ_STR(h->log, "close:1006:0:WS_ERR_PROTO_EOF;");
    h_free(h);
    /* In the middle of the peer's close frame. */
    h = h_new(role);
    n = h_close_frame(in, role, 1000, "partial", 7);
    h_feed(h, in, n - 1, 0);
    ws_conn_eof(h->c);
    ws_conn_transport_closed(h->c, WS_OK, NULL);
    WS_CHECK_EQ_STR(h->log, "close:1006:0:WS_ERR_PROTO_EOF;");
    h_free(h);
    /* CLOSING, we sent close and the peer hung up without answering. */
    h = h_new(role);
    ws_conn_close(h->c, 1000, "", 0);
    ws_conn_eof(h->c);
    WS_CHECK_EQ_INT(ws_conn_transport(h->c), WS_TRANSPORT_CLOSE);
    ws_conn_transport_closed(h->c, WS_OK, NULL);
    WS_CHECK_EQ_STR(h->log, "close:1006:0:WS_ERR_PROTO_EOF;");
    WS_CHECK_EQ_INT(h->diag.code_sent, 1000);
    h_free(h);
    /* CLOSING, the peer's close received (handshake complete, echo maybe unflushed): clean. */
    h = h_new(role);
    n = h_close_frame(in, role, 1000, "", 0);
    h_feed(h, in, n, 0);
    ws_conn_eof(h->c);
    WS_CHECK_EQ_INT(ws_conn_transport(h->c), WS_TRANSPORT_CLOSE);
    ws_conn_transport_closed(h->c, WS_OK, NULL);
    WS_CHECK_EQ_STR(h->log, "cf:1000:;close:1000:1:WS_OK;");
    h_free(h);
    /* Failed, then EOF: error + 1006 with the failure's error. */
    h = h_new(role);
    n = h_frame(in, role, 0x83, "", 0);
    h_feed(h, in, n, 0);
    WS_CHECK_EQ_INT(ws_conn_transport(h->c), WS_TRANSPORT_SHUTDOWN);
    ws_conn_eof(h->c);
    WS_CHECK_EQ_INT(ws_conn_transport(h->c), WS_TRANSPORT_CLOSE);
    ws_conn_transport_closed(h->c, WS_OK, NULL);
    WS_CHECK_EQ_STR(h->log, "error:WS_ERR_PROTO_OPCODE;close:1006:0:WS_ERR_PROTO_OPCODE;");
    h_free(h);
    /* CLOSED: EOF, ticks and a second transport_closed change nothing. */
    h = h_new(role);
    ws_conn_transport_closed(h->c, WS_ERR_PROTO_EOF, NULL);
    ws_conn_eof(h->c);
    ws_conn_tick(h->c, 1u << 30);
    ws_conn_transport_closed(h->c, WS_OK, NULL);
    WS_CHECK_EQ_INT(h->n_close, 1);
    WS_CHECK_EQ_INT(ws_conn_ready_state(h->c), WS_CLOSED);
    WS_CHECK_EQ_INT(ws_conn_recv(h->c, in, 3), 3);
    WS_CHECK_EQ_INT(ws_conn_send(h->c, WS_OP_TEXT, "x", 1), WS_ERR_STATE);
    h_free(h);
  }
}

/* A transport failure (TLS, I/O) before the handshake completes fails the connection. */
WS_TEST(close_transport_error_fails) {
  h_conn *h = h_new(WS_ROLE_CLIENT);
  ws_conn_transport_closed(h->c, WS_ERR_UNSUPPORTED, "tls: bad record mac");
  WS_CHECK_EQ_STR(h->log, "error:WS_ERR_UNSUPPORTED;close:1006:0:WS_ERR_UNSUPPORTED;");
  WS_CHECK_EQ_STR(h->detail, "tls: bad record mac");
  h_free(h);
}

/* on_close may free the connection. */
WS_TEST(close_free_inside_on_close) {
  h_conn *h = h_new(WS_ROLE_SERVER);
  h->free_in_close = true;
  ws_conn_send(h->c, WS_OP_TEXT, "queued", 6);
  ws_conn_transport_closed(h->c, WS_OK, NULL);
  WS_CHECK(h->c == NULL);
  WS_CHECK_EQ_INT(h->n_close, 1);
  h_free(h);
}

/* ws_conn_close's own checks. */
WS_TEST(close_api_validation) {
  h_conn *h = h_new(WS_ROLE_SERVER);
  static const uint16_t bad[] = {1, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    WS_CHECK_EQ_INT(ws_conn_close(h->c, bad[i], "", 0), WS_ERR_INVAL);
  char r124[124];
  memset(r124, 'r', sizeof r124);
  WS_CHECK_EQ_INT(ws_conn_close(h->c, 1000, r124, 124), WS_ERR_SYNTAX);
  WS_CHECK_EQ_INT(ws_conn_close(h->c, 1000, "\xff", 1), WS_ERR_SYNTAX);
  WS_CHECK_EQ_INT(ws_conn_close(h->c, 0, "x", 1), WS_ERR_INVAL);
  WS_CHECK_EQ_INT(ws_conn_ready_state(h->c), WS_OPEN);
  WS_CHECK_EQ_INT(ws_conn_close(h->c, 1000, r124, 123), WS_OK); /* 123 bytes: the most */
  h_drain(h);
  WS_CHECK_EQ_INT(h->out_len, 2 + 125);
  WS_CHECK_EQ_INT(h->out[1], 125);
  h_free(h);
  /* Code 0: a close frame with an empty body, reported as 1005 sent. */
  h = h_new(WS_ROLE_SERVER);
  WS_CHECK_EQ_INT(ws_conn_close(h->c, 0, NULL, 0), WS_OK);
  h_drain(h);
  static const uint8_t empty[] = {0x88, 0x00};
  WS_CHECK_EQ_MEM(h->out, h->out_len, empty, 2);
  WS_CHECK_EQ_INT(ws_conn_close_code_sent(h->c), 1005);
  h_free(h);
}

/* ws_conn_fail: the failing connection sends what was queued before (nothing is lost), then its
 * close frame, and asks for a shutdown at once, without waiting for the peer. */
WS_TEST(close_fail_api) {
  h_conn *h = h_new(WS_ROLE_SERVER);
  ws_conn_send(h->c, WS_OP_TEXT, "started", 7);
  ws_conn_send(h->c, WS_OP_TEXT, "kept", 4);
  ws_conn_consume_out(h->c, 4); /* header + "st" */
  ws_conn_fail(h->c, WS_ERR_PROTO_POLICY, 0);
  WS_CHECK_EQ_INT(ws_conn_transport(h->c), WS_TRANSPORT_SHUTDOWN);
  h_drain(h);
  uint8_t want[128];
  memcpy(want, "arted\x81\x04kept", 11);
  size_t wn = 11 + h_fail_frame(want + 11, WS_ROLE_SERVER, 1008, WS_ERR_PROTO_POLICY);
  WS_CHECK_EQ_MEM(h->out, h->out_len, want, wn);
  ws_conn_fail(h->c, WS_ERR_PROTO_RSV, 0); /* once only */
  ws_conn_tick(h->c, 1000 + 5000);
  WS_CHECK_EQ_INT(ws_conn_transport(h->c), WS_TRANSPORT_CLOSE);
  ws_conn_transport_closed(h->c, WS_OK, NULL);
  WS_CHECK_EQ_STR(h->log, "error:WS_ERR_PROTO_POLICY;close:1006:0:WS_ERR_PROTO_POLICY;");
  h_free(h);
  /* An explicit code, and failing after our close frame: no second close frame. */
  h = h_new(WS_ROLE_SERVER);
  ws_conn_fail(h->c, WS_ERR_PROTO_GOING_AWAY, 1013);
  WS_CHECK_EQ_INT(ws_conn_close_code_sent(h->c), 1013);
  h_free(h);
  h = h_new(WS_ROLE_SERVER);
  ws_conn_close(h->c, 1000, "", 0);
  ws_conn_fail(h->c, WS_ERR_PROTO_RSV, 0);
  h_drain(h);
  WS_CHECK_EQ_INT(h->out_len, 4);
  WS_CHECK_EQ_INT(ws_conn_close_code_sent(h->c), 1000);
  h_free(h);
}

/* ---- timers ----------------------------------------------------------------------------------- */

/* Idle timeout: nothing received for idle_timeout_ms -> close 1001, then the close timeout. */
WS_TEST(close_idle_timeout) {
  for (int answer = 0; answer <= 1; answer++) {
    ws_conn_options o;
    h_opts(&o, WS_ROLE_SERVER, NULL);
    o.idle_timeout_ms = 1000;
    h_conn *h = h_new_opts(&o);
    WS_CHECK_EQ_INT(ws_conn_next_deadline(h->c), 2000);
    ws_conn_tick(h->c, 1500);
    uint8_t in[64];
    size_t n = h_frame(in, WS_ROLE_SERVER, 0x81, "hi", 2);
    h_feed(h, in, n, 0); /* received at 1500: the timer restarts */
    WS_CHECK_EQ_INT(ws_conn_next_deadline(h->c), 2500);
    ws_conn_tick(h->c, 2499);
    WS_CHECK_EQ_INT(ws_conn_ready_state(h->c), WS_OPEN);
    ws_conn_tick(h->c, 2500);
    WS_CHECK_EQ_INT(ws_conn_ready_state(h->c), WS_CLOSING);
    h_drain(h);
    static const uint8_t want[] = {0x88, 14, 0x03, 0xe9, 'i', 'd', 'l', 'e', ' ', 't', 'i', 'm', 'e', 'o', 'u', 't'};
    WS_CHECK_EQ_MEM(h->out, h->out_len, want, sizeof want);
    WS_CHECK_EQ_INT(ws_conn_next_deadline(h->c), 7500);
    if (answer) {
      n = h_close_frame(in, WS_ROLE_SERVER, 1001, "", 0);
      h_feed(h, in, n, 0);
      ws_conn_eof(h->c);
      ws_conn_transport_closed(h->c, WS_OK, NULL);
      WS_CHECK_EQ_STR(h->log, "T:hi;cf:1001:;close:1001:1:WS_OK;");
    } else {
      ws_conn_tick(h->c, 7500);
      WS_CHECK_EQ_INT(ws_conn_transport(h->c), WS_TRANSPORT_CLOSE);
      ws_conn_transport_closed(h->c, WS_OK, NULL);
      WS_CHECK_EQ_STR(h->log, "T:hi;close:1006:0:WS_ERR_PROTO_CLOSE_TIMEOUT;");
      WS_CHECK(strstr(h->detail, "idle") != NULL);
    }
    h_free(h);
  }
}

/* Keepalive: a ping after ping_interval_ms of silence; a pong keeps it alive; none -> fail. */
WS_TEST(close_keepalive_ping_timeout) {
  ws_conn_options o;
  h_opts(&o, WS_ROLE_CLIENT, NULL);
  o.ping_interval_ms = 100;
  o.ping_timeout_ms = 50;
  h_conn *h = h_new_opts(&o);
  WS_CHECK_EQ_INT(ws_conn_next_deadline(h->c), 1100);
  ws_conn_tick(h->c, 1100);
  h_drain(h);
  static const uint8_t ping[] = {0x89, 0x80, 0x37, 0xfa, 0x21, 0x3d};
  WS_CHECK_EQ_MEM(h->out, h->out_len, ping, sizeof ping);
  WS_CHECK_EQ_INT(ws_conn_next_deadline(h->c), 1150);
  ws_conn_tick(h->c, 1120);
  uint8_t in[8];
  size_t n = h_frame(in, WS_ROLE_CLIENT, 0x8A, "", 0);
  h_feed(h, in, n, 0);
  WS_CHECK_EQ_INT(ws_conn_next_deadline(h->c), 1220);
  ws_conn_tick(h->c, 1220); /* second ping */
  WS_CHECK_EQ_INT(ws_conn_next_deadline(h->c), 1270);
  ws_conn_tick(h->c, 1269);
  WS_CHECK(!h->c->failed);
  ws_conn_tick(h->c, 1270);
  WS_CHECK(h->c->failed);
  WS_CHECK_EQ_INT(ws_conn_close_code_sent(h->c), 1011);
  WS_CHECK_EQ_INT(ws_conn_transport(h->c), WS_TRANSPORT_SHUTDOWN);
  ws_conn_tick(h->c, 1270 + 5000);
  WS_CHECK_EQ_INT(ws_conn_transport(h->c), WS_TRANSPORT_CLOSE);
  ws_conn_transport_closed(h->c, WS_OK, NULL);
  WS_CHECK_EQ_STR(h->log, "pong:;error:WS_ERR_PROTO_PING_TIMEOUT;close:1006:0:WS_ERR_PROTO_PING_TIMEOUT;");
  h_free(h);
}

WS_TEST(close_no_timers_by_default) {
  h_conn *h = h_new(WS_ROLE_SERVER);
  WS_CHECK_EQ_INT(ws_conn_next_deadline(h->c), UINT64_MAX);
  ws_conn_tick(h->c, 1ull << 40);
  WS_CHECK_EQ_INT(ws_conn_ready_state(h->c), WS_OPEN);
  WS_CHECK_EQ_INT(ws_conn_pending_bytes(h->c), 0);
  h_free(h);
}

int main(void) { return ws_test_main(); }
