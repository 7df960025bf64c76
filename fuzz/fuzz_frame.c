/* libFuzzer: the frame header parser (src/proto/frame.c). Any bytes: parse never reads past n,
 * a parsed header rebuilds to a header that parses to the same fields, and the minimal encoding
 * is never longer than what was received. */
#include <stdlib.h>
#include <string.h>

#include "proto/frame.h"
#include "wsclean/errors.h"

#define CHECK(x)                                                                                   \
  do {                                                                                             \
    if (!(x))                                                                                      \
      abort();                                                                                     \
  } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  /* Copy to an exact-size heap block so ASan catches any over-read. */
  uint8_t *p = malloc(size ? size : 1);
  if (size)
    memcpy(p, data, size);
  ws__frame_hdr h;
  int rc = ws__frame_parse(p, size, &h);
  size_t need = ws__frame_hdr_need(p, size);
  if (size < need) {
    CHECK(rc == 0);
  } else if (rc == WS_ERR_PROTO_LENGTH) {
    CHECK(need == 10 || need == 14);
  } else {
    CHECK(rc > 0 && (size_t)rc == need && h.hdr_len == need);
    CHECK(h.len >> 63 == 0);
    (void)ws__frame_check(&h, true, (uint8_t)(size ? p[0] & 7 : 0));
    (void)ws__frame_check(&h, false, 0);
    uint8_t out[WS__FRAME_HDR_MAX];
    size_t n = ws__frame_build(out, h.fin, h.rsv, h.opcode, h.masked ? h.mask : NULL, h.len);
    CHECK(n <= (size_t)rc && n == ws__frame_hdr_size(h.len, h.masked));
    ws__frame_hdr g;
    CHECK(ws__frame_parse(out, n, &g) == (int)n);
    CHECK(g.fin == h.fin && g.rsv == h.rsv && g.opcode == h.opcode && g.masked == h.masked &&
          g.len == h.len && (!h.masked || memcmp(g.mask, h.mask, 4) == 0));
  }
  free(p);
  return 0;
}
