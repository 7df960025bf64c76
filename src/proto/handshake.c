/* The opening handshake (RFC 6455 4): the client's request and its check of the response, the
 * server's check of the request and its response (101 or an error answer). See
 * docs/internals/handshake.md for the order of the checks and why. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "proto/extensions.h"
#include "proto/http.h"

#define DETAIL_CAP 256
/* Our own request: the URL (<= 64 KiB), the protocols and the caller's extra headers. */
#define REQUEST_MAX (256u * 1024u)
/* Extra response headers the application adds. */
#define REPLY_MAX (16u * 1024u)

__attribute__((format(printf, 2, 3))) static void set_detail(char *d, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(d, DETAIL_CAP, fmt, ap);
  va_end(ap);
}

/* Shown values are cut at 80 bytes: enough to see what was wrong, bounded for logs. */
#define SHOW(p, n) (int)((n) > 80 ? 80 : (n)), (const char *)(p)

static size_t or_default(size_t v, size_t d) { return v ? v : d; }

/* "request head: <error> at byte 17 (0x20)": the offending byte, or the size for limits. */
static void head_error(char *d, const char *what, int err, const uint8_t *buf, size_t len,
                       size_t at) {
  if (err == WS_ERR_HTTP_MALFORMED || err == WS_ERR_HTTP_OBS_FOLD) {
    if (at < len)
      set_detail(d, "%s head: %s, at byte %zu (0x%02x)", what, ws_strerror(err), at, buf[at]);
    else
      set_detail(d, "%s head: %s, at byte %zu", what, ws_strerror(err), at);
  } else {
    set_detail(d, "%s head: %s (%zu bytes received)", what, ws_strerror(err), len);
  }
}

/* Headers a caller may not set: the handshake owns them (RFC 6455 4.1, 4.2.2). Content-Length and
 * Transfer-Encoding would give a body to a message that has none and desynchronise the stream. */
static bool reserved_header(const char *name, size_t n, bool server) {
  static const char *const common[] = {"Upgrade",
                                       "Connection",
                                       "Sec-WebSocket-Protocol",
                                       "Sec-WebSocket-Extensions",
                                       "Sec-WebSocket-Accept",
                                       "Sec-WebSocket-Key",
                                       "Sec-WebSocket-Version",
                                       "Content-Length",
                                       "Transfer-Encoding"};
  for (size_t i = 0; i < sizeof common / sizeof common[0]; i++)
    if (ws__http_ieq(name, n, common[i]))
      return true;
  return !server && (ws__http_ieq(name, n, "Host") || ws__http_ieq(name, n, "Origin"));
}

/* ================================ client =======================================================
 */

struct ws_client_handshake {
  const ws_allocator *alloc;
  bool started;
  int result; /* WS_ERR_AGAIN while the response is awaited, then the final result */
  ws_url url;
  char key[25];
  char accept[29];
  ws__buf request;
  ws__buf protos; /* offered subprotocols, each NUL-terminated */
  size_t num_protos;
  const ws_extension *exts;
  size_t num_exts;
  size_t max_head, max_headers;
  ws__buf in; /* the response head, as received */
  ws_header *headers;
  size_t num_headers;
  int status;
  const char *protocol;
  ws_ext_list offered;
  ws_ext_list accepted;
  uint8_t rsv;
  char detail[DETAIL_CAP];
};

void ws_client_handshake_options_init(ws_client_handshake_options *o) {
  if (!o)
    return;
  memset(o, 0, sizeof *o);
  o->size = sizeof *o;
  o->max_head = WS_HTTP_DEFAULT_MAX_HEAD;
  o->max_headers = WS_HTTP_DEFAULT_MAX_HEADERS;
}

ws_client_handshake *ws_client_handshake_new(const ws_allocator *alloc) {
  ws_client_handshake *h = ws__calloc(alloc, 1, sizeof *h);
  if (!h)
    return NULL;
  h->alloc = alloc;
  h->result = WS_ERR_STATE; /* not started */
  h->protocol = "";
  ws__buf_init(&h->request, alloc, REQUEST_MAX);
  ws__buf_init(&h->protos, alloc, REQUEST_MAX);
  ws__buf_init(&h->in, alloc, 0);
  ws_ext_list_init(&h->offered);
  ws_ext_list_init(&h->accepted);
  return h;
}

void ws_client_handshake_free(ws_client_handshake *h) {
  if (!h)
    return;
  ws_url_free(&h->url);
  ws__buf_free(&h->request);
  ws__buf_free(&h->protos);
  ws__buf_free(&h->in);
  ws__free(h->alloc, h->headers);
  ws__free(h->alloc, h);
}

static int client_fail(ws_client_handshake *h, int rc) {
  h->result = rc;
  return rc;
}

