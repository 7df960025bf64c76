/* TEMPORARY stand-in for the client side of ws_conn (include/wsclean/conn.h), linked into
 * bench_loadgen only while the library has no ws_conn implementation (bench/CMakeLists.txt looks
 * for its definition in src/). It lets the load generator's loop, handshake and measurements be
 * developed and checked against the peer servers before the core lands. Client role only, the
 * subset of the API the load generator calls, no fragmentation on send, no UTF-8 validation, no
 * timers: it is NOT the library and never used once the library defines ws_conn_new.
 * RFC 6455 5.2 framing; 5.3 masking (client frames are masked). */
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "wsclean/conn.h"

#ifdef WS_BENCH_STUB_CONN

struct ws_conn {
  ws_conn_callbacks cb;
  void *ud;
  ws_random_cb rnd;
  void *rnd_ud;
  uint8_t *out;
  size_t out_off, out_len, out_cap;
  uint8_t *in; /* unparsed input kept between calls */
  size_t in_len, in_cap;
  uint8_t *msg; /* continuation frames being assembled */
  size_t msg_len, msg_cap;
  ws_opcode msg_op;
  ws_ready_state state;
  uint16_t code_sent, code_recv;
  bool close_sent, close_recv, failed, eof, reported;
};

static int grow(uint8_t **p, size_t *cap, size_t need) {
  if (need <= *cap)
    return 0;
  size_t c = *cap ? *cap : 4096;
  while (c < need)
    c *= 2;
  uint8_t *n = ws__realloc(NULL, *p, c);
  if (!n)
    return WS_ERR_NOMEM;
  *p = n;
  *cap = c;
  return 0;
}

void ws_conn_options_init(ws_conn_options *o, ws_role role) {
  memset(o, 0, sizeof *o);
  o->size = sizeof *o;
  o->role = role;
  o->max_message_size = 1u << 20;
  o->send_queue_limit = 16u << 20;
}

ws_conn *ws_conn_new(const ws_conn_options *opts, const ws_conn_callbacks *cb, void *ud,
                     uint64_t now_ms) {
  (void)now_ms;
  if (!opts || opts->role != WS_ROLE_CLIENT || !opts->random)
    return NULL;
  ws_conn *c = ws__calloc(NULL, 1, sizeof *c);
  if (!c)
    return NULL;
  c->cb = *cb;
  c->ud = ud;
  c->rnd = opts->random;
  c->rnd_ud = opts->random_ud;
  c->state = WS_OPEN;
  return c;
}

void ws_conn_free(ws_conn *c) {
  if (!c)
    return;
  ws__free(NULL, c->out);
  ws__free(NULL, c->in);
  ws__free(NULL, c->msg);
  ws__free(NULL, c);
}

static int queue_frame(ws_conn *c, ws_opcode op, const void *data, size_t len) {
  uint8_t hdr[14];
  size_t h = 0;
  hdr[h++] = (uint8_t)(0x80u | (unsigned)op);
  if (len < 126) {
    hdr[h++] = (uint8_t)(0x80u | len);
  } else if (len <= 0xFFFF) {
    hdr[h++] = 0x80 | 126;
    hdr[h++] = (uint8_t)(len >> 8);
    hdr[h++] = (uint8_t)len;
  } else {
    hdr[h++] = 0x80 | 127;
    for (int i = 7; i >= 0; i--)
      hdr[h++] = (uint8_t)((uint64_t)len >> (8 * i));
  }
  uint8_t key[4];
  c->rnd(c->rnd_ud, key, 4);
  memcpy(hdr + h, key, 4);
  h += 4;
  if (c->out_off == c->out_len)
    c->out_off = c->out_len = 0;
  if (grow(&c->out, &c->out_cap, c->out_len + h + len) != 0)
    return WS_ERR_NOMEM;
  uint8_t *p = c->out + c->out_len;
  memcpy(p, hdr, h);
  const uint8_t *d = data;
  for (size_t i = 0; i < len; i++)
    p[h + i] = (uint8_t)(d[i] ^ key[i & 3]);
  c->out_len += h + len;
  return 0;
}

