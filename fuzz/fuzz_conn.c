/* libFuzzer: the ws_conn state machine, both roles, with fuzzer-chosen input frames, chunking,
 * time, API calls and transport events. Invariants checked on every step:
 *   - recv never consumes more than it was given; pending_out slices add up to pending_bytes;
 *   - readyState never goes backwards; on_close fires exactly once, on_error at most once and
 *     only before on_close and only when the connection failed;
 *   - everything we wrote parses as well-formed frames (client masked, server not), control
 *     frames <= 125 bytes, nothing after our close frame, at most one close frame;
 *   - every message delivered as text is valid UTF-8.
 * Input: [role/options byte] then a script of [op][args...]. */
#include <stdlib.h>
#include <string.h>

#include "proto/frame.h"
#include "proto/utf8.h"
#include "wsclean/conn.h"

#define CHECK(x)                                                                                   \
  do {                                                                                             \
    if (!(x))                                                                                      \
      abort();                                                                                     \
  } while (0)

typedef struct {
  int closes, errors;
  bool closed_seen;
  bool free_now;
  uint8_t out[1 << 16];
  size_t out_len;
} rec;

static int on_message(ws_conn *c, void *ud, ws_opcode op, const uint8_t *d, size_t n) {
  (void)c;
  rec *r = ud;
  CHECK(!r->closed_seen);
  CHECK(op == WS_OP_TEXT || op == WS_OP_BINARY);
  if (op == WS_OP_TEXT)
    CHECK(ws__utf8_valid(d, n));
  return n == 3 && d[0] == 'E' ? 1 : 0; /* "E.." makes the handler fail */
}
static void on_error(ws_conn *c, void *ud, int err) {
  rec *r = ud;
  CHECK(err < 0 && r->errors == 0 && r->closes == 0 && ws_conn_failed(c));
  r->errors++;
}
static void on_close(ws_conn *c, void *ud, const ws_close_event *ev) {
  rec *r = ud;
  CHECK(r->closes == 0);
  CHECK(ws_conn_ready_state(c) == WS_CLOSED);
  CHECK((r->errors == 1) == ws_conn_failed(c));
  uint16_t code = ws_close_event_code(ev);
  CHECK(code == 1005 || code == 1006 || ws_close_code_on_wire(code));
  if (ws_close_event_was_clean(ev))
    CHECK(!ws_conn_failed(c) && code != 1006);
  r->closes++;
  r->closed_seen = true;
}
static void rnd(void *ud, uint8_t *out, size_t n) {
  (void)ud;
  for (size_t i = 0; i < n; i++)
    out[i] = (uint8_t)(0x9e + i * 31);
}

static void drain(ws_conn *c, rec *r, size_t max) {
  ws_slice s[8];
  int k = ws_conn_pending_out(c, s, 8);
  size_t sum = 0;
  for (int i = 0; i < k; i++)
    sum += s[i].len;
  CHECK(k == 8 || sum == ws_conn_pending_bytes(c));
  size_t take = 0;
  for (int i = 0; i < k && take < max; i++) {
    size_t n = s[i].len < max - take ? s[i].len : max - take;
    if (r->out_len + n <= sizeof r->out)
      memcpy(r->out + r->out_len, s[i].data, n);
    r->out_len += n;
    take += n;
  }
  ws_conn_consume_out(c, take);
}

