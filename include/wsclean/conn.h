/* wsclean — the sans-I/O WebSocket connection (RFC 6455 after the opening handshake).
 *
 * A ws_conn never touches a socket, a clock or randomness of its own: it is fed bytes
 * (ws_conn_recv), time (ws_conn_tick) and transport events (ws_conn_eof, ws_conn_transport_closed),
 * and it hands back callbacks and bytes to send (ws_conn_pending_out + ws_conn_consume_out).
 * The event loop in src/loop drives it; so can any other loop (see examples/).
 *
 * Closing, the heart of it (WHATWG + RFC 6455 7):
 *   - ws_conn_close() starts the closing handshake; a received close frame is answered with a
 *     close frame echoing its code and reason; after a close frame is sent no data frame is sent.
 *   - Bad input "fails the connection": a close frame with the code the RFC names (1002, 1007,
 *     1009, 1003, 1011...) is queued and the transport is closed without waiting for an answer.
 *   - ws_conn_transport() tells the loop what to do with TCP: keep it, shut down the write side
 *     once the output is flushed (then read until EOF), or close it.
 *   - The server closes TCP first; the client waits for the server's FIN up to the close timeout.
 *   - on_close fires exactly once, from ws_conn_transport_closed(), with the CloseEvent:
 *     code = first close frame received (1005 if it had no code, 1006 if none arrived),
 *     reason, wasClean = the closing handshake completed and the connection was not failed;
 *     on_error fires just before it when the connection failed.
 *
 * Time: the core has no clock. It keeps the last time it was given (ws_conn_new, ws_conn_tick)
 * and stamps received data, ws_conn_send and ws_conn_close() with it. A caller driving a
 * ws_conn directly MUST call ws_conn_tick(c, now) before every ws_conn_recv, ws_conn_eof,
 * ws_conn_send, ws_conn_close and ws_conn_transport_closed that may come after time has passed
 * (it is cheap; calling it once per loop turn before any of them is enough). Otherwise the
 * deadlines these calls start count from a stale time: a close started after an hour without
 * a tick gets a close timeout that is already an hour past and the connection is cut at the
 * next tick (1006, WS_ERR_PROTO_CLOSE_TIMEOUT); idle timeouts and durations are wrong the same
 * way. src/api does it in ws__socket_clock(). docs/conn.md has the whole contract, case by case.
 * Callbacks run inside ws_conn_recv (message, ping, pong, close frame) and
 * ws_conn_transport_closed (error, close); ws_conn_tick fires none. They may call any ws_conn_*
 * function except ws_conn_free and ws_conn_transport_closed, which are for on_close (free only)
 * or outside callbacks.
 */
#ifndef WSCLEAN_CONN_H
#define WSCLEAN_CONN_H

#include "wsclean/alloc.h"
#include "wsclean/close_codes.h"
#include "wsclean/common.h"
#include "wsclean/errors.h"
#include "wsclean/event.h"

WS_BEGIN_DECLS

typedef struct ws_conn ws_conn;

typedef enum ws_role { WS_ROLE_CLIENT = 0, WS_ROLE_SERVER = 1 } ws_role;

/* WHATWG readyState. */
typedef enum ws_ready_state {
  WS_CONNECTING = 0,
  WS_OPEN = 1,
  WS_CLOSING = 2,
  WS_CLOSED = 3
} ws_ready_state;

typedef enum ws_opcode {
  WS_OP_CONTINUATION = 0x0,
  WS_OP_TEXT = 0x1,
  WS_OP_BINARY = 0x2,
  WS_OP_CLOSE = 0x8,
  WS_OP_PING = 0x9,
  WS_OP_PONG = 0xA
} ws_opcode;

/* What the transport should do now (ws_conn_transport). */
typedef enum ws_transport_action {
  WS_TRANSPORT_KEEP = 0,      /* keep reading and writing */
  WS_TRANSPORT_SHUTDOWN = 1,  /* flush the output, then shut down the write side (FIN) and keep
                                 reading (data is discarded) until EOF or the close timeout */
  WS_TRANSPORT_CLOSE = 2      /* flush what can be flushed without waiting, then close */
} ws_transport_action;