int ws_conn_send(ws_conn *c, ws_opcode op, const void *data, size_t len) {
  if (c->state != WS_OPEN)
    return WS_ERR_STATE;
  return queue_frame(c, op, data, len);
}

int ws_conn_close(ws_conn *c, uint16_t code, const char *reason, size_t reason_len) {
  if (c->close_sent)
    return WS_OK;
  uint8_t body[125];
  size_t n = 0;
  if (code) {
    body[0] = (uint8_t)(code >> 8);
    body[1] = (uint8_t)code;
    n = 2;
    if (reason_len > 123)
      return WS_ERR_SYNTAX;
    memcpy(body + 2, reason, reason_len);
    n += reason_len;
  }
  c->close_sent = true;
  c->code_sent = code ? code : 1005;
  if (c->state == WS_OPEN)
    c->state = WS_CLOSING;
  return queue_frame(c, WS_OP_CLOSE, body, n);
}

static void fail(ws_conn *c, int err) {
  (void)err;
  c->failed = true;
  if (!c->close_sent)
    ws_conn_close(c, 1002, "", 0);
  c->state = WS_CLOSING;
}

/* Parses one server frame at p[0..len); returns its size, 0 when incomplete, -1 on failure. */
static long parse_one(ws_conn *c, uint8_t *p, size_t len) {
  if (len < 2)
    return 0;
  bool fin = (p[0] & 0x80) != 0;
  unsigned op = p[0] & 0x0Fu;
  if (p[1] & 0x80)
    return -1; /* RFC 6455 5.1: server frames are not masked */
  uint64_t plen = p[1] & 0x7Fu;
  size_t h = 2;
  if (plen == 126) {
    if (len < 4)
      return 0;
    plen = (uint64_t)p[2] << 8 | p[3];
    h = 4;
  } else if (plen == 127) {
    if (len < 10)
      return 0;
    plen = 0;
    for (int i = 0; i < 8; i++)
      plen = plen << 8 | p[2 + i];
    h = 10;
  }
  if (plen > (64u << 20))
    return -1;
  if (len - h < plen)
    return 0;
  uint8_t *d = p + h;
  size_t n = (size_t)plen;
  switch (op) {
  case WS_OP_TEXT:
  case WS_OP_BINARY:
    if (fin) {
      if (c->cb.on_message && c->state == WS_OPEN)
        c->cb.on_message(c, c->ud, (ws_opcode)op, d, n);
    } else {
      c->msg_op = (ws_opcode)op;
      c->msg_len = 0;
      if (grow(&c->msg, &c->msg_cap, n) != 0)
        return -1;
      memcpy(c->msg, d, n);
      c->msg_len = n;
    }
    break;
  case WS_OP_CONTINUATION:
    if (grow(&c->msg, &c->msg_cap, c->msg_len + n) != 0)
      return -1;
    memcpy(c->msg + c->msg_len, d, n);
    c->msg_len += n;
    if (fin && c->cb.on_message && c->state == WS_OPEN)
      c->cb.on_message(c, c->ud, c->msg_op, c->msg, c->msg_len);
    break;
  case WS_OP_PING:
    queue_frame(c, WS_OP_PONG, d, n);
    break;
  case WS_OP_PONG:
    break;
  case WS_OP_CLOSE:
    c->close_recv = true;
    c->code_recv = n >= 2 ? (uint16_t)(d[0] << 8 | d[1]) : 1005;
    /* RFC 6455 5.5.1: answer a close frame with one echoing its code */
    if (!c->close_sent)
      ws_conn_close(c, c->code_recv == 1005 ? 0 : c->code_recv, "", 0);
    c->state = WS_CLOSING;
    break;
  default:
    return -1;
  }
  return (long)(h + n);
}

