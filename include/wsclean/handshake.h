/* wsclean — the opening handshake (RFC 6455 4), URLs, subprotocols and extension negotiation.
 *
 * Sans-I/O like ws_conn: nothing here touches a socket, a clock or a random source of its own.
 * Bytes go in, bytes come out:
 *
 *   Client                                         Server
 *   ws_client_handshake_new()                      ws_server_handshake_new()
 *   ws_client_handshake_start(url, protocols...)   ws_server_handshake_recv(bytes) -> AGAIN...
 *   send ws_client_handshake_request()             send ws_server_handshake_response()
 *   ws_client_handshake_recv(bytes) -> AGAIN...    WS_OK: open a ws_conn (server role) and feed
 *   WS_OK: open a ws_conn (client role) and feed     it the bytes after `consumed`
 *     it the bytes after `consumed`                WS_ERR_HS_NOT_UPGRADE: a plain HTTP request,
 *   any other error: fail the connection (the       answer it with ws_http_response_head()
 *     CloseEvent says 1006, wasClean false;        other errors: send the error response, close
 *     WS_ERR_HS_EXTENSION_REQUIRED: close 1010)
 *
 * Strings in and out are pointer + length slices (ws_header); nothing is NUL-terminated unless
 * said so. Every error is a negative ws_err (errors.h, range -100..-149); the handshake objects
 * also keep a one-line detail (which header, what was wrong, the bytes that were wrong) for logs
 * and the CloseEvent diagnostics: ws_client_handshake_detail(), ws_server_handshake_detail().
 *
 * Limits (defaults near Python websockets and Node): a head of at most 8192 bytes and 100 header
 * fields (431 Request Header Fields Too Large on the server), a request line of at most 4096 bytes
 * (414 URI Too Long). See docs/handshake.md.
 */
#ifndef WSCLEAN_HANDSHAKE_H
#define WSCLEAN_HANDSHAKE_H

#include "wsclean/alloc.h"
#include "wsclean/common.h"
#include "wsclean/conn.h"
#include "wsclean/errors.h"

WS_BEGIN_DECLS

/* ---- slices -----------------------------------------------------------------------------------
 */

/* One header field. In parsed messages the slices point into the caller's (or the handshake's)
 * buffer; the value has no leading or trailing whitespace. */
typedef struct ws_header {
  const char *name;
  size_t name_len;
  const char *value;
  size_t value_len;
} ws_header;

/* A string slice (not NUL-terminated). */
typedef struct ws_str {
  const char *data;
  size_t len;
} ws_str;

/* Default limits. */
#define WS_HTTP_DEFAULT_MAX_HEAD         8192u
#define WS_HTTP_DEFAULT_MAX_HEADERS      100u
#define WS_HTTP_DEFAULT_MAX_REQUEST_LINE 4096u

/* ---- URLs (WHATWG WebSocket constructor) -------------------------------------------------------
 * Accepted: ws://, wss://, http:// (-> ws), https:// (-> wss), scheme case-insensitive; leading and
 * trailing spaces/C0 controls are trimmed and tabs/newlines removed, as the WHATWG URL parser does;
 * '\' counts as '/'. Host: a reg-name (lower-cased; ASCII only: pass IDNA hosts in punycode), a
 * dotted-quad IPv4 address, or an IPv6 literal in brackets. Port: digits, 0..65535, empty or the
 * scheme's default (80/443) means the default. Path + query: "/" when empty; characters WHATWG
 * percent-encodes (space, '"', '<', '>', '`', '{', '}', controls, non-ASCII) are percent-encoded.
 * Refused: another scheme (WS_ERR_URL_SCHEME), a fragment, even an empty one (WS_ERR_URL_FRAGMENT),
 * userinfo "user:pass@" (WS_ERR_URL_USERINFO: credentials in URLs end up in logs; send an
 * Authorization header instead), a bad host (WS_ERR_URL_HOST), a bad port (WS_ERR_URL_PORT),
 * anything else that is not a URL (WS_ERR_URL_MALFORMED). Each is a SyntaxError in a browser. */