int ws_client_handshake_start(ws_client_handshake *h, const ws_client_handshake_options *o) {
  if (!h)
    return WS_ERR_INVAL;
  if (h->started) {
    set_detail(h->detail, "ws_client_handshake_start called twice");
    return WS_ERR_INVAL;
  }
  if (!o || o->size < sizeof *o || !o->url || !o->random) {
    set_detail(h->detail,
               "options: url and random are required (ws_client_handshake_options_init)");
    return WS_ERR_INVAL;
  }
  h->started = true;
  int rc = ws_url_parse(&h->url, h->alloc, o->url, strlen(o->url));
  if (rc) {
    set_detail(h->detail, "URL \"%.*s\": %s", SHOW(o->url, strlen(o->url)), ws_strerror(rc));
    return client_fail(h, rc);
  }
  size_t bad = 0;
  rc = ws_protocols_validate(o->protocols, o->num_protocols, &bad);
  if (rc) {
    const char *p = o->protocols[bad] ? o->protocols[bad] : "(null)";
    set_detail(h->detail, "subprotocol #%zu \"%.*s\": %s", bad, SHOW(p, strlen(p)),
               ws_strerror(rc));
    return client_fail(h, rc);
  }
  if (o->origin && !ws__http_is_field_value(o->origin, strlen(o->origin))) {
    set_detail(h->detail, "Origin: holds CR, LF, NUL or another control character");
    return client_fail(h, WS_ERR_HS_HEADER_INVALID);
  }
  if ((o->num_headers && !o->headers) || (o->num_extensions && !o->extensions))
    return client_fail(h, WS_ERR_INVAL);
  for (size_t i = 0; i < o->num_headers; i++) {
    const ws_header *x = &o->headers[i];
    if (!x->name || !ws__http_is_token(x->name, x->name_len) || (!x->value && x->value_len) ||
        (x->value && !ws__http_is_field_value(x->value, x->value_len)) ||
        reserved_header(x->name, x->name_len, false)) {
      set_detail(h->detail,
                 "extra header #%zu \"%.*s\": name not a token, value with CR/LF/NUL/controls, "
                 "or a header the handshake sets itself",
                 i, SHOW(x->name ? x->name : "", x->name ? x->name_len : 0));
      return client_fail(h, WS_ERR_HS_HEADER_INVALID);
    }
  }
  h->exts = o->extensions;
  h->num_exts = o->num_extensions;
  rc = ws__ext_client_offers(o->extensions, o->num_extensions, &h->offered, h->detail, DETAIL_CAP);
  if (rc)
    return client_fail(h, rc);
  h->max_head = or_default(o->max_head, WS_HTTP_DEFAULT_MAX_HEAD);
  h->max_headers = or_default(o->max_headers, WS_HTTP_DEFAULT_MAX_HEADERS);
  h->in.max = h->max_head;
  h->headers = ws__calloc(h->alloc, h->max_headers, sizeof *h->headers);
  if (!h->headers)
    return client_fail(h, WS_ERR_NOMEM);

  /* RFC 6455 4.1: the key is a fresh random 16-byte nonce, base64-encoded. */
  uint8_t nonce[16];
  ws_random_cb fill = o->random; /* the caller's source: the core has none of its own */
  fill(o->random_ud, nonce, sizeof nonce);
  ws__base64_16(nonce, h->key);
  ws__accept_key(h->key, 24, h->accept);

  ws__buf *b = &h->request;
  rc = ws__buf_append_str(b, "GET ");
  rc = rc ? rc : ws__buf_append(b, h->url.resource, h->url.resource_len);
  rc = rc ? rc : ws__buf_append_str(b, " HTTP/1.1\r\nHost: ");
  /* RFC 6455 4.1 + RFC 7230 5.4: host, in brackets for IPv6, with the port when not default. */
  if (!rc && h->url.ipv6)
    rc = ws__buf_appendf(b, "[%s]", h->url.host);
  else if (!rc)
    rc = ws__buf_append_str(b, h->url.host);
  if (!rc && !h->url.default_port)
    rc = ws__buf_appendf(b, ":%u", (unsigned)h->url.port);
  rc = rc ? rc
          : ws__buf_appendf(b,
                            "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                            "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n",
                            h->key);
  if (!rc && o->origin)
    rc = ws__buf_appendf(b, "Origin: %s\r\n", o->origin);
  if (!rc && o->num_protocols) {
    rc = ws__buf_append_str(b, "Sec-WebSocket-Protocol: ");
    for (size_t i = 0; !rc && i < o->num_protocols; i++) {
      if (i)
        rc = ws__buf_append_str(b, ", ");
      rc = rc ? rc : ws__buf_append_str(b, o->protocols[i]);
      rc = rc ? rc : ws__buf_append(&h->protos, o->protocols[i], strlen(o->protocols[i]) + 1);
    }
    h->num_protos = o->num_protocols;
    rc = rc ? rc : ws__buf_append_str(b, "\r\n");
  }
  if (!rc && h->offered.num_offers) {
    char ext[WS_EXT_MAX_TEXT * 2];
    long n = ws_ext_list_format(&h->offered, ext, sizeof ext);
    rc = n < 0 ? (int)n : ws__buf_appendf(b, "Sec-WebSocket-Extensions: %s\r\n", ext);
  }
  for (size_t i = 0; !rc && i < o->num_headers; i++) {
    const ws_header *x = &o->headers[i];
    rc = ws__buf_append(b, x->name, x->name_len);
    rc = rc ? rc : ws__buf_append_str(b, ": ");
    rc = rc ? rc : ws__buf_append(b, x->value, x->value_len);
    rc = rc ? rc : ws__buf_append_str(b, "\r\n");
  }
  rc = rc ? rc : ws__buf_append_str(b, "\r\n");
  if (rc) {
    set_detail(h->detail, "building the request: %s", ws_strerror(rc));
    return client_fail(h, rc);
  }
  h->result = WS_ERR_AGAIN;
  return WS_OK;
}