long ws_conn_recv(ws_conn *c, uint8_t *in, size_t len) {
  uint8_t *p = in;
  size_t n = len;
  if (c->in_len) {
    if (grow(&c->in, &c->in_cap, c->in_len + len) != 0)
      return WS_ERR_NOMEM;
    memcpy(c->in + c->in_len, in, len);
    c->in_len += len;
    p = c->in;
    n = c->in_len;
  }
  size_t off = 0;
  while (off < n && !c->close_recv) {
    long r = parse_one(c, p + off, n - off);
    if (r < 0) {
      fail(c, WS_ERR_PROTO_OPCODE);
      c->in_len = 0;
      return (long)len;
    }
    if (r == 0)
      break;
    off += (size_t)r;
  }
  size_t rest = c->close_recv ? 0 : n - off;
  if (rest) {
    if (p == c->in) {
      memmove(c->in, c->in + off, rest);
    } else {
      if (grow(&c->in, &c->in_cap, rest) != 0)
        return WS_ERR_NOMEM;
      memcpy(c->in, p + off, rest);
    }
  }
  c->in_len = rest;
  return (long)len;
}

void ws_conn_eof(ws_conn *c) { c->eof = true; }
void ws_conn_tick(ws_conn *c, uint64_t now_ms) {
  (void)c;
  (void)now_ms;
}
uint64_t ws_conn_next_deadline(const ws_conn *c) {
  (void)c;
  return UINT64_MAX;
}

int ws_conn_pending_out(const ws_conn *c, ws_slice *out, int max) {
  if (max < 1 || c->out_off == c->out_len)
    return 0;
  out[0].data = c->out + c->out_off;
  out[0].len = c->out_len - c->out_off;
  return 1;
}
size_t ws_conn_pending_bytes(const ws_conn *c) { return c->out_len - c->out_off; }
void ws_conn_consume_out(ws_conn *c, size_t n) { c->out_off += n; }

ws_transport_action ws_conn_transport(const ws_conn *c) {
  if (c->failed)
    return WS_TRANSPORT_CLOSE;
  /* the client waits for the server to close TCP first (RFC 6455 7.1.1) */
  if (c->eof)
    return WS_TRANSPORT_CLOSE;
  return WS_TRANSPORT_KEEP;
}

#ifdef WS_BENCH_STUB_EVENT
/* the stand-in's CloseEvent: just what the load generator reads */
struct ws_close_event {
  uint16_t code;
  bool was_clean;
};
#endif

void ws_conn_transport_closed(ws_conn *c, int err, const char *detail) {
  (void)detail;
  if (c->reported)
    return;
  c->reported = true;
  c->state = WS_CLOSED;
  uint16_t code = c->close_recv ? c->code_recv : 1006;
  bool clean = err == WS_OK && c->close_sent && c->close_recv && !c->failed;
  if (c->failed && c->cb.on_error)
    c->cb.on_error(c, c->ud, WS_ERR_PROTO_OPCODE);
#ifdef WS_BENCH_STUB_EVENT
  struct ws_close_event ev = {code, clean};
  if (c->cb.on_close)
    c->cb.on_close(c, c->ud, &ev);
#else
  ws_close_event_init init = {.was_clean = clean, .code = code, .reason = "", .reason_len = 0};
  ws_close_event *ev = ws_close_event_new(NULL, "close", &init, 0.0);
  if (ev && c->cb.on_close)
    c->cb.on_close(c, c->ud, ev);
  ws_close_event_free(ev);
#endif
}

ws_ready_state ws_conn_ready_state(const ws_conn *c) { return c->state; }
size_t ws_conn_sizeof(void) { return sizeof(struct ws_conn); }

#ifdef WS_BENCH_STUB_EVENT
bool ws_close_event_was_clean(const ws_close_event *ev) { return ev->was_clean; }
uint16_t ws_close_event_code(const ws_close_event *ev) { return ev->code; }
#endif

#else
/* The library has ws_conn: this file compiles to nothing (ISO C wants one declaration). */
typedef int ws_bench_stubconn_unused;
#endif
