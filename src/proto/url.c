/* WebSocket URLs as the WHATWG WebSocket constructor reads them (websockets.spec.whatwg.org,
 * "new WebSocket(url, protocols)" steps 1-5, on top of the WHATWG URL parser for special schemes).
 *
 * A subset of the URL standard, chosen so that every URL we accept means what a browser would
 * make of it, and what we cannot treat the same way is refused rather than guessed:
 *  - refused: IDNA (non-ASCII) hosts, IPv4 forms other than a.b.c.d (hex, octal, fewer parts:
 *    the URL standard reads "127.1" as 127.0.0.1, we refuse it), user:password@;
 *  - not done: dot-segment removal in the path ("/a/../b" is sent as written), IPv6
 *    re-serialisation (the literal is sent as written, lower-cased).
 * Also the protocol list check of the constructor (step 7-8). */
#include <string.h>

#include "base/alloc.h"
#include "base/ascii.h"
#include "proto/http.h"

static bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static bool is_digit(char c) { return c >= '0' && c <= '9'; }

/* WHATWG URL "IPv6 parser": validation only. */
static bool valid_ipv6(const char *s, size_t n) {
  size_t p = 0;
  int piece = 0, compress = -1;
  if (n > 0 && s[0] == ':') {
    if (n < 2 || s[1] != ':')
      return false;
    p = 2;
    piece = 1;
    compress = piece;
  }
  while (p < n) {
    if (piece == 8)
      return false;
    if (s[p] == ':') {
      if (compress >= 0)
        return false;
      p++;
      piece++;
      compress = piece;
      continue;
    }
    size_t len = 0;
    while (len < 4 && p < n && ws__hexval(s[p]) >= 0) {
      p++;
      len++;
    }
    if (p < n && s[p] == '.') { /* an embedded IPv4 address ends the literal */
      if (len == 0 || piece > 6)
        return false;
      p -= len;
      int seen = 0;
      while (p < n) {
        int v = -1;
        if (seen > 0) {
          if (s[p] != '.' || seen >= 4)
            return false;
          p++;
        }
        if (p >= n || !is_digit(s[p]))
          return false;
        while (p < n && is_digit(s[p])) {
          if (v == 0) /* a leading zero */
            return false;
          v = (v < 0 ? 0 : v * 10) + (s[p] - '0');
          if (v > 255)
            return false;
          p++;
        }
        seen++;
        if (seen == 2 || seen == 4)
          piece++;
      }
      if (seen != 4)
        return false;
      break;
    } else if (p < n && s[p] == ':') {
      p++;
      if (p == n)
        return false;
    } else if (p < n) {
      return false;
    }
    if (len == 0 && p < n)
      return false;
    piece++;
  }
  return compress >= 0 || piece == 8;
}

/* The URL standard's "ends in a number" test: the last label (ignoring one trailing empty
 * label) is all digits or 0x-hex. Such hosts are IPv4 addresses, never domain names. */
static bool ends_in_number(const char *h, size_t n) {
  if (n && h[n - 1] == '.')
    n--;
  size_t start = n;
  while (start > 0 && h[start - 1] != '.')
    start--;
  const char *l = h + start;
  size_t ll = n - start;
  if (ll == 0)
    return false;
  size_t i = 0;
  for (; i < ll && is_digit(l[i]); i++) {
  }
  if (i == ll)
    return true;
  return ll >= 2 && l[0] == '0' && (l[1] == 'x' || l[1] == 'X');
}

/* Only dotted-quad decimal with no leading zeros; see the file comment. */
static bool valid_ipv4(const char *h, size_t n) {
  int parts = 0;
  size_t i = 0;
  while (i < n) {
    size_t s = i;
    int v = 0;
    while (i < n && is_digit(h[i])) {
      v = v * 10 + (h[i] - '0');
      if (v > 255)
        return false;
      i++;
    }
    if (i == s || (i - s > 1 && h[s] == '0'))
      return false;
    parts++;
    if (i < n) {
      if (h[i] != '.' || i + 1 == n)
        return false;
      i++;
    }
  }
  return parts == 4;
}

