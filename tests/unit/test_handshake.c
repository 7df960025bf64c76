/* src/proto/handshake.c: both sides of the opening handshake, byte-exact against golden files in
 * tests/golden/handshake/ (set WS_UPDATE_GOLDEN=1 to rewrite them, then review the diff). */
#include "wsclean/handshake.h"
#include "wstest.h"
#include "wstest_alloc.h"

#include <stdio.h>
#include <stdlib.h>

/* ---- helpers --------------------------------------------------------------------------------- */

/* RFC 6455 1.3's example: this nonce gives the key "dGhlIHNhbXBsZSBub25jZQ==". */
static void sample_nonce(void *ud, uint8_t *out, size_t n) {
  (void)ud;
  memcpy(out, "the sample nonce", n < 16 ? n : 16);
}

static char *golden_path(const char *name) {
  const char *dir = getenv("WSCLEAN_SOURCE_DIR");
  static char path[4096];
  snprintf(path, sizeof path, "%s/tests/golden/handshake/%s", dir ? dir : "..", name);
  return path;
}

static void check_golden(const char *name, const void *data, size_t len) {
  const char *path = golden_path(name);
  if (getenv("WS_UPDATE_GOLDEN")) {
    FILE *f = fopen(path, "wb");
    if (f) {
      fwrite(data, 1, len, f);
      fclose(f);
    }
  }
  FILE *f = fopen(path, "rb");
  if (!f) {
    ws_test_fail(__FILE__, __LINE__, "golden file %s missing (WS_UPDATE_GOLDEN=1 creates it)",
                 path);
    return;
  }
  static char buf[65536];
  size_t n = fread(buf, 1, sizeof buf, f);
  fclose(f);
  WS_CHECK_MSG(n == len && memcmp(buf, data, len) == 0, "%s differs", name);
  if (n != len || memcmp(buf, data, len) != 0) {
    ws_test_hexdump("got", data, len);
    ws_test_hexdump("want", buf, n);
  }
}

static const char *const two_protocols[] = {"chat", "superchat"};

static ws_client_handshake *client(const char *url, const char *const *protocols, size_t np,
                                   const ws_extension *exts, size_t ne) {
  ws_client_handshake_options o;
  ws_client_handshake_options_init(&o);
  o.url = url;
  o.random = sample_nonce;
  o.protocols = protocols;
  o.num_protocols = np;
  o.extensions = exts;
  o.num_extensions = ne;
  ws_client_handshake *h = ws_client_handshake_new(NULL);
  int rc = ws_client_handshake_start(h, &o);
  WS_CHECK_MSG(rc == WS_OK, "start: %s %s", ws_errname(rc), ws_client_handshake_detail(h));
  return h;
}

static int feed_client(ws_client_handshake *h, const char *s, size_t *consumed) {
  return ws_client_handshake_recv(h, (const uint8_t *)s, strlen(s), consumed);
}

/* ---- accept key ------------------------------------------------------------------------------ */

WS_TEST(rfc6455_example_key_and_accept) {
  char out[29];
  WS_CHECK_EQ_INT(ws_handshake_accept_key("dGhlIHNhbXBsZSBub25jZQ==", 24, out), WS_OK);
  WS_CHECK_EQ_STR(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  WS_CHECK_EQ_INT(ws_handshake_accept_key(NULL, 0, out), WS_ERR_INVAL);
  ws_client_handshake *h = client("ws://server.example.com/chat", NULL, 0, NULL, 0);
  WS_CHECK_EQ_STR(ws_client_handshake_key(h), "dGhlIHNhbXBsZSBub25jZQ==");
  ws_client_handshake_free(h);
}

/* ---- client request -------------------------------------------------------------------------- */

WS_TEST(client_request_basic_is_byte_exact) {
  ws_client_handshake *h = client("ws://server.example.com/chat", NULL, 0, NULL, 0);
  size_t len;
  const uint8_t *req = ws_client_handshake_request(h, &len);
  check_golden("client_basic.http", req, len);
  ws_client_handshake_free(h);
}

static int deflate_like_offer(void *ud, ws_ext_list *offers) {
  (void)ud;
  int rc = ws_ext_list_add(offers, "x-deflate", 9);
  rc = rc ? rc : ws_ext_list_add_param(offers, "client_max_window_bits", 22, NULL, 0);
  return rc ? rc : ws_ext_list_add(offers, "x-deflate", 9);
}

WS_TEST(client_request_full_is_byte_exact) {
  ws_extension exts[] = {{.name = "x-deflate", .rsv = 0x4, .client_offer = deflate_like_offer},
                         {.name = "x-other", .rsv = 0x2}};
  ws_header extra[] = {
      {"Authorization", 13, "Bearer abc", 10}, {"Cookie", 6, "a=1; b=2", 8}, {"X-Empty", 7, "", 0}};
  ws_client_handshake_options o;
  ws_client_handshake_options_init(&o);
  o.url = "wss://[::1]:9443/chat?room=a b";
  o.random = sample_nonce;
  o.origin = "http://example.com";
  o.protocols = two_protocols;
  o.num_protocols = 2;
  o.extensions = exts;
  o.num_extensions = 2;
  o.headers = extra;
  o.num_headers = 3;
  ws_client_handshake *h = ws_client_handshake_new(NULL);
  WS_CHECK_EQ_INT(ws_client_handshake_start(h, &o), WS_OK);
  size_t len;
  const uint8_t *req = ws_client_handshake_request(h, &len);
  check_golden("client_full.http", req, len);
  const ws_url *u = ws_client_handshake_url(h);
  WS_CHECK(u && u->secure && u->port == 9443);
  ws_client_handshake_free(h);

  /* Host carries the port only when it is not the default, IPv6 in brackets */
  static const struct {
    const char *url;
    const char *host_line;
  } hosts[] = {
      {"ws://h:80/", "\r\nHost: h\r\n"},         {"wss://h:80/", "\r\nHost: h:80\r\n"},
      {"wss://h/", "\r\nHost: h\r\n"},           {"ws://[::1]/", "\r\nHost: [::1]\r\n"},
      {"http://H:8080", "\r\nHost: h:8080\r\n"}, {"ws://1.2.3.4:1/", "\r\nHost: 1.2.3.4:1\r\n"},
  };
  for (size_t i = 0; i < sizeof hosts / sizeof hosts[0]; i++) {
    h = client(hosts[i].url, NULL, 0, NULL, 0);
    req = ws_client_handshake_request(h, &len);
    char tmp[1024];
    memcpy(tmp, req, len < sizeof tmp - 1 ? len : sizeof tmp - 1);
    tmp[len < sizeof tmp - 1 ? len : sizeof tmp - 1] = '\0';
    WS_CHECK_MSG(strstr(tmp, hosts[i].host_line) != NULL, "row %zu: %s", i, tmp);
    ws_client_handshake_free(h);
  }
}

WS_TEST(client_start_refuses_bad_options_with_a_detail) {
  static const struct {
    const char *url;
    const char *p1, *p2;
    const char *hname, *hvalue;
    const char *origin;
    int want;
    const char *detail_has;
  } rows[] = {
      {"ftp://h/", NULL, NULL, NULL, NULL, NULL, WS_ERR_URL_SCHEME, "ftp://h/"},
      {"ws://h/#x", NULL, NULL, NULL, NULL, NULL, WS_ERR_URL_FRAGMENT, "fragment"},
      {"ws://h/", "chat", "chat", NULL, NULL, NULL, WS_ERR_PROTOCOL_DUPLICATE, "#1 \"chat\""},
      {"ws://h/", "chat", "a b", NULL, NULL, NULL, WS_ERR_PROTOCOL_INVALID, "#1 \"a b\""},
      {"ws://h/", NULL, NULL, "X-A", "1\r\nX-B: 2", NULL, WS_ERR_HS_HEADER_INVALID, "\"X-A\""},
      {"ws://h/", NULL, NULL, "X A", "1", NULL, WS_ERR_HS_HEADER_INVALID, "#0"},
      {"ws://h/", NULL, NULL, "X-A", "a\nb", NULL, WS_ERR_HS_HEADER_INVALID, "CR/LF"},
      {"ws://h/", NULL, NULL, "sec-websocket-key", "x", NULL, WS_ERR_HS_HEADER_INVALID, "itself"},
      {"ws://h/", NULL, NULL, "Host", "evil", NULL, WS_ERR_HS_HEADER_INVALID, "\"Host\""},
      {"ws://h/", NULL, NULL, "Content-Length", "5", NULL, WS_ERR_HS_HEADER_INVALID, "Content"},
      {"ws://h/", NULL, NULL, NULL, NULL, "http://a\r\nX: y", WS_ERR_HS_HEADER_INVALID, "Origin"},
  };
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
    ws_client_handshake_options o;
    ws_client_handshake_options_init(&o);
    o.url = rows[i].url;
    o.random = sample_nonce;
    const char *protos[2] = {rows[i].p1, rows[i].p2};
    if (rows[i].p1) {
      o.protocols = protos;
      o.num_protocols = 2;
    }
    ws_header x = {rows[i].hname, rows[i].hname ? strlen(rows[i].hname) : 0, rows[i].hvalue,
                   rows[i].hvalue ? strlen(rows[i].hvalue) : 0};
    if (rows[i].hname) {
      o.headers = &x;
      o.num_headers = 1;
    }
    o.origin = rows[i].origin;
    ws_client_handshake *h = ws_client_handshake_new(NULL);
    int rc = ws_client_handshake_start(h, &o);
    const char *d = ws_client_handshake_detail(h);
    WS_CHECK_MSG(rc == rows[i].want, "row %zu: %s (%s)", i, ws_errname(rc), d);
    WS_CHECK_MSG(strstr(d, rows[i].detail_has) != NULL, "row %zu detail: %s", i, d);
    /* a failed start leaves nothing to send and refuses input */
    size_t len = 99;
    ws_client_handshake_request(h, &len);
    WS_CHECK_EQ_INT(len, 0);
    WS_CHECK_EQ_INT(ws_client_handshake_recv(h, (const uint8_t *)"x", 1, NULL), rc);
    ws_client_handshake_free(h);
  }
  ws_client_handshake_options o;
  ws_client_handshake_options_init(&o);
  o.url = "ws://h/";
  ws_client_handshake *h = ws_client_handshake_new(NULL);
  WS_CHECK_EQ_INT(ws_client_handshake_start(h, &o), WS_ERR_INVAL); /* no random source */
  ws_client_handshake_free(h);
  h = ws_client_handshake_new(NULL);
  WS_CHECK_EQ_INT(ws_client_handshake_recv(h, (const uint8_t *)"x", 1, NULL), WS_ERR_STATE);
  o.random = sample_nonce;
  WS_CHECK_EQ_INT(ws_client_handshake_start(h, &o), WS_OK);
  WS_CHECK_EQ_INT(ws_client_handshake_start(h, &o), WS_ERR_INVAL); /* twice */
  ws_client_handshake_free(h);
}

