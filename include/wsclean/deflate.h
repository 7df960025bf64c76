/* wsclean — permessage-deflate (RFC 7692): options, the handshake extension, the negotiated
 * parameters a ws_conn takes.
 *
 *   ws_deflate_options o;  ws_deflate_options_init(&o, WS_ROLE_SERVER);  o.enabled = true;
 *   ws_extension ext;      ws_deflate_extension(&ext, &o);   -> the handshake's extension list
 *   ... handshake done ...
 *   ws_deflate_params p;   ws_deflate_params_from_handshake(&p, role, &o, accepted_list);
 *   conn_options.deflate = &p;                                -> ws_conn_new copies it
 *
 * Defaults and the memory they cost are explained in docs/deflate.md.
 */
#ifndef WSCLEAN_DEFLATE_H
#define WSCLEAN_DEFLATE_H

#include "wsclean/common.h"
#include "wsclean/conn.h"
#include "wsclean/handshake.h"

WS_BEGIN_DECLS

typedef struct ws_deflate_options {
  size_t size;      /* sizeof(ws_deflate_options), set by ws_deflate_options_init */
  bool enabled;     /* default: true for a client (browsers, ws and websockets clients offer it),
                       false for a server (about 190 KiB per connection once used, see docs) */
  int level;        /* zlib level 1..9, default 6 */
  int mem_level;    /* zlib memLevel 1..9, default 5 (150 KiB deflater at 15 bits; 8: 262 KiB) */
  size_t threshold; /* messages shorter than this are sent uncompressed; default 128, 0: all */
  uint8_t max_window_bits;       /* our deflater's window 8..15, default 15 */
  uint8_t peer_max_window_bits;  /* the window we ask of the peer 8..15, default 15 */
  bool no_context_takeover;      /* our deflater starts afresh for every message (and holds no
                                    memory between messages); default false */
  bool peer_no_context_takeover; /* ask the peer for the same; default false */
} ws_deflate_options;

WS_API void ws_deflate_options_init(ws_deflate_options *o, ws_role role);
/* WS_ERR_INVAL when a field is out of its range. */
WS_API int ws_deflate_options_check(const ws_deflate_options *o);

/* Fill *ext with the "permessage-deflate" extension (RSV1) for the handshake's extension list.
 * Its hooks read *o, which must outlive the handshake and must pass ws_deflate_options_check.
 * Client: offers "permessage-deflate; client_max_window_bits" plus what o asks for, and fails
 * the handshake with WS_ERR_PMD_PARAMS when the server's answer is invalid (the CloseEvent then
 * says 1006, as for any bad handshake: see docs/deflate.md). Server: declines invalid offers and
 * accepts the first valid one. */
WS_API void ws_deflate_extension(ws_extension *ext, const ws_deflate_options *o);

/* What a connection needs to compress and decompress (ws_conn_options.deflate). */
typedef struct ws_deflate_params {
  bool enabled;           /* false: permessage-deflate was not negotiated */
  uint8_t tx_window_bits; /* our deflater's window, 8..15 */
  uint8_t rx_window_bits; /* the peer's deflater */
  bool tx_no_context_takeover;
  bool rx_no_context_takeover;
  int level, mem_level;
  size_t threshold;
} ws_deflate_params;

/* After a successful handshake: look for permessage-deflate in the accepted list (the server's
 * response, as the handshake objects return it) and fill *p. Returns 1 when negotiated, 0 when
 * not (p->enabled false), WS_ERR_PMD_PARAMS when the accepted parameters are invalid (cannot
 * happen after a handshake that used ws_deflate_extension). */
WS_API int ws_deflate_params_from_handshake(ws_deflate_params *p, ws_role role,
                                            const ws_deflate_options *o,
                                            const ws_ext_list *accepted);

WS_END_DECLS
#endif