const uint8_t *ws_client_handshake_request(const ws_client_handshake *h, size_t *len) {
  if (len)
    *len = h ? h->request.len : 0;
  return h ? h->request.data : NULL;
}
const ws_url *ws_client_handshake_url(const ws_client_handshake *h) {
  return h && h->url.host ? &h->url : NULL;
}
const char *ws_client_handshake_key(const ws_client_handshake *h) { return h ? h->key : NULL; }

/* Every Upgrade/Connection value joined: true if the token is in any of them. */
static bool any_has(const ws_header *hd, size_t n, const char *name, const char *token) {
  for (size_t i = 0; i < n; i++)
    if (ws__http_ieq(hd[i].name, hd[i].name_len, name) &&
        ws__http_list_has(hd[i].value, hd[i].value_len, token))
      return true;
  return false;
}

/* RFC 6455 4.1, the client's checks of the response, in the RFC's order. */
static int client_verify(ws_client_handshake *h, const ws__http_response *res) {
  const ws_header *hd = res->headers, *x;
  size_t n = res->num_headers;
  if (res->status != 101) {
    set_detail(h->detail, "the server answered %d %.*s instead of 101 Switching Protocols",
               res->status, SHOW(res->reason, res->reason_len));
    return WS_ERR_HS_STATUS;
  }
  /* 2: Upgrade must be "websocket" (case-insensitive), and nothing else. */
  size_t count = ws__http_find(hd, n, "Upgrade", &x);
  if (count != 1 || !ws__http_ieq(x->value, x->value_len, "websocket")) {
    if (count == 0)
      set_detail(h->detail, "Upgrade: missing from the response");
    else
      set_detail(h->detail, "Upgrade: expected \"websocket\", got \"%.*s\"%s",
                 SHOW(x->value, x->value_len), count > 1 ? " (and more Upgrade headers)" : "");
    return WS_ERR_HS_UPGRADE;
  }
  /* 3: Connection must contain the "Upgrade" token (it may be a list, or several headers). */
  if (!any_has(hd, n, "Connection", "upgrade")) {
    count = ws__http_find(hd, n, "Connection", &x);
    if (count == 0)
      set_detail(h->detail, "Connection: missing from the response");
    else
      set_detail(h->detail, "Connection: no \"Upgrade\" token in \"%.*s\"",
                 SHOW(x->value, x->value_len));
    return WS_ERR_HS_CONNECTION;
  }
  /* 4: Sec-WebSocket-Accept must be base64(SHA-1(key + GUID)), compared exactly. */
  count = ws__http_find(hd, n, "Sec-WebSocket-Accept", &x);
  if (count != 1 || x->value_len != 28 || memcmp(x->value, h->accept, 28) != 0) {
    if (count == 0)
      set_detail(h->detail, "Sec-WebSocket-Accept: missing (expected \"%s\")", h->accept);
    else if (count > 1)
      set_detail(h->detail, "Sec-WebSocket-Accept: sent %zu times", count);
    else
      set_detail(h->detail, "Sec-WebSocket-Accept: expected \"%s\", got \"%.*s\"", h->accept,
                 SHOW(x->value, x->value_len));
    return WS_ERR_HS_ACCEPT;
  }
  /* 5: extensions, each one the client offered (several headers may carry them). */
  for (size_t i = 0; i < n; i++) {
    if (!ws__http_ieq(hd[i].name, hd[i].name_len, "Sec-WebSocket-Extensions"))
      continue;
    int rc = ws_ext_list_parse(&h->accepted, hd[i].value, hd[i].value_len);
    if (rc) {
      set_detail(h->detail, "Sec-WebSocket-Extensions: %s in \"%.*s\"",
                 rc == WS_ERR_LIMIT ? "too many extensions or parameters" : "malformed",
                 SHOW(hd[i].value, hd[i].value_len));
      return rc == WS_ERR_LIMIT ? WS_ERR_HS_EXTENSION : rc;
    }
  }
  int ext_rc =
      ws__ext_client_verify(h->exts, h->num_exts, &h->accepted, &h->rsv, h->detail, DETAIL_CAP);
  if (ext_rc && ext_rc != WS_ERR_HS_EXTENSION_REQUIRED)
    return ext_rc;
  /* 6: the subprotocol, one the client offered; WHATWG also fails a missing one when some were
   * requested ("establish a WebSocket connection", step on Sec-WebSocket-Protocol). */
  count = ws__http_find(hd, n, "Sec-WebSocket-Protocol", &x);
  if (count == 0 && h->num_protos) {
    set_detail(h->detail, "Sec-WebSocket-Protocol: missing, but %zu subprotocol(s) were requested",
               h->num_protos);
    return WS_ERR_HS_PROTOCOL_MISSING;
  }
  if (count > 1) {
    set_detail(h->detail, "Sec-WebSocket-Protocol: sent %zu times", count);
    return WS_ERR_HS_PROTOCOL_SYNTAX;
  }
  if (count == 1) {
    const char *p = (const char *)h->protos.data;
    const char *found = NULL;
    for (size_t i = 0; i < h->num_protos && !found; i++, p += strlen(p) + 1)
      if (strlen(p) == x->value_len && memcmp(p, x->value, x->value_len) == 0)
        found = p;
    if (!found) {
      set_detail(h->detail, "Sec-WebSocket-Protocol: the server chose \"%.*s\", which was %s",
                 SHOW(x->value, x->value_len),
                 h->num_protos ? "not offered" : "not offered (none were)");
      return WS_ERR_HS_PROTOCOL_UNOFFERED;
    }
    h->protocol = found;
  }
  return ext_rc; /* WS_OK, or EXTENSION_REQUIRED for an otherwise valid response: 1010 */
}