typedef struct ws_url {
  bool secure;       /* wss (or https) */
  bool ipv6;         /* host is an IPv6 literal (host holds it without brackets) */
  uint16_t port;     /* the explicit port, or 80 / 443 */
  bool default_port; /* port is the scheme's default (the Host header then omits it) */
  const char *host;  /* NUL-terminated, lower-cased */
  size_t host_len;
  const char *resource; /* path + "?" + query, NUL-terminated, at least "/" */
  size_t resource_len;
  /* private */
  char *storage_;
  const ws_allocator *alloc_;
} ws_url;

/* Parse s[0..len) (at most 65536 bytes, else WS_ERR_URL_MALFORMED) into *u. On success *u owns
 * memory from alloc (NULL: malloc): release it with ws_url_free(). On failure *u owns nothing.
 * Errors: WS_ERR_URL_* above, WS_ERR_NOMEM, WS_ERR_INVAL (NULL arguments). */
WS_API int ws_url_parse(ws_url *u, const ws_allocator *alloc, const char *s, size_t len);
WS_API void ws_url_free(ws_url *u);

/* Check a subprotocol list as the WebSocket constructor does: each entry an RFC 7230 token
 * (WS_ERR_PROTOCOL_INVALID), no entry twice, compared case-sensitively (WS_ERR_PROTOCOL_DUPLICATE).
 * If bad_index is not NULL it receives the index of the offending entry. */
WS_API int ws_protocols_validate(const char *const *protocols, size_t n, size_t *bad_index);

/* ---- Sec-WebSocket-Extensions (RFC 6455 9.1) ---------------------------------------------------
 * A ws_ext_list holds offers (client) or accepted extensions (server response) with their
 * parameters, copied into the list itself, so it does not depend on the bytes it was parsed from.
 * Limits: 16 extensions, 64 parameters in all, 1024 bytes of names and values (WS_ERR_LIMIT).
 * The pointers inside point into the list: do not copy a ws_ext_list with memcpy/assignment. */
#define WS_EXT_MAX_OFFERS 16
#define WS_EXT_MAX_PARAMS 64
#define WS_EXT_MAX_TEXT   1024

typedef struct ws_ext_param {
  const char *name; /* NUL-terminated token */
  size_t name_len;
  const char
      *value; /* NUL-terminated, unquoted and unescaped; NULL for a parameter without value */
  size_t value_len;
} ws_ext_param;

typedef struct ws_ext_offer {
  const char *name; /* NUL-terminated token, e.g. "permessage-deflate" */
  size_t name_len;
  const ws_ext_param *params;
  size_t num_params;
} ws_ext_offer;

typedef struct ws_ext_list {
  ws_ext_offer offers[WS_EXT_MAX_OFFERS];
  size_t num_offers;
  ws_ext_param params[WS_EXT_MAX_PARAMS];
  size_t num_params;
  char text[WS_EXT_MAX_TEXT];
  size_t text_len;
} ws_ext_list;

WS_API void ws_ext_list_init(ws_ext_list *l);
/* Parse one header value and append its offers: `name ; p ; p=v ; p="v" , name2 ...`
 * (RFC 6455 9.1; RFC 7230 lists: empty elements and whitespace are skipped). Call once per
 * Sec-WebSocket-Extensions header line. A quoted value must be a token after unescaping.
 * Errors: WS_ERR_HS_EXTENSION_SYNTAX (the list is left as before the call), WS_ERR_LIMIT. */
WS_API int ws_ext_list_parse(ws_ext_list *l, const char *value, size_t len);
/* Append an extension named name (a token; WS_ERR_INVAL otherwise) with no parameters yet. */
WS_API int ws_ext_list_add(ws_ext_list *l, const char *name, size_t name_len);
/* Append a parameter to the last extension added. value NULL: a parameter without value.
 * name and value must be tokens (WS_ERR_INVAL); WS_ERR_LIMIT when full; WS_ERR_STATE when the
 * list is empty. */
WS_API int ws_ext_list_add_param(ws_ext_list *l, const char *name, size_t name_len,
                                 const char *value, size_t value_len);
/* Write the header value ("a; x=1, b") into out[0..cap), NUL-terminated. Returns the length
 * without the NUL, or WS_ERR_LIMIT when cap is too small. */
WS_API long ws_ext_list_format(const ws_ext_list *l, char *out, size_t cap);
/* The first parameter named name (case-insensitive, RFC 7692 7 names are lower case), or NULL. */
WS_API const ws_ext_param *ws_ext_offer_param(const ws_ext_offer *o, const char *name);

