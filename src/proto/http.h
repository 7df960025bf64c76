/* A stateless HTTP/1.1 message-head parser over a caller-owned buffer (picohttpparser's shape,
 * our own code): call it again with the longer buffer when more bytes arrive; it re-parses from
 * the start (heads are at most a few KiB) and returns
 *   n > 0          the head is complete and n bytes long (bytes after it belong to the body or,
 *                  after an upgrade, to the WebSocket stream),
 *   WS_ERR_AGAIN   the bytes so far are a valid beginning; more are needed,
 *   another error  the bytes are not a valid head (WS_ERR_HTTP_*), decided as early as possible.
 * Headers are pointer+length slices into the buffer, in a caller-sized array.
 *
 * Strict on purpose (RFC 7230 and the request-smuggling lessons behind llhttp's strict mode):
 * lines end in CRLF (a bare CR or LF is an error), one SP between request-line parts, no
 * whitespace between a field name and its colon (RFC 7230 3.2.4: 400), no obsolete line folding
 * (3.2.4), no NUL/CTL in values. One leniency, for clients: a status line may end right after the
 * status code ("HTTP/1.1 101\r\n"), as some servers send it. */
#ifndef WS_PROTO_HTTP_H
#define WS_PROTO_HTTP_H

#include "wsclean/handshake.h"

typedef struct ws__http_limits {
  size_t max_head;         /* whole head, request/status line and blank line included */
  size_t max_headers;      /* header fields; the array passed must hold this many */
  size_t max_request_line; /* request line without its CRLF (requests only) */
} ws__http_limits;

typedef struct ws__http_response {
  int version_minor;
  int status;
  const char *reason;
  size_t reason_len;
  const ws_header *headers;
  size_t num_headers;
} ws__http_response;

/* headers must have room for lim->max_headers entries. On a syntax error *err_at (if not NULL)
 * gets the offset of the offending byte (== len when the error is the lack of one). */
long ws__http_parse_request(const uint8_t *buf, size_t len, const ws__http_limits *lim,
                            ws_http_request *req, ws_header *headers, size_t *err_at);
long ws__http_parse_response(const uint8_t *buf, size_t len, const ws__http_limits *lim,
                             ws__http_response *res, ws_header *headers, size_t *err_at);

/* RFC 7230 3.2.6 token: 1*tchar. */
bool ws__http_is_token(const char *s, size_t n);
/* A field value we are willing to send: HTAB, SP, VCHAR, obs-text; no CR, LF, NUL or other CTL. */
bool ws__http_is_field_value(const char *s, size_t n);
/* ASCII case-insensitive equality of s[0..n) and the NUL-terminated lit. */
bool ws__http_ieq(const char *s, size_t n, const char *lit);
/* RFC 7230 7 lists: the next non-empty element of [*p, end), whitespace-trimmed. Returns false at
 * the end. Elements are split at commas only: callers that allow quoted strings parse themselves.
 */
bool ws__http_list_next(const char **p, const char *end, const char **elt, size_t *elt_len);
/* True when the comma-separated list value contains token (case-insensitive). */
bool ws__http_list_has(const char *value, size_t len, const char *token);
/* Count the headers named name (case-insensitive); *first gets the first one (or NULL). */
size_t ws__http_find(const ws_header *h, size_t n, const char *name, const ws_header **first);

/* Sec-WebSocket-Accept for key into out[29] (sha1_base64.c). */
int ws__accept_key(const char *key, size_t key_len, char out[29]);
/* base64 of 16 bytes -> 24 characters + NUL. */
void ws__base64_16(const uint8_t in[16], char out[25]);
/* RFC 6455 4.2.1 point 5: is s a base64 encoding of exactly 16 bytes? */
bool ws__is_key16(const char *s, size_t n);

#endif
