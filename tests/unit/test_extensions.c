/* src/proto/extensions.c: Sec-WebSocket-Extensions parsing, building and negotiation. */
#include "proto/extensions.h"
#include "wstest.h"

static void check_param(const ws_ext_offer *o, size_t i, const char *name, const char *value) {
  WS_CHECK(i < o->num_params);
  if (i >= o->num_params)
    return;
  WS_CHECK_EQ_STR(o->params[i].name, name);
  if (value) {
    WS_CHECK_EQ_STR(o->params[i].value, value);
    WS_CHECK_EQ_INT(o->params[i].value_len, strlen(value));
  } else {
    WS_CHECK(o->params[i].value == NULL);
  }
}

WS_TEST(parse_offers_params_quoted_values_and_several_headers) {
  ws_ext_list l;
  ws_ext_list_init(&l);
  const char *h1 = "permessage-deflate; client_max_window_bits, "
                   "permessage-deflate ;server_no_context_takeover;client_max_window_bits=10";
  WS_CHECK_EQ_INT(ws_ext_list_parse(&l, h1, strlen(h1)), WS_OK);
  const char *h2 = " ,x-test ; a = \"1\\0\" ; b=\"t\\ok\"\t,, y ";
  WS_CHECK_EQ_INT(ws_ext_list_parse(&l, h2, strlen(h2)), WS_OK);
  WS_CHECK_EQ_INT(l.num_offers, 4);
  WS_CHECK_EQ_STR(l.offers[0].name, "permessage-deflate");
  WS_CHECK_EQ_INT(l.offers[0].num_params, 1);
  check_param(&l.offers[0], 0, "client_max_window_bits", NULL);
  WS_CHECK_EQ_INT(l.offers[1].num_params, 2);
  check_param(&l.offers[1], 0, "server_no_context_takeover", NULL);
  check_param(&l.offers[1], 1, "client_max_window_bits", "10");
  WS_CHECK_EQ_STR(l.offers[2].name, "x-test");
  check_param(&l.offers[2], 0, "a", "10"); /* quoted and escaped: unescaped */
  check_param(&l.offers[2], 1, "b", "tok");
  WS_CHECK_EQ_STR(l.offers[3].name, "y");
  WS_CHECK_EQ_INT(l.offers[3].num_params, 0);
  WS_CHECK(ws_ext_offer_param(&l.offers[1], "CLIENT_MAX_WINDOW_BITS") == &l.offers[1].params[1]);
  WS_CHECK(ws_ext_offer_param(&l.offers[1], "server_max_window_bits") == NULL);
  char out[256];
  long n = ws_ext_list_format(&l, out, sizeof out);
  const char *want = "permessage-deflate; client_max_window_bits, permessage-deflate; "
                     "server_no_context_takeover; client_max_window_bits=10, x-test; a=10; "
                     "b=tok, y";
  WS_CHECK_EQ_MEM(out, n > 0 ? (size_t)n : 0, want, strlen(want));
  WS_CHECK_EQ_INT(ws_ext_list_format(&l, out, strlen(want)), WS_ERR_LIMIT); /* no room for NUL */
  /* empty values and whitespace-only values are no extensions */
  ws_ext_list_init(&l);
  WS_CHECK_EQ_INT(ws_ext_list_parse(&l, "", 0), WS_OK);
  WS_CHECK_EQ_INT(ws_ext_list_parse(&l, " , ", 3), WS_OK);
  WS_CHECK_EQ_INT(l.num_offers, 0);
}

