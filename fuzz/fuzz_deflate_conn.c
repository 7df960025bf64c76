/* libFuzzer: a ws_conn with permessage-deflate negotiated, fed fuzzer frames. Checked on every
 * input: a delivered message never exceeds the maximum message size (the cap is on inflated
 * bytes), text is valid UTF-8, a failure sends 1002, 1007, 1009 or 1011 only, on_close fires
 * once, and nothing leaks (ASan).
 * Input: byte 0 = flags (bit 0: client role, bit 1: peer resets its context, bits 2-4: the
 * peer's window 8 + n), bytes 1-2 = the maximum message size (1..65536), then the bytes to feed,
 * in pieces cut at every 0xfd byte (dropped). */
#include <stdlib.h>
#include <string.h>

#include "proto/utf8.h"
#include "wsclean/conn.h"
#include "wsclean/deflate.h"

#define CHECK(x)                                                                                   \
  do {                                                                                             \
    if (!(x))                                                                                      \
      abort();                                                                                     \
  } while (0)

typedef struct {
  size_t max;
  int closes;
} rec;

static int on_message(ws_conn *c, void *ud, ws_opcode op, const uint8_t *d, size_t n) {
  (void)c;
  rec *r = ud;
  CHECK(n <= r->max);
  if (op == WS_OP_TEXT)
    CHECK(ws__utf8_valid(d, n));
  return 0;
}
static void on_close(ws_conn *c, void *ud, const ws_close_event *ev) {
  (void)c;
  (void)ev;
  ((rec *)ud)->closes++;
}
static void rnd(void *ud, uint8_t *out, size_t n) {
  (void)ud;
  memset(out, 0, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 3)
    return 0;
  rec r = {1 + (size_t)(data[1] | data[2] << 8), 0};
  ws_deflate_params p;
  memset(&p, 0, sizeof p);
  p.enabled = true;
  p.tx_window_bits = 15;
  p.rx_window_bits = (uint8_t)(8 + ((data[0] >> 2) & 7));
  p.rx_no_context_takeover = (data[0] & 2) != 0;
  p.level = 1;
  p.mem_level = 1;
  p.threshold = 0;
  ws_conn_options o;
  ws_conn_options_init(&o, (data[0] & 1) ? WS_ROLE_CLIENT : WS_ROLE_SERVER);
  o.random = rnd;
  o.deflate = &p;
  o.max_message_size = r.max;
  ws_conn_callbacks cb;
  memset(&cb, 0, sizeof cb);
  cb.on_message = on_message;
  cb.on_close = on_close;
  ws_conn *c = ws_conn_new(&o, &cb, &r, 0);
  CHECK(c);
  uint8_t *copy = malloc(size);
  memcpy(copy, data, size);
  uint8_t *in = copy + 3, *end = copy + size;
  while (in < end) {
    uint8_t *cut = memchr(in, 0xfd, (size_t)(end - in));
    uint8_t *stop = cut ? cut : end;
    ws_conn_recv(c, in, (size_t)(stop - in));
    in = cut ? cut + 1 : end;
  }
  uint16_t code = ws_conn_close_code_sent(c);
  if (ws_conn_failed(c))
    CHECK(code == 1002 || code == 1007 || code == 1009 || code == 1011 || code == 1003);
  ws_conn_transport_closed(c, WS_OK, NULL);
  CHECK(r.closes == 1);
  ws_conn_free(c);
  free(copy);
  return 0;
}
