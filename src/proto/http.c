/* HTTP/1.1 message heads: the stateless parser (see http.h) and the small response builder that
 * `wsclean serve` uses for its page and assets. */
#include "proto/http.h"

#include <stdio.h>
#include <string.h>

/* RFC 7230 3.2.6: tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_"
 * / "`" / "|" / "~" / DIGIT / ALPHA */
static bool is_tchar(uint8_t c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
    return true;
  return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* RFC 7230 3.2: field-vchar = VCHAR / obs-text, plus SP and HTAB inside a value. */
static bool is_value_char(uint8_t c) { return c == '\t' || (c >= 0x20 && c != 0x7f); }

static uint8_t lower(uint8_t c) { return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c; }

bool ws__http_is_token(const char *s, size_t n) {
  if (n == 0)
    return false;
  for (size_t i = 0; i < n; i++)
    if (!is_tchar((uint8_t)s[i]))
      return false;
  return true;
}

bool ws__http_is_field_value(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!is_value_char((uint8_t)s[i]))
      return false;
  return true;
}

bool ws__http_ieq(const char *s, size_t n, const char *lit) {
  size_t m = strlen(lit);
  if (n != m)
    return false;
  for (size_t i = 0; i < n; i++)
    if (lower((uint8_t)s[i]) != lower((uint8_t)lit[i]))
      return false;
  return true;
}

static bool is_ows(char c) { return c == ' ' || c == '\t'; }

bool ws__http_list_next(const char **p, const char *end, const char **elt, size_t *elt_len) {
  const char *s = *p;
  while (s < end) {
    const char *comma = memchr(s, ',', (size_t)(end - s));
    const char *stop = comma ? comma : end;
    const char *a = s, *b = stop;
    while (a < b && is_ows(*a))
      a++;
    while (b > a && is_ows(b[-1]))
      b--;
    s = comma ? comma + 1 : end;
    if (a < b) { /* RFC 7230 7: empty list elements are ignored */
      *p = s;
      *elt = a;
      *elt_len = (size_t)(b - a);
      return true;
    }
  }
  *p = end;
  return false;
}

bool ws__http_list_has(const char *value, size_t len, const char *token) {
  const char *p = value, *e;
  size_t n;
  while (ws__http_list_next(&p, value + len, &e, &n))
    if (ws__http_ieq(e, n, token))
      return true;
  return false;
}

size_t ws__http_find(const ws_header *h, size_t n, const char *name, const ws_header **first) {
  size_t count = 0;
  if (first)
    *first = NULL;
  for (size_t i = 0; i < n; i++) {
    if (ws__http_ieq(h[i].name, h[i].name_len, name)) {
      if (count == 0 && first)
        *first = &h[i];
      count++;
    }
  }
  return count;
}

const char *ws_http_request_header(const ws_http_request *r, const char *name, size_t *len) {
  const ws_header *h = NULL;
  if (!r || !name)
    return NULL;
  ws__http_find(r->headers, r->num_headers, name, &h);
  if (len)
    *len = h ? h->value_len : 0;
  return h ? h->value : NULL;
}

/* ---- the parser ---------------------------------------------------------------------------- */

typedef struct cursor {
  const uint8_t *p;
  const uint8_t *end;
} cursor;

/* Expect CRLF at the cursor: 1 done, 0 need more, <0 bad. */
static int expect_crlf(cursor *c) {
  if (c->p == c->end)
    return 0;
  if (*c->p != '\r')
    return WS_ERR_HTTP_MALFORMED;
  if (c->p + 1 == c->end)
    return 0;
  if (c->p[1] != '\n') /* RFC 7230 3.5: a bare CR is an error for us */
    return WS_ERR_HTTP_MALFORMED;
  c->p += 2;
  return 1;
}

/* "HTTP/" DIGIT "." DIGIT (RFC 7230 2.6); only major version 1 is spoken here. */
static int parse_version(cursor *c, int *minor) {
  static const char pre[] = "HTTP/1.";
  for (size_t i = 0; i < sizeof pre - 1; i++) {
    if (c->p == c->end)
      return 0;
    if (*c->p != (uint8_t)pre[i])
      return WS_ERR_HTTP_MALFORMED;
    c->p++;
  }
  if (c->p == c->end)
    return 0;
  if (*c->p < '0' || *c->p > '9')
    return WS_ERR_HTTP_MALFORMED;
  *minor = *c->p - '0';
  c->p++;
  return 1;
}