/* An extension the application supports (permessage-deflate will be one). The handshake calls its
 * hooks; the data transform itself lives elsewhere. */
typedef struct ws_extension {
  const char *name; /* the registered token, e.g. "permessage-deflate" */
  uint8_t rsv;      /* RSV bits it uses: 0x4 RSV1, 0x2 RSV2, 0x1 RSV3 (RFC 6455 5.2). Two
                       extensions that share a bit are never both negotiated. */
  bool required;    /* client: if the server does not accept it, ws_client_handshake_recv fails
                       with WS_ERR_HS_EXTENSION_REQUIRED and the caller closes with 1010 */
  /* Client: append this extension's offer(s) to `offers` with ws_ext_list_add(+_param); several
   * offers of the same name are alternatives in preference order. NULL: offer the bare name.
   * Return 0 or a negative ws_err (ws_client_handshake_start fails with it). */
  int (*client_offer)(void *ud, ws_ext_list *offers);
  /* Client: the server accepted this extension with `response`'s parameters. Return 0 to agree,
   * or a negative ws_err to fail the handshake (WS_ERR_HS_EXTENSION is a good choice).
   * NULL: accept any parameters. */
  int (*client_verify)(void *ud, const ws_ext_offer *response);
  /* Server: one offer from the client. Return 1 to accept it (after appending the response
   * parameters to `response` with ws_ext_list_add_param: the name is already there), 0 to decline
   * this offer (the next offer of the same name is tried), or a negative ws_err to refuse the
   * handshake (400). NULL: accept the first offer with no response parameters. */
  int (*server_accept)(void *ud, const ws_ext_offer *offer, ws_ext_list *response);
  void *ud;
} ws_extension;

/* ---- plain HTTP (requests that are not upgrades, and responses) --------------------------------
 */

/* A parsed request head; every slice points into the buffer it was parsed from. */
typedef struct ws_http_request {
  const char *method;
  size_t method_len;
  const char *target; /* the request-target as sent: path + "?" + query */
  size_t target_len;
  const char *path; /* target up to '?' */
  size_t path_len;
  const char *query; /* after '?', NULL when there is no '?' */
  size_t query_len;
  int version_minor; /* HTTP/1.x */
  const ws_header *headers;
  size_t num_headers;
} ws_http_request;

/* The value of the first header named name (case-insensitive), or NULL. *len gets its length. */
WS_API const char *ws_http_request_header(const ws_http_request *r, const char *name, size_t *len);

/* Write a response head "HTTP/1.1 <status> <reason>", Content-Type (if not NULL), Content-Length,
 * the extra headers (names must be tokens and values hold no CR, LF or NUL:
 * WS_ERR_HS_HEADER_INVALID) and the blank line into out[0..cap). The caller sends the body after
 * it. Returns the length written or WS_ERR_LIMIT when cap is too small; WS_ERR_INVAL for a status
 * outside 100..599. */
WS_API long ws_http_response_head(char *out, size_t cap, int status, const char *content_type,
                                  uint64_t content_length, const ws_header *extra,
                                  size_t num_extra);
/* The standard reason phrase ("Not Found"), "" for unknown codes. */
WS_API const char *ws_http_reason(int status);

/* ---- client ------------------------------------------------------------------------------------
 */

typedef struct ws_client_handshake ws_client_handshake;

typedef struct ws_client_handshake_options {
  size_t size;         /* sizeof(ws_client_handshake_options), set by _init */
  const char *url;     /* required, NUL-terminated (see ws_url_parse) */
  ws_random_cb random; /* required: 16 bytes for Sec-WebSocket-Key (RFC 6455 4.1 says a
                          fresh random nonce per connection) */
  void *random_ud;
  const char *origin;           /* NULL (default): no Origin header */
  const char *const *protocols; /* subprotocols offered, in preference order; default none */
  size_t num_protocols;
  const ws_extension *extensions; /* offered in this order; default none */
  size_t num_extensions;
  const ws_header *headers; /* extra request headers (e.g. Authorization, Cookie), default none.
                               Names must be tokens, values must not hold CR, LF or NUL, and the
                               handshake's own headers may not be given here */
  size_t num_headers;
  size_t max_head;    /* response head limit, default 8192 bytes */
  size_t max_headers; /* response header count limit, default 100 */
} ws_client_handshake_options;

