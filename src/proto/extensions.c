/* Sec-WebSocket-Extensions: parse, build, negotiate (RFC 6455 9.1). No extension lives here;
 * permessage-deflate (RFC 7692) plugs in through ws_extension. */
#include "proto/extensions.h"

#include <stdio.h>
#include <string.h>

#include "proto/http.h"

void ws_ext_list_init(ws_ext_list *l) {
  if (l) {
    l->num_offers = 0;
    l->num_params = 0;
    l->text_len = 0;
  }
}

/* Copy s[0..n) + NUL into the list's text. NULL when it does not fit. */
static const char *store(ws_ext_list *l, const char *s, size_t n) {
  if (n + 1 > WS_EXT_MAX_TEXT - l->text_len)
    return NULL;
  char *d = l->text + l->text_len;
  memcpy(d, s, n);
  d[n] = '\0';
  l->text_len += n + 1;
  return d;
}

static int add(ws_ext_list *l, const char *name, size_t name_len) {
  if (l->num_offers == WS_EXT_MAX_OFFERS)
    return WS_ERR_LIMIT;
  const char *s = store(l, name, name_len);
  if (!s)
    return WS_ERR_LIMIT;
  ws_ext_offer *o = &l->offers[l->num_offers++];
  o->name = s;
  o->name_len = name_len;
  o->params = &l->params[l->num_params];
  o->num_params = 0;
  return WS_OK;
}

static int add_param(ws_ext_list *l, const char *name, size_t name_len, const char *value,
                     size_t value_len) {
  if (l->num_offers == 0)
    return WS_ERR_STATE;
  if (l->num_params == WS_EXT_MAX_PARAMS)
    return WS_ERR_LIMIT;
  ws_ext_param *p = &l->params[l->num_params];
  p->name = store(l, name, name_len);
  if (!p->name)
    return WS_ERR_LIMIT;
  p->name_len = name_len;
  p->value = NULL;
  p->value_len = 0;
  if (value) {
    p->value = store(l, value, value_len);
    if (!p->value)
      return WS_ERR_LIMIT;
    p->value_len = value_len;
  }
  l->num_params++;
  l->offers[l->num_offers - 1].num_params++;
  return WS_OK;
}

int ws_ext_list_add(ws_ext_list *l, const char *name, size_t name_len) {
  if (!l || !name || !ws__http_is_token(name, name_len))
    return WS_ERR_INVAL;
  return add(l, name, name_len);
}

int ws_ext_list_add_param(ws_ext_list *l, const char *name, size_t name_len, const char *value,
                          size_t value_len) {
  if (!l || !name || !ws__http_is_token(name, name_len) ||
      (value && !ws__http_is_token(value, value_len)))
    return WS_ERR_INVAL;
  size_t save_text = l->text_len;
  int rc = add_param(l, name, name_len, value, value_len);
  if (rc)
    l->text_len = save_text;
  return rc;
}

static bool is_ows(char c) { return c == ' ' || c == '\t'; }

static size_t token_len(const char *p, const char *end) {
  size_t n = 0;
  while (p + n < end && ws__http_is_token(p + n, 1))
    n++;
  return n;
}