int ws_client_handshake_recv(ws_client_handshake *h, const uint8_t *in, size_t len,
                             size_t *consumed) {
  if (consumed)
    *consumed = 0;
  if (!h || (!in && len))
    return WS_ERR_INVAL;
  if (h->result != WS_ERR_AGAIN)
    return h->result;
  /* Keep at most max_head bytes: the parser reports a head that does not fit. */
  size_t before = h->in.len;
  size_t take = len < h->max_head - before ? len : h->max_head - before;
  int rc = ws__buf_append(&h->in, in, take);
  if (rc)
    return client_fail(h, rc);
  ws__http_limits lim = {h->max_head, h->max_headers, 0};
  ws__http_response res;
  size_t at = 0;
  long r = ws__http_parse_response(h->in.data, h->in.len, &lim, &res, h->headers, &at);
  if (r == WS_ERR_AGAIN) {
    if (consumed)
      *consumed = len;
    return WS_ERR_AGAIN;
  }
  if (r < 0) {
    head_error(h->detail, "response", (int)r, h->in.data, h->in.len, at);
    return client_fail(h, (int)r);
  }
  /* Bytes past the head are the server's first frames: they stay with the caller. */
  size_t head = (size_t)r;
  h->in.len = head;
  if (consumed)
    *consumed = head - before;
  h->status = res.status;
  h->num_headers = res.num_headers;
  rc = client_verify(h, &res);
  if (rc == WS_OK)
    h->detail[0] = '\0';
  h->result = rc;
  return rc;
}

const char *ws_client_handshake_protocol(const ws_client_handshake *h) {
  return h ? h->protocol : "";
}
const ws_ext_list *ws_client_handshake_extensions(const ws_client_handshake *h) {
  return h ? &h->accepted : NULL;
}
uint8_t ws_client_handshake_rsv(const ws_client_handshake *h) { return h ? h->rsv : 0; }
int ws_client_handshake_status(const ws_client_handshake *h) { return h ? h->status : 0; }
const ws_header *ws_client_handshake_headers(const ws_client_handshake *h, size_t *n) {
  if (n)
    *n = h ? h->num_headers : 0;
  return h ? h->headers : NULL;
}
const char *ws_client_handshake_detail(const ws_client_handshake *h) { return h ? h->detail : ""; }

/* ================================ server =======================================================
 */

struct ws_server_reply {
  ws__buf lines; /* "Name: value\r\n" lines added by the application */
};

/* Header entries parsed on the stack while a request is incomplete (the default limit); a
 * larger max_headers gets a heap array at the first byte instead. */
#define STACK_HEADERS WS_HTTP_DEFAULT_MAX_HEADERS

/* What a request still trickling in holds is the object and its bytes so far (slowloris: about
 * 1.2 KiB plus the head): the header array and the two extension lists (~10 KiB together) are
 * made once the whole head is in. */
struct ws_server_handshake {
  const ws_allocator *alloc;
  ws_server_handshake_options o;
  int result; /* WS_ERR_AGAIN until the request is decided */
  ws__buf in;
  ws_header *headers; /* the complete request's headers (or the array for a large limit) */
  ws_http_request req;
  bool have_req;
  ws__buf out;
  int status;
  ws_server_reply reply;
  char protocol[256]; /* a token the client sent; longer ones are never chosen */
  ws_ext_list *ext;   /* [0] the client's offers, [1] our answer; NULL until negotiated */
  uint8_t rsv;
  char detail[DETAIL_CAP];
};

