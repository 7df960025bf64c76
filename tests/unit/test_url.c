/* src/proto/url.c: WebSocket URLs as the WHATWG constructor reads them, and the protocol list. */
#include "wsclean/handshake.h"
#include "wstest.h"
#include "wstest_alloc.h"

#include <stdlib.h>

static const struct good_case {
  const char *in;
  bool secure;
  const char *host;
  bool ipv6;
  unsigned port;
  bool default_port;
  const char *resource;
} good[] = {
    {"ws://example.com", false, "example.com", false, 80, true, "/"},
    {"wss://example.com/", true, "example.com", false, 443, true, "/"},
    {"http://example.com/chat", false, "example.com", false, 80, true, "/chat"},
    {"https://example.com/chat", true, "example.com", false, 443, true, "/chat"},
    {"WS://EXAMPLE.com/Chat", false, "example.com", false, 80, true, "/Chat"},
    {"HtTpS://a.b", true, "a.b", false, 443, true, "/"},
    {"ws://example.com:8080/a?b=c&d", false, "example.com", false, 8080, false, "/a?b=c&d"},
    {"ws://example.com?q", false, "example.com", false, 80, true, "/?q"},
    {"ws://example.com:80/", false, "example.com", false, 80, true, "/"}, /* default dropped */
    {"wss://example.com:443", true, "example.com", false, 443, true, "/"},
    {"wss://example.com:80", true, "example.com", false, 80, false, "/"},
    {"ws://example.com:/x", false, "example.com", false, 80, true, "/x"}, /* empty port */
    {"ws://h:0", false, "h", false, 0, false, "/"},
    {"ws://h:65535", false, "h", false, 65535, false, "/"},
    {"ws://h:00080", false, "h", false, 80, true, "/"},
    {"ws://127.0.0.1:9001/", false, "127.0.0.1", false, 9001, false, "/"},
    {"ws://[::1]:9001/x", false, "::1", true, 9001, false, "/x"},
    {"ws://[::1]", false, "::1", true, 80, true, "/"},
    {"ws://[2001:DB8::A]/", false, "2001:db8::a", true, 80, true, "/"},
    {"ws://[::ffff:192.168.0.1]/", false, "::ffff:192.168.0.1", true, 80, true, "/"},
    {"ws://[1:2:3:4:5:6:7:8]/", false, "1:2:3:4:5:6:7:8", true, 80, true, "/"},
    {"  ws://h/\t\n  ", false, "h", false, 80, true, "/"}, /* trimmed, tab/LF removed */
    {"ws://h/a\tb\r\nc", false, "h", false, 80, true, "/abc"},
    {"ws:///chat", false, "chat", false, 80, true, "/"},     /* slashes skipped: host "chat" */
    {"ws:h/x", false, "h", false, 80, true, "/x"},           /* special: slashes optional */
    {"ws:\\\\h\\a\\b", false, "h", false, 80, true, "/a/b"}, /* '\' is '/' */
    {"ws://h/a b\"<>`{}?c d\"'<>", false, "h", false, 80, true,
     "/a%20b%22%3C%3E%60%7B%7D?c%20d%22%27%3C%3E"},
    {"ws://h/caf\xc3\xa9", false, "h", false, 80, true, "/caf%C3%A9"},
    {"ws://h/%41%zz", false, "h", false, 80, true, "/%41%zz"},           /* '%' kept as is */
    {"ws://ex%41mple.com/", false, "example.com", false, 80, true, "/"}, /* host %-decoded */
    {"ws://example.com./", false, "example.com.", false, 80, true, "/"},
    {"ws://a-b_c.d/", false, "a-b_c.d", false, 80, true, "/"},
};

WS_TEST(good_urls) {
  for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
    const struct good_case *c = &good[i];
    ws_url u;
    int rc = ws_url_parse(&u, NULL, c->in, strlen(c->in));
    WS_CHECK_MSG(rc == WS_OK, "row %zu \"%s\": %s", i, c->in, ws_errname(rc));
    if (rc)
      continue;
    WS_CHECK_MSG(u.secure == c->secure, "row %zu secure", i);
    WS_CHECK_EQ_STR(u.host, c->host);
    WS_CHECK_EQ_INT(u.host_len, strlen(c->host));
    WS_CHECK_MSG(u.ipv6 == c->ipv6, "row %zu ipv6", i);
    WS_CHECK_MSG(u.port == c->port, "row %zu port %u != %u", i, u.port, c->port);
    WS_CHECK_MSG(u.default_port == c->default_port, "row %zu default_port", i);
    WS_CHECK_EQ_STR(u.resource, c->resource);
    WS_CHECK_EQ_INT(u.resource_len, strlen(c->resource));
    ws_url_free(&u);
  }
}

