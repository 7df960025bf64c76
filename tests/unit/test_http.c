/* src/proto/http.c: the stateless HTTP/1.1 head parser and the response builder.
 * Every input is placed right before an unreadable page, so an over-read crashes the test. */
#include "proto/http.h"
#include "wstest.h"

#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

/* Copy s[0..n) so that it ends exactly where an inaccessible page begins. */
typedef struct guarded {
  uint8_t *map;
  size_t map_len;
  uint8_t *data;
} guarded;

static guarded guard(const void *s, size_t n) {
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  size_t pages = (n + page - 1) / page + 1;
  guarded g;
  g.map_len = (pages + 1) * page;
  g.map = mmap(NULL, g.map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (g.map == MAP_FAILED)
    abort();
  mprotect(g.map + pages * page, page, PROT_NONE);
  g.data = g.map + pages * page - n;
  memcpy(g.data, s, n);
  return g;
}
static void unguard(guarded *g) { munmap(g->map, g->map_len); }

static const ws__http_limits default_limits = {8192, 100, 4096};

static long parse_req(const char *s, size_t n, const ws__http_limits *lim, ws_http_request *req,
                      ws_header *hd) {
  guarded g = guard(s, n);
  long r = ws__http_parse_request(g.data, n, lim, req, hd, NULL);
  unguard(&g);
  return r;
}

static long parse_res(const char *s, size_t n, ws__http_response *res, ws_header *hd) {
  guarded g = guard(s, n);
  long r = ws__http_parse_response(g.data, n, &default_limits, res, hd, NULL);
  unguard(&g);
  return r;
}

#define REQ                                                                                        \
  "GET /chat?room=1&x=%20 HTTP/1.1\r\n"                                                            \
  "Host: server.example.com\r\n"                                                                   \
  "Upgrade: websocket\r\n"                                                                         \
  "Connection: keep-alive, Upgrade\r\n"                                                            \
  "X-Empty:\r\n"                                                                                   \
  "X-Spaces: \t a  b \t\r\n"                                                                       \
  "X-Obs: caf\xc3\xa9\r\n"                                                                         \
  "\r\n"

WS_TEST(request_fields_are_slices) {
  ws_header hd[100];
  ws_http_request req;
  const char *in = REQ "\x81\x05hello"; /* a frame right behind the head stays unparsed */
  long n = parse_req(in, strlen(in), &default_limits, &req, hd);
  WS_CHECK_EQ_INT(n, (long)strlen(REQ));
  /* the slices point into the guarded copy, already unmapped: compare lengths and recompute */
  ws_http_request r2;
  ws_header hd2[100];
  n = ws__http_parse_request((const uint8_t *)in, strlen(in), &default_limits, &r2, hd2, NULL);
  WS_CHECK_EQ_INT(n, (long)strlen(REQ));
  WS_CHECK_EQ_MEM(r2.method, r2.method_len, "GET", 3);
  WS_CHECK_EQ_MEM(r2.target, r2.target_len, "/chat?room=1&x=%20", 18);
  WS_CHECK_EQ_MEM(r2.path, r2.path_len, "/chat", 5);
  WS_CHECK_EQ_MEM(r2.query, r2.query_len, "room=1&x=%20", 12);
  WS_CHECK_EQ_INT(r2.version_minor, 1);
  WS_CHECK_EQ_INT(r2.num_headers, 6);
  WS_CHECK_EQ_MEM(hd2[0].name, hd2[0].name_len, "Host", 4);
  WS_CHECK_EQ_MEM(hd2[0].value, hd2[0].value_len, "server.example.com", 18);
  WS_CHECK_EQ_MEM(hd2[3].name, hd2[3].name_len, "X-Empty", 7);
  WS_CHECK_EQ_INT(hd2[3].value_len, 0);
  WS_CHECK_EQ_MEM(hd2[4].value, hd2[4].value_len, "a  b", 4);        /* OWS trimmed, inner kept */
  WS_CHECK_EQ_MEM(hd2[5].value, hd2[5].value_len, "caf\xc3\xa9", 5); /* obs-text allowed */
  size_t vl;
  const char *v = ws_http_request_header(&r2, "connection", &vl);
  WS_CHECK(v != NULL);
  WS_CHECK_EQ_MEM(v, vl, "keep-alive, Upgrade", 19);
  WS_CHECK(ws__http_list_has(v, vl, "upgrade"));
  WS_CHECK(!ws__http_list_has(v, vl, "upgrad"));
  WS_CHECK(ws_http_request_header(&r2, "Origin", &vl) == NULL);
  WS_CHECK_EQ_INT(vl, 0);
  WS_CHECK(ws_http_request_header(&r2, "Host", NULL) != NULL);
  /* no query */
  const char *nq = "GET /a HTTP/1.0\r\n\r\n";
  n = ws__http_parse_request((const uint8_t *)nq, strlen(nq), &default_limits, &r2, hd2, NULL);
  WS_CHECK_EQ_INT(n, (long)strlen(nq));
  WS_CHECK(r2.query == NULL);
  WS_CHECK_EQ_INT(r2.version_minor, 0);
  WS_CHECK_EQ_INT(r2.num_headers, 0);
}

WS_TEST(request_fed_byte_by_byte_is_partial_until_the_blank_line) {
  ws_header hd[100];
  ws_http_request req;
  size_t total = strlen(REQ);
  for (size_t k = 0; k < total; k++)
    WS_CHECK_EQ_INT(parse_req(REQ, k, &default_limits, &req, hd), WS_ERR_AGAIN);
  WS_CHECK_EQ_INT(parse_req(REQ, total, &default_limits, &req, hd), (long)total);
}

static const struct bad_case {
  const char *in;
  size_t len; /* 0: strlen */
  long want;
} bad_requests[] = {
    {"GET / HTTP/1.1\nHost: a\r\n\r\n", 0, WS_ERR_HTTP_MALFORMED}, /* bare LF */
    {"GET / HTTP/1.1\r\nHost: a\n\r\n", 0, WS_ERR_HTTP_MALFORMED}, /* bare LF in a field */
    {"GET / HTTP/1.1\r\r\n", 0, WS_ERR_HTTP_MALFORMED},            /* bare CR */
    {"GET  / HTTP/1.1\r\n\r\n", 0, WS_ERR_HTTP_MALFORMED},         /* two spaces */
    {" GET / HTTP/1.1\r\n\r\n", 0, WS_ERR_HTTP_MALFORMED},         /* no method */
    {"\r\nGET / HTTP/1.1\r\n\r\n", 0, WS_ERR_HTTP_MALFORMED},      /* leading CRLF */
    {"GE(T / HTTP/1.1\r\n\r\n", 0, WS_ERR_HTTP_MALFORMED},         /* method not a token */
    {"GET / HTTP/2.0\r\n\r\n", 0, WS_ERR_HTTP_MALFORMED},          /* not HTTP/1.x */
    {"GET / http/1.1\r\n\r\n", 0, WS_ERR_HTTP_MALFORMED},          /* case of "HTTP" */
    {"GET / HTTP/1.11\r\n\r\n", 0, WS_ERR_HTTP_MALFORMED},
    {"GET / HTTP/1.x\r\n\r\n", 0, WS_ERR_HTTP_MALFORMED},
    {"GET /\x7f HTTP/1.1\r\n\r\n", 0, WS_ERR_HTTP_MALFORMED},        /* DEL in the target */
    {"GET /caf\xc3\xa9 HTTP/1.1\r\n\r\n", 0, WS_ERR_HTTP_MALFORMED}, /* raw UTF-8 target */
    {"GET /\t HTTP/1.1\r\n\r\n", 0, WS_ERR_HTTP_MALFORMED},
    {"GET  HTTP/1.1\r\n\r\n", 0, WS_ERR_HTTP_MALFORMED},               /* empty target */
    {"GET / HTTP/1.1 \r\n\r\n", 0, WS_ERR_HTTP_MALFORMED},             /* space after version */
    {"GET / HTTP/1.1\r\nHost : a\r\n\r\n", 0, WS_ERR_HTTP_MALFORMED},  /* space before colon */
    {"GET / HTTP/1.1\r\n: a\r\n\r\n", 0, WS_ERR_HTTP_MALFORMED},       /* empty name */
    {"GET / HTTP/1.1\r\nHost\r\n\r\n", 0, WS_ERR_HTTP_MALFORMED},      /* no colon */
    {"GET / HTTP/1.1\r\nHo\"st: a\r\n\r\n", 0, WS_ERR_HTTP_MALFORMED}, /* name not a token */
    {"GET / HTTP/1.1\r\nHost: a\x00"
     "b\r\n\r\n",
     27, WS_ERR_HTTP_MALFORMED},                                           /* NUL in a value */
    {"GET / HTTP/1.1\r\nHost: a\x01\r\n\r\n", 0, WS_ERR_HTTP_MALFORMED},   /* CTL in a value */
    {"GET / HTTP/1.1\r\nHost: a\x7f\r\n\r\n", 0, WS_ERR_HTTP_MALFORMED},   /* DEL in a value */
    {"GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n", 0, WS_ERR_HTTP_MALFORMED},    /* CR in a value */
    {"GET / HTTP/1.1\r\nHost: a\r\n b\r\n\r\n", 0, WS_ERR_HTTP_OBS_FOLD},  /* obs-fold */
    {"GET / HTTP/1.1\r\nHost: a\r\n\tb\r\n\r\n", 0, WS_ERR_HTTP_OBS_FOLD}, /* obs-fold, tab */
    {"GET / HTTP/1.1\r\n Host: a\r\n\r\n", 0, WS_ERR_HTTP_MALFORMED},      /* folding nothing */
    {"GET / HTTP/1.1\r\n\rX", 0, WS_ERR_HTTP_MALFORMED},                   /* CR not CRLF at end */
    /* decided before the head is complete */
    {"GET / HTTP/1.1\r\nHo st", 0, WS_ERR_HTTP_MALFORMED},
    {"GET /\x01", 0, WS_ERR_HTTP_MALFORMED},
    {"G\r", 0, WS_ERR_HTTP_MALFORMED},
};

WS_TEST(bad_requests_are_refused_with_the_precise_error) {
  for (size_t i = 0; i < sizeof bad_requests / sizeof bad_requests[0]; i++) {
    const struct bad_case *c = &bad_requests[i];
    size_t n = c->len ? c->len : strlen(c->in);
    ws_header hd[100];
    ws_http_request req;
    long r = parse_req(c->in, n, &default_limits, &req, hd);
    WS_CHECK_MSG(r == c->want, "row %zu: got %ld (%s), want %ld", i, r, ws_errname((int)r),
                 c->want);
  }
}

WS_TEST(errors_point_at_the_offending_byte) {
  static const struct {
    const char *in;
    size_t at;
  } rows[] = {
      {"GET / HTTP/1.1\nHost: a\r\n\r\n", 14},    {"GET  / HTTP/1.1\r\n\r\n", 4},
      {"GET / HTTP/1.1\r\nHost : a\r\n\r\n", 20}, {"GET / HTTP/1.1\r\nA: b\r\n c\r\n\r\n", 22},
      {"GET / HTTP/1.1\r\nA: b\x01\r\n\r\n", 20}, {"GET / HTTP/3.0\r\n", 11},
  };
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
    ws_header hd[100];
    ws_http_request req;
    size_t at = 999;
    long r = ws__http_parse_request((const uint8_t *)rows[i].in, strlen(rows[i].in),
                                    &default_limits, &req, hd, &at);
    WS_CHECK_MSG(r < 0 && r != WS_ERR_AGAIN, "row %zu accepted", i);
    WS_CHECK_MSG(at == rows[i].at, "row %zu: at %zu, want %zu", i, at, rows[i].at);
  }
}

