/* Reading payload straight into the message buffer (src/proto/conn_direct.h), byte-exact: the
 * message delivered is the one sent whatever the read sizes, mixed with ordinary reads and
 * fragments; nothing but plain data payload is offered; bad text fails as with ws_conn_recv;
 * memory grows only with what was received; a failed allocation falls back cleanly. */
#include "conn_harness.h"
#include "proto/conn_direct.h"
#include "wsclean/deflate.h"

static uint8_t g_in[(1 << 19) + 64];
static uint8_t g_pay[1 << 19];

/* Feed in[0..n): ordinary reads of `plain` bytes while no direct pointer is offered, direct
 * reads of at most `chunk` bytes when one is. Returns the bytes consumed; *directs counts the
 * direct reads. */
static size_t feed_direct(h_conn *h, const uint8_t *in, size_t n, size_t chunk, size_t plain,
                          long *directs) {
  size_t pos = 0;
  while (pos < n) {
    size_t room = 99;
    uint8_t *p = ws__conn_recv_direct(h->c, 0, &room);
    if (p) {
      size_t k = room < chunk ? room : chunk;
      k = k < n - pos ? k : n - pos;
      memcpy(p, in + pos, k);
      long r = ws__conn_recv_commit(h->c, k);
      if (r < 0)
        return pos;
      pos += (size_t)r;
      (*directs)++;
      if ((size_t)r < k)
        return pos;
    } else {
      WS_CHECK_EQ_INT(room, 0);
      size_t k = plain < n - pos ? plain : n - pos;
      uint8_t tmp[64];
      memcpy(tmp, in + pos, k);
      long r = ws_conn_recv(h->c, tmp, k);
      if (r < 0)
        return pos;
      pos += (size_t)r;
      if ((size_t)r < k || h->c->failed)
        return pos;
    }
  }
  return pos;
}

/* role, opcode, message size, direct read size, ordinary read size (headers), fragments */
WS_TEST(conn_direct_reads_deliver_the_message) {
  static const struct {
    ws_role role;
    uint8_t op;
    size_t n;
    size_t chunk, plain;
    int frags;
  } rows[] = {
      {WS_ROLE_SERVER, 0x2, 20000, 4096, 64, 1},
      {WS_ROLE_SERVER, 0x2, 300000, 65536, 64, 1},
      {WS_ROLE_SERVER, 0x2, 70001, 7, 3, 1},
      {WS_ROLE_SERVER, 0x1, 100000, 999, 5, 1},
      {WS_ROLE_CLIENT, 0x2, 100000, 1 << 20, 64, 1},
      {WS_ROLE_CLIENT, 0x1, 5000, 1, 1, 1},
      {WS_ROLE_SERVER, 0x2, 200000, 50000, 17, 3},
  };
  for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
    size_t n = rows[r].n;
    for (size_t i = 0; i < n; i++)
      g_pay[i] = rows[r].op == 0x1 ? (uint8_t)('a' + i % 26) : (uint8_t)(i * 13 + r);
    size_t len = 0, per = n / (size_t)rows[r].frags;
    for (int f = 0; f < rows[r].frags; f++) {
      size_t off = (size_t)f * per, k = f == rows[r].frags - 1 ? n - off : per;
      uint8_t b0 = (uint8_t)((f ? 0 : rows[r].op) | (f == rows[r].frags - 1 ? 0x80 : 0));
      len += h_frame(g_in + len, rows[r].role, b0, g_pay + off, k);
    }
    h_conn *h = h_new(rows[r].role);
    long directs = 0;
    WS_CHECK_EQ_INT(feed_direct(h, g_in, len, rows[r].chunk, rows[r].plain, &directs), len);
    WS_CHECK_MSG(h->n_msg == 1 && !h->c->failed, "row %zu: %d messages", r, h->n_msg);
    WS_CHECK_MSG(h->last_msg_len == (n < sizeof h->last_msg ? n : sizeof h->last_msg) &&
                     memcmp(h->last_msg, g_pay, h->last_msg_len) == 0,
                 "row %zu: message bytes", r);
    WS_CHECK_MSG(directs > 0, "row %zu: no direct read", r);
    WS_CHECK(h->c->msg.data == NULL);
    h_free(h);
  }
}