/* ---- client response ------------------------------------------------------------------------- */

#define ACCEPT "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
#define OK_HEAD                                                                                    \
  "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" ACCEPT       \
  "Sec-WebSocket-Protocol: chat\r\n\r\n"

WS_TEST(client_accepts_a_valid_response_and_keeps_the_frames_after_it) {
  ws_client_handshake *h = client("ws://server.example.com/chat", two_protocols, 2, NULL, 0);
  const char *in = OK_HEAD "\x81\x02hi";
  size_t consumed = 0;
  WS_CHECK_EQ_INT(feed_client(h, in, &consumed), WS_OK);
  WS_CHECK_EQ_INT(consumed, strlen(OK_HEAD)); /* "\x81\x02hi" left for the ws_conn */
  WS_CHECK_EQ_STR(ws_client_handshake_protocol(h), "chat");
  WS_CHECK_EQ_INT(ws_client_handshake_status(h), 101);
  WS_CHECK_EQ_STR(ws_client_handshake_detail(h), "");
  size_t n;
  const ws_header *hd = ws_client_handshake_headers(h, &n);
  WS_CHECK_EQ_INT(n, 4);
  WS_CHECK_EQ_MEM(hd[3].value, hd[3].value_len, "chat", 4);
  /* further input is not the handshake's */
  WS_CHECK_EQ_INT(ws_client_handshake_recv(h, (const uint8_t *)"xx", 2, &consumed), WS_OK);
  WS_CHECK_EQ_INT(consumed, 0);
  ws_client_handshake_free(h);
}

WS_TEST(client_response_fed_byte_by_byte_and_in_odd_chunks) {
  const char *in = OK_HEAD "\x81\x02hi";
  size_t head = strlen(OK_HEAD), total = strlen(in);
  ws_client_handshake *h = client("ws://h/", two_protocols, 2, NULL, 0);
  for (size_t i = 0; i < head; i++) {
    size_t consumed = 99;
    int rc = ws_client_handshake_recv(h, (const uint8_t *)in + i, 1, &consumed);
    WS_CHECK_MSG(rc == (i + 1 < head ? WS_ERR_AGAIN : WS_OK), "byte %zu: %s", i, ws_errname(rc));
    WS_CHECK_EQ_INT(consumed, 1);
  }
  ws_client_handshake_free(h);
  for (size_t chunk = 2; chunk < 40; chunk += 7) {
    h = client("ws://h/", two_protocols, 2, NULL, 0);
    size_t off = 0, left_over = 0;
    int rc = WS_ERR_AGAIN;
    while (rc == WS_ERR_AGAIN && off < total) {
      size_t n = total - off < chunk ? total - off : chunk, consumed = 0;
      rc = ws_client_handshake_recv(h, (const uint8_t *)in + off, n, &consumed);
      if (rc == WS_OK)
        left_over = n - consumed;
      off += n;
    }
    WS_CHECK_EQ_INT(rc, WS_OK);
    WS_CHECK_MSG(total - off + left_over == 4, "chunk %zu: %zu bytes left over", chunk,
                 total - off + left_over);
    ws_client_handshake_free(h);
  }
}

