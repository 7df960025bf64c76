/* libFuzzer: received close frames (the close payload parser inside ws_conn). The input is
 * [flags][close payload...]: flags pick the role and how the frame is split across reads. The
 * outcome is checked against an independent statement of the rules (RFC 6455 5.5.1, 7.4,
 * 8.1): empty -> 1005 echoed with an empty body; 1 byte or > 125 -> fail 1002; a code not
 * allowed on the wire -> 1002; a reason that is not UTF-8 -> 1007; else the code is echoed. */
#include <stdlib.h>
#include <string.h>

#include "proto/conn_internal.h"
#include "proto/utf8.h"
#include "wsclean/conn.h"

#define CHECK(x)                                                                                   \
  do {                                                                                             \
    if (!(x))                                                                                      \
      abort();                                                                                     \
  } while (0)

typedef struct {
  int closes, errors, close_frames;
  uint16_t ev_code;
} rec;

static void on_close_frame(ws_conn *c, void *ud, uint16_t code, const char *r, size_t n) {
  (void)c, (void)code, (void)r, (void)n;
  ((rec *)ud)->close_frames++;
}
static void on_error(ws_conn *c, void *ud, int err) {
  (void)c, (void)err;
  ((rec *)ud)->errors++;
}
static void on_close(ws_conn *c, void *ud, const ws_close_event *ev) {
  (void)c;
  rec *r = ud;
  r->closes++;
  r->ev_code = ws_close_event_code(ev);
}
static void rnd(void *ud, uint8_t *out, size_t n) {
  (void)ud;
  memset(out, 0x5a, n);
}

static bool code_ok(uint16_t c) {
  return (c >= 1000 && c <= 1003) || (c >= 1007 && c <= 1014) || (c >= 3000 && c <= 4999);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1 || size > 1 + 200)
    return 0;
  uint8_t flags = data[0];
  const uint8_t *body = data + 1;
  size_t n = size - 1;
  bool server = flags & 1;
  size_t chunk = (size_t)(flags >> 1) % 9; /* 0: whole */
  /* Build the frame: 0x88, length (7 or 16 bit), mask for a server. */
  uint8_t frame[4 + 4 + 200];
  size_t k = 0;
  frame[k++] = 0x88;
  uint8_t m = server ? 0x80 : 0;
  if (n < 126) {
    frame[k++] = (uint8_t)(m | n);
  } else {
    frame[k++] = (uint8_t)(m | 126);
    frame[k++] = (uint8_t)(n >> 8);
    frame[k++] = (uint8_t)n;
  }
  static const uint8_t key[4] = {1, 2, 3, 4};
  if (server) {
    memcpy(frame + k, key, 4);
    k += 4;
  }
  for (size_t i = 0; i < n; i++)
    frame[k + i] = server ? (uint8_t)(body[i] ^ key[i % 4]) : body[i];
  size_t total = k + n;

  rec r = {0, 0, 0, 0};
  ws_conn_callbacks cb = {NULL, NULL, NULL, on_close_frame, on_error, on_close};
  ws_conn_options o;
  ws_conn_options_init(&o, server ? WS_ROLE_SERVER : WS_ROLE_CLIENT);
  o.random = rnd;
  ws_conn *c = ws_conn_new(&o, &cb, &r, 0);
  if (!c)
    abort();
  size_t step = chunk ? chunk : total;
  for (size_t i = 0; i < total; i += step) {
    size_t len = total - i < step ? total - i : step;
    uint8_t *piece = malloc(len);
    memcpy(piece, frame + i, len);
    long got = ws_conn_recv(c, piece, len);
    free(piece);
    CHECK(got >= 0 && (size_t)got <= len);
    if ((size_t)got < len)
      break;
  }

  bool want_fail;
  uint16_t want_sent;
  if (n == 0) {
    want_fail = false;
    want_sent = 1005;
  } else if (n == 1 || n > 125) {
    want_fail = true;
    want_sent = 1002;
  } else {
    uint16_t code = (uint16_t)(body[0] << 8 | body[1]);
    if (!code_ok(code)) {
      want_fail = true;
      want_sent = 1002;
    } else if (!ws__utf8_valid(body + 2, n - 2)) {
      want_fail = true;
      want_sent = 1007;
    } else {
      want_fail = false;
      want_sent = code;
    }
  }
  CHECK(ws_conn_failed(c) == want_fail);
  CHECK(ws_conn_close_code_sent(c) == want_sent);
  CHECK(r.close_frames == (want_fail ? 0 : 1));
  /* The bytes out: exactly one close frame. */
  ws_slice s[4];
  int ns = ws_conn_pending_out(c, s, 4);
  CHECK(ns == 1 && s[0].len >= 2 && s[0].data[0] == 0x88);
  CHECK(ws_conn_transport(c) == (server || want_fail ? WS_TRANSPORT_SHUTDOWN : WS_TRANSPORT_KEEP));
  ws_conn_eof(c);
  ws_conn_transport_closed(c, WS_OK, NULL);
  CHECK(r.closes == 1 && r.errors == (want_fail ? 1 : 0));
  CHECK(r.ev_code == (want_fail ? 1006 : (n == 0 ? 1005 : want_sent)));
  ws_conn_free(c);
  return 0;
}