int ws_ext_list_parse(ws_ext_list *l, const char *v, size_t len) {
  if (!l || (!v && len))
    return WS_ERR_INVAL;
  size_t save_offers = l->num_offers, save_params = l->num_params, save_text = l->text_len;
  const char *p = v, *end = v + len;
  int rc = WS_ERR_HS_EXTENSION_SYNTAX;
  for (;;) {
    /* RFC 7230 7: empty list elements (",,") and whitespace around them are allowed. */
    while (p < end && (is_ows(*p) || *p == ','))
      p++;
    if (p == end)
      return WS_OK;
    size_t n = token_len(p, end); /* extension-token */
    if (n == 0)
      goto fail;
    rc = add(l, p, n);
    if (rc)
      goto fail;
    rc = WS_ERR_HS_EXTENSION_SYNTAX;
    p += n;
    while (p < end && is_ows(*p))
      p++;
    while (p < end && *p == ';') { /* extension-param = token [ "=" (token | quoted-string) ] */
      p++;
      while (p < end && is_ows(*p))
        p++;
      const char *name = p;
      size_t name_len = token_len(p, end);
      if (name_len == 0)
        goto fail;
      p += name_len;
      while (p < end && is_ows(*p))
        p++;
      char val[WS_EXT_MAX_TEXT];
      size_t val_len = 0;
      bool has_value = false;
      if (p < end && *p == '=') {
        has_value = true;
        p++;
        while (p < end && is_ows(*p))
          p++;
        if (p < end && *p == '"') {
          p++;
          for (;;) {
            if (p == end)
              goto fail; /* unterminated quoted-string */
            char c = *p++;
            if (c == '"')
              break;
            if (c == '\\') {
              if (p == end)
                goto fail;
              c = *p++;
            }
            if (val_len == sizeof val)
              goto fail;
            val[val_len++] = c;
          }
          /* RFC 6455 9.1: after unescaping, a quoted value must still be a token. */
          if (!ws__http_is_token(val, val_len))
            goto fail;
        } else {
          val_len = token_len(p, end);
          if (val_len == 0)
            goto fail;
          memcpy(val, p, val_len);
          p += val_len;
        }
        while (p < end && is_ows(*p))
          p++;
      }
      rc = add_param(l, name, name_len, has_value ? val : NULL, val_len);
      if (rc)
        goto fail;
      rc = WS_ERR_HS_EXTENSION_SYNTAX;
    }
    if (p == end)
      return WS_OK;
    if (*p != ',')
      goto fail;
  }
fail:
  l->num_offers = save_offers;
  l->num_params = save_params;
  l->text_len = save_text;
  return rc;
}

long ws_ext_list_format(const ws_ext_list *l, char *out, size_t cap) {
  if (!l || !out || cap == 0)
    return WS_ERR_INVAL;
  size_t n = 0;
#define PUT(s, len)                                                                                \
  do {                                                                                             \
    if ((len) >= cap - n)                                                                          \
      return WS_ERR_LIMIT;                                                                         \
    memcpy(out + n, (s), (len));                                                                   \
    n += (len);                                                                                    \
  } while (0)
  for (size_t i = 0; i < l->num_offers; i++) {
    const ws_ext_offer *o = &l->offers[i];
    if (i)
      PUT(", ", 2);
    PUT(o->name, o->name_len);
    for (size_t k = 0; k < o->num_params; k++) {
      PUT("; ", 2);
      PUT(o->params[k].name, o->params[k].name_len);
      if (o->params[k].value) {
        PUT("=", 1);
        PUT(o->params[k].value, o->params[k].value_len);
      }
    }
  }
#undef PUT
  out[n] = '\0';
  return (long)n;
}

const ws_ext_param *ws_ext_offer_param(const ws_ext_offer *o, const char *name) {
  if (!o || !name)
    return NULL;
  for (size_t i = 0; i < o->num_params; i++)
    if (ws__http_ieq(o->params[i].name, o->params[i].name_len, name))
      return &o->params[i];
  return NULL;
}

/* ---- negotiation ---------------------------------------------------------------------------- */

static const ws_extension *find_ext(const ws_extension *exts, size_t n, const char *name,
                                    size_t len) {
  for (size_t i = 0; i < n; i++)
    if (exts[i].name && strlen(exts[i].name) == len && memcmp(exts[i].name, name, len) == 0)
      return &exts[i];
  return NULL;
}

int ws__ext_client_offers(const ws_extension *exts, size_t n, ws_ext_list *offers, char *detail,
                          size_t detail_cap) {
  uint8_t rsv = 0;
  for (size_t i = 0; i < n; i++) {
    const ws_extension *e = &exts[i];
    if (!e->name || !ws__http_is_token(e->name, strlen(e->name)) || (e->rsv & ~0x7) ||
        find_ext(exts, i, e->name, strlen(e->name)) || (rsv & e->rsv)) {
      snprintf(detail, detail_cap,
               "extension #%zu: name missing or not a token, offered twice, or RSV bits 0x%x "
               "already used by another offered extension",
               i, (unsigned)e->rsv);
      return WS_ERR_INVAL;
    }
    rsv |= e->rsv;
    size_t before = offers->num_offers;
    int rc = e->client_offer ? e->client_offer(e->ud, offers)
                             : ws_ext_list_add(offers, e->name, strlen(e->name));
    if (rc) {
      snprintf(detail, detail_cap, "extension \"%s\": its offer failed: %s", e->name,
               ws_strerror(rc));
      return rc;
    }
    for (size_t k = before; k < offers->num_offers; k++)
      if (strcmp(offers->offers[k].name, e->name) != 0) {
        snprintf(detail, detail_cap, "extension \"%s\" offered under another name \"%s\"", e->name,
                 offers->offers[k].name);
        return WS_ERR_INVAL;
      }
  }
  return WS_OK;
}