WS_API void ws_client_handshake_options_init(ws_client_handshake_options *o);
/* NULL on allocation failure. */
WS_API ws_client_handshake *ws_client_handshake_new(const ws_allocator *alloc);
WS_API void ws_client_handshake_free(ws_client_handshake *h);
/* Parse the URL, check the protocols and headers, and build the request. Errors: WS_ERR_URL_*,
 * WS_ERR_PROTOCOL_INVALID / _DUPLICATE, WS_ERR_HS_HEADER_INVALID, WS_ERR_INVAL (missing url or
 * random, called twice), WS_ERR_NOMEM, or an extension's client_offer error. The detail says
 * which part was wrong. */
WS_API int ws_client_handshake_start(ws_client_handshake *h, const ws_client_handshake_options *o);
/* The request bytes to send (valid until the object is freed). */
WS_API const uint8_t *ws_client_handshake_request(const ws_client_handshake *h, size_t *len);
/* The parsed URL (after a successful start). */
WS_API const ws_url *ws_client_handshake_url(const ws_client_handshake *h);
/* The Sec-WebSocket-Key sent (24 characters, NUL-terminated). */
WS_API const char *ws_client_handshake_key(const ws_client_handshake *h);

/* Feed bytes received from the server; any split works, down to one byte at a time.
 *   WS_ERR_AGAIN  every byte was taken (kept, up to max_head); more are needed.
 *   WS_OK         the response is complete and valid. *consumed (<= len) bytes of `in` belonged
 *                 to the response head; in[*consumed..len) are the server's first frames: hand
 *                 them to the ws_conn.
 *   WS_ERR_HS_EXTENSION_REQUIRED  a required extension was not accepted: close with 1010
 *                 (RFC 6455 7.4.1) — the response was otherwise valid.
 *   other         the connection failed (WS_ERR_HS_STATUS, _UPGRADE, _CONNECTION, _ACCEPT,
 *                 _PROTOCOL_MISSING, _PROTOCOL_UNOFFERED, _EXTENSION, _EXTENSION_SYNTAX,
 *                 WS_ERR_HTTP_*, WS_ERR_LIMIT...). Further calls return the same error.
 * consumed may be NULL. */
WS_API int ws_client_handshake_recv(ws_client_handshake *h, const uint8_t *in, size_t len,
                                    size_t *consumed);
/* After WS_OK: the subprotocol the server chose ("" for none, NUL-terminated). */
WS_API const char *ws_client_handshake_protocol(const ws_client_handshake *h);
/* After WS_OK: the extensions the server accepted, with its parameters, in its order. */
WS_API const ws_ext_list *ws_client_handshake_extensions(const ws_client_handshake *h);
/* After WS_OK: the RSV bits the accepted extensions use (for ws_conn_options.rsv_allowed). */
WS_API uint8_t ws_client_handshake_rsv(const ws_client_handshake *h);
/* The HTTP status received (0 before the status line arrived). */
WS_API int ws_client_handshake_status(const ws_client_handshake *h);
/* The response headers (after the head arrived, WS_OK or not); valid until freed. */
WS_API const ws_header *ws_client_handshake_headers(const ws_client_handshake *h, size_t *n);
/* One line saying what went wrong (which header, what it held), "" when nothing did. */
WS_API const char *ws_client_handshake_detail(const ws_client_handshake *h);

/* ---- server ------------------------------------------------------------------------------------
 */

typedef struct ws_server_handshake ws_server_handshake;

/* Lets the application add headers to the 101 response (e.g. Set-Cookie). */
typedef struct ws_server_reply ws_server_reply;
/* Copies name and value. WS_ERR_HS_HEADER_INVALID (not a token / CR, LF, NUL in the value, or
 * one of the handshake's own headers), WS_ERR_LIMIT (max_head), WS_ERR_NOMEM. */
WS_API int ws_server_reply_add_header(ws_server_reply *r, const char *name, size_t name_len,
                                      const char *value, size_t value_len);