/* Header fields up to and including the blank line. */
static int parse_headers(cursor *c, const ws__http_limits *lim, ws_header *headers, size_t *num) {
  *num = 0;
  for (;;) {
    if (c->p == c->end)
      return 0;
    if (*c->p == '\r')
      return expect_crlf(c); /* the blank line: the head is complete */
    /* RFC 7230 3.2.4: obs-fold must be rejected (400) by a server not inside a message/http. */
    if (*c->p == ' ' || *c->p == '\t')
      return *num ? WS_ERR_HTTP_OBS_FOLD : WS_ERR_HTTP_MALFORMED;
    const uint8_t *name = c->p;
    while (c->p < c->end && is_tchar(*c->p))
      c->p++;
    if (c->p == c->end)
      return 0;
    /* RFC 7230 3.2.4: no whitespace between field-name and colon; an empty name is no name. */
    if (*c->p != ':' || c->p == name)
      return WS_ERR_HTTP_MALFORMED;
    size_t name_len = (size_t)(c->p - name);
    c->p++;
    while (c->p < c->end && is_ows((char)*c->p))
      c->p++;
    const uint8_t *value = c->p;
    while (c->p < c->end && is_value_char(*c->p))
      c->p++;
    if (c->p == c->end)
      return 0;
    const uint8_t *vend = c->p;
    while (vend > value && is_ows((char)vend[-1]))
      vend--;
    int rc = expect_crlf(c); /* any other byte here is a CTL or a bare LF: not a value */
    if (rc <= 0)
      return rc;
    if (*num >= lim->max_headers)
      return WS_ERR_HTTP_TOO_MANY_HEADERS;
    headers[*num].name = (const char *)name;
    headers[*num].name_len = name_len;
    headers[*num].value = (const char *)value;
    headers[*num].value_len = (size_t)(vend - value);
    (*num)++;
  }
}

/* Apply the size limits to a parse result: the head, and (requests) the request line. */
static long limit_result(int rc, const cursor *c, size_t len, const uint8_t *buf,
                         const ws__http_limits *lim, size_t line_len, bool line_done,
                         size_t *err_at) {
  if (rc < 0) {
    if (err_at)
      *err_at = (size_t)(c->p - buf);
    return rc;
  }
  if (!line_done && lim->max_request_line && len > lim->max_request_line + 1)
    return WS_ERR_HTTP_URI_TOO_LONG;
  if (line_done && lim->max_request_line && line_len > lim->max_request_line)
    return WS_ERR_HTTP_URI_TOO_LONG;
  if (rc == 0)
    return len >= lim->max_head ? WS_ERR_HTTP_HEAD_TOO_LARGE : WS_ERR_AGAIN;
  size_t head = (size_t)(c->p - buf);
  if (head > lim->max_head)
    return WS_ERR_HTTP_HEAD_TOO_LARGE;
  return (long)head;
}

long ws__http_parse_request(const uint8_t *buf, size_t len, const ws__http_limits *lim,
                            ws_http_request *req, ws_header *headers, size_t *err_at) {
  memset(req, 0, sizeof *req);
  if (len == 0) /* buf may be NULL: no pointer arithmetic on it */
    return WS_ERR_AGAIN;
  cursor c = {buf, buf + len};
  int rc;
  size_t line_len = 0;
  bool line_done = false;

  /* request-line = method SP request-target SP HTTP-version CRLF (RFC 7230 3.1.1) */
  const uint8_t *m = c.p;
  while (c.p < c.end && is_tchar(*c.p))
    c.p++;
  if (c.p == c.end) {
    rc = 0;
    goto out;
  }
  if (*c.p != ' ' || c.p == m) {
    rc = WS_ERR_HTTP_MALFORMED;
    goto out;
  }
  req->method = (const char *)m;
  req->method_len = (size_t)(c.p - m);
  c.p++;
  const uint8_t *t = c.p;
  /* request-target: visible ASCII only (no SP, CTL, DEL or bytes >= 0x80: RFC 3986 chars). */
  while (c.p<c.end && * c.p> 0x20 && *c.p < 0x7f)
    c.p++;
  if (c.p == c.end) {
    rc = 0;
    goto out;
  }
  if (*c.p != ' ' || c.p == t) {
    rc = WS_ERR_HTTP_MALFORMED;
    goto out;
  }
  req->target = (const char *)t;
  req->target_len = (size_t)(c.p - t);
  const char *q = memchr(req->target, '?', req->target_len);
  req->path = req->target;
  req->path_len = q ? (size_t)(q - req->target) : req->target_len;
  if (q) {
    req->query = q + 1;
    req->query_len = req->target_len - req->path_len - 1;
  }
  c.p++;
  rc = parse_version(&c, &req->version_minor);
  if (rc <= 0)
    goto out;
  line_len = (size_t)(c.p - buf);
  rc = expect_crlf(&c);
  if (rc <= 0)
    goto out;
  line_done = true;
  rc = parse_headers(&c, lim, headers, &req->num_headers);
  req->headers = headers;
out:
  return limit_result(rc, &c, len, buf, lim, line_len, line_done, err_at);
}