/* A request of exactly `total` bytes with `nheaders` header lines and a target of `tlen`. */
static char *make_request(size_t tlen, size_t nheaders, size_t pad, size_t *len) {
  size_t cap = tlen + nheaders * 16 + pad + 64;
  char *s = malloc(cap);
  size_t n = 0;
  memcpy(s + n, "GET /", 5);
  n += 5;
  for (size_t i = 1; i < tlen; i++)
    s[n++] = 'a';
  memcpy(s + n, " HTTP/1.1\r\n", 11);
  n += 11;
  for (size_t i = 0; i < nheaders; i++)
    n += (size_t)snprintf(s + n, cap - n, "X-H%zu: v\r\n", i % 10);
  if (pad) {
    memcpy(s + n, "X-Pad: ", 7);
    n += 7;
    for (size_t i = 0; i < pad; i++)
      s[n++] = 'p';
    memcpy(s + n, "\r\n", 2);
    n += 2;
  }
  memcpy(s + n, "\r\n", 2);
  n += 2;
  *len = n;
  return s;
}

WS_TEST(limits_head_size_header_count_request_line) {
  ws_header hd[100];
  ws_http_request req;
  size_t n;
  /* head of exactly 8192 bytes passes, 8193 is 431 whether complete or still partial */
  char *s = make_request(1, 0, 0, &n);
  size_t base = n + 9; /* "X-Pad: " + CRLF */
  free(s);
  s = make_request(1, 0, 8192 - base, &n);
  WS_CHECK_EQ_INT(n, 8192);
  WS_CHECK_EQ_INT(parse_req(s, n, &default_limits, &req, hd), 8192);
  WS_CHECK_EQ_INT(parse_req(s, n - 2, &default_limits, &req, hd), WS_ERR_AGAIN);
  free(s);
  s = make_request(1, 0, 8193 - base, &n);
  WS_CHECK_EQ_INT(parse_req(s, n, &default_limits, &req, hd), WS_ERR_HTTP_HEAD_TOO_LARGE);
  WS_CHECK_EQ_INT(parse_req(s, 8192, &default_limits, &req, hd), WS_ERR_HTTP_HEAD_TOO_LARGE);
  WS_CHECK_EQ_INT(parse_req(s, 8191, &default_limits, &req, hd), WS_ERR_AGAIN);
  free(s);
  /* 100 headers pass, 101 do not */
  s = make_request(1, 100, 0, &n);
  WS_CHECK_EQ_INT(parse_req(s, n, &default_limits, &req, hd), (long)n);
  WS_CHECK_EQ_INT(req.num_headers, 100);
  free(s);
  s = make_request(1, 101, 0, &n);
  WS_CHECK_EQ_INT(parse_req(s, n, &default_limits, &req, hd), WS_ERR_HTTP_TOO_MANY_HEADERS);
  free(s);
  /* request line of 4096 bytes (without CRLF) passes, 4097 is 414, even before the CRLF */
  s = make_request(4096 - 4 - 9, 0, 0, &n); /* "GET " + target + " HTTP/1.1" */
  WS_CHECK_EQ_INT(parse_req(s, n, &default_limits, &req, hd), (long)n);
  free(s);
  s = make_request(4097 - 4 - 9, 0, 0, &n);
  WS_CHECK_EQ_INT(parse_req(s, n, &default_limits, &req, hd), WS_ERR_HTTP_URI_TOO_LONG);
  WS_CHECK_EQ_INT(parse_req(s, 4098, &default_limits, &req, hd), WS_ERR_HTTP_URI_TOO_LONG);
  WS_CHECK_EQ_INT(parse_req(s, 4000, &default_limits, &req, hd), WS_ERR_AGAIN);
  free(s);
}