/* WHATWG "forbidden domain code point": forbidden host code points, C0 controls, '%', DEL. */
static bool forbidden_domain_char(unsigned char c) {
  return c <= 0x20 || c == 0x7f || c >= 0x80 || strchr("#%/:<>?@[\\]^|", c) != NULL;
}

static void pct(char **o, unsigned char c) {
  static const char hex[] = "0123456789ABCDEF";
  *(*o)++ = '%';
  *(*o)++ = hex[c >> 4];
  *(*o)++ = hex[c & 15];
}

int ws_url_parse(ws_url *u, const ws_allocator *alloc, const char *in, size_t in_len) {
  if (!u || !in)
    return WS_ERR_INVAL;
  memset(u, 0, sizeof *u);
  if (in_len > 65536)
    return WS_ERR_URL_MALFORMED;
  /* URL standard: strip leading/trailing C0 controls and spaces, remove every tab and newline. */
  while (in_len && (unsigned char)in[0] <= 0x20) {
    in++;
    in_len--;
  }
  while (in_len && (unsigned char)in[in_len - 1] <= 0x20)
    in_len--;
  char *s = ws__malloc(alloc, in_len + 1);
  if (!s)
    return WS_ERR_NOMEM;
  size_t n = 0;
  for (size_t i = 0; i < in_len; i++)
    if (in[i] != '\t' && in[i] != '\n' && in[i] != '\r')
      s[n++] = in[i];

  int rc = WS_ERR_URL_MALFORMED;
  char *store = NULL;
  size_t i = 0;
  /* scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":" */
  if (n == 0 || !is_alpha(s[0]))
    goto fail;
  while (i < n && (is_alpha(s[i]) || is_digit(s[i]) || s[i] == '+' || s[i] == '-' || s[i] == '.'))
    i++;
  if (i == n || s[i] != ':')
    goto fail; /* not an absolute URL: the constructor has no base URL to resolve against */
  if (ws__http_ieq(s, i, "ws") || ws__http_ieq(s, i, "http")) {
    u->secure = false; /* WHATWG WebSocket constructor step 3: http -> ws, https -> wss */
    u->port = 80;
  } else if (ws__http_ieq(s, i, "wss") || ws__http_ieq(s, i, "https")) {
    u->secure = true;
    u->port = 443;
  } else {
    rc = WS_ERR_URL_SCHEME;
    goto fail;
  }
  u->default_port = true;
  i++;
  /* Special schemes: "special authority ignore slashes state" skips any '/' and '\'. */
  while (i < n && (s[i] == '/' || s[i] == '\\'))
    i++;
  size_t a0 = i;
  while (i < n && s[i] != '/' && s[i] != '\\' && s[i] != '?' && s[i] != '#')
    i++;
  size_t a1 = i;
  if (memchr(s + a0, '@', a1 - a0)) {
    rc = WS_ERR_URL_USERINFO;
    goto fail;
  }
  /* Host and port. */
  size_t h0 = a0, h1, p0 = a1;
  bool has_port = false;
  if (a0 < a1 && s[a0] == '[') {
    const char *close = memchr(s + a0, ']', a1 - a0);
    if (!close || !valid_ipv6(s + a0 + 1, (size_t)(close - s) - a0 - 1)) {
      rc = WS_ERR_URL_HOST;
      goto fail;
    }
    h0 = a0 + 1;
    h1 = (size_t)(close - s);
    u->ipv6 = true;
    size_t after = h1 + 1;
    if (after < a1) {
      if (s[after] != ':') {
        rc = WS_ERR_URL_HOST;
        goto fail;
      }
      has_port = true;
      p0 = after + 1;
    }
  } else {
    const char *colon = memchr(s + a0, ':', a1 - a0);
    h1 = colon ? (size_t)(colon - s) : a1;
    if (colon) {
      has_port = true;
      p0 = h1 + 1;
    }
  }
  if (h1 == h0) { /* special schemes need a host */
    rc = WS_ERR_URL_HOST;
    goto fail;
  }
  if (has_port && p0 < a1) {
    uint32_t port = 0;
    for (size_t k = p0; k < a1; k++) {
      if (!is_digit(s[k])) {
        rc = WS_ERR_URL_PORT;
        goto fail;
      }
      port = port * 10 + (uint32_t)(s[k] - '0');
      if (port > 65535) {
        rc = WS_ERR_URL_PORT;
        goto fail;
      }
    }
    /* URL standard: a port equal to the scheme's default is dropped. */
    u->default_port = port == u->port;
    u->port = (uint16_t)port;
  }
  /* Path and query; a fragment, even an empty one, is a SyntaxError (constructor step 5). */
  if (memchr(s + a1, '#', n - a1)) {
    rc = WS_ERR_URL_FRAGMENT;
    goto fail;
  }
  size_t hl = h1 - h0;
  store = ws__malloc(alloc, hl + 1 + 3 * (n - a1) + 2);
  if (!store) {
    rc = WS_ERR_NOMEM;
    goto fail;
  }
  /* Host: percent-decoded, lower-cased, then checked (URL standard "host parser"). */
  char *o = store;
  for (size_t k = h0; k < h1; k++) {
    char c = s[k];
    int hi, lo;
    if (!u->ipv6 && c == '%' && k + 2 < h1 && (hi = ws__hexval(s[k + 1])) >= 0 &&
        (lo = ws__hexval(s[k + 2])) >= 0) {
      c = (char)(hi * 16 + lo);
      k += 2;
    }
    *o++ = ws__ascii_lower(c);
  }
  u->host = store;
  u->host_len = (size_t)(o - store);
  *o++ = '\0';
  if (!u->ipv6) {
    for (size_t k = 0; k < u->host_len; k++)
      if (forbidden_domain_char((unsigned char)u->host[k])) {
        rc = WS_ERR_URL_HOST;
        goto fail;
      }
    if (ends_in_number(u->host, u->host_len) && !valid_ipv4(u->host, u->host_len)) {
      rc = WS_ERR_URL_HOST;
      goto fail;
    }
  }
  /* Resource: path with '\' as '/', percent-encoding the URL standard's path and special-query
   * percent-encode sets so the request line only carries visible ASCII. */
  char *r = o;
  bool in_query = false;
  if (a1 == n || s[a1] == '?')
    *o++ = '/';
  for (size_t k = a1; k < n; k++) {
    unsigned char c = (unsigned char)s[k];
    if (!in_query && c == '?') {
      in_query = true;
      *o++ = '?';
    } else if (!in_query && c == '\\') {
      *o++ = '/';
    } else if (c <= 0x20 || c >= 0x7f || c == '"' || c == '<' || c == '>' ||
               (!in_query && (c == '`' || c == '{' || c == '}')) || (in_query && c == '\'')) {
      pct(&o, c);
    } else {
      *o++ = (char)c;
    }
  }
  *o = '\0';
  u->resource = r;
  u->resource_len = (size_t)(o - r);
  u->storage_ = store;
  u->alloc_ = alloc;
  ws__free(alloc, s);
  return WS_OK;
fail:
  ws__free(alloc, store);
  ws__free(alloc, s);
  memset(u, 0, sizeof *u);
  return rc;
}

void ws_url_free(ws_url *u) {
  if (!u)
    return;
  ws__free(u->alloc_, u->storage_);
  memset(u, 0, sizeof *u);
}

int ws_protocols_validate(const char *const *protocols, size_t n, size_t *bad_index) {
  if (n && !protocols)
    return WS_ERR_INVAL;
  for (size_t i = 0; i < n; i++) {
    /* WHATWG constructor step 8: each must match the token production of RFC 7230 3.2.6 ... */
    if (!protocols[i] || !ws__http_is_token(protocols[i], strlen(protocols[i]))) {
      if (bad_index)
        *bad_index = i;
      return WS_ERR_PROTOCOL_INVALID;
    }
    /* ... and appear once; the comparison is case-sensitive. */
    for (size_t j = 0; j < i; j++)
      if (strcmp(protocols[i], protocols[j]) == 0) {
        if (bad_index)
          *bad_index = i;
        return WS_ERR_PROTOCOL_DUPLICATE;
      }
  }
  return WS_OK;
}