static const struct bad_case {
  const char *in;
  int want;
} bad[] = {
    {"ftp://example.com/", WS_ERR_URL_SCHEME},
    {"file:///etc/passwd", WS_ERR_URL_SCHEME},
    {"wss+x://h/", WS_ERR_URL_SCHEME},
    {"javascript:alert(1)", WS_ERR_URL_SCHEME},
    {"//example.com/", WS_ERR_URL_MALFORMED}, /* relative: no base URL */
    {"/chat", WS_ERR_URL_MALFORMED},
    {"example.com", WS_ERR_URL_MALFORMED},
    {"", WS_ERR_URL_MALFORMED},
    {"   ", WS_ERR_URL_MALFORMED},
    {"1ws://h/", WS_ERR_URL_MALFORMED},
    {"ws://h/#", WS_ERR_URL_FRAGMENT}, /* even an empty fragment (WHATWG step 5) */
    {"ws://h/chat#frag", WS_ERR_URL_FRAGMENT},
    {"ws://h#x", WS_ERR_URL_FRAGMENT},
    {"ws://h/?a#b", WS_ERR_URL_FRAGMENT},
    {"ws://user:pass@h/", WS_ERR_URL_USERINFO},
    {"ws://@h/", WS_ERR_URL_USERINFO},
    {"ws:///", WS_ERR_URL_HOST},
    {"ws://", WS_ERR_URL_HOST},
    {"ws://:80/", WS_ERR_URL_HOST},
    {"ws://h h/", WS_ERR_URL_HOST},
    {"ws://h<x/", WS_ERR_URL_HOST},
    {"ws://h^x/", WS_ERR_URL_HOST},
    {"ws://h|x/", WS_ERR_URL_HOST},
    {"ws://h%00x/", WS_ERR_URL_HOST},
    {"ws://h%2fx/", WS_ERR_URL_HOST},
    {"ws://caf\xc3\xa9.fr/", WS_ERR_URL_HOST}, /* IDNA not supported: punycode it */
    {"ws://h]/", WS_ERR_URL_HOST},
    {"ws://[::1/", WS_ERR_URL_HOST},
    {"ws://[::1]x/", WS_ERR_URL_HOST},
    {"ws://[:1]/", WS_ERR_URL_HOST},
    {"ws://[1:2:3:4:5:6:7:8:9]/", WS_ERR_URL_HOST},
    {"ws://[1::2::3]/", WS_ERR_URL_HOST},
    {"ws://[12345::]/", WS_ERR_URL_HOST},
    {"ws://[1:2:3:4:5:6:7]/", WS_ERR_URL_HOST},
    {"ws://[::1.2.3.256]/", WS_ERR_URL_HOST},
    {"ws://[::01.2.3.4]/", WS_ERR_URL_HOST},
    {"ws://[g::1]/", WS_ERR_URL_HOST},
    {"ws://[]/", WS_ERR_URL_HOST},
    {"ws://256.0.0.1/", WS_ERR_URL_HOST},
    {"ws://1.2.3/", WS_ERR_URL_HOST}, /* the URL standard reads 1.2.0.3: refused, not guessed */
    {"ws://0x7f.0.0.1/", WS_ERR_URL_HOST},
    {"ws://010.0.0.1/", WS_ERR_URL_HOST}, /* octal in the URL standard */
    {"ws://1.2.3.4.5/", WS_ERR_URL_HOST},
    {"ws://foo.123/", WS_ERR_URL_HOST}, /* ends in a number: an IPv4 address or nothing */
    {"ws://h:65536/", WS_ERR_URL_PORT},
    {"ws://h:99999999999999999999/", WS_ERR_URL_PORT},
    {"ws://h:8o/", WS_ERR_URL_PORT},
    {"ws://h:-1/", WS_ERR_URL_PORT},
    {"ws://h: 80/", WS_ERR_URL_PORT},
    {"ws://h:80:80/", WS_ERR_URL_PORT},
    {"ws://[::1]:x/", WS_ERR_URL_PORT},
};