static const ws_ext_list no_extensions; /* num_offers 0: what nothing negotiated reads as */

void ws_server_handshake_options_init(ws_server_handshake_options *o) {
  if (!o)
    return;
  memset(o, 0, sizeof *o);
  o->size = sizeof *o;
  o->max_head = WS_HTTP_DEFAULT_MAX_HEAD;
  o->max_headers = WS_HTTP_DEFAULT_MAX_HEADERS;
  o->max_request_line = WS_HTTP_DEFAULT_MAX_REQUEST_LINE;
}

ws_server_handshake *ws_server_handshake_new(const ws_server_handshake_options *o,
                                             const ws_allocator *alloc) {
  if (!o || o->size < sizeof *o)
    return NULL;
  ws_server_handshake *h = ws__calloc(alloc, 1, sizeof *h);
  if (!h)
    return NULL;
  h->alloc = alloc;
  h->o = *o;
  h->o.max_head = or_default(o->max_head, WS_HTTP_DEFAULT_MAX_HEAD);
  h->o.max_headers = or_default(o->max_headers, WS_HTTP_DEFAULT_MAX_HEADERS);
  h->o.max_request_line = or_default(o->max_request_line, WS_HTTP_DEFAULT_MAX_REQUEST_LINE);
  h->result = WS_ERR_AGAIN;
  ws__buf_init(&h->in, alloc, h->o.max_head);
  ws__buf_init(&h->out, alloc, h->o.max_head + REPLY_MAX + 1024);
  ws__buf_init(&h->reply.lines, alloc, REPLY_MAX);
  return h;
}

void ws_server_handshake_free(ws_server_handshake *h) {
  if (!h)
    return;
  ws__buf_free(&h->in);
  ws__buf_free(&h->out);
  ws__buf_free(&h->reply.lines);
  ws__free(h->alloc, h->headers);
  ws__free(h->alloc, h->ext);
  ws__free(h->alloc, h);
}

int ws_server_reply_add_header(ws_server_reply *r, const char *name, size_t name_len,
                               const char *value, size_t value_len) {
  if (!r || !name || (!value && value_len))
    return WS_ERR_INVAL;
  if (!ws__http_is_token(name, name_len) || (value && !ws__http_is_field_value(value, value_len)) ||
      reserved_header(name, name_len, true))
    return WS_ERR_HS_HEADER_INVALID;
  size_t save = r->lines.len;
  int rc = ws__buf_append(&r->lines, name, name_len);
  rc = rc ? rc : ws__buf_append_str(&r->lines, ": ");
  rc = rc ? rc : ws__buf_append(&r->lines, value, value_len);
  rc = rc ? rc : ws__buf_append_str(&r->lines, "\r\n");
  if (rc)
    r->lines.len = save;
  return rc;
}

static int status_for(int err) {
  switch (err) {
  case WS_ERR_HTTP_HEAD_TOO_LARGE:
  case WS_ERR_HTTP_TOO_MANY_HEADERS:
    return 431; /* RFC 6585 5 */
  case WS_ERR_HTTP_URI_TOO_LONG:
    return 414; /* RFC 7231 6.5.12 */
  case WS_ERR_HS_METHOD:
    return 405; /* RFC 7231 6.5.5, with Allow */
  case WS_ERR_HS_VERSION:
    return 426; /* RFC 6455 4.4 */
  case WS_ERR_HS_ORIGIN:
    return 403; /* RFC 6455 4.2.2 */
  case WS_ERR_NOMEM:
  case WS_ERR_LIMIT:
    return 500;
  default:
    return 400;
  }
}

/* Prepare the error answer: status, short text body, Connection: close. */
static int server_refuse(ws_server_handshake *h, int err, int status) {
  char head[512];
  char body[160];
  int bl =
      snprintf(body, sizeof body, "%d %s: %s\n", status, ws_http_reason(status), ws_strerror(err));
  if (bl < 0 || (size_t)bl >= sizeof body)
    bl = (int)sizeof body - 1;
  ws_header extra[2];
  size_t ne = 0;
  extra[ne++] = (ws_header){"Connection", 10, "close", 5};
  if (status == 405)
    extra[ne++] = (ws_header){"Allow", 5, "GET", 3};
  else if (status == 426) /* RFC 6455 4.4: tell the client which version we speak */
    extra[ne++] = (ws_header){"Sec-WebSocket-Version", 21, "13", 2};
  long hl = ws_http_response_head(head, sizeof head, status, "text/plain; charset=utf-8",
                                  (uint64_t)bl, extra, ne);
  ws__buf_clear(&h->out);
  if (hl > 0) {
    /* The application's headers (e.g. WWW-Authenticate for a 401) go before the blank line. */
    int rc = ws__buf_append(&h->out, head, (size_t)hl - 2);
    rc = rc ? rc : ws__buf_append(&h->out, h->reply.lines.data, h->reply.lines.len);
    rc = rc ? rc : ws__buf_append_str(&h->out, "\r\n");
    rc = rc ? rc : ws__buf_append(&h->out, body, (size_t)bl);
    if (rc)
      ws__buf_clear(&h->out);
  }
  h->status = status;
  h->result = err;
  return err;
}