/* Only plain payload of a data frame is offered: not a header, not a control frame's payload,
 * not below min, not after a failure; a commit without an offer or past its room is refused. */
WS_TEST(conn_direct_only_data_payload) {
  h_conn *h = h_new(WS_ROLE_SERVER);
  size_t room = 1;
  WS_CHECK(ws__conn_recv_direct(h->c, 0, &room) == NULL); /* a header is due */
  WS_CHECK_EQ_INT(room, 0);
  WS_CHECK_EQ_INT(ws__conn_recv_commit(h->c, 1), WS_ERR_INVAL);
  WS_CHECK_EQ_INT(ws__conn_recv_commit(h->c, 0), WS_ERR_INVAL);
  uint8_t ping[200];
  size_t pl = h_frame(ping, WS_ROLE_SERVER, 0x89, "0123456789", 10);
  WS_CHECK_EQ_INT(ws_conn_recv(h->c, ping, 6), 6); /* the ping's header */
  WS_CHECK(ws__conn_recv_direct(h->c, 0, &room) == NULL);
  WS_CHECK_EQ_INT(ws_conn_recv(h->c, ping + 6, pl - 6), pl - 6);
  WS_CHECK_EQ_INT(h->n_ping, 1);
  for (size_t i = 0; i < 40000; i++)
    g_pay[i] = (uint8_t)i;
  size_t len = h_frame(g_in, WS_ROLE_SERVER, 0x82, g_pay, 40000);
  WS_CHECK_EQ_INT(ws_conn_recv(h->c, g_in, 8), 8); /* header (2 + 2 + 4) */
  WS_CHECK(ws__conn_recv_direct(h->c, 40001, &room) == NULL); /* min */
  uint8_t *p = ws__conn_recv_direct(h->c, 40000, &room);
  WS_CHECK(p != NULL);
  WS_CHECK_EQ_INT(room, 40000);
  WS_CHECK_EQ_INT(ws__conn_recv_commit(h->c, room + 1), WS_ERR_INVAL);
  memcpy(p, g_in + 8, 39999);
  WS_CHECK_EQ_INT(ws__conn_recv_commit(h->c, 39999), 39999);
  p = ws__conn_recv_direct(h->c, 0, &room);
  WS_CHECK(p != NULL);
  WS_CHECK_EQ_INT(room, 1);
  *p = g_in[len - 1];
  WS_CHECK_EQ_INT(ws__conn_recv_commit(h->c, 1), 1);
  WS_CHECK_EQ_INT(h->n_msg, 1);
  WS_CHECK_EQ_MEM(h->last_msg, h->last_msg_len, g_pay, 40000);
  WS_CHECK(ws__conn_recv_direct(h->c, 0, &room) == NULL); /* the next header is due */
  h_free(h);
}

/* A compressed message (RSV1, RFC 7692) is inflated as it arrives: never read in place. */
WS_TEST(conn_direct_not_for_compressed_messages) {
  ws_deflate_params dp = {true, 15, 15, false, false, 6, 8, 128};
  ws_conn_options o;
  h_opts(&o, WS_ROLE_SERVER, NULL);
  o.deflate = &dp;
  h_conn *h = h_new_opts(&o);
  WS_CHECK(h->c != NULL && h->c->pmd != NULL);
  uint8_t hdr[8] = {0xC2, 0xFE, 0x9C, 0x40, 1, 2, 3, 4}; /* FIN RSV1 binary, 40000 B, masked */
  WS_CHECK_EQ_INT(ws_conn_recv(h->c, hdr, 8), 8);
  size_t room = 1;
  WS_CHECK(ws__conn_recv_direct(h->c, 0, &room) == NULL && room == 0);
  h_free(h);
}

/* A peer that announces a big frame and sends little pins no more than ws_conn_recv would
 * hold: the room offered is 64 KiB, then at most what the message already holds. */