WS_TEST(malformed_headers_are_refused_and_leave_the_list_as_it_was) {
  static const char *const bad[] = {
      "a;",          ";a",         "a b",         "a; b=",      "a; b=\"x y\"",
      "a; b=\"open", "a; b=\"\"",  "a=1",         "a; b=1 c",   "a; b=\"x\\\"",
      "\"a\"",       "a; b==1",    "a; b=\"x\"y", "a;; b",      "a; b=1;",
      "a\r\n, b",    "a; b=\"(\"", "caf\xc3\xa9", "a; b=\"x\\", "a, b c",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    ws_ext_list l;
    ws_ext_list_init(&l);
    WS_CHECK_EQ_INT(ws_ext_list_parse(&l, "keep; k=1", 9), WS_OK);
    size_t text = l.text_len;
    int rc = ws_ext_list_parse(&l, bad[i], strlen(bad[i]));
    WS_CHECK_MSG(rc == WS_ERR_HS_EXTENSION_SYNTAX, "row %zu \"%s\": %s", i, bad[i], ws_errname(rc));
    WS_CHECK_EQ_INT(l.num_offers, 1);
    WS_CHECK_EQ_INT(l.num_params, 1);
    WS_CHECK_EQ_INT(l.text_len, text);
  }
}

WS_TEST(limits_on_offers_params_and_text) {
  ws_ext_list l;
  ws_ext_list_init(&l);
  char buf[2048];
  size_t n = 0;
  for (int i = 0; i < WS_EXT_MAX_OFFERS; i++)
    n += (size_t)snprintf(buf + n, sizeof buf - n, "%se%d", i ? "," : "", i);
  WS_CHECK_EQ_INT(ws_ext_list_parse(&l, buf, n), WS_OK);
  WS_CHECK_EQ_INT(ws_ext_list_parse(&l, "one-more", 8), WS_ERR_LIMIT);
  WS_CHECK_EQ_INT(l.num_offers, WS_EXT_MAX_OFFERS);
  ws_ext_list_init(&l);
  n = (size_t)snprintf(buf, sizeof buf, "e");
  for (int i = 0; i < WS_EXT_MAX_PARAMS + 1; i++)
    n += (size_t)snprintf(buf + n, sizeof buf - n, ";p%d", i);
  WS_CHECK_EQ_INT(ws_ext_list_parse(&l, buf, n), WS_ERR_LIMIT);
  WS_CHECK_EQ_INT(l.num_offers, 0);
  ws_ext_list_init(&l);
  memset(buf, 'x', WS_EXT_MAX_TEXT);
  WS_CHECK_EQ_INT(ws_ext_list_parse(&l, buf, WS_EXT_MAX_TEXT), WS_ERR_LIMIT); /* + NUL */
  WS_CHECK_EQ_INT(ws_ext_list_parse(&l, buf, WS_EXT_MAX_TEXT - 1), WS_OK);
}

WS_TEST(building_lists_checks_tokens) {
  ws_ext_list l;
  ws_ext_list_init(&l);
  WS_CHECK_EQ_INT(ws_ext_list_add_param(&l, "p", 1, NULL, 0), WS_ERR_STATE);
  WS_CHECK_EQ_INT(ws_ext_list_add(&l, "bad name", 8), WS_ERR_INVAL);
  WS_CHECK_EQ_INT(ws_ext_list_add(&l, "permessage-deflate", 18), WS_OK);
  WS_CHECK_EQ_INT(ws_ext_list_add_param(&l, "client_max_window_bits", 22, NULL, 0), WS_OK);
  WS_CHECK_EQ_INT(ws_ext_list_add_param(&l, "x", 1, "a\r\nb", 4), WS_ERR_INVAL);
  WS_CHECK_EQ_INT(ws_ext_list_add_param(&l, "x;", 2, "1", 1), WS_ERR_INVAL);
  WS_CHECK_EQ_INT(ws_ext_list_add_param(&l, "server_max_window_bits", 22, "12", 2), WS_OK);
  WS_CHECK_EQ_INT(ws_ext_list_add(&l, "x-other", 7), WS_OK);
  char out[128];
  long n = ws_ext_list_format(&l, out, sizeof out);
  const char *want =
      "permessage-deflate; client_max_window_bits; server_max_window_bits=12, x-other";
  WS_CHECK_EQ_MEM(out, n > 0 ? (size_t)n : 0, want, strlen(want));
}