typedef struct ws_conn_callbacks {
  /* A complete message: opcode WS_OP_TEXT (valid UTF-8) or WS_OP_BINARY. data is valid only
   * during the call (it may point into the buffer given to ws_conn_recv; never NULL, even for
   * an empty message). Messages keep arriving after ws_conn_close() until the peer's close
   * frame (RFC 6455 7.1.2); the browser-shaped layer drops them per WHATWG if it wants. Return
   * 0, or non-zero to report an application failure: the connection fails with 1011. */
  int (*on_message)(ws_conn *c, void *ud, ws_opcode op, const uint8_t *data, size_t len);
  /* Control frames, for information (a pong is already queued for each ping). May be NULL. */
  void (*on_ping)(ws_conn *c, void *ud, const uint8_t *data, size_t len);
  void (*on_pong)(ws_conn *c, void *ud, const uint8_t *data, size_t len);
  /* The peer's close frame arrived (code 1005 when it had no body); the echo is queued. May be
   * NULL. The CloseEvent comes later, from on_close. */
  void (*on_close_frame)(ws_conn *c, void *ud, uint16_t code, const char *reason, size_t len);
  /* The connection failed (WHATWG "fail the WebSocket connection"): called once, right before
   * on_close. err is the ws_err that failed it. May be NULL. */
  void (*on_error)(ws_conn *c, void *ud, int err);
  /* The terminal report, exactly once, after the transport is gone. ev is valid during the
   * call only. After it returns the connection may be freed (also from inside the call). */
  void (*on_close)(ws_conn *c, void *ud, const ws_close_event *ev);
} ws_conn_callbacks;

/* Fills `out` with n random bytes (used for masking keys). Must not fail. */
typedef void (*ws_random_cb)(void *ud, uint8_t *out, size_t n);

typedef struct ws_conn_options {
  size_t size;                /* sizeof(ws_conn_options), set by ws_conn_options_init */
  ws_role role;
  const ws_allocator *alloc;  /* NULL: malloc */
  ws_random_cb random;        /* client role: required for mask keys. NULL: a getrandom() source
                                 in the loop layer; the core itself refuses NULL for clients */
  void *random_ud;
  uint64_t max_message_size;  /* default 1 MiB (as Python websockets); over it -> 1009, decided
                                 from the frame header before the excess is buffered */
  uint64_t max_frame_size;    /* default 0 = max_message_size (raising one raises both); over
                                 it -> 1009 */
  uint32_t max_fragments;     /* frames per message, default 1048576; over it -> 1009 */
  uint32_t close_timeout_ms;  /* default 5000: a peer that does not finish the closing
                                 handshake (or, for a client, close TCP) is cut off */
  uint32_t idle_timeout_ms;   /* default 0 (off): nothing received for this long -> the closing
                                 handshake with 1001 "idle timeout"; a peer that does not answer
                                 is cut at the close timeout (1006, PROTO_CLOSE_TIMEOUT) */
  uint32_t ping_interval_ms;  /* default 0 (off): keepalive ping after this much silence */
  uint32_t ping_timeout_ms;   /* default 20000: no pong after a keepalive ping -> fail
                                 (PROTO_PING_TIMEOUT, close frame 1011, CloseEvent 1006) */
  size_t send_queue_limit;    /* hard cap on queued output bytes, default 16 MiB: a send over it
                                 returns WS_ERR_BUFFER_FULL */
  bool text_only;             /* a binary message -> 1003 */
  bool binary_only;           /* a text message -> 1003 */
  uint8_t rsv_allowed;        /* RSV bits an extension negotiated (0x4 = RSV1), default 0 */
  /* permessage-deflate as negotiated (wsclean/deflate.h: ws_deflate_params_from_handshake),
   * copied by ws_conn_new. NULL (default) or not enabled: no compression. When enabled RSV1 is
   * allowed, compressed messages are inflated with max_message_size as the cap on inflated
   * bytes (1009), and sends of at least its threshold are compressed. */
  const struct ws_deflate_params *deflate;
} ws_conn_options;

WS_API void ws_conn_options_init(ws_conn_options *o, ws_role role);

/* Create a connection in state OPEN (the opening handshake is done elsewhere). now_ms is the
 * current time of the caller's clock. cb is copied (NULL: no callbacks). Returns NULL on
 * allocation failure or bad options: a client with no random source, a zero max_message_size,
 * max_fragments, close_timeout_ms or send_queue_limit, ping_interval_ms without
 * ping_timeout_ms, text_only and binary_only together, opts->size smaller than this header's. */
WS_API ws_conn *ws_conn_new(const ws_conn_options *opts, const ws_conn_callbacks *cb, void *ud,
                            uint64_t now_ms);
/* Free the connection. Safe from inside on_close. If on_close has not fired it does not fire. */
WS_API void ws_conn_free(ws_conn *c);

