#include "proto/frame.h"

#include <string.h>

#include "wsclean/errors.h"

size_t ws__frame_hdr_need(const uint8_t *p, size_t have) {
  if (have < 2)
    return 2;
  size_t need = 2;
  uint8_t len7 = p[1] & 0x7F;
  if (len7 == 126)
    need += 2;
  else if (len7 == 127)
    need += 8;
  if (p[1] & 0x80)
    need += 4;
  return need;
}

int ws__frame_parse(const uint8_t *p, size_t n, ws__frame_hdr *h) {
  size_t need = ws__frame_hdr_need(p, n);
  if (n < need)
    return 0;
  h->fin = (p[0] & 0x80) != 0;
  h->rsv = (uint8_t)((p[0] >> 4) & 0x7);
  h->opcode = p[0] & 0x0F;
  h->masked = (p[1] & 0x80) != 0;
  uint8_t len7 = p[1] & 0x7F;
  size_t i = 2;
  if (len7 < 126) {
    h->len = len7;
  } else if (len7 == 126) {
    h->len = (uint64_t)p[2] << 8 | p[3];
    i = 4;
  } else {
    uint64_t v = 0;
    for (int k = 0; k < 8; k++)
      v = v << 8 | p[2 + k];
    /* RFC 6455 5.2: "the most significant bit MUST be 0" */
    if (v >> 63)
      return WS_ERR_PROTO_LENGTH;
    h->len = v;
    i = 10;
  }
  if (h->masked) {
    memcpy(h->mask, p + i, 4);
    i += 4;
  } else {
    memset(h->mask, 0, 4);
  }
  h->hdr_len = (uint8_t)i;
  return (int)i;
}

int ws__frame_check(const ws__frame_hdr *h, bool server, uint8_t rsv_allowed) {
  /* RFC 6455 5.2: a nonzero RSV bit without a negotiated extension defining it -> fail. */
  if (h->rsv & ~rsv_allowed)
    return WS_ERR_PROTO_RSV;
  /* RFC 6455 5.2: opcodes 0x3-0x7 and 0xB-0xF are reserved. */
  uint8_t op = h->opcode;
  if ((op >= 0x3 && op <= 0x7) || op >= 0xB)
    return WS_ERR_PROTO_OPCODE;
  /* RFC 6455 5.1: a server closes on an unmasked frame, a client on a masked one. */
  /* RFC 7692 6.1: RSV1 ("compressed") is set on the first frame of a message only. */
  if (op == 0x0 && (h->rsv & WS__RSV1))
    return WS_ERR_PROTO_RSV;
  if (server && !h->masked)
    return WS_ERR_PROTO_UNMASKED;
  if (!server && h->masked)
    return WS_ERR_PROTO_MASKED;
  if (ws__opcode_is_control(op)) {
    /* No extension gives RSV bits a meaning on control frames (RFC 7692 6: permessage-deflate
     * applies to data frames only), so they stay errors even when negotiated. */
    if (h->rsv)
      return WS_ERR_PROTO_RSV;
    /* RFC 6455 5.5: control frames carry at most 125 bytes and are never fragmented. */
    if (h->len > WS__CONTROL_MAX)
      return WS_ERR_PROTO_CONTROL_TOO_LONG;
    if (!h->fin)
      return WS_ERR_PROTO_CONTROL_FRAGMENTED;
  }
  return 0;
}

size_t ws__frame_hdr_size(uint64_t len, bool masked) {
  size_t n = len < 126 ? 2 : len <= 0xFFFF ? 4 : 10;
  return n + (masked ? 4 : 0);
}

size_t ws__frame_build(uint8_t *out, bool fin, uint8_t rsv, uint8_t opcode, const uint8_t *mask,
                       uint64_t len) {
  out[0] = (uint8_t)((fin ? 0x80 : 0) | (rsv & 0x7) << 4 | (opcode & 0x0F));
  uint8_t m = mask ? 0x80 : 0;
  size_t i;
  /* RFC 6455 5.2: "the minimal number of bytes MUST be used to encode the length" */
  if (len < 126) {
    out[1] = (uint8_t)(m | len);
    i = 2;
  } else if (len <= 0xFFFF) {
    out[1] = (uint8_t)(m | 126);
    out[2] = (uint8_t)(len >> 8);
    out[3] = (uint8_t)len;
    i = 4;
  } else {
    out[1] = (uint8_t)(m | 127);
    for (int k = 0; k < 8; k++)
      out[2 + k] = (uint8_t)(len >> (56 - 8 * k));
    i = 10;
  }
  if (mask) {
    memcpy(out + i, mask, 4);
    i += 4;
  }
  return i;
}