long ws__http_parse_response(const uint8_t *buf, size_t len, const ws__http_limits *lim,
                             ws__http_response *res, ws_header *headers, size_t *err_at) {
  memset(res, 0, sizeof *res);
  if (len == 0)
    return WS_ERR_AGAIN;
  cursor c = {buf, buf + len};
  int rc;
  ws__http_limits l = *lim;
  l.max_request_line = 0; /* the status line counts against the head limit only */

  /* status-line = HTTP-version SP status-code SP reason-phrase CRLF (RFC 7230 3.1.2) */
  rc = parse_version(&c, &res->version_minor);
  if (rc <= 0)
    goto out;
  if (c.p == c.end) {
    rc = 0;
    goto out;
  }
  if (*c.p++ != ' ') {
    rc = WS_ERR_HTTP_MALFORMED;
    goto out;
  }
  for (int i = 0; i < 3; i++) {
    if (c.p == c.end) {
      rc = 0;
      goto out;
    }
    if (*c.p < '0' || *c.p > '9') {
      rc = WS_ERR_HTTP_MALFORMED;
      goto out;
    }
    res->status = res->status * 10 + (*c.p++ - '0');
  }
  if (c.p == c.end) {
    rc = 0;
    goto out;
  }
  if (*c.p == ' ') {
    c.p++;
    const uint8_t *r = c.p;
    while (c.p < c.end && is_value_char(*c.p))
      c.p++;
    res->reason = (const char *)r;
    res->reason_len = (size_t)(c.p - r);
  } else {
    res->reason = (const char *)c.p;
  }
  rc = expect_crlf(&c);
  if (rc <= 0)
    goto out;
  rc = parse_headers(&c, &l, headers, &res->num_headers);
  res->headers = headers;
out:
  return limit_result(rc, &c, len, buf, &l, 0, true, err_at);
}

/* ---- responses ----------------------------------------------------------------------------- */

const char *ws_http_reason(int status) {
  switch (status) {
  case 101:
    return "Switching Protocols";
  case 200:
    return "OK";
  case 204:
    return "No Content";
  case 301:
    return "Moved Permanently";
  case 302:
    return "Found";
  case 304:
    return "Not Modified";
  case 400:
    return "Bad Request";
  case 401:
    return "Unauthorized";
  case 403:
    return "Forbidden";
  case 404:
    return "Not Found";
  case 405:
    return "Method Not Allowed";
  case 408:
    return "Request Timeout";
  case 413:
    return "Content Too Large";
  case 414:
    return "URI Too Long";
  case 426:
    return "Upgrade Required";
  case 429:
    return "Too Many Requests";
  case 431:
    return "Request Header Fields Too Large";
  case 500:
    return "Internal Server Error";
  case 501:
    return "Not Implemented";
  case 503:
    return "Service Unavailable";
  default:
    return "";
  }
}

typedef struct out_buf {
  char *p;
  size_t cap;
  size_t len;
  bool overflow;
} out_buf;

static void put(out_buf *o, const char *s, size_t n) {
  if (o->overflow || n > o->cap - o->len) {
    o->overflow = true;
    return;
  }
  memcpy(o->p + o->len, s, n);
  o->len += n;
}
static void puts_(out_buf *o, const char *s) { put(o, s, strlen(s)); }

long ws_http_response_head(char *out, size_t cap, int status, const char *content_type,
                           uint64_t content_length, const ws_header *extra, size_t num_extra) {
  if (!out || status < 100 || status > 599 || (num_extra && !extra))
    return WS_ERR_INVAL;
  if (content_type && !ws__http_is_field_value(content_type, strlen(content_type)))
    return WS_ERR_HS_HEADER_INVALID;
  for (size_t i = 0; i < num_extra; i++)
    if (!ws__http_is_token(extra[i].name, extra[i].name_len) ||
        !ws__http_is_field_value(extra[i].value, extra[i].value_len))
      return WS_ERR_HS_HEADER_INVALID; /* CR/LF in a value would inject headers */
  out_buf o = {out, cap, 0, false};
  char line[64];
  int n = snprintf(line, sizeof line, "HTTP/1.1 %d ", status);
  put(&o, line, (size_t)n);
  puts_(&o, ws_http_reason(status));
  puts_(&o, "\r\n");
  if (content_type) {
    puts_(&o, "Content-Type: ");
    puts_(&o, content_type);
    puts_(&o, "\r\n");
  }
  n = snprintf(line, sizeof line, "Content-Length: %llu\r\n", (unsigned long long)content_length);
  put(&o, line, (size_t)n);
  for (size_t i = 0; i < num_extra; i++) {
    put(&o, extra[i].name, extra[i].name_len);
    puts_(&o, ": ");
    put(&o, extra[i].value, extra[i].value_len);
    puts_(&o, "\r\n");
  }
  puts_(&o, "\r\n");
  if (o.overflow || o.len >= cap)
    return WS_ERR_LIMIT;
  out[o.len] = '\0';
  return (long)o.len;
}
