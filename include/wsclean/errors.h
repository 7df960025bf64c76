/* wsclean — library errors.
 *
 * Every function that can fail returns an int: 0 (WS_OK) on success, a negative WS_ERR_* on
 * failure. Library errors are not close codes: a protocol error (WS_ERR_PROTO_*) *leads to* a
 * close code (1002, 1007, 1009...), which lives in close_codes.h. ws_strerror() gives a precise
 * English sentence (with the RFC section where one applies), ws_errname() the symbol's name.
 *
 * Numbers are stable once released. Ranges: general -1..-49, protocol -50..-99,
 * handshake/URL -100..-149, loop/socket/TLS -150..-199, API -200..-249, deflate -250..-299.
 */
#ifndef WSCLEAN_ERRORS_H
#define WSCLEAN_ERRORS_H

#include "wsclean/common.h"

WS_BEGIN_DECLS

/* X(NAME, number, message) */
#define WS_ERROR_TABLE(X)                                                                          \
  /* general */                                                                                    \
  X(NOMEM, -1, "out of memory")                                                                    \
  X(INVAL, -2, "invalid argument")                                                                 \
  X(STATE, -3, "not allowed in the current readyState (InvalidStateError)")                        \
  X(INVALID_ACCESS, -4, "close code must be 1000 or 3000-4999 (InvalidAccessError)")               \
  X(SYNTAX, -5, "close reason is longer than 123 bytes or not UTF-8 (SyntaxError)")                \
  X(LIMIT, -6, "a configured limit was exceeded")                                                  \
  X(AGAIN, -7, "more input is needed")                                                             \
  X(CLOSED, -8, "the connection is closed")                                                        \
  X(NOT_FOUND, -9, "not found")                                                                    \
  X(UNSUPPORTED, -10, "not supported")                                                             \
  X(BUFFER_FULL, -11, "send queue is over its hard limit")                                         \
  X(IGNORED, -12, "ignored: the closing handshake has started")                                    \
  /* protocol (RFC 6455) */                                                                        \
  X(PROTO_RSV, -50, "reserved bit set without a negotiated extension (RFC 6455 5.2)")              \
  X(PROTO_OPCODE, -51, "reserved opcode (RFC 6455 5.2)")                                           \
  X(PROTO_UNMASKED, -52, "client frame is not masked (RFC 6455 5.1)")                              \
  X(PROTO_MASKED, -53, "server frame is masked (RFC 6455 5.1)")                                    \
  X(PROTO_CONTROL_TOO_LONG, -54, "control frame payload over 125 bytes (RFC 6455 5.5)")            \
  X(PROTO_CONTROL_FRAGMENTED, -55, "fragmented control frame (RFC 6455 5.5)")                      \
  X(PROTO_CONTINUATION, -56, "continuation frame with no message to continue (RFC 6455 5.4)")      \
  X(PROTO_EXPECTED_CONTINUATION, -57,                                                              \
    "new data frame while a fragmented message is unfinished (RFC 6455 5.4)")                      \
  X(PROTO_LENGTH, -58, "64-bit payload length with the most significant bit set (RFC 6455 5.2)")   \
  X(PROTO_CLOSE_PAYLOAD, -59, "close frame payload of 1 byte (RFC 6455 5.5.1)")                    \
  X(PROTO_CLOSE_CODE, -60, "close code that must not appear on the wire (RFC 6455 7.4)")           \
  X(PROTO_INVALID_UTF8, -61, "text message is not valid UTF-8 (RFC 6455 8.1)")                     \
  X(PROTO_INVALID_UTF8_REASON, -62, "close reason is not valid UTF-8 (RFC 6455 5.5.1)")            \
  X(PROTO_MESSAGE_TOO_BIG, -63, "message is larger than the maximum message size")                 \
  X(PROTO_FRAME_TOO_BIG, -64, "frame is larger than the maximum frame size")                       \
  X(PROTO_TOO_MANY_FRAGMENTS, -65, "message has more fragments than the maximum allowed")          \
  X(PROTO_UNSUPPORTED_DATA, -66, "this endpoint does not accept this type of message")             \
  X(PROTO_APP_ERROR, -67, "the application's message handler failed")                             \
  X(PROTO_CLOSE_TIMEOUT, -68, "the peer did not finish the closing handshake in time")             \
  X(PROTO_IDLE_TIMEOUT, -69, "nothing was received within the idle timeout")                       \
  X(PROTO_EOF, -70, "the TCP connection closed without a closing handshake")                       \
  X(PROTO_DATA_AFTER_CLOSE, -71, "data frame after the close frame")                               \
  X(PROTO_PING_TIMEOUT, -72, "no pong answered a keepalive ping in time")                          \
  X(PROTO_POLICY, -73, "the connection violated the endpoint's policy")                            \
  X(PROTO_GOING_AWAY, -74, "the endpoint is going away")                                         \
  /* handshake and URL (-100..-149): src/proto/handshake */                                      \
  X(URL_MALFORMED, -100, "URL is not a valid absolute URL (SyntaxError)")                          \
  X(URL_SCHEME, -101, "URL scheme is not ws, wss, http or https (SyntaxError)")                    \
  X(URL_FRAGMENT, -102, "URL has a fragment, which a WebSocket URL must not have (SyntaxError)")   \
  X(URL_HOST, -103,                                                                                \
    "URL host is empty or not a valid host name, IPv4 or [IPv6] address (SyntaxError)")            \
  X(URL_PORT, -104, "URL port is not a number from 0 to 65535 (SyntaxError)")                      \
  X(URL_USERINFO, -105,                                                                            \
    "URL holds user:password@, which wsclean refuses: send an Authorization header")               \
  X(PROTOCOL_INVALID, -106, "subprotocol is empty or not an RFC 7230 token (SyntaxError)")         \
  X(PROTOCOL_DUPLICATE, -107, "subprotocol is listed twice (SyntaxError)")                         \
  X(HS_HEADER_INVALID, -108,                                                                       \
    "header name is not a token, its value holds CR/LF/NUL, or it is reserved to the handshake")   \
  X(HTTP_MALFORMED, -109, "malformed HTTP message head (RFC 7230 3)")                              \
  X(HTTP_OBS_FOLD, -110, "HTTP header uses obsolete line folding (RFC 7230 3.2.4)")                \
  X(HTTP_HEAD_TOO_LARGE, -111, "HTTP head is larger than the size limit")                          \
  X(HTTP_TOO_MANY_HEADERS, -112, "HTTP head has more header fields than the limit")                \
  X(HTTP_URI_TOO_LONG, -113, "HTTP request line is longer than the limit")                         \
  X(HS_STATUS, -114, "server did not answer 101 Switching Protocols (RFC 6455 4.1)")               \
  X(HS_UPGRADE, -115, "Upgrade header is missing or not \"websocket\" (RFC 6455 4.1, 4.2.1)")      \
  X(HS_CONNECTION, -116,                                                                           \
    "Connection header is missing or lacks the \"Upgrade\" token (RFC 6455 4.1, 4.2.1)")           \
  X(HS_ACCEPT, -117,                                                                               \
    "Sec-WebSocket-Accept is missing, repeated or does not match the key (RFC 6455 4.1)")          \
  X(HS_PROTOCOL_MISSING, -118, "subprotocols were requested but the server chose none (WHATWG)")   \
  X(HS_PROTOCOL_UNOFFERED, -119,                                                                   \
    "server chose a subprotocol the client did not offer (RFC 6455 4.1)")                          \
  X(HS_EXTENSION, -120,                                                                            \
    "server accepted an extension not offered, twice, or with refused parameters (RFC 6455 9.1)")  \
  X(HS_EXTENSION_SYNTAX, -121, "Sec-WebSocket-Extensions is malformed (RFC 6455 9.1)")             \
  X(HS_EXTENSION_REQUIRED, -122,                                                                   \
    "server did not accept an extension the client requires: close with 1010 (RFC 6455 7.4.1)")    \
  X(HS_METHOD, -123, "WebSocket request method is not GET (RFC 6455 4.1)")                         \
  X(HS_HTTP_VERSION, -124, "WebSocket request is not HTTP/1.1 or later (RFC 6455 4.1)")            \
  X(HS_HOST, -125, "Host header is missing (RFC 7230 5.4)")                                        \
  X(HS_KEY, -126, "Sec-WebSocket-Key is missing or not base64 of 16 bytes (RFC 6455 4.2.1)")       \
  X(HS_VERSION, -127, "Sec-WebSocket-Version is missing or not 13 (RFC 6455 4.4)")                 \
  X(HS_DUPLICATE, -128, "a header that must appear once appears more than once (RFC 6455 11.3)")   \
  X(HS_ORIGIN, -129, "the Origin is not allowed (RFC 6455 4.2.2, 10.2)")                           \
  X(HS_REFUSED, -130, "the application refused the WebSocket request")                             \
  X(HS_NOT_UPGRADE, -131, "a plain HTTP request, not a WebSocket upgrade")                         \
  X(HS_PROTOCOL_SYNTAX, -132, "Sec-WebSocket-Protocol is malformed (RFC 6455 4.1)")                \
  /* loop, sockets, TLS (-150..-199): src/loop */                                                \
  X(IO, -150, "a socket or epoll call failed (diag.detail has errno's text)")                     \
  X(RESOLVE, -151, "the host name could not be resolved (getaddrinfo)")                           \
  X(CONNECT, -152, "the TCP connection could not be established")                                 \
  X(RESET, -153, "the TCP connection was reset by the peer")                                      \
  X(TLS_HANDSHAKE, -154, "the TLS handshake failed (reported as close code 1015)")                \
  X(TLS, -155, "a TLS error after the handshake")                                                 \
  X(LISTEN, -156, "the server could not bind or listen on the address")                           \
  X(TLS_CONFIG, -157, "TLS configuration failed (CA, certificate or key file)")                   \
  /* API (-200..-249): src/api */                                                                \
  X(HANDSHAKE_TIMEOUT, -200, "the opening handshake did not finish within the handshake timeout") \
  X(SERVER_FULL, -201, "the server is at its connection limit (closed with 1013)")                \
  X(SHUTDOWN, -202, "the server is shutting down (closed with 1001, or 1012 for a restart)")      \
  X(SLOW_CONSUMER, -203, "the send queue stayed over its limit (closed with 1008)")               \
  X(HANDSHAKE_REFUSED, -204, "the opening handshake was refused or invalid")                     \
  X(ABORTED, -205, "close() was called while connecting: the connection was failed")              \
  X(HANDLER_FAILED, -206, "the application's connection handler failed (closed with 1011)")      \
  X(TERMINATED, -207, "ws_terminate() cut the connection without a closing handshake")            \
  /* permessage-deflate (-250..-299): src/proto/deflate */                                        \
  X(PMD_PARAMS, -250, "permessage-deflate parameters are invalid or not an answer to the offer "    \
                      "(RFC 7692 7.1)")                                                            \
  X(PMD_DATA, -251, "compressed message is not valid DEFLATE data (RFC 7692 7.2.2)")               \
  X(PMD_RSV1, -252, "RSV1 set on a control or continuation frame (RFC 7692 6.1)")

typedef enum ws_err {
  WS_OK = 0,
#define WS__ERR_ENUM(name, num, msg) WS_ERR_##name = (num),
  WS_ERROR_TABLE(WS__ERR_ENUM)
#undef WS__ERR_ENUM
} ws_err;

/* A sentence describing err (never NULL; "unknown error" for a number not in the table). */
WS_API const char *ws_strerror(int err);
/* The symbolic name, e.g. "WS_ERR_PROTO_UNMASKED" (never NULL). */
WS_API const char *ws_errname(int err);

WS_END_DECLS
#endif