static int refuse(ws_server_handshake *h, int err) {
  return server_refuse(h, err, status_for(err));
}

/* Collect the client's subprotocols (every Sec-WebSocket-Protocol header, comma lists). */
static int collect_protocols(ws_server_handshake *h, ws_str **out, size_t *count) {
  const ws_http_request *r = &h->req;
  size_t n = 0;
  *out = NULL;
  *count = 0;
  for (int pass = 0; pass < 2; pass++) {
    n = 0;
    for (size_t i = 0; i < r->num_headers; i++) {
      const ws_header *x = &r->headers[i];
      if (!ws__http_ieq(x->name, x->name_len, "Sec-WebSocket-Protocol"))
        continue;
      const char *p = x->value, *e;
      size_t el;
      while (ws__http_list_next(&p, x->value + x->value_len, &e, &el)) {
        /* RFC 6455 4.1: each value is a token. */
        if (!ws__http_is_token(e, el)) {
          set_detail(h->detail, "Sec-WebSocket-Protocol: \"%.*s\" is not a token", SHOW(e, el));
          ws__free(h->alloc, *out);
          *out = NULL;
          return WS_ERR_HS_PROTOCOL_SYNTAX;
        }
        if (pass == 1)
          (*out)[n] = (ws_str){e, el};
        n++;
      }
    }
    if (pass == 0) {
      if (n == 0)
        return WS_OK;
      *out = ws__calloc(h->alloc, n, sizeof **out);
      if (!*out)
        return WS_ERR_NOMEM;
    }
  }
  *count = n;
  return WS_OK;
}

static int server_choose_protocol(ws_server_handshake *h) {
  ws_str *offered;
  size_t n;
  int rc = collect_protocols(h, &offered, &n);
  if (rc)
    return rc;
  int idx = -1;
  if (n && h->o.select_protocol) {
    idx = h->o.select_protocol(h->o.ud, &h->req, offered, n);
    if (idx >= (int)n)
      idx = -1;
  } else if (n) {
    for (size_t k = 0; k < h->o.num_protocols && idx < 0; k++)
      for (size_t i = 0; i < n && idx < 0; i++)
        if (h->o.protocols[k] && strlen(h->o.protocols[k]) == offered[i].len &&
            memcmp(h->o.protocols[k], offered[i].data, offered[i].len) == 0)
          idx = (int)i;
  }
  if (idx >= 0 && offered[idx].len < sizeof h->protocol) {
    memcpy(h->protocol, offered[idx].data, offered[idx].len);
    h->protocol[offered[idx].len] = '\0';
  }
  ws__free(h->alloc, offered);
  return WS_OK;
}

static bool origin_allowed(const ws_server_handshake *h, const char *v, size_t n) {
  for (size_t i = 0; i < h->o.num_allowed_origins; i++)
    if (h->o.allowed_origins[i] && ws__http_ieq(v, n, h->o.allowed_origins[i]))
      return true;
  return false;
}

/* RFC 6455 4.2.1: what the server reads from the client's opening handshake, and 4.2.2 how it
 * answers. The request head has been parsed (h->req). */