static const struct resp_case {
  const char *resp;
  int want;
  const char *detail_has;
} resp_cases[] = {
    {OK_HEAD, WS_OK, ""},
    {"HTTP/1.1 101 Switching Protocols\r\nUpgrade: WebSocket\r\nConnection: keep-alive, "
     "UPGRADE\r\n" ACCEPT "Sec-WebSocket-Protocol: chat\r\n\r\n",
     WS_OK, ""},
    {"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: keep-alive\r\n"
     "Connection: Upgrade\r\n" ACCEPT "Sec-WebSocket-Protocol: superchat\r\n\r\n",
     WS_OK, ""},
    {"HTTP/1.1 101 OK\r\nupgrade:websocket\r\nconnection:upgrade\r\n"
     "sec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo= \r\nsec-websocket-protocol:chat\r\n\r\n",
     WS_OK, ""},
    {"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", WS_ERR_HS_STATUS, "answered 200 OK"},
    {"HTTP/1.1 404 Not Found\r\n\r\n", WS_ERR_HS_STATUS, "404 Not Found instead of 101"},
    {"HTTP/1.0 403 Forbidden\r\n\r\n", WS_ERR_HS_STATUS, "403"},
    {"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n" ACCEPT "\r\n", WS_ERR_HS_UPGRADE,
     "Upgrade: missing"},
    {"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket2\r\nConnection: Upgrade\r\n" ACCEPT
     "\r\n",
     WS_ERR_HS_UPGRADE, "got \"websocket2\""},
    {"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket, h2c\r\nConnection: Upgrade\r\n" ACCEPT
     "\r\n",
     WS_ERR_HS_UPGRADE, "websocket, h2c"},
    {"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nUpgrade: websocket\r\n"
     "Connection: Upgrade\r\n" ACCEPT "\r\n",
     WS_ERR_HS_UPGRADE, "more Upgrade headers"},
    {"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n" ACCEPT "\r\n",
     WS_ERR_HS_CONNECTION, "Connection: missing"},
    {"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: close\r\n" ACCEPT
     "\r\n",
     WS_ERR_HS_CONNECTION, "no \"Upgrade\" token in \"close\""},
    {"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
     WS_ERR_HS_ACCEPT, "missing (expected \"s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\")"},
    {"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
     "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOO=\r\n\r\n",
     WS_ERR_HS_ACCEPT, "got \"s3pPLMBiTxaQ9kYGzzhZRbK+xOO=\""},
    {"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" ACCEPT
         ACCEPT "\r\n",
     WS_ERR_HS_ACCEPT, "sent 2 times"},
    {"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" ACCEPT
     "\r\n",
     WS_ERR_HS_PROTOCOL_MISSING, "2 subprotocol(s) were requested"},
    {"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" ACCEPT
     "Sec-WebSocket-Protocol: Chat\r\n\r\n",
     WS_ERR_HS_PROTOCOL_UNOFFERED, "\"Chat\", which was"},
    {"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" ACCEPT
     "Sec-WebSocket-Protocol: chat, superchat\r\n\r\n",
     WS_ERR_HS_PROTOCOL_UNOFFERED, "not offered"},
    {"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" ACCEPT
     "Sec-WebSocket-Protocol: chat\r\nSec-WebSocket-Protocol: chat\r\n\r\n",
     WS_ERR_HS_PROTOCOL_SYNTAX, "sent 2 times"},
    {"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" ACCEPT
     "Sec-WebSocket-Protocol: chat\r\nSec-WebSocket-Extensions: x-foo\r\n\r\n",
     WS_OK, ""},
    {"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" ACCEPT
     "Sec-WebSocket-Protocol: chat\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n",
     WS_ERR_HS_EXTENSION, "\"permessage-deflate\", which was not offered"},
    {"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" ACCEPT
     "Sec-WebSocket-Protocol: chat\r\nSec-WebSocket-Extensions: x-foo;\r\n\r\n",
     WS_ERR_HS_EXTENSION_SYNTAX, "malformed in \"x-foo;\""},
    {"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" ACCEPT
     "Sec-WebSocket-Protocol: chat\r\nSec-WebSocket-Extensions: x-foo\r\n"
     "Sec-WebSocket-Extensions: x-foo\r\n\r\n",
     WS_ERR_HS_EXTENSION, "twice"},
    {"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n Connection: Upgrade\r\n\r\n",
     WS_ERR_HTTP_OBS_FOLD,
     "response head: HTTP header uses obsolete line folding (RFC 7230 3.2.4), at byte 54 (0x20)"},
    {"HTTP/1.1 101 Switching Protocols\nUpgrade: websocket\r\n\r\n", WS_ERR_HTTP_MALFORMED,
     "at byte 32 (0x0a)"},
    {"SSH-2.0-OpenSSH_9.2\r\n", WS_ERR_HTTP_MALFORMED, "malformed"},
};

WS_TEST(client_response_errors_name_the_header_and_the_bytes) {
  ws_extension exts[] = {{.name = "x-foo", .rsv = 0x4}};
  for (size_t i = 0; i < sizeof resp_cases / sizeof resp_cases[0]; i++) {
    const struct resp_case *c = &resp_cases[i];
    ws_client_handshake *h = client("ws://h/", two_protocols, 2, exts, 1);
    int rc = feed_client(h, c->resp, NULL);
    const char *d = ws_client_handshake_detail(h);
    WS_CHECK_MSG(rc == c->want, "row %zu: %s (%s)", i, ws_errname(rc), d);
    WS_CHECK_MSG(strstr(d, c->detail_has) != NULL, "row %zu detail: \"%s\"", i, d);
    /* a failed handshake stays failed */
    if (rc != WS_OK)
      WS_CHECK_EQ_INT(feed_client(h, OK_HEAD, NULL), rc);
    ws_client_handshake_free(h);
  }
}

WS_TEST(client_response_limits) {
  ws_client_handshake *h = client("ws://h/", NULL, 0, NULL, 0);
  static char big[9000];
  size_t n = (size_t)snprintf(big, sizeof big, "HTTP/1.1 101 Switching Protocols\r\nX-Big: ");
  memset(big + n, 'b', 8500);
  n += 8500;
  memcpy(big + n, "\r\n\r\n", 4);
  n += 4;
  WS_CHECK_EQ_INT(ws_client_handshake_recv(h, (const uint8_t *)big, n, NULL),
                  WS_ERR_HTTP_HEAD_TOO_LARGE);
  ws_client_handshake_free(h);
  /* the same, byte by byte: decided once 8192 bytes are in */
  h = client("ws://h/", NULL, 0, NULL, 0);
  int rc = WS_ERR_AGAIN;
  size_t i = 0;
  for (; i < n && rc == WS_ERR_AGAIN; i++)
    rc = ws_client_handshake_recv(h, (const uint8_t *)big + i, 1, NULL);
  WS_CHECK_EQ_INT(rc, WS_ERR_HTTP_HEAD_TOO_LARGE);
  WS_CHECK_EQ_INT(i, 8192);
  ws_client_handshake_free(h);
  /* more header fields than max_headers */
  ws_client_handshake_options o;
  ws_client_handshake_options_init(&o);
  o.url = "ws://h/";
  o.random = sample_nonce;
  o.max_headers = 3;
  h = ws_client_handshake_new(NULL);
  ws_client_handshake_start(h, &o);
  WS_CHECK_EQ_INT(feed_client(h, OK_HEAD, NULL), WS_ERR_HTTP_TOO_MANY_HEADERS);
  ws_client_handshake_free(h);
}