WS_TEST(conn_direct_memory_follows_the_bytes) {
  ws_conn_options o;
  h_opts(&o, WS_ROLE_SERVER, NULL);
  o.max_message_size = 8u << 20;
  h_conn *h = h_new_opts(&o);
  uint8_t hdr[14] = {0x82, 0xFF, 0, 0, 0, 0, 0, 0x70, 0, 0, 1, 2, 3, 4}; /* 7 MiB, masked */
  WS_CHECK_EQ_INT(ws_conn_recv(h->c, hdr, 14), 14);
  size_t room = 0;
  uint8_t *p = ws__conn_recv_direct(h->c, 0, &room);
  WS_CHECK(p != NULL);
  WS_CHECK_EQ_INT(room, 65536);
  WS_CHECK(h->c->msg.cap <= 65536);
  memset(p, 0, 100);
  WS_CHECK_EQ_INT(ws__conn_recv_commit(h->c, 100), 100);
  p = ws__conn_recv_direct(h->c, 0, &room);
  WS_CHECK(p != NULL && room == 65536 - 100);
  WS_CHECK_EQ_INT(ws__conn_recv_commit(h->c, room + 1), WS_ERR_INVAL); /* past the room */
  memset(p, 0, room);
  WS_CHECK_EQ_INT(ws__conn_recv_commit(h->c, room), room);
  p = ws__conn_recv_direct(h->c, 0, &room);
  WS_CHECK(p != NULL && room == 65536); /* doubled */
  WS_CHECK(h->c->msg.cap <= 131072);
  h_free(h);
}

/* Bad UTF-8 read in place fails the connection at the bad byte (1007), as ws_conn_recv does. */
WS_TEST(conn_direct_bad_text_fails) {
  h_conn *h = h_new(WS_ROLE_CLIENT);
  memset(g_pay, 'a', 30000);
  g_pay[20000] = 0xFF;
  size_t len = h_frame(g_in, WS_ROLE_CLIENT, 0x81, g_pay, 30000);
  WS_CHECK_EQ_INT(ws_conn_recv(h->c, g_in, 4), 4);
  size_t room = 0;
  uint8_t *p = ws__conn_recv_direct(h->c, 0, &room);
  WS_CHECK(p != NULL && room == 30000);
  memcpy(p, g_in + 4, len - 4);
  WS_CHECK_EQ_INT(ws__conn_recv_commit(h->c, len - 4), 20001);
  WS_CHECK(h->c->failed);
  WS_CHECK_EQ_INT(h->c->fail_err, WS_ERR_PROTO_INVALID_UTF8);
  WS_CHECK_EQ_INT(h->c->code_sent, 1007);
  WS_CHECK_EQ_INT(h->n_msg, 0);
  WS_CHECK(h->c->msg.data == NULL);
  WS_CHECK(ws__conn_recv_direct(h->c, 0, &room) == NULL);
  h_free(h);
}

/* Every allocation fails once: the offer is withdrawn (NULL), the ordinary read then reports
 * WS_ERR_NOMEM, nothing leaks. */
WS_TEST(conn_direct_every_allocation_fails_once) {
  for (size_t i = 0; i < 100000; i++)
    g_pay[i] = (uint8_t)(i * 3);
  size_t len = h_frame(g_in, WS_ROLE_SERVER, 0x82, g_pay, 100000);
  long total = -1;
  for (long fail = -1; fail < total || total < 0; fail++) {
    h_alloc a = {fail, 0, 0};
    ws_allocator al = {ha_malloc, ha_realloc, ha_free, &a};
    h_conn *h = calloc(1, sizeof *h);
    ws_conn_options o;
    h_opts(&o, WS_ROLE_SERVER, h);
    o.alloc = &al;
    h->c = ws_conn_new(&o, &H_CB, h, 0);
    if (h->c) {
      long directs = 0;
      feed_direct(h, g_in, len, 30000, 64, &directs);
      if (h->c->failed)
        WS_CHECK_MSG(h->c->fail_err == WS_ERR_NOMEM, "fail %ld: %s", fail,
                     ws_errname(h->c->fail_err));
      else
        WS_CHECK_MSG(h->n_msg == 1, "fail %ld: neither failed nor delivered", fail);
      ws_conn_free(h->c);
    }
    WS_CHECK_MSG(a.live == 0, "fail %ld: %ld blocks leaked", fail, a.live);
    if (fail == -1)
      total = a.calls;
    free(h);
  }
  WS_CHECK(total >= 3);
}

int main(void) { return ws_test_main(); }