static int server_validate(ws_server_handshake *h) {
  const ws_http_request *r = &h->req;
  const ws_header *hd = r->headers, *x;
  size_t n = r->num_headers;

  /* A request is a WebSocket attempt when it asks for the websocket upgrade or carries a key;
   * anything else is plain HTTP for the application (RFC 7230 6.7: Upgrade may be ignored). */
  bool wants_ws =
      any_has(hd, n, "Upgrade", "websocket") || ws__http_find(hd, n, "Sec-WebSocket-Key", NULL);
  if (!wants_ws) {
    h->result = WS_ERR_HS_NOT_UPGRADE;
    return h->result;
  }
  /* 4.2.1 point 1: GET, HTTP/1.1 or higher. */
  /* RFC 7230 3.1.1: the method is case-sensitive. */
  if (r->method_len != 3 || memcmp(r->method, "GET", 3) != 0) {
    set_detail(h->detail, "method \"%.*s\" is not GET", SHOW(r->method, r->method_len));
    return refuse(h, WS_ERR_HS_METHOD);
  }
  if (r->version_minor < 1) {
    set_detail(h->detail, "request is HTTP/1.%d, a WebSocket upgrade needs HTTP/1.1",
               r->version_minor);
    return refuse(h, WS_ERR_HS_HTTP_VERSION);
  }
  /* Headers that must appear once: two values would leave their meaning to whoever reads
   * first (RFC 6455 11.3.1 and 11.3.5; RFC 7230 5.4 for Host; RFC 6454 7 for Origin). */
  static const char *const once[] = {"Host", "Upgrade", "Sec-WebSocket-Key",
                                     "Sec-WebSocket-Version", "Origin"};
  for (size_t i = 0; i < sizeof once / sizeof once[0]; i++)
    if (ws__http_find(hd, n, once[i], NULL) > 1) {
      set_detail(h->detail, "%s: sent more than once", once[i]);
      return refuse(h, WS_ERR_HS_DUPLICATE);
    }
  /* 4.2.1 point 2; RFC 7230 5.4: a request without Host gets 400. */
  if (!ws__http_find(hd, n, "Host", NULL)) {
    set_detail(h->detail, "Host: missing");
    return refuse(h, WS_ERR_HS_HOST);
  }
  /* 4.2.1 point 3: Upgrade containing "websocket", case-insensitive. */
  if (!any_has(hd, n, "Upgrade", "websocket")) {
    ws__http_find(hd, n, "Upgrade", &x);
    if (x)
      set_detail(h->detail, "Upgrade: no \"websocket\" in \"%.*s\"", SHOW(x->value, x->value_len));
    else
      set_detail(h->detail, "Upgrade: missing");
    return refuse(h, WS_ERR_HS_UPGRADE);
  }
  /* 4.2.1 point 4: Connection containing the "Upgrade" token (a list, possibly several). */
  if (!any_has(hd, n, "Connection", "upgrade")) {
    ws__http_find(hd, n, "Connection", &x);
    if (x)
      set_detail(h->detail, "Connection: no \"Upgrade\" token in \"%.*s\"",
                 SHOW(x->value, x->value_len));
    else
      set_detail(h->detail, "Connection: missing");
    return refuse(h, WS_ERR_HS_CONNECTION);
  }
  /* 4.2.1 point 6 and 4.4: version 13, else 426 with the version we speak. */
  ws__http_find(hd, n, "Sec-WebSocket-Version", &x);
  if (!x || !ws__http_ieq(x->value, x->value_len, "13")) {
    if (x)
      set_detail(h->detail, "Sec-WebSocket-Version: \"%.*s\", only 13 is spoken",
                 SHOW(x->value, x->value_len));
    else
      set_detail(h->detail, "Sec-WebSocket-Version: missing");
    return refuse(h, WS_ERR_HS_VERSION);
  }
  /* 4.2.1 point 5: a key that decodes to 16 bytes. */
  const ws_header *key;
  ws__http_find(hd, n, "Sec-WebSocket-Key", &key);
  if (!key || !ws__is_key16(key->value, key->value_len)) {
    if (key)
      set_detail(h->detail, "Sec-WebSocket-Key: \"%.*s\" is not base64 of 16 bytes",
                 SHOW(key->value, key->value_len));
    else
      set_detail(h->detail, "Sec-WebSocket-Key: missing");
    return refuse(h, WS_ERR_HS_KEY);
  }
  /* 4.2.2 point 1 (and 10.2): the server may refuse an Origin it does not trust with 403. */
  ws__http_find(hd, n, "Origin", &x);
  if (x ? (h->o.num_allowed_origins && !origin_allowed(h, x->value, x->value_len))
        : h->o.require_origin) {
    if (x)
      set_detail(h->detail, "Origin: \"%.*s\" is not allowed", SHOW(x->value, x->value_len));
    else
      set_detail(h->detail, "Origin: missing, and this server requires one");
    return refuse(h, WS_ERR_HS_ORIGIN);
  }
  if (h->o.accept) {
    int st = h->o.accept(h->o.ud, &h->req, &h->reply);
    if (st != 0) {
      if (st < 400 || st > 599)
        st = 500;
      set_detail(h->detail, "the application refused the request with %d", st);
      return server_refuse(h, WS_ERR_HS_REFUSED, st);
    }
  }
  int rc = server_choose_protocol(h);
  if (rc)
    return refuse(h, rc);
  /* Extensions: every Sec-WebSocket-Extensions header, in order (RFC 6455 9.1, 11.3.2). */
  h->ext = ws__malloc(h->alloc, 2 * sizeof *h->ext);
  if (!h->ext) {
    set_detail(h->detail, "out of memory for the extension lists");
    return server_refuse(h, WS_ERR_NOMEM, 500);
  }
  ws_ext_list_init(&h->ext[0]);
  ws_ext_list_init(&h->ext[1]);
  for (size_t i = 0; i < n; i++) {
    if (!ws__http_ieq(hd[i].name, hd[i].name_len, "Sec-WebSocket-Extensions"))
      continue;
    rc = ws_ext_list_parse(&h->ext[0], hd[i].value, hd[i].value_len);
    if (rc) {
      set_detail(h->detail, "Sec-WebSocket-Extensions: %s in \"%.*s\"",
                 rc == WS_ERR_LIMIT ? "too many extensions or parameters" : "malformed",
                 SHOW(hd[i].value, hd[i].value_len));
      return refuse(h, WS_ERR_HS_EXTENSION_SYNTAX);
    }
  }
  rc = ws__ext_server_negotiate(h->o.extensions, h->o.num_extensions, &h->ext[0], &h->ext[1],
                                &h->rsv, h->detail, DETAIL_CAP);
  if (rc)
    return server_refuse(h, rc, 400);

  /* 4.2.2 point 5: the 101 answer. */
  char accept[29];
  ws__accept_key(key->value, key->value_len, accept);
  ws__buf *b = &h->out;
  ws__buf_clear(b);
  rc = ws__buf_appendf(b,
                       "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                       "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n",
                       accept);
  if (!rc && h->protocol[0])
    rc = ws__buf_appendf(b, "Sec-WebSocket-Protocol: %s\r\n", h->protocol);
  if (!rc && h->ext[1].num_offers) {
    char ext[WS_EXT_MAX_TEXT * 2];
    long el = ws_ext_list_format(&h->ext[1], ext, sizeof ext);
    rc = el < 0 ? (int)el : ws__buf_appendf(b, "Sec-WebSocket-Extensions: %s\r\n", ext);
  }
  rc = rc ? rc : ws__buf_append(b, h->reply.lines.data, h->reply.lines.len);
  rc = rc ? rc : ws__buf_append_str(b, "\r\n");
  if (rc) {
    set_detail(h->detail, "building the 101 response: %s", ws_strerror(rc));
    return server_refuse(h, rc, 500);
  }
  h->status = 101;
  h->result = WS_OK;
  h->detail[0] = '\0';
  return WS_OK;
}