WS_TEST(client_required_extension_not_accepted_means_1010) {
  ws_extension exts[] = {{.name = "x-must", .rsv = 0x4, .required = true}};
  ws_client_handshake *h = client("ws://h/", two_protocols, 2, exts, 1);
  WS_CHECK_EQ_INT(feed_client(h, OK_HEAD, NULL), WS_ERR_HS_EXTENSION_REQUIRED);
  WS_CHECK(strstr(ws_client_handshake_detail(h), "\"x-must\"") != NULL);
  WS_CHECK(strstr(ws_strerror(WS_ERR_HS_EXTENSION_REQUIRED), "1010") != NULL);
  ws_client_handshake_free(h);
  /* an otherwise broken response reports its own error first */
  h = client("ws://h/", two_protocols, 2, exts, 1);
  WS_CHECK_EQ_INT(feed_client(h,
                              "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                              "Connection: Upgrade\r\n" ACCEPT "\r\n",
                              NULL),
                  WS_ERR_HS_PROTOCOL_MISSING);
  ws_client_handshake_free(h);
  h = client("ws://h/", two_protocols, 2, exts, 1);
  WS_CHECK_EQ_INT(feed_client(h,
                              "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                              "Connection: Upgrade\r\n" ACCEPT "Sec-WebSocket-Protocol: chat\r\n"
                              "Sec-WebSocket-Extensions: x-must\r\n\r\n",
                              NULL),
                  WS_OK);
  WS_CHECK_EQ_INT(ws_client_handshake_rsv(h), 0x4);
  WS_CHECK_EQ_INT(ws_client_handshake_extensions(h)->num_offers, 1);
  ws_client_handshake_free(h);
}

/* ---- server ---------------------------------------------------------------------------------- */

/* RFC 6455 1.2's example request. */
#define RFC_REQUEST                                                                                \
  "GET /chat HTTP/1.1\r\n"                                                                         \
  "Host: server.example.com\r\n"                                                                   \
  "Upgrade: websocket\r\n"                                                                         \
  "Connection: Upgrade\r\n"                                                                        \
  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"                                                \
  "Origin: http://example.com\r\n"                                                                 \
  "Sec-WebSocket-Protocol: chat, superchat\r\n"                                                    \
  "Sec-WebSocket-Version: 13\r\n"                                                                  \
  "\r\n"

static const char *const server_protocols[] = {"superchat", "chat"};

static ws_server_handshake *server(const ws_server_handshake_options *base) {
  ws_server_handshake_options o;
  if (base) {
    o = *base;
  } else {
    ws_server_handshake_options_init(&o);
    o.protocols = server_protocols;
    o.num_protocols = 2;
  }
  return ws_server_handshake_new(&o, NULL);
}

static int feed_server(ws_server_handshake *h, const char *s, size_t *consumed) {
  return ws_server_handshake_recv(h, (const uint8_t *)s, strlen(s), consumed);
}

WS_TEST(server_answers_the_rfc_example_byte_exact) {
  ws_server_handshake *h = server(NULL);
  size_t consumed;
  const char *in = RFC_REQUEST "\x81\x82\0\0\0\0hi";
  WS_CHECK_EQ_INT(
      ws_server_handshake_recv(h, (const uint8_t *)in, strlen(RFC_REQUEST) + 8, &consumed), WS_OK);
  WS_CHECK_EQ_INT(consumed, strlen(RFC_REQUEST));
  size_t len;
  const uint8_t *resp = ws_server_handshake_response(h, &len);
  check_golden("server_101_rfc.http", resp, len);
  WS_CHECK_EQ_INT(ws_server_handshake_status(h), 101);
  WS_CHECK_EQ_STR(ws_server_handshake_protocol(h), "superchat"); /* server preference */
  const ws_http_request *r = ws_server_handshake_request(h);
  WS_CHECK(r && r->num_headers == 7);
  ws_server_handshake_free(h);
}

WS_TEST(server_request_fed_byte_by_byte) {
  ws_server_handshake *h = server(NULL);
  const char *in = RFC_REQUEST;
  size_t total = strlen(in);
  for (size_t i = 0; i < total; i++) {
    size_t consumed = 99;
    int rc = ws_server_handshake_recv(h, (const uint8_t *)in + i, 1, &consumed);
    WS_CHECK_MSG(rc == (i + 1 < total ? WS_ERR_AGAIN : WS_OK), "byte %zu: %s", i, ws_errname(rc));
    WS_CHECK_EQ_INT(consumed, 1);
    size_t len = 99;
    if (i + 1 < total) {
      WS_CHECK(ws_server_handshake_response(h, &len) == NULL);
      WS_CHECK_EQ_INT(len, 0);
    }
  }
  size_t len;
  ws_server_handshake_response(h, &len);
  WS_CHECK(len > 0);
  ws_server_handshake_free(h);
}

/* Slowloris: a request that trickles in holds the object and its bytes so far, not the header
 * array and the extension lists (~10 KiB) that only a complete head needs. Byte by byte, the
 * memory held stays under 1.5 KiB plus what was received, and the answer is the same 101. */
WS_TEST(a_trickling_request_holds_little_memory) {
  ws_test_counting b = {.budget = -1}; /* counts the bytes held */
  ws_allocator a = ws_test_counting_allocator(&b);
  ws_server_handshake_options o;
  ws_server_handshake_options_init(&o);
  o.protocols = server_protocols;
  o.num_protocols = 2;
  ws_server_handshake *h = ws_server_handshake_new(&o, &a);
  const char *in = RFC_REQUEST;
  size_t total = strlen(in), most = 0;
  for (size_t i = 0; i + 1 < total; i++) {
    WS_CHECK_EQ_INT(ws_server_handshake_recv(h, (const uint8_t *)in + i, 1, NULL), WS_ERR_AGAIN);
    size_t over = b.bytes > i + 1 ? b.bytes - (i + 1) : 0;
    most = over > most ? over : most;
  }
  WS_CHECK_MSG(most < 1536, "%zu bytes held beyond the request's own", most);
  WS_CHECK_EQ_INT(ws_server_handshake_recv(h, (const uint8_t *)in + total - 1, 1, NULL), WS_OK);
  size_t len;
  const uint8_t *resp = ws_server_handshake_response(h, &len);
  check_golden("server_101_rfc.http", resp, len);
  const ws_http_request *r = ws_server_handshake_request(h);
  size_t vl = 0;
  WS_CHECK(r && r->num_headers == 7 && ws_http_request_header(r, "Origin", &vl) && vl == 18);
  ws_server_handshake_free(h);
  WS_CHECK_EQ_INT(b.bytes, 0);
}

