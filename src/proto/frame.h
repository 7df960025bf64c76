/* RFC 6455 section 5.2 frame headers: parse (stateless, over a caller's buffer, picohttpparser's
 * habit) and build (always the minimal length encoding).
 *
 *   0                   1                   2                   3
 *  |F|R|R|R| opcode|M| len (7) |  extended len (0, 16 or 64 bits) | masking key (0 or 32 bits)
 *
 * The parser checks only what the header alone decides for every endpoint (the 64-bit length's
 * top bit). Which opcodes, RSV bits and mask bits are acceptable depends on the role and the
 * negotiated extensions, so ws__frame_check() takes those as arguments. */
#ifndef WS_PROTO_FRAME_H
#define WS_PROTO_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WS__FRAME_HDR_MAX 14    /* 2 + 8 (64-bit length) + 4 (mask) */
#define WS__CONTROL_MAX 125     /* RFC 6455 5.5: control payloads fit the 7-bit length */

#define WS__RSV1 0x4
#define WS__RSV2 0x2
#define WS__RSV3 0x1

typedef struct ws__frame_hdr {
  uint64_t len;    /* payload length */
  uint8_t mask[4]; /* valid when masked */
  uint8_t opcode;  /* 0x0..0xF */
  uint8_t rsv;     /* RSV1 = 0x4, RSV2 = 0x2, RSV3 = 0x1 */
  uint8_t hdr_len; /* bytes of the header: 2..14 */
  bool fin;
  bool masked;
} ws__frame_hdr;

/* Header bytes needed given the first `have` bytes p[0..have): 2 while have < 2, else the exact
 * header length (2..14). */
size_t ws__frame_hdr_need(const uint8_t *p, size_t have);
/* Parse a header from p[0..n). Returns the header length (> 0) and fills *h; 0 when more bytes
 * are needed; WS_ERR_PROTO_LENGTH for a 64-bit length with its most significant bit set
 * (RFC 6455 5.2). Minimal length encoding is not required on receive. */
int ws__frame_parse(const uint8_t *p, size_t n, ws__frame_hdr *h);
/* The RFC 6455 5.2/5.4/5.5 checks of one header for an endpoint: RSV bits outside rsv_allowed
 * (PROTO_RSV), reserved opcodes 3-7 and 11-15 (PROTO_OPCODE), a server receiving an unmasked
 * frame (PROTO_UNMASKED) or a client a masked one (PROTO_MASKED), a control frame over 125
 * bytes (PROTO_CONTROL_TOO_LONG) or not FIN (PROTO_CONTROL_FRAGMENTED). Even when negotiated,
 * RSV bits on a control frame and RSV1 on a continuation frame are PROTO_RSV (RFC 7692 6,
 * 6.1). 0 when acceptable. */
int ws__frame_check(const ws__frame_hdr *h, bool server, uint8_t rsv_allowed);
static inline bool ws__opcode_is_control(uint8_t op) { return (op & 0x8) != 0; }

/* Write a header into out (at least WS__FRAME_HDR_MAX bytes) with the minimal length encoding;
 * mask NULL for an unmasked frame. Returns the header length. */
size_t ws__frame_build(uint8_t *out, bool fin, uint8_t rsv, uint8_t opcode, const uint8_t *mask,
                       uint64_t len);
/* Header length ws__frame_build would write. */
size_t ws__frame_hdr_size(uint64_t len, bool masked);

#endif