int ws_server_handshake_recv(ws_server_handshake *h, const uint8_t *in, size_t len,
                             size_t *consumed) {
  if (consumed)
    *consumed = 0;
  if (!h || (!in && len))
    return WS_ERR_INVAL;
  if (h->result != WS_ERR_AGAIN)
    return h->result;
  size_t before = h->in.len;
  size_t take = len < h->o.max_head - before ? len : h->o.max_head - before;
  int rc = ws__buf_append(&h->in, in, take);
  if (rc)
    return server_refuse(h, rc, 500);
  ws__http_limits lim = {h->o.max_head, h->o.max_headers, h->o.max_request_line};
  size_t at = 0;
  /* Each read parses the head so far (a malformed request is answered at its first bad byte,
   * not when a blank line finally comes), into entries on the stack for the default limit. */
  ws_header local[STACK_HEADERS];
  ws_header *hd = h->headers;
  if (!hd && h->o.max_headers <= STACK_HEADERS)
    hd = local;
  else if (!hd && !(hd = h->headers = ws__calloc(h->alloc, h->o.max_headers, sizeof *hd)))
    return server_refuse(h, WS_ERR_NOMEM, 500);
  long r = ws__http_parse_request(h->in.data, h->in.len, &lim, &h->req, hd, &at);
  if (r == WS_ERR_AGAIN) {
    if (consumed)
      *consumed = len;
    return WS_ERR_AGAIN;
  }
  if (r < 0) {
    head_error(h->detail, "request", (int)r, h->in.data, h->in.len, at);
    return refuse(h, (int)r);
  }
  if (hd == local) { /* complete: the request keeps its headers as long as the object */
    size_t nh = h->req.num_headers ? h->req.num_headers : 1;
    if (!(h->headers = ws__malloc(h->alloc, nh * sizeof *hd)))
      return server_refuse(h, WS_ERR_NOMEM, 500);
    memcpy(h->headers, local, h->req.num_headers * sizeof *hd);
    h->req.headers = h->headers;
  }
  size_t head = (size_t)r;
  h->in.len = head;
  if (consumed)
    *consumed = head - before;
  h->have_req = true;
  return server_validate(h);
}

const uint8_t *ws_server_handshake_response(const ws_server_handshake *h, size_t *len) {
  bool ready = h && h->result != WS_ERR_AGAIN && h->result != WS_ERR_HS_NOT_UPGRADE;
  if (len)
    *len = ready ? h->out.len : 0;
  return ready ? h->out.data : NULL;
}
int ws_server_handshake_status(const ws_server_handshake *h) { return h ? h->status : 0; }
const ws_http_request *ws_server_handshake_request(const ws_server_handshake *h) {
  return h && h->have_req ? &h->req : NULL;
}
const char *ws_server_handshake_protocol(const ws_server_handshake *h) {
  return h ? h->protocol : "";
}
const ws_ext_list *ws_server_handshake_extensions(const ws_server_handshake *h) {
  return !h ? NULL : h->ext ? &h->ext[1] : &no_extensions;
}
uint8_t ws_server_handshake_rsv(const ws_server_handshake *h) { return h ? h->rsv : 0; }
const char *ws_server_handshake_detail(const ws_server_handshake *h) { return h ? h->detail : ""; }