/* A max_headers above the default parses into an array of its own (not the stack's). */
WS_TEST(a_large_header_limit_takes_that_many_headers) {
  char req[16384];
  int n = snprintf(req, sizeof req,
                   "GET /chat HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n"
                   "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                   "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n");
  for (int i = 0; i < 150; i++)
    n += snprintf(req + n, sizeof req - (size_t)n, "X-Extra-%d: %d\r\n", i, i);
  snprintf(req + n, sizeof req - (size_t)n, "\r\n");
  for (int big = 0; big < 2; big++) {
    ws_server_handshake_options o;
    ws_server_handshake_options_init(&o);
    o.max_headers = big ? 200 : 0; /* 0: the default, 100 */
    o.max_head = sizeof req;
    ws_server_handshake *h = ws_server_handshake_new(&o, NULL);
    int rc = feed_server(h, req, NULL);
    if (big) {
      WS_CHECK_EQ_INT(rc, WS_OK);
      const ws_http_request *r = ws_server_handshake_request(h);
      size_t vl = 0;
      const char *v = ws_http_request_header(r, "X-Extra-149", &vl);
      WS_CHECK(r && r->num_headers == 155 && v && vl == 3 && memcmp(v, "149", 3) == 0);
    } else {
      WS_CHECK_EQ_INT(ws_server_handshake_status(h), 431);
    }
    ws_server_handshake_free(h);
  }
}

typedef struct app {
  int refuse_with;
  int pick;
  int accept_calls;
} app;

static int app_accept(void *ud, const ws_http_request *req, ws_server_reply *reply) {
  app *a = ud;
  a->accept_calls++;
  if (req->path_len == 7 && memcmp(req->path, "/secret", 7) == 0) {
    ws_server_reply_add_header(reply, "WWW-Authenticate", 16, "Bearer", 6);
    return 401;
  }
  ws_server_reply_add_header(reply, "Set-Cookie", 10, "sid=42", 6);
  return a->refuse_with;
}
static int app_pick(void *ud, const ws_http_request *req, const ws_str *offered, size_t n) {
  (void)req;
  app *a = ud;
  WS_CHECK_EQ_INT(n, 2);
  WS_CHECK_EQ_MEM(offered[1].data, offered[1].len, "superchat", 9);
  return a->pick;
}
static int ext_accept(void *ud, const ws_ext_offer *offer, ws_ext_list *response) {
  (void)ud;
  if (ws_ext_offer_param(offer, "client_max_window_bits"))
    return ws_ext_list_add_param(response, "client_max_window_bits", 22, "10", 2) ? -1 : 1;
  return 0;
}

WS_TEST(server_hooks_protocol_extensions_and_reply_headers) {
  app a = {0, 0, 0};
  ws_extension exts[] = {{.name = "x-deflate", .rsv = 0x4, .server_accept = ext_accept}};
  ws_server_handshake_options o;
  ws_server_handshake_options_init(&o);
  o.accept = app_accept;
  o.select_protocol = app_pick;
  o.extensions = exts;
  o.num_extensions = 1;
  o.ud = &a;
  const char *req =
      "GET /chat?x=1 HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n"
      "Connection: keep-alive, Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
      "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: chat\r\n"
      "Sec-WebSocket-Protocol: superchat\r\n"
      "Sec-WebSocket-Extensions: x-deflate, x-unknown\r\n"
      "Sec-WebSocket-Extensions: x-deflate; client_max_window_bits\r\n\r\n";
  ws_server_handshake *h = ws_server_handshake_new(&o, NULL);
  WS_CHECK_EQ_INT(feed_server(h, req, NULL), WS_OK);
  size_t len;
  const uint8_t *resp = ws_server_handshake_response(h, &len);
  check_golden("server_101_full.http", resp, len);
  WS_CHECK_EQ_STR(ws_server_handshake_protocol(h), "chat");
  WS_CHECK_EQ_INT(ws_server_handshake_rsv(h), 0x4);
  WS_CHECK_EQ_INT(a.accept_calls, 1);
  ws_server_handshake_free(h);
  /* the hook picks nothing: no Sec-WebSocket-Protocol; out of range is nothing too */
  for (int pick = -1; pick <= 5; pick += 6) {
    a.pick = pick;
    h = ws_server_handshake_new(&o, NULL);
    WS_CHECK_EQ_INT(feed_server(h, req, NULL), WS_OK);
    WS_CHECK_EQ_STR(ws_server_handshake_protocol(h), "");
    resp = ws_server_handshake_response(h, &len);
    WS_CHECK(memmem(resp, len, "Sec-WebSocket-Protocol", 22) == NULL);
    ws_server_handshake_free(h);
  }
  /* the application refuses with 404, or 401 with its own header */
  a.refuse_with = 404;
  h = ws_server_handshake_new(&o, NULL);
  WS_CHECK_EQ_INT(feed_server(h, req, NULL), WS_ERR_HS_REFUSED);
  WS_CHECK_EQ_INT(ws_server_handshake_status(h), 404);
  resp = ws_server_handshake_response(h, &len);
  check_golden("server_404_refused.http", resp, len);
  ws_server_handshake_free(h);
  a.refuse_with = 0;
  h = ws_server_handshake_new(&o, NULL);
  const char *secret = "GET /secret HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n"
                       "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                       "Sec-WebSocket-Version: 13\r\n\r\n";
  WS_CHECK_EQ_INT(feed_server(h, secret, NULL), WS_ERR_HS_REFUSED);
  WS_CHECK_EQ_INT(ws_server_handshake_status(h), 401);
  resp = ws_server_handshake_response(h, &len);
  WS_CHECK(memmem(resp, len, "\r\nWWW-Authenticate: Bearer\r\n", 28) != NULL);
  WS_CHECK(memmem(resp, len, "Connection: close\r\n", 19) != NULL);
  ws_server_handshake_free(h);
  /* a status the hook should not return becomes 500 */
  a.refuse_with = 200;
  h = ws_server_handshake_new(&o, NULL);
  WS_CHECK_EQ_INT(feed_server(h, req, NULL), WS_ERR_HS_REFUSED);
  WS_CHECK_EQ_INT(ws_server_handshake_status(h), 500);
  ws_server_handshake_free(h);
}

static int reply_results[6];
static int reply_probe(void *ud, const ws_http_request *req, ws_server_reply *reply) {
  (void)ud;
  (void)req;
  reply_results[0] = ws_server_reply_add_header(reply, "X-Ok", 4, "fine", 4);
  reply_results[1] = ws_server_reply_add_header(reply, "X-Bad", 5, "a\r\nSet-Cookie: x", 17);
  reply_results[2] = ws_server_reply_add_header(reply, "X Bad", 5, "a", 1);
  reply_results[3] = ws_server_reply_add_header(reply, "Sec-WebSocket-Accept", 20, "x", 1);
  reply_results[4] = ws_server_reply_add_header(reply, "connection", 10, "close", 5);
  reply_results[5] = ws_server_reply_add_header(reply, "X-Nul", 5, "a\0b", 3);
  return 0;
}

WS_TEST(server_reply_headers_are_checked) {
  ws_server_handshake_options o;
  ws_server_handshake_options_init(&o);
  o.accept = reply_probe;
  ws_server_handshake *h = ws_server_handshake_new(&o, NULL);
  WS_CHECK_EQ_INT(feed_server(h, RFC_REQUEST, NULL), WS_OK);
  WS_CHECK_EQ_INT(reply_results[0], WS_OK);
  for (int i = 1; i < 6; i++)
    WS_CHECK_MSG(reply_results[i] == WS_ERR_HS_HEADER_INVALID, "probe %d: %s", i,
                 ws_errname(reply_results[i]));
  size_t len;
  const uint8_t *resp = ws_server_handshake_response(h, &len);
  WS_CHECK(memmem(resp, len, "\r\nX-Ok: fine\r\n\r\n", 16) != NULL);
  WS_CHECK(memmem(resp, len, "Set-Cookie", 10) == NULL);
  /* no subprotocol configured: none chosen even though the client offered two */
  WS_CHECK(memmem(resp, len, "Sec-WebSocket-Protocol", 22) == NULL);
  ws_server_handshake_free(h);
}

/* A valid request with one line replaced/added/removed. */
#define R_LINE "GET /chat HTTP/1.1\r\n"
#define R_HOST "Host: h\r\n"
#define R_UPG  "Upgrade: websocket\r\n"
#define R_CONN "Connection: Upgrade\r\n"
#define R_KEY  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
#define R_VER  "Sec-WebSocket-Version: 13\r\n"

static const struct srv_case {
  const char *req;
  int want;
  int status;
  const char *golden; /* NULL: no golden file for this row */
  const char *detail_has;
} srv_cases[] = {
    {R_LINE R_HOST R_UPG R_CONN R_KEY R_VER "\r\n", WS_OK, 101, NULL, ""},
    {R_LINE R_HOST "Upgrade: WebSocket\r\nConnection: keep-alive, upgrade\r\n"
                   "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAB==\r\n" R_VER "\r\n",
     WS_OK, 101, NULL, ""},
    {R_LINE R_HOST R_UPG "Connection: keep-alive\r\nConnection: Upgrade\r\n" R_KEY R_VER "\r\n",
     WS_OK, 101, NULL, ""},
    {"POST /chat HTTP/1.1\r\n" R_HOST R_UPG R_CONN R_KEY R_VER "\r\n", WS_ERR_HS_METHOD, 405,
     "server_405.http", "method \"POST\""},
    {"get /chat HTTP/1.1\r\n" R_HOST R_UPG R_CONN R_KEY R_VER "\r\n", WS_ERR_HS_METHOD, 405, NULL,
     "\"get\""},
    {"GET /chat HTTP/1.0\r\n" R_HOST R_UPG R_CONN R_KEY R_VER "\r\n", WS_ERR_HS_HTTP_VERSION, 400,
     NULL, "HTTP/1.0"},
    {R_LINE R_UPG R_CONN R_KEY R_VER "\r\n", WS_ERR_HS_HOST, 400, NULL, "Host: missing"},
    {R_LINE R_HOST R_HOST R_UPG R_CONN R_KEY R_VER "\r\n", WS_ERR_HS_DUPLICATE, 400, NULL,
     "Host: sent more than once"},
    {R_LINE R_HOST R_UPG R_UPG R_CONN R_KEY R_VER "\r\n", WS_ERR_HS_DUPLICATE, 400, NULL,
     "Upgrade: sent"},
    {R_LINE R_HOST R_UPG R_CONN R_KEY R_KEY R_VER "\r\n", WS_ERR_HS_DUPLICATE, 400, NULL,
     "Sec-WebSocket-Key: sent"},
    {R_LINE R_HOST R_UPG R_CONN R_KEY R_VER R_VER "\r\n", WS_ERR_HS_DUPLICATE, 400, NULL,
     "Sec-WebSocket-Version: sent"},
    {R_LINE R_HOST R_UPG R_CONN R_KEY R_VER "Origin: http://a\r\nOrigin: http://b\r\n\r\n",
     WS_ERR_HS_DUPLICATE, 400, NULL, "Origin: sent"},
    {R_LINE R_HOST "Upgrade: h2c\r\n" R_CONN R_KEY R_VER "\r\n", WS_ERR_HS_UPGRADE, 400, NULL,
     "no \"websocket\" in \"h2c\""},
    {R_LINE R_HOST R_CONN R_KEY R_VER "\r\n", WS_ERR_HS_UPGRADE, 400, NULL, "Upgrade: missing"},
    {R_LINE R_HOST R_UPG "Connection: keep-alive\r\n" R_KEY R_VER "\r\n", WS_ERR_HS_CONNECTION, 400,
     NULL, "in \"keep-alive\""},
    {R_LINE R_HOST R_UPG R_KEY R_VER "\r\n", WS_ERR_HS_CONNECTION, 400, NULL, "missing"},
    {R_LINE R_HOST R_UPG R_CONN R_KEY "Sec-WebSocket-Version: 8\r\n\r\n", WS_ERR_HS_VERSION, 426,
     "server_426.http", "\"8\", only 13"},
    {R_LINE R_HOST R_UPG R_CONN R_KEY "\r\n", WS_ERR_HS_VERSION, 426, NULL, "missing"},
    {R_LINE R_HOST R_UPG R_CONN R_KEY "Sec-WebSocket-Version: 13, 8\r\n\r\n", WS_ERR_HS_VERSION,
     426, NULL, "13, 8"},
    {R_LINE R_HOST R_UPG R_CONN R_VER "\r\n", WS_ERR_HS_KEY, 400, "server_400_key.http",
     "Sec-WebSocket-Key: missing"},
    {R_LINE R_HOST R_UPG R_CONN "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ\r\n" R_VER "\r\n",
     WS_ERR_HS_KEY, 400, NULL, "not base64 of 16 bytes"},
    {R_LINE R_HOST R_UPG R_CONN "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=\r\n" R_VER "\r\n",
     WS_ERR_HS_KEY, 400, NULL, "\"dGhlIHNhbXBsZSBub25jZQ=\""},
    {R_LINE R_HOST R_UPG R_CONN "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZ!==\r\n" R_VER "\r\n",
     WS_ERR_HS_KEY, 400, NULL, "not base64"},
    {R_LINE R_HOST R_UPG R_CONN "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQdGhl\r\n" R_VER "\r\n",
     WS_ERR_HS_KEY, 400, NULL, "not base64"},
    {R_LINE R_HOST R_UPG R_CONN "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==x\r\n" R_VER "\r\n",
     WS_ERR_HS_KEY, 400, NULL, "not base64"},
    {R_LINE R_HOST R_UPG R_CONN R_KEY R_VER "Sec-WebSocket-Protocol: chat, a b\r\n\r\n",
     WS_ERR_HS_PROTOCOL_SYNTAX, 400, NULL, "\"a b\" is not a token"},
    {R_LINE R_HOST R_UPG R_CONN R_KEY R_VER "Sec-WebSocket-Extensions: x; =1\r\n\r\n",
     WS_ERR_HS_EXTENSION_SYNTAX, 400, NULL, "malformed in \"x; =1\""},
    {R_LINE R_HOST R_UPG R_CONN R_KEY R_VER "X-Fold: a\r\n b\r\n\r\n", WS_ERR_HTTP_OBS_FOLD, 400,
     "server_400_fold.http", "obsolete line folding"},
    {R_LINE "Host : h\r\n" R_UPG R_CONN R_KEY R_VER "\r\n", WS_ERR_HTTP_MALFORMED, 400, NULL,
     "malformed HTTP message head (RFC 7230 3), at byte 24 (0x20)"},
    {"GET /chat HTTP/1.1\nHost: h\n\n", WS_ERR_HTTP_MALFORMED, 400, NULL, "at byte 18 (0x0a)"},
    {"GET /chat HTTP/1.1\r\nHost: h\x01\r\n\r\n", WS_ERR_HTTP_MALFORMED, 400, NULL,
     "at byte 27 (0x01)"},
};

WS_TEST(server_refusals_have_the_right_status_and_body) {
  for (size_t i = 0; i < sizeof srv_cases / sizeof srv_cases[0]; i++) {
    const struct srv_case *c = &srv_cases[i];
    ws_server_handshake *h = server(NULL);
    int rc = feed_server(h, c->req, NULL);
    const char *d = ws_server_handshake_detail(h);
    WS_CHECK_MSG(rc == c->want, "row %zu: %s (%s)", i, ws_errname(rc), d);
    WS_CHECK_MSG(ws_server_handshake_status(h) == c->status, "row %zu: status %d", i,
                 ws_server_handshake_status(h));
    WS_CHECK_MSG(strstr(d, c->detail_has) != NULL, "row %zu detail: \"%s\"", i, d);
    size_t len;
    const uint8_t *resp = ws_server_handshake_response(h, &len);
    WS_CHECK(resp != NULL && len > 0);
    if (rc != WS_OK && resp) {
      WS_CHECK_MSG(memmem(resp, len, "\r\nConnection: close\r\n", 21) != NULL, "row %zu", i);
      WS_CHECK(memmem(resp, len, "Content-Type: text/plain; charset=utf-8\r\n", 41) != NULL);
    }
    if (c->golden)
      check_golden(c->golden, resp, len);
    WS_CHECK_EQ_INT(feed_server(h, RFC_REQUEST, NULL), rc); /* decided once */
    ws_server_handshake_free(h);
  }
}

WS_TEST(server_origin_policy) {
  static const char *const allowed[] = {"https://example.com", "http://localhost:8080"};
  ws_server_handshake_options o;
  ws_server_handshake_options_init(&o);
  o.allowed_origins = allowed;
  o.num_allowed_origins = 2;
  static const struct {
    const char *origin_line;
    bool require;
    int want;
  } rows[] = {
      {"Origin: https://example.com\r\n", false, WS_OK},
      {"Origin: HTTPS://EXAMPLE.COM\r\n", false, WS_OK},
      {"Origin: http://localhost:8080\r\n", false, WS_OK},
      {"Origin: https://evil.example\r\n", false, WS_ERR_HS_ORIGIN},
      {"Origin: https://example.com.evil\r\n", false, WS_ERR_HS_ORIGIN},
      {"Origin: null\r\n", false, WS_ERR_HS_ORIGIN},
      {"", false, WS_OK}, /* not a browser */
      {"", true, WS_ERR_HS_ORIGIN},
  };
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
    o.require_origin = rows[i].require;
    ws_server_handshake *h = ws_server_handshake_new(&o, NULL);
    char req[512];
    snprintf(req, sizeof req, R_LINE R_HOST R_UPG R_CONN R_KEY R_VER "%s\r\n", rows[i].origin_line);
    int rc = feed_server(h, req, NULL);
    WS_CHECK_MSG(rc == rows[i].want, "row %zu: %s", i, ws_errname(rc));
    if (rc == WS_ERR_HS_ORIGIN) {
      WS_CHECK_EQ_INT(ws_server_handshake_status(h), 403);
      if (i == 3) {
        size_t len;
        const uint8_t *resp = ws_server_handshake_response(h, &len);
        check_golden("server_403_origin.http", resp, len);
        WS_CHECK(strstr(ws_server_handshake_detail(h), "\"https://evil.example\"") != NULL);
      }
    }
    ws_server_handshake_free(h);
  }
}

