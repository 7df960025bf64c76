/* permessage-deflate (RFC 7692): negotiation and the per-message compressor/decompressor.
 *
 * Sans-I/O and internal: the handshake asks the negotiation functions what to offer, accept or
 * verify; the connection core calls ws__pmd_compress() on send and ws__pmd_inflate() during
 * message assembly. Every byte zlib allocates goes through the connection's ws_allocator.
 *
 * Words used below: "tx" is the direction we compress (our own deflater), "rx" the direction we
 * decompress (the peer's deflater). For a server tx = server_*, rx = client_* parameters; for a
 * client the other way round.
 *
 * Memory (zlib 1.2.13, measured by tests/unit/test_deflate.c, see docs/deflate.md):
 *   deflater: about 2^(wbits+2) + 2^(memLevel+9) + 6 KiB  (15/8: 262 KiB; 15/5: 150 KiB)
 *   inflater: about 7 KiB + 2^wbits                       (15: 39 KiB)
 * With context takeover both live as long as the connection once first used. Without it (the
 * *_no_context_takeover parameter for that direction) the state is freed after every message,
 * so an idle connection holds none.
 */
#ifndef WS_PROTO_DEFLATE_H
#define WS_PROTO_DEFLATE_H

#include "base/buf.h"
#include "wsclean/alloc.h"
#include "wsclean/errors.h"

/* The extension's registered name (RFC 7692 7). */
#define WS__PMD_NAME "permessage-deflate"

/* Defaults (see docs/deflate.md for why). */
#define WS__PMD_DEFAULT_LEVEL     6 /* zlib's default; ws and Python websockets use it too */
#define WS__PMD_DEFAULT_MEM_LEVEL 5 /* not zlib's 8: 112 KiB less per deflater, output ~1% larger  \
                                     */
#define WS__PMD_DEFAULT_THRESHOLD   128 /* bytes: smaller messages are sent uncompressed */
#define WS__PMD_DEFAULT_WINDOW_BITS 15

/* What this endpoint wants (becomes the public options once the API layer exists). */
typedef struct ws__pmd_config {
  int level;        /* 1..9 (zlib level), default 6 */
  int mem_level;    /* 1..9 (zlib memLevel), default 5 */
  size_t threshold; /* messages shorter than this are sent uncompressed, default 128; 0: all */
  /* Our deflater's window, 8..15, default 15. zlib (>= 1.2.9) refuses raw windowBits 8, so 8
   * deflates with 9: still within 256 bytes, since zlib's deflater never emits a distance
   * above its window minus 262 (MAX_DIST: 250 for 9). Tested with a strict 8-bit inflater. */
  uint8_t tx_max_window_bits;
  /* The window we ask of the peer's deflater, 8..15, default 15 (a smaller one shrinks our
   * inflater: 2^bits bytes). */
  uint8_t rx_max_window_bits;
  bool tx_no_context_takeover; /* reset our deflater after every message (declared/accepted) */
  bool rx_no_context_takeover; /* ask the peer to reset its deflater after every message */
} ws__pmd_config;

void ws__pmd_config_init(ws__pmd_config *cfg);
/* WS_ERR_INVAL when a field is out of its range. */
int ws__pmd_config_check(const ws__pmd_config *cfg);

/* One parameter as it appears in Sec-WebSocket-Extensions (same shape as the handshake's
 * ws_ext_param): value NULL for a parameter without a value. */
typedef struct ws__pmd_param {
  const char *name;
  size_t name_len;
  const char *value;
  size_t value_len;
} ws__pmd_param;

/* The four parameters of one offer or response (RFC 7692 7.1), validated. */
typedef struct ws__pmd_offer {
  bool server_no_context_takeover;
  bool client_no_context_takeover;
  uint8_t server_max_window_bits;       /* 0: absent, else 8..15 */
  bool client_max_window_bits;          /* present (with or without a value) */
  uint8_t client_max_window_bits_value; /* 0: no value, else 8..15 */
} ws__pmd_offer;

/* Parse the parameters of one offer or response. WS_ERR_PMD_PARAMS for an unknown parameter,
 * a repeated one, a value where none is allowed, a missing value where one is required, or a
 * value that is not a decimal 8..15 without leading zeros (RFC 7692 7.1.2.1, 7.1.2.2). */