/* ---- input ------------------------------------------------------------------------------- */
/* Feed bytes read from the transport. The buffer is modified (unmasked in place). Works with any
 * split, down to one byte at a time. Returns the number of bytes consumed, which is len unless
 * the connection failed during this call: then the bytes up to and including the one that
 * failed it. Input after a failure, after the peer's close frame, after EOF or once CLOSED is
 * discarded (len returned). A negative ws_err (WS_ERR_INVAL) for bad arguments. Callbacks run
 * from inside this call. */
WS_API long ws_conn_recv(ws_conn *c, uint8_t *in, size_t len);
/* The peer closed its write side (read returned 0). ws_conn_transport() becomes CLOSE. Before
 * the closing handshake completed this ends the connection as 1006 with WS_ERR_PROTO_EOF (no
 * error event: the connection was not failed); after it, it is the expected end (clean). */
WS_API void ws_conn_eof(ws_conn *c);
/* Advance time (a smaller now_ms than before is ignored): fires the close timeout, idle timeout
 * and keepalive. Call it before the other calls too, not only at deadlines (see Time above). At the close timeout, ws_conn_transport() becomes CLOSE; if the peer never
 * answered our close frame the CloseEvent is 1006 with WS_ERR_PROTO_CLOSE_TIMEOUT. */
WS_API void ws_conn_tick(ws_conn *c, uint64_t now_ms);
/* The next time ws_conn_tick must be called, or UINT64_MAX if no timer is running. */
WS_API uint64_t ws_conn_next_deadline(const ws_conn *c);

/* ---- output ------------------------------------------------------------------------------ */
/* Queue a message (op TEXT or BINARY; a client masks it with a fresh key). WS_ERR_STATE if the
 * closing handshake has started, the connection failed or the peer sent EOF (WHATWG: the data
 * is dropped, but counted in buffered_amount), or while a fragmented message is being sent;
 * WS_ERR_INVAL for another opcode or a TEXT payload that is not UTF-8; WS_ERR_BUFFER_FULL when
 * the queued bytes (headers included) would pass send_queue_limit; WS_ERR_NOMEM. */
WS_API int ws_conn_send(ws_conn *c, ws_opcode op, const void *data, size_t len);
/* Queue one fragment of a message: op is TEXT/BINARY for the first, CONTINUATION after
 * (WS_ERR_STATE otherwise). Text is validated across fragments (WS_ERR_INVAL at a bad byte, or
 * at fin with an unfinished sequence). Other errors as ws_conn_send. */
WS_API int ws_conn_send_fragment(ws_conn *c, ws_opcode op, const void *data, size_t len, bool fin);
/* Control frames: len <= 125 (WS_ERR_INVAL), WS_ERR_STATE once our close frame is queued. */
WS_API int ws_conn_ping(ws_conn *c, const void *data, size_t len);
WS_API int ws_conn_pong(ws_conn *c, const void *data, size_t len); /* unsolicited */
/* Start the closing handshake with code (0 = a close frame with no body) and a UTF-8 reason of
 * at most 123 bytes. Any code valid on the wire is accepted here (the browser-shaped rules of
 * WHATWG close() live in the API layer). The close frame goes out after the frames already
 * queued; the close timeout starts now. WS_ERR_INVAL for a code not valid on the wire or a
 * reason with code 0, WS_ERR_SYNTAX for a bad reason; WS_OK and nothing happens if closing
 * already started (or the connection failed, or the peer sent EOF). */
WS_API int ws_conn_close(ws_conn *c, uint16_t code, const char *reason, size_t reason_len);
/* Fail the connection (RFC 6455 7.1.7) with err (< 0): drops queued frames not yet started,
 * sends a close frame (unless one was sent) with the code err maps to (1002 framing, 1007
 * UTF-8, 1009 size, 1003 type, 1008 policy, 1001 going away, 1011 otherwise) or `code` when
 * it is non-zero and valid on the wire, with ws_strerror(err) as the reason, and asks the
 * transport to shut down (WS_TRANSPORT_SHUTDOWN) without waiting for the peer. on_error +
 * on_close follow from ws_conn_transport_closed. Does nothing the second time. */
WS_API void ws_conn_fail(ws_conn *c, int err, uint16_t code);

/* Bytes waiting to be written, as up to max iovec-like slices (one per queued frame, our close
 * frame last); returns the slice count, 0 once CLOSED. */