WS_TEST(server_limits_431_and_414) {
  static char big[10000];
  size_t n = (size_t)snprintf(big, sizeof big, R_LINE R_HOST R_UPG R_CONN R_KEY R_VER "X-Big: ");
  memset(big + n, 'b', 8200);
  n += 8200;
  memcpy(big + n, "\r\n\r\n", 4);
  n += 4;
  ws_server_handshake *h = server(NULL);
  WS_CHECK_EQ_INT(ws_server_handshake_recv(h, (const uint8_t *)big, n, NULL),
                  WS_ERR_HTTP_HEAD_TOO_LARGE);
  WS_CHECK_EQ_INT(ws_server_handshake_status(h), 431);
  size_t len;
  const uint8_t *resp = ws_server_handshake_response(h, &len);
  check_golden("server_431.http", resp, len);
  WS_CHECK(ws_server_handshake_request(h) == NULL);
  ws_server_handshake_free(h);
  /* partial input: refused as soon as 8192 bytes are in, without waiting for the end */
  h = server(NULL);
  WS_CHECK_EQ_INT(ws_server_handshake_recv(h, (const uint8_t *)big, 8191, NULL), WS_ERR_AGAIN);
  WS_CHECK_EQ_INT(ws_server_handshake_recv(h, (const uint8_t *)big + 8191, 1, NULL),
                  WS_ERR_HTTP_HEAD_TOO_LARGE);
  ws_server_handshake_free(h);
  /* 101 header fields */
  n = (size_t)snprintf(big, sizeof big, R_LINE R_HOST R_UPG R_CONN R_KEY R_VER);
  for (int i = 0; i < 96; i++)
    n += (size_t)snprintf(big + n, sizeof big - n, "X-%d: v\r\n", i);
  memcpy(big + n, "\r\n", 3);
  h = server(NULL);
  WS_CHECK_EQ_INT(feed_server(h, big, NULL), WS_ERR_HTTP_TOO_MANY_HEADERS);
  WS_CHECK_EQ_INT(ws_server_handshake_status(h), 431);
  ws_server_handshake_free(h);
  /* a request line of 4097 bytes: 414 */
  n = (size_t)snprintf(big, sizeof big, "GET /");
  memset(big + n, 'a', 4097 - 14);
  n += 4097 - 14;
  n += (size_t)snprintf(big + n, sizeof big - n, " HTTP/1.1\r\n" R_HOST "\r\n");
  h = server(NULL);
  WS_CHECK_EQ_INT(feed_server(h, big, NULL), WS_ERR_HTTP_URI_TOO_LONG);
  WS_CHECK_EQ_INT(ws_server_handshake_status(h), 414);
  ws_server_handshake_free(h);
  /* smaller limits are honoured */
  ws_server_handshake_options o;
  ws_server_handshake_options_init(&o);
  o.max_head = 64;
  h = ws_server_handshake_new(&o, NULL);
  WS_CHECK_EQ_INT(feed_server(h, RFC_REQUEST, NULL), WS_ERR_HTTP_HEAD_TOO_LARGE);
  ws_server_handshake_free(h);
}

