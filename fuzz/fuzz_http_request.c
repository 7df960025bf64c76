/* libFuzzer: the server side of the handshake (request parser, validation, refusal answers) and
 * the URL and extension parsers, on arbitrary bytes. Invariants are checked with abort(). */
#include <stdlib.h>
#include <string.h>

#include "proto/http.h"

static const char *const protos[] = {"chat", "superchat"};

static int accept_ext(void *ud, const ws_ext_offer *offer, ws_ext_list *response) {
  (void)ud;
  if (offer->num_params &&
      ws_ext_list_add_param(response, offer->params[0].name, offer->params[0].name_len, NULL, 0))
    return 0;
  return offer->num_params % 2 ? 1 : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  /* 1. the stateless parser, on an exact-size copy so ASan sees any over-read */
  uint8_t *copy = malloc(size ? size : 1);
  memcpy(copy, data, size);
  ws__http_limits lim = {8192, 100, 4096};
  ws_header hd[100];
  ws_http_request req;
  long n = ws__http_parse_request(copy, size, &lim, &req, hd, NULL);
  if (n > 0 && (size_t)n > size)
    abort();
  /* 2. the server handshake, fed in two pieces split where the first byte says */
  ws_server_handshake_options o;
  ws_server_handshake_options_init(&o);
  o.protocols = protos;
  o.num_protocols = 2;
  ws_extension ext = {.name = "permessage-deflate", .rsv = 0x4, .server_accept = accept_ext};
  o.extensions = &ext;
  o.num_extensions = 1;
  ws_server_handshake *h = ws_server_handshake_new(&o, NULL);
  size_t split = size ? data[0] % (size + 1) : 0, c1 = 0, c2 = 0;
  int rc = ws_server_handshake_recv(h, copy, split, &c1);
  if (rc == WS_ERR_AGAIN)
    rc = ws_server_handshake_recv(h, copy + split, size - split, &c2);
  if (c1 > split || c2 > size - split)
    abort();
  size_t len;
  const uint8_t *resp = ws_server_handshake_response(h, &len);
  if (rc != WS_ERR_AGAIN && rc != WS_ERR_HS_NOT_UPGRADE && (!resp || len == 0))
    abort();
  if (rc == WS_OK && (len < 12 || memcmp(resp, "HTTP/1.1 101", 12) != 0))
    abort();
  /* agreement with the stateless parser on where the head ends */
  if (rc == WS_OK && n > 0 && c1 + c2 != (size_t)n)
    abort();
  ws_server_handshake_free(h);
  /* 3. URLs and extension headers from the same bytes */
  ws_url u;
  if (ws_url_parse(&u, NULL, (const char *)copy, size) == WS_OK) {
    if (u.resource[0] != '/' || u.host_len == 0 || strlen(u.resource) != u.resource_len)
      abort();
    for (size_t i = 0; i < u.resource_len; i++)
      if ((unsigned char)u.resource[i] <= 0x20 || (unsigned char)u.resource[i] >= 0x7f)
        abort(); /* the request line must stay visible ASCII */
    ws_url_free(&u);
  }
  ws_ext_list l;
  ws_ext_list_init(&l);
  if (ws_ext_list_parse(&l, (const char *)copy, size) == WS_OK) {
    char out[WS_EXT_MAX_TEXT * 2];
    long fl = ws_ext_list_format(&l, out, sizeof out);
    ws_ext_list again;
    ws_ext_list_init(&again);
    /* what we format parses back to the same list */
    if (fl < 0 || ws_ext_list_parse(&again, out, (size_t)fl) != WS_OK ||
        again.num_offers != l.num_offers || again.num_params != l.num_params)
      abort();
  }
  free(copy);
  return 0;
}