/* ---- negotiation ----------------------------------------------------------------------------- */

typedef struct hook_log {
  int calls;
  int result; /* what server_accept returns for offers without the "no" parameter */
} hook_log;

static int foo_accept(void *ud, const ws_ext_offer *offer, ws_ext_list *response) {
  hook_log *log = ud;
  log->calls++;
  if (ws_ext_offer_param(offer, "no")) {
    ws_ext_list_add_param(response, "junk", 4, NULL, 0); /* must be taken back on decline */
    return 0;
  }
  if (log->result > 0)
    ws_ext_list_add_param(response, "y", 1, "1", 1);
  return log->result;
}

WS_TEST(server_picks_offers_in_client_order_once_per_name_without_rsv_clash) {
  hook_log log = {0, 1};
  ws_extension exts[] = {
      {.name = "foo", .rsv = 0x4, .server_accept = foo_accept, .ud = &log},
      {.name = "bar", .rsv = 0x4}, /* same RSV bit as foo: never both */
      {.name = "baz", .rsv = 0x2},
  };
  ws_ext_list offers, response;
  ws_ext_list_init(&offers);
  ws_ext_list_init(&response);
  const char *h = "unknown, foo; no, foo; ok, foo, bar, baz; p, baz";
  WS_CHECK_EQ_INT(ws_ext_list_parse(&offers, h, strlen(h)), WS_OK);
  uint8_t rsv = 0;
  char detail[256] = "";
  WS_CHECK_EQ_INT(ws__ext_server_negotiate(exts, 3, &offers, &response, &rsv, detail, 256), WS_OK);
  char out[128];
  long n = ws_ext_list_format(&response, out, sizeof out);
  WS_CHECK_EQ_MEM(out, n > 0 ? (size_t)n : 0, "foo; y=1, baz", 13);
  WS_CHECK_EQ_INT(rsv, 0x6);
  WS_CHECK_EQ_INT(log.calls, 2); /* "foo; no" declined, "foo; ok" accepted, third never asked */

  /* the hook refuses the handshake */
  log = (hook_log){0, WS_ERR_HS_EXTENSION};
  ws_ext_list_init(&response);
  WS_CHECK_EQ_INT(ws__ext_server_negotiate(exts, 3, &offers, &response, &rsv, detail, 256),
                  WS_ERR_HS_EXTENSION);
  WS_CHECK(strstr(detail, "\"foo\"") != NULL);
  /* nothing supported: empty response */
  ws_ext_list_init(&response);
  WS_CHECK_EQ_INT(ws__ext_server_negotiate(NULL, 0, &offers, &response, &rsv, detail, 256), WS_OK);
  WS_CHECK_EQ_INT(response.num_offers, 0);
  WS_CHECK_EQ_INT(rsv, 0);
}

static int two_offers(void *ud, ws_ext_list *offers) {
  (void)ud;
  int rc = ws_ext_list_add(offers, "foo", 3);
  rc = rc ? rc : ws_ext_list_add_param(offers, "a", 1, "1", 1);
  return rc ? rc : ws_ext_list_add(offers, "foo", 3);
}
static int wrong_name_offer(void *ud, ws_ext_list *offers) {
  (void)ud;
  return ws_ext_list_add(offers, "other", 5);
}
static int refuse_b2(void *ud, const ws_ext_offer *r) {
  (void)ud;
  const ws_ext_param *p = ws_ext_offer_param(r, "b");
  return p && p->value && strcmp(p->value, "2") == 0 ? WS_ERR_HS_EXTENSION : 0;
}