WS_TEST(server_hands_plain_http_requests_to_the_application) {
  static const char *const plain[] = {
      "GET /index.html?lang=fr HTTP/1.1\r\nHost: h\r\nAccept: text/html\r\n\r\n",
      "GET / HTTP/1.0\r\n\r\n",
      "POST /api HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nhi",
      "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n",
  };
  for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++) {
    ws_server_handshake *h = server(NULL);
    size_t consumed;
    WS_CHECK_EQ_INT(feed_server(h, plain[i], &consumed), WS_ERR_HS_NOT_UPGRADE);
    const ws_http_request *r = ws_server_handshake_request(h);
    WS_CHECK(r != NULL);
    size_t len = 99;
    WS_CHECK(ws_server_handshake_response(h, &len) == NULL && len == 0);
    if (i == 0 && r) {
      WS_CHECK_EQ_MEM(r->method, r->method_len, "GET", 3);
      WS_CHECK_EQ_MEM(r->path, r->path_len, "/index.html", 11);
      WS_CHECK_EQ_MEM(r->query, r->query_len, "lang=fr", 7);
      size_t vl;
      const char *v = ws_http_request_header(r, "accept", &vl);
      WS_CHECK(v && vl == 9 && memcmp(v, "text/html", 9) == 0);
    }
    if (i == 2) /* the body stays with the caller */
      WS_CHECK_EQ_INT(consumed, strlen(plain[i]) - 2);
    ws_server_handshake_free(h);
  }
}