int ws__pmd_parse(const ws__pmd_param *params, size_t n, ws__pmd_offer *out);
/* The header form "permessage-deflate; a; b=10" of o into out[0..cap), NUL-terminated.
 * Returns the length, or WS_ERR_LIMIT when cap is too small (WS__PMD_FORMAT_MAX is enough). */
#define WS__PMD_FORMAT_MAX 136
long ws__pmd_format(const ws__pmd_offer *o, char *out, size_t cap);

/* The outcome of a negotiation, from this endpoint's point of view. */
typedef struct ws__pmd_params {
  uint8_t tx_window_bits; /* 8..15 (8: zlib is given 9, see tx_max_window_bits) */
  uint8_t rx_window_bits; /* 8..15, the peer's deflater window */
  bool tx_no_context_takeover;
  bool rx_no_context_takeover;
} ws__pmd_params;

/* Client: the offer to send. Always includes client_max_window_bits (RFC 7692 7.1.2.2: it tells
 * the server we can honour a limit), with our window as its value when below 15. */
void ws__pmd_client_offer(const ws__pmd_config *cfg, ws__pmd_offer *offer);
/* Client: check the server's response to our offer (RFC 7692 7.1): WS_OK and *agreed, or
 * WS_ERR_PMD_PARAMS when the response is malformed or not an allowed answer to the offer (the
 * handshake then fails: see docs/deflate.md for the close code). */
int ws__pmd_client_verify(const ws__pmd_config *cfg, const ws__pmd_offer *offered,
                          const ws__pmd_offer *response, ws__pmd_params *agreed);
/* Server: 1 and *response + *agreed when the offer is accepted, 0 when this offer must be
 * declined (the next offer is then tried, RFC 7692 5.1). Never fails otherwise. */
int ws__pmd_server_accept(const ws__pmd_config *cfg, const ws__pmd_offer *offer,
                          ws__pmd_offer *response, ws__pmd_params *agreed);

/* ---- the data path --------------------------------------------------------------------------- */

struct z_stream_s;

/* Per-connection compression state: small until used (two pointers to zlib streams). */
typedef struct ws__pmd {
  const ws_allocator *alloc;
  ws__pmd_params p;
  int level, mem_level;
  size_t threshold;
  struct z_stream_s *tx; /* NULL until the first compressed message */
  struct z_stream_s *rx; /* NULL until the first compressed message received */
  uint64_t tx_in;        /* bytes of the message being compressed, fed so far */
  uint64_t rx_in;        /* compressed bytes of the message being inflated */
  bool rx_reset;         /* the peer's stream ended (BFINAL): restart the inflater before more */
  bool broken;           /* a zlib call failed: nothing more may be done */
} ws__pmd;

/* cfg supplies level, mem_level and threshold; p the negotiated parameters. Allocates nothing. */
void ws__pmd_init(ws__pmd *d, const ws_allocator *alloc, const ws__pmd_config *cfg,
                  const ws__pmd_params *p);
void ws__pmd_free(ws__pmd *d);

/* Whether a message of len bytes should be sent compressed: len >= threshold and the deflater
 * is usable (not broken by an earlier failure). */
bool ws__pmd_should_compress(const ws__pmd *d, size_t len);
/* Compress part of a message into out (appended; out->max bounds it: WS_ERR_LIMIT). fin: the
 * message ends here; the output is flushed and the 0x00 0x00 0xff 0xff tail stripped
 * (RFC 7692 7.2.1). WS_ERR_NOMEM when zlib or out cannot allocate. After an error in the middle
 * of a stream d is broken: ws__pmd_should_compress() says no from then on, so later messages go
 * uncompressed and the peer's inflater never sees the lost bytes' history. */
int ws__pmd_compress(ws__pmd *d, const void *data, size_t len, bool fin, ws__buf *out);

/* Inflate part of a compressed message into out, streaming. The inflated size is capped by
 * out->max: the first inflated byte past it returns WS_ERR_PROTO_MESSAGE_TOO_BIG (close 1009)
 * and out never grows past out->max. fin: the last part; the tail is appended before the last
 * inflate (RFC 7692 7.2.2). WS_ERR_PMD_DATA (close 1007) for data that is not DEFLATE or goes
 * on after a final block, WS_ERR_NOMEM. After any error d is broken. */
int ws__pmd_inflate(ws__pmd *d, const uint8_t *in, size_t len, bool fin, ws__buf *out);

#endif