typedef struct ws_server_handshake_options {
  size_t size;             /* sizeof(ws_server_handshake_options), set by _init */
  size_t max_head;         /* request head limit, default 8192 bytes -> 431 */
  size_t max_headers;      /* header field count limit, default 100 -> 431 */
  size_t max_request_line; /* default 4096 bytes -> 414 */
  /* Origins allowed (exact, case-insensitive ASCII compare, e.g. "https://example.com");
   * NULL/0 (default): any. A request with an Origin not in the list gets 403. A request with no
   * Origin (not a browser) is allowed unless require_origin. */
  const char *const *allowed_origins;
  size_t num_allowed_origins;
  bool require_origin; /* default false */
  /* Accept or refuse by path, Origin or any header, and add response headers. Return 0 to go on,
   * or an HTTP status 400..599 to refuse (403 Forbidden, 404 Not Found, 401...): the answer is
   * that status with a short body, and ws_server_handshake_recv returns WS_ERR_HS_REFUSED.
   * NULL (default): accept every valid request. */
  int (*accept)(void *ud, const ws_http_request *req, ws_server_reply *reply);
  /* Choose a subprotocol from the client's list (in its order). Return an index into offered,
   * or -1 for none (then no Sec-WebSocket-Protocol is sent; a browser that asked for one fails
   * the connection). NULL (default): the first of `protocols` below found in the client's list. */
  int (*select_protocol)(void *ud, const ws_http_request *req, const ws_str *offered, size_t n);
  const char *const *protocols; /* the server's subprotocols in its preference order */
  size_t num_protocols;
  const ws_extension *extensions; /* supported extensions; default none */
  size_t num_extensions;
  void *ud; /* passed to the hooks */
} ws_server_handshake_options;

WS_API void ws_server_handshake_options_init(ws_server_handshake_options *o);
/* The options are copied (the arrays they point to are not: keep them alive). NULL on
 * allocation failure or NULL options. */
WS_API ws_server_handshake *ws_server_handshake_new(const ws_server_handshake_options *o,
                                                    const ws_allocator *alloc);
WS_API void ws_server_handshake_free(ws_server_handshake *h);

/* Feed bytes received from the client; any split works, down to one byte at a time.
 *   WS_ERR_AGAIN          every byte was taken (kept, up to max_head); more are needed.
 *   WS_OK                 a valid upgrade: send ws_server_handshake_response() (101) and open a
 *                         ws_conn; in[*consumed..len) are the client's first frames.
 *   WS_ERR_HS_NOT_UPGRADE a complete plain HTTP request (no "Upgrade: websocket" and no
 *                         Sec-WebSocket-Key): ws_server_handshake_request() describes it; answer it
 *                         yourself (ws_http_response_head) — no response is prepared.
 *   other                 the request was refused: send ws_server_handshake_response() (an error
 *                         answer: 400, 403, 405 + Allow: GET, 414, 426 + Sec-WebSocket-Version: 13,
 *                         431, or the accept hook's status; Connection: close) and close.
 * Further calls return the same result. consumed may be NULL. */
WS_API int ws_server_handshake_recv(ws_server_handshake *h, const uint8_t *in, size_t len,
                                    size_t *consumed);
/* The response to send (101 or an error answer), empty before a terminal result. */
WS_API const uint8_t *ws_server_handshake_response(const ws_server_handshake *h, size_t *len);
/* The status of that response (101, 400...), 0 before. */
WS_API int ws_server_handshake_status(const ws_server_handshake *h);
/* The parsed request (after WS_OK, WS_ERR_HS_NOT_UPGRADE or a refusal that came after the head
 * was parsed), else NULL. Valid until freed. */
WS_API const ws_http_request *ws_server_handshake_request(const ws_server_handshake *h);
/* After WS_OK: the chosen subprotocol ("" for none), the accepted extensions, their RSV bits. */
WS_API const char *ws_server_handshake_protocol(const ws_server_handshake *h);
WS_API const ws_ext_list *ws_server_handshake_extensions(const ws_server_handshake *h);
WS_API uint8_t ws_server_handshake_rsv(const ws_server_handshake *h);
WS_API const char *ws_server_handshake_detail(const ws_server_handshake *h);

/* ---- building blocks ---------------------------------------------------------------------------
 */

/* Sec-WebSocket-Accept for key (RFC 6455 4.2.2: base64(SHA-1(key + GUID))): writes 28 characters
 * and a NUL into out[29]. WS_ERR_INVAL for NULL arguments. */
WS_API int ws_handshake_accept_key(const char *key, size_t key_len, char out[29]);

WS_END_DECLS
#endif