/* ---- both sides together --------------------------------------------------------------------- */

static int offer_bits(void *ud, ws_ext_list *offers) {
  (void)ud;
  int rc = ws_ext_list_add(offers, "x-deflate", 9);
  return rc ? rc : ws_ext_list_add_param(offers, "client_max_window_bits", 22, NULL, 0);
}
static int verify_bits(void *ud, const ws_ext_offer *r) {
  int *seen = ud;
  const ws_ext_param *p = ws_ext_offer_param(r, "client_max_window_bits");
  *seen = p && p->value ? atoi(p->value) : -1;
  return 0;
}

WS_TEST(client_and_server_agree) {
  int seen = 0;
  ws_extension cext[] = {{.name = "x-deflate",
                          .rsv = 0x4,
                          .client_offer = offer_bits,
                          .client_verify = verify_bits,
                          .ud = &seen}};
  ws_extension sext[] = {{.name = "x-deflate", .rsv = 0x4, .server_accept = ext_accept}};
  ws_client_handshake *c = client("ws://[::1]:9001/echo?x", two_protocols, 2, cext, 1);
  ws_server_handshake_options o;
  ws_server_handshake_options_init(&o);
  o.protocols = server_protocols;
  o.num_protocols = 2;
  o.extensions = sext;
  o.num_extensions = 1;
  ws_server_handshake *s = ws_server_handshake_new(&o, NULL);
  size_t len, consumed;
  const uint8_t *req = ws_client_handshake_request(c, &len);
  WS_CHECK_EQ_INT(ws_server_handshake_recv(s, req, len, &consumed), WS_OK);
  WS_CHECK_EQ_INT(consumed, len);
  const ws_http_request *r = ws_server_handshake_request(s);
  WS_CHECK_EQ_MEM(r->target, r->target_len, "/echo?x", 7);
  WS_CHECK_EQ_MEM(ws_http_request_header(r, "host", NULL), 11, "[::1]:9001\r", 11);
  const uint8_t *resp = ws_server_handshake_response(s, &len);
  WS_CHECK_EQ_INT(ws_client_handshake_recv(c, resp, len, &consumed), WS_OK);
  WS_CHECK_EQ_INT(consumed, len);
  WS_CHECK_EQ_STR(ws_client_handshake_protocol(c), "superchat");
  WS_CHECK_EQ_STR(ws_server_handshake_protocol(s), "superchat");
  WS_CHECK_EQ_INT(seen, 10);
  WS_CHECK_EQ_INT(ws_client_handshake_rsv(c), 0x4);
  WS_CHECK_EQ_INT(ws_server_handshake_rsv(s), 0x4);
  ws_client_handshake_free(c);
  ws_server_handshake_free(s);
}

/* ---- allocation failures --------------------------------------------------------------------- */


WS_TEST(every_allocation_failure_is_reported_and_leaks_nothing) {
  bool client_done = false, server_done = false;
  for (int budget = 0; budget < 64 && !(client_done && server_done); budget++) {
    ws_test_counting c = {.budget = budget};
    ws_allocator a = ws_test_counting_allocator(&c);
    ws_client_handshake *h = ws_client_handshake_new(&a);
    if (h) {
      ws_client_handshake_options o;
      ws_client_handshake_options_init(&o);
      o.url = "ws://h/chat";
      o.random = sample_nonce;
      o.protocols = two_protocols;
      o.num_protocols = 2;
      int rc = ws_client_handshake_start(h, &o);
      if (rc == WS_OK) {
        rc = ws_client_handshake_recv(h, (const uint8_t *)OK_HEAD, 10, NULL);
        if (rc == WS_ERR_AGAIN)
          rc = ws_client_handshake_recv(h, (const uint8_t *)OK_HEAD + 10, strlen(OK_HEAD) - 10,
                                        NULL);
        if (rc == WS_OK)
          client_done = true;
      }
      WS_CHECK_MSG(rc == WS_OK || rc == WS_ERR_NOMEM, "budget %d: %s", budget, ws_errname(rc));
      ws_client_handshake_free(h);
    }
    WS_CHECK_EQ_INT(c.live, 0);

    c = (ws_test_counting){.budget = budget};
    ws_server_handshake_options so;
    ws_server_handshake_options_init(&so);
    so.protocols = server_protocols;
    so.num_protocols = 2;
    ws_server_handshake *s = ws_server_handshake_new(&so, &a);
    if (s) {
      int rc = ws_server_handshake_recv(s, (const uint8_t *)RFC_REQUEST, 10, NULL);
      if (rc == WS_ERR_AGAIN)
        rc = ws_server_handshake_recv(s, (const uint8_t *)RFC_REQUEST + 10,
                                      strlen(RFC_REQUEST) - 10, NULL);
      if (rc == WS_OK)
        server_done = true;
      else
        WS_CHECK_MSG(ws_server_handshake_status(s) == 500, "budget %d: %s", budget, ws_errname(rc));
      ws_server_handshake_free(s);
    }
    WS_CHECK_EQ_INT(c.live, 0);
  }
  WS_CHECK(client_done && server_done);
}

int main(void) { return ws_test_main(); }