WS_TEST(bad_urls_name_what_is_wrong) {
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    ws_url u;
    int rc = ws_url_parse(&u, NULL, bad[i].in, strlen(bad[i].in));
    WS_CHECK_MSG(rc == bad[i].want, "row %zu \"%s\": got %s, want %s", i, bad[i].in, ws_errname(rc),
                 ws_errname(bad[i].want));
    WS_CHECK(u.host == NULL && u.storage_ == NULL);
    if (rc == WS_OK)
      ws_url_free(&u);
  }
  ws_url u;
  WS_CHECK_EQ_INT(ws_url_parse(&u, NULL, NULL, 0), WS_ERR_INVAL);
  char *big = malloc(70000);
  memcpy(big, "ws://h/", 7);
  memset(big + 7, 'a', 70000 - 7);
  WS_CHECK_EQ_INT(ws_url_parse(&u, NULL, big, 70000), WS_ERR_URL_MALFORMED);
  free(big);
  /* every error has a sentence that says what is wrong */
  WS_CHECK(strstr(ws_strerror(WS_ERR_URL_FRAGMENT), "fragment") != NULL);
  WS_CHECK(strstr(ws_strerror(WS_ERR_URL_SCHEME), "ws, wss, http or https") != NULL);
  WS_CHECK(strstr(ws_strerror(WS_ERR_URL_PORT), "65535") != NULL);
}


WS_TEST(url_allocation_failures_leak_nothing) {
  for (int budget = 0; budget < 3; budget++) {
    ws_test_counting c = {.budget = budget};
    ws_allocator a = ws_test_counting_allocator(&c);
    ws_url u;
    int rc = ws_url_parse(&u, &a, "ws://h/x", 8);
    WS_CHECK_EQ_INT(rc, budget < 2 ? WS_ERR_NOMEM : WS_OK);
    ws_url_free(&u);
    WS_CHECK_EQ_INT(c.live, 0);
  }
}

WS_TEST(protocol_lists) {
  const char *ok[] = {"chat", "chat.v2", "CHAT", "x-y_z!#$%&'*+.^`|~"};
  WS_CHECK_EQ_INT(ws_protocols_validate(ok, 4, NULL), WS_OK);
  WS_CHECK_EQ_INT(ws_protocols_validate(NULL, 0, NULL), WS_OK);
  static const struct {
    const char *list[3];
    size_t n;
    int want;
    size_t idx;
  } rows[] = {
      {{"chat", "chat"}, 2, WS_ERR_PROTOCOL_DUPLICATE, 1},
      {{"a", "b", "a"}, 3, WS_ERR_PROTOCOL_DUPLICATE, 2},
      {{""}, 1, WS_ERR_PROTOCOL_INVALID, 0},
      {{"a", "b c"}, 2, WS_ERR_PROTOCOL_INVALID, 1},
      {{"a,b"}, 1, WS_ERR_PROTOCOL_INVALID, 0},
      {{"a\r\nX: y"}, 1, WS_ERR_PROTOCOL_INVALID, 0},
      {{"caf\xc3\xa9"}, 1, WS_ERR_PROTOCOL_INVALID, 0},
      {{"(x)"}, 1, WS_ERR_PROTOCOL_INVALID, 0},
      {{"a", NULL}, 2, WS_ERR_PROTOCOL_INVALID, 1},
  };
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
    size_t idx = 99;
    WS_CHECK_EQ_INT(ws_protocols_validate(rows[i].list, rows[i].n, &idx), rows[i].want);
    WS_CHECK_EQ_INT(idx, rows[i].idx);
  }
  /* case-sensitive comparison, as WHATWG: "chat" and "Chat" are two protocols */
  const char *cs[] = {"chat", "Chat"};
  WS_CHECK_EQ_INT(ws_protocols_validate(cs, 2, NULL), WS_OK);
}

int main(void) { return ws_test_main(); }