typedef struct ws_slice {
  const uint8_t *data;
  size_t len;
} ws_slice;
WS_API int ws_conn_pending_out(const ws_conn *c, ws_slice *out, int max);
WS_API size_t ws_conn_pending_bytes(const ws_conn *c);
/* n bytes of the pending output were written. */
WS_API void ws_conn_consume_out(ws_conn *c, size_t n);

/* ---- transport --------------------------------------------------------------------------- */
WS_API ws_transport_action ws_conn_transport(const ws_conn *c);
/* The transport is gone. err is WS_OK when it closed as asked (or the peer's FIN came when
 * expected), else what happened to it (WS_ERR_PROTO_EOF for a reset/early EOF; loop-layer errors
 * for TLS/IO: before the closing handshake completed, such an error fails the connection, so
 * on_error fires). detail (may be NULL) goes to the CloseEvent's diag.detail and must live until
 * on_close returns. Frees the queued output. Fires on_error (if failed) and on_close, exactly
 * once; the state becomes CLOSED. Later calls do nothing. */
WS_API void ws_conn_transport_closed(ws_conn *c, int err, const char *detail);

/* ---- queries ----------------------------------------------------------------------------- */
WS_API ws_ready_state ws_conn_ready_state(const ws_conn *c);
WS_API ws_role ws_conn_role(const ws_conn *c);
/* WHATWG bufferedAmount: application payload bytes queued but not yet written, plus bytes
 * of messages dropped because the closing handshake had started. */
WS_API uint64_t ws_conn_buffered_amount(const ws_conn *c);
/* Close state as queries (wslay's habit): 0 when no such frame yet. */
WS_API uint16_t ws_conn_close_code_sent(const ws_conn *c);
WS_API uint16_t ws_conn_close_code_received(const ws_conn *c);
WS_API const char *ws_conn_close_reason_received(const ws_conn *c, size_t *len);
WS_API bool ws_conn_failed(const ws_conn *c);
WS_API void *ws_conn_user_data(const ws_conn *c);
WS_API void ws_conn_set_user_data(ws_conn *c, void *ud);
/* sizeof(struct ws_conn), for reports of per-connection memory. */
WS_API size_t ws_conn_sizeof(void);

/* ---- parking an idle connection --------------------------------------------------------- */
/* An OPEN connection with nothing in flight (no partial frame or message received, nothing
 * queued to send, no fragmented send under way, no ping awaiting its pong, no closing
 * handshake, no permessage-deflate) is fully described by a few numbers. ws_conn_park frees such
 * a connection and keeps those numbers in `out` (32 bytes instead of ws_conn_sizeof()); it
 * returns false and changes nothing for a connection that is not idle in that sense. A server
 * holding many idle connections parks them after each burst of work and unparks one when bytes
 * arrive or the application writes (src/api does this; see docs/conn.md).
 * ws_conn_unpark rebuilds the connection with the same options and callbacks it was created
 * with (the caller keeps them) and now_ms as the current time: its readyState, timers (idle
 * timeout, keepalive), duration and parameters are those of the parked connection. NULL on
 * allocation failure or options ws_conn_new refuses. */
typedef struct ws_conn_parked {
  uint64_t opened_at; /* private: the fields may change between versions */
  uint64_t last_rx;
  uint64_t deadline;
  uint8_t rsv_allowed;
  uint8_t reserved_[7];
} ws_conn_parked;
WS_API bool ws_conn_park(ws_conn *c, ws_conn_parked *out);
WS_API ws_conn *ws_conn_unpark(const ws_conn_parked *p, const ws_conn_options *opts,
                               const ws_conn_callbacks *cb, void *ud, uint64_t now_ms);
/* The next time a parked connection needs ws_conn_tick (after unparking it), as
 * ws_conn_next_deadline. */
WS_API uint64_t ws_conn_parked_deadline(const ws_conn_parked *p);

/* Frames built once and queued on many connections without copying (server role: frames are
 * not masked). Reference counted (not atomic: one loop thread); the creator holds one
 * reference. op TEXT (valid UTF-8) or BINARY, else NULL; NULL on allocation failure. */
typedef struct ws_frame_shared ws_frame_shared;
WS_API ws_frame_shared *ws_frame_shared_new(const ws_allocator *alloc, ws_opcode op,
                                            const void *data, size_t len);
WS_API void ws_frame_shared_release(ws_frame_shared *f);
/* Queue a shared frame (server role only: WS_ERR_INVAL for a client). Otherwise as
 * ws_conn_send; costs one small allocation, no copy. */
WS_API int ws_conn_send_shared(ws_conn *c, ws_frame_shared *f);

WS_END_DECLS
#endif