/* Our output must be a sequence of well-formed frames. */
static void check_output(const rec *r, bool server) {
  if (r->out_len > sizeof r->out)
    return;
  size_t i = 0;
  bool closed = false;
  while (i < r->out_len) {
    ws__frame_hdr h;
    int rc = ws__frame_parse(r->out + i, r->out_len - i, &h);
    CHECK(rc >= 0);
    if (rc == 0)
      break; /* a frame partly written */
    CHECK(!closed);                      /* nothing after our close frame */
    CHECK(h.masked == !server && h.rsv == 0);
    CHECK(ws__frame_check(&h, !server, 0) == 0);
    if (h.opcode == WS_OP_CLOSE)
      closed = true;
    i += (size_t)rc + (size_t)h.len;
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  uint8_t cfg = data[0];
  bool server = cfg & 1;
  ws_conn_options o;
  ws_conn_options_init(&o, server ? WS_ROLE_SERVER : WS_ROLE_CLIENT);
  o.random = rnd;
  if (cfg & 2)
    o.max_message_size = 64;
  if (cfg & 4)
    o.max_fragments = 3;
  if (cfg & 8)
    o.idle_timeout_ms = 500;
  if (cfg & 16) {
    o.ping_interval_ms = 200;
    o.ping_timeout_ms = 100;
  }
  o.text_only = (cfg & 0x60) == 0x20;
  o.binary_only = (cfg & 0x60) == 0x40;
  o.close_timeout_ms = 1000;
  if (cfg & 0x80)
    o.send_queue_limit = 256;
  rec *r = calloc(1, sizeof *r);
  ws_conn_callbacks cb = {on_message, NULL, NULL, NULL, on_error, on_close};
  uint64_t now = 0;
  ws_conn *c = ws_conn_new(&o, &cb, r, now);
  CHECK(c != NULL);
  int state = WS_OPEN;
  size_t i = 1;
  uint8_t buf[512];
  while (i < size && !r->closed_seen) {
    uint8_t op = data[i++];
    uint8_t a = i < size ? data[i] : 0;
    switch (op % 12) {
    case 0:
    case 1: { /* a frame from the peer: [b0][len][payload], split in chunks of (op>>4)+1 */
      i++;
      uint8_t len = i < size ? data[i++] % 140 : 0;
      if (len > size - i)
        len = (uint8_t)(size - i);
      size_t k = 0;
      buf[k++] = a;
      uint8_t m = server ? 0x80 : 0;
      if (op & 0x80)
        m ^= 0x80; /* sometimes the wrong masking */
      if (len < 126) {
        buf[k++] = (uint8_t)(m | len);
      } else {
        buf[k++] = (uint8_t)(m | 126);
        buf[k++] = 0;
        buf[k++] = len;
      }
      static const uint8_t key[4] = {0xa5, 0x5a, 0x0f, 0xf0};
      if (m) {
        memcpy(buf + k, key, 4);
        k += 4;
      }
      for (size_t j = 0; j < len; j++)
        buf[k + j] = m ? (uint8_t)(data[i + j] ^ key[j % 4]) : data[i + j];
      i += len;
      k += len;
      size_t chunk = (size_t)(op >> 4 & 7) + 1;
      for (size_t j = 0; j < k; j += chunk) {
        size_t n = k - j < chunk ? k - j : chunk;
        long got = ws_conn_recv(c, buf + j, n);
        CHECK(got >= 0 && (size_t)got <= n);
        if ((size_t)got < n)
          break;
      }
      break;
    }
    case 2: { /* raw bytes */
      i++;
      size_t n = a % 64;
      if (n > size - i)
        n = size - i;
      memcpy(buf, data + i, n);
      i += n;
      long got = ws_conn_recv(c, buf, n);
      CHECK(got >= 0 && (size_t)got <= n);
      break;
    }
    case 3: { /* send */
      i++;
      size_t n = a % 40;
      if (n > size - i)
        n = size - i;
      (void)ws_conn_send(c, (op & 0x10) ? WS_OP_TEXT : WS_OP_BINARY, data + i, n);
      i += n;
      break;
    }
    case 4:
      i++;
      (void)ws_conn_send_fragment(c, (ws_opcode)(a % 3), "frag", a % 5, (a & 0x80) != 0);
      break;
    case 5:
      (void)ws_conn_ping(c, "p", 1);
      break;
    case 6:
      i++;
      (void)ws_conn_close(c, (uint16_t)(a < 128 ? 1000 + a % 16 : 3000 + a), "bye", 3);
      break;
    case 7:
      i++;
      ws_conn_fail(c, -50 - (a % 25), 0);
      break;
    case 8: /* time */
      i++;
      now += (uint64_t)a * 10;
      ws_conn_tick(c, now);
      CHECK(ws_conn_next_deadline(c) > now || ws_conn_transport(c) == WS_TRANSPORT_CLOSE);
      break;
    case 9:
      ws_conn_eof(c);
      break;
    case 10: /* the transport writes a + 1 bytes */
      i++;
      drain(c, r, (size_t)a + 1);
      break;
    case 11:
      if (ws_conn_transport(c) == WS_TRANSPORT_CLOSE || (op & 0x80))
        ws_conn_transport_closed(c, (op & 0x40) ? WS_ERR_PROTO_EOF : WS_OK, NULL);
      break;
    }
    int s = ws_conn_ready_state(c);
    CHECK(s >= state);
    state = s;
  }
  drain(c, r, SIZE_MAX);
  check_output(r, server);
  if (!r->closed_seen)
    ws_conn_transport_closed(c, WS_OK, NULL);
  CHECK(r->closes == 1);
  ws_conn_free(c);
  free(r);
  return 0;
}