int ws__ext_client_verify(const ws_extension *exts, size_t n, const ws_ext_list *response,
                          uint8_t *rsv_out, char *detail, size_t detail_cap) {
  uint8_t rsv = 0;
  for (size_t i = 0; i < response->num_offers; i++) {
    const ws_ext_offer *r = &response->offers[i];
    const ws_extension *e = find_ext(exts, n, r->name, r->name_len);
    /* RFC 6455 4.1 (client step 5 of the response checks): an extension not present in the
     * client's handshake fails the connection. */
    if (!e) {
      snprintf(detail, detail_cap,
               "Sec-WebSocket-Extensions: the server accepted \"%s\", which was not offered",
               r->name);
      return WS_ERR_HS_EXTENSION;
    }
    for (size_t k = 0; k < i; k++)
      if (strcmp(response->offers[k].name, r->name) == 0) {
        snprintf(detail, detail_cap, "Sec-WebSocket-Extensions: \"%s\" accepted twice", r->name);
        return WS_ERR_HS_EXTENSION;
      }
    if (rsv & e->rsv) { /* RFC 6455 9.1: extensions must not fight over an RSV bit */
      snprintf(detail, detail_cap,
               "Sec-WebSocket-Extensions: \"%s\" needs RSV bits 0x%x already taken", r->name,
               (unsigned)e->rsv);
      return WS_ERR_HS_EXTENSION;
    }
    if (e->client_verify) {
      int rc = e->client_verify(e->ud, r);
      if (rc) {
        snprintf(detail, detail_cap,
                 "Sec-WebSocket-Extensions: the parameters the server chose for \"%s\" were "
                 "refused: %s",
                 r->name, ws_strerror(rc));
        return rc < 0 ? rc : WS_ERR_HS_EXTENSION;
      }
    }
    rsv |= e->rsv;
  }
  for (size_t i = 0; i < n; i++) {
    if (!exts[i].required)
      continue;
    bool found = false;
    for (size_t k = 0; k < response->num_offers && !found; k++)
      found = strcmp(response->offers[k].name, exts[i].name) == 0;
    if (!found) {
      /* RFC 6455 7.4.1: 1010 tells the server which extension the client needed. */
      snprintf(detail, detail_cap,
               "Sec-WebSocket-Extensions: the server did not accept the required extension "
               "\"%s\" (close with 1010)",
               exts[i].name);
      return WS_ERR_HS_EXTENSION_REQUIRED;
    }
  }
  *rsv_out = rsv;
  return WS_OK;
}

int ws__ext_server_negotiate(const ws_extension *exts, size_t n, const ws_ext_list *offers,
                             ws_ext_list *response, uint8_t *rsv_out, char *detail,
                             size_t detail_cap) {
  uint8_t rsv = 0;
  /* RFC 6455 9.1: offers are in the client's preference order; the server accepts at most one
   * offer per extension and lists what it accepted in the response. */
  for (size_t i = 0; i < offers->num_offers; i++) {
    const ws_ext_offer *o = &offers->offers[i];
    const ws_extension *e = find_ext(exts, n, o->name, o->name_len);
    if (!e || (rsv & e->rsv))
      continue;
    bool taken = false;
    for (size_t k = 0; k < response->num_offers && !taken; k++)
      taken = strcmp(response->offers[k].name, o->name) == 0;
    if (taken)
      continue;
    size_t so = response->num_offers, sp = response->num_params, st = response->text_len;
    int rc = ws_ext_list_add(response, o->name, o->name_len);
    if (rc == WS_OK)
      rc = e->server_accept ? e->server_accept(e->ud, o, response) : 1;
    if (rc < 0) {
      snprintf(detail, detail_cap, "Sec-WebSocket-Extensions: offer of \"%s\" refused: %s", o->name,
               ws_strerror(rc));
      return rc;
    }
    if (rc == 0) { /* declined: take back the name and any parameters the hook added */
      response->num_offers = so;
      response->num_params = sp;
      response->text_len = st;
      continue;
    }
    rsv |= e->rsv;
  }
  *rsv_out = rsv;
  return WS_OK;
}