WS_TEST(responses_parse_status_reason_headers) {
  ws_header hd[100];
  ws__http_response res;
  const char *in = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n";
  WS_CHECK_EQ_INT(parse_res(in, strlen(in), &res, hd), (long)strlen(in));
  WS_CHECK_EQ_INT(res.status, 101);
  WS_CHECK_EQ_INT(res.num_headers, 1);
  WS_CHECK_EQ_INT(res.reason_len, strlen("Switching Protocols"));
  for (size_t k = 0; k < strlen(in); k++)
    WS_CHECK_EQ_INT(parse_res(in, k, &res, hd), WS_ERR_AGAIN);
  const char *bare = "HTTP/1.1 404\r\n\r\n"; /* no reason and no SP: tolerated */
  WS_CHECK_EQ_INT(parse_res(bare, strlen(bare), &res, hd), (long)strlen(bare));
  WS_CHECK_EQ_INT(res.status, 404);
  WS_CHECK_EQ_INT(res.reason_len, 0);
  const char *empty = "HTTP/1.0 200 \r\n\r\n";
  WS_CHECK_EQ_INT(parse_res(empty, strlen(empty), &res, hd), (long)strlen(empty));
  WS_CHECK_EQ_INT(res.version_minor, 0);
  static const char *const bad[] = {
      "HTTP/1.1 10x OK\r\n\r\n",  "HTTP/1.1  101 OK\r\n\r\n",
      "HTTP/1.1 1011 OK\r\n\r\n", "HTTP/2 101 OK\r\n\r\n",
      "HTTP/1.1 101 OK\n\r\n",    "HTTP/1.1 101 OK\x01\r\n\r\n",
      "ICY 200 OK\r\n\r\n",       "HTTP/1.1 101 OK\r\nUpgrade websocket\r\n\r\n",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    WS_CHECK_MSG(parse_res(bad[i], strlen(bad[i]), &res, hd) == WS_ERR_HTTP_MALFORMED,
                 "bad response row %zu accepted", i);
  const char *fold = "HTTP/1.1 101 OK\r\nA: b\r\n c\r\n\r\n";
  WS_CHECK_EQ_INT(parse_res(fold, strlen(fold), &res, hd), WS_ERR_HTTP_OBS_FOLD);
}

WS_TEST(response_head_builder_is_byte_exact_and_refuses_injection) {
  char out[256];
  ws_header extra[] = {{"Cache-Control", 13, "no-store", 8}};
  long n = ws_http_response_head(out, sizeof out, 200, "text/html; charset=utf-8", 1234, extra, 1);
  const char *want = "HTTP/1.1 200 OK\r\n"
                     "Content-Type: text/html; charset=utf-8\r\n"
                     "Content-Length: 1234\r\n"
                     "Cache-Control: no-store\r\n"
                     "\r\n";
  WS_CHECK_EQ_MEM(out, n > 0 ? (size_t)n : 0, want, strlen(want));
  n = ws_http_response_head(out, sizeof out, 404, NULL, 0, NULL, 0);
  want = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
  WS_CHECK_EQ_MEM(out, n > 0 ? (size_t)n : 0, want, strlen(want));
  /* too small by one byte (the NUL) */
  WS_CHECK_EQ_INT(ws_http_response_head(out, strlen(want), 404, NULL, 0, NULL, 0), WS_ERR_LIMIT);
  WS_CHECK_EQ_INT(ws_http_response_head(out, strlen(want) + 1, 404, NULL, 0, NULL, 0),
                  (long)strlen(want));
  ws_header inj[] = {{"X-A", 3, "1\r\nSet-Cookie: x=1", 18}};
  WS_CHECK_EQ_INT(ws_http_response_head(out, sizeof out, 200, NULL, 0, inj, 1),
                  WS_ERR_HS_HEADER_INVALID);
  ws_header badname[] = {{"X A", 3, "1", 1}};
  WS_CHECK_EQ_INT(ws_http_response_head(out, sizeof out, 200, NULL, 0, badname, 1),
                  WS_ERR_HS_HEADER_INVALID);
  WS_CHECK_EQ_INT(ws_http_response_head(out, sizeof out, 200, "text/plain\n", 0, NULL, 0),
                  WS_ERR_HS_HEADER_INVALID);
  WS_CHECK_EQ_INT(ws_http_response_head(out, sizeof out, 99, NULL, 0, NULL, 0), WS_ERR_INVAL);
  WS_CHECK_EQ_INT(ws_http_response_head(out, sizeof out, 600, NULL, 0, NULL, 0), WS_ERR_INVAL);
  WS_CHECK_EQ_STR(ws_http_reason(431), "Request Header Fields Too Large");
  WS_CHECK_EQ_STR(ws_http_reason(299), "");
}

WS_TEST(tokens_and_lists) {
  WS_CHECK(ws__http_is_token("chat.v2+json", 12));
  WS_CHECK(!ws__http_is_token("", 0));
  WS_CHECK(!ws__http_is_token("a b", 3));
  WS_CHECK(!ws__http_is_token("a,b", 3));
  WS_CHECK(!ws__http_is_token("caf\xc3\xa9", 5));
  const char *l = " , a ,, b\t,c ,";
  const char *p = l, *e;
  size_t n;
  const char *want[] = {"a", "b", "c"};
  size_t k = 0;
  while (ws__http_list_next(&p, l + strlen(l), &e, &n)) {
    WS_CHECK(k < 3);
    if (k < 3)
      WS_CHECK_EQ_MEM(e, n, want[k], 1);
    k++;
  }
  WS_CHECK_EQ_INT(k, 3);
}

int main(void) { return ws_test_main(); }