WS_TEST(client_offers_and_verifies_the_response) {
  ws_extension exts[] = {
      {.name = "foo", .rsv = 0x4, .client_offer = two_offers, .client_verify = refuse_b2},
      {.name = "bar", .rsv = 0x2, .required = true},
      {.name = "baz", .rsv = 0x2},
  };
  ws_ext_list offers;
  ws_ext_list_init(&offers);
  char detail[256] = "";
  WS_CHECK_EQ_INT(ws__ext_client_offers(exts, 3, &offers, detail, 256), WS_ERR_INVAL); /* RSV */
  exts[2].rsv = 0x1;
  ws_ext_list_init(&offers);
  WS_CHECK_EQ_INT(ws__ext_client_offers(exts, 3, &offers, detail, 256), WS_OK);
  char out[128];
  long n = ws_ext_list_format(&offers, out, sizeof out);
  WS_CHECK_EQ_MEM(out, n > 0 ? (size_t)n : 0, "foo; a=1, foo, bar, baz", 23);

  static const struct {
    const char *response;
    int want;
    const char *detail_has;
  } rows[] = {
      {"foo; b=1, bar", WS_OK, NULL},
      {"bar, baz", WS_OK, NULL},
      {"bar", WS_OK, NULL},
      {"foo", WS_ERR_HS_EXTENSION_REQUIRED, "\"bar\""},
      {"", WS_ERR_HS_EXTENSION_REQUIRED, "1010"},
      {"bar, qux", WS_ERR_HS_EXTENSION, "\"qux\", which was not offered"},
      {"bar, bar", WS_ERR_HS_EXTENSION, "twice"},
      {"foo; b=2, bar", WS_ERR_HS_EXTENSION, "refused"},
      {"FOO, bar", WS_ERR_HS_EXTENSION, "not offered"}, /* names compare exactly */
  };
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
    ws_ext_list resp;
    ws_ext_list_init(&resp);
    WS_CHECK_EQ_INT(ws_ext_list_parse(&resp, rows[i].response, strlen(rows[i].response)), WS_OK);
    uint8_t rsv = 0xff;
    detail[0] = '\0';
    int rc = ws__ext_client_verify(exts, 3, &resp, &rsv, detail, 256);
    WS_CHECK_MSG(rc == rows[i].want, "row %zu: %s (%s)", i, ws_errname(rc), detail);
    if (rows[i].detail_has)
      WS_CHECK_MSG(strstr(detail, rows[i].detail_has) != NULL, "row %zu detail: %s", i, detail);
    if (i == 0)
      WS_CHECK_EQ_INT(rsv, 0x6);
    if (i == 1)
      WS_CHECK_EQ_INT(rsv, 0x3);
  }
  /* RSV conflict in a response: two extensions the client offered with overlapping bits can
   * only come from a buggy server when the offers themselves did not overlap; simulate one. */
  ws_extension clash[] = {{.name = "p", .rsv = 0x4}, {.name = "q", .rsv = 0x4}};
  ws_ext_list resp;
  ws_ext_list_init(&resp);
  ws_ext_list_parse(&resp, "p, q", 4);
  uint8_t rsv;
  WS_CHECK_EQ_INT(ws__ext_client_verify(clash, 2, &resp, &rsv, detail, 256), WS_ERR_HS_EXTENSION);
  /* bad extension descriptions */
  ws_extension badname[] = {{.name = "a b"}};
  ws_ext_list_init(&offers);
  WS_CHECK_EQ_INT(ws__ext_client_offers(badname, 1, &offers, detail, 256), WS_ERR_INVAL);
  ws_extension twice[] = {{.name = "a"}, {.name = "a"}};
  WS_CHECK_EQ_INT(ws__ext_client_offers(twice, 2, &offers, detail, 256), WS_ERR_INVAL);
  ws_extension wrong[] = {{.name = "a", .client_offer = wrong_name_offer}};
  ws_ext_list_init(&offers);
  WS_CHECK_EQ_INT(ws__ext_client_offers(wrong, 1, &offers, detail, 256), WS_ERR_INVAL);
}

int main(void) { return ws_test_main(); }
