/* libFuzzer: the client side of the handshake (response parser and verification) on arbitrary
 * bytes, with a fixed nonce so the right Sec-WebSocket-Accept is reachable from the seeds. */
#include <stdlib.h>
#include <string.h>

#include "proto/http.h"

static void nonce(void *ud, uint8_t *out, size_t n) {
  (void)ud;
  memcpy(out, "the sample nonce", n < 16 ? n : 16);
}

static const char *const protos[] = {"chat", "superchat"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  uint8_t *copy = malloc(size ? size : 1);
  memcpy(copy, data, size);
  ws__http_limits lim = {8192, 100, 0};
  ws_header hd[100];
  ws__http_response res;
  long n = ws__http_parse_response(copy, size, &lim, &res, hd, NULL);
  if (n > 0 && ((size_t)n > size || res.status < 0 || res.status > 999))
    abort();

  ws_extension exts[] = {{.name = "permessage-deflate", .rsv = 0x4},
                         {.name = "x-required", .rsv = 0x2, .required = size % 2 == 0}};
  ws_client_handshake_options o;
  ws_client_handshake_options_init(&o);
  o.url = "ws://server.example.com/chat";
  o.random = nonce;
  o.protocols = protos;
  o.num_protocols = size % 3 ? 2 : 0;
  o.extensions = exts;
  o.num_extensions = 2;
  ws_client_handshake *h = ws_client_handshake_new(NULL);
  if (ws_client_handshake_start(h, &o) != WS_OK)
    abort();
  /* feed in chunks whose size the first byte chooses */
  size_t chunk = size ? (size_t)(data[0] % 16) + 1 : 1, off = 0, total = 0;
  int rc = WS_ERR_AGAIN;
  while (rc == WS_ERR_AGAIN && off < size) {
    size_t k = size - off < chunk ? size - off : chunk, consumed = 0;
    rc = ws_client_handshake_recv(h, copy + off, k, &consumed);
    if (consumed > k)
      abort();
    total += consumed;
    off += k;
  }
  if (rc == WS_OK) {
    if (n <= 0 || total != (size_t)n || ws_client_handshake_status(h) != 101)
      abort();
    const char *p = ws_client_handshake_protocol(h);
    if (*p && strcmp(p, "chat") != 0 && strcmp(p, "superchat") != 0)
      abort();
  }
  if (rc != WS_OK && rc != WS_ERR_AGAIN && ws_client_handshake_detail(h)[0] == '\0')
    abort(); /* every failure says why */
  ws_client_handshake_free(h);
  free(copy);
  return 0;
}
