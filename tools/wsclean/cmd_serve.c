/* wsclean serve — a WebSocket echo server, the CloseEvent playground page and the scenario
 * endpoints that make a server end a connection in each way the close-code table describes.
 */
#include "commands.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/ascii.h"
#include "cli_util.h"
#include "web_assets.h"
#include "wsclean/handshake.h"
#include "wsclean/wsclean.h"

#define SERVE_MAX_THREADS 64
#define SERVE_MAX_ORIGINS 16

typedef struct serve_opts {
  const char *host;
  uint16_t port;
  const char *tls_cert, *tls_key;
  const char *origins[SERVE_MAX_ORIGINS];
  size_t num_origins;
  uint64_t max_message;
  uint32_t max_connections;
  bool text_only, binary_only;
  uint32_t idle_timeout_ms, close_timeout_ms;
  unsigned threads;
  int verbosity; /* 0 quiet, 1 default, 2 verbose */
  int scenarios; /* -1 auto (on for loopback), 0 off, 1 on */
  bool deflate;  /* accept permessage-deflate offers (default off, as the library's server) */
} serve_opts;

struct serve_loop;

/* One connection, as the log and the scenarios see it. */
typedef struct conn_rec {
  struct serve_loop *sl;
  ws_socket *ws;
  unsigned long id;
  char target[512];
  char peer_origin[256];
  int scenario;
  uint64_t timer;               /* /noclose: the pending cut (0: none) */
  struct conn_rec *prev, *next; /* the loop's list of open connections (for SIGHUP) */
} conn_rec;

typedef struct serve_loop {
  const serve_opts *o;
  ws_loop *loop;
  ws_server *srv;
  conn_rec *conns;
  unsigned long next_id;
  unsigned index;
  pthread_t thread;
} serve_loop;

enum {
  SC_ECHO = 0,
  SC_CLOSE,
  SC_EMPTY,
  SC_FAIL,
  SC_SHUTDOWN,
  SC_RESTART,
  SC_OVERLOAD,
  SC_POLICY,
  SC_PROTOCOL,
  SC_BADUTF8,
  SC_TOOBIG,
  SC_TEXTONLY,
  SC_DROP,
  SC_NOCLOSE
};

/* /noclose: how long a connection that stopped reading is kept before it is cut. Longer than a
 * client's usual close timeout (ours 5 s), so that the client's own timeout is what shows. */
#define NOCLOSE_CUT_MS 10000u

/* Scenario paths, their fixed close code (0: see below) and the reason sent. */
typedef struct scenario_def {
  const char *path;
  int id;
  uint16_t code;
  const char *reason;
} scenario_def;
static const scenario_def SCENARIOS[] = {
    {"/close", SC_CLOSE, 0, NULL},
    {"/empty", SC_EMPTY, 0, NULL},
    {"/fail", SC_FAIL, 1011, NULL},
    {"/shutdown", SC_SHUTDOWN, 1001, "going away (demo of a graceful shutdown)"},
    {"/restart", SC_RESTART, 1012, "service restart (demo)"},
    {"/overload", SC_OVERLOAD, 1013, "try again later (demo)"},
    {"/policy", SC_POLICY, 1008, "this origin is not allowed here (demo)"},
    {"/protocol-error", SC_PROTOCOL, 1002, "protocol error (demo)"},
    {"/badutf8", SC_BADUTF8, 1007, "invalid UTF-8 (demo)"},
    {"/toobig", SC_TOOBIG, 0, NULL},
    {"/text-only", SC_TEXTONLY, 0, NULL},
    {"/drop", SC_DROP, 0, NULL},
    {"/noclose", SC_NOCLOSE, 0, NULL},
};

static void serve_usage(FILE *out) {
  fputs(
      "usage: wsclean serve [options]\n"
      "\n"
      "Serves a WebSocket echo on ws://HOST:PORT/ and the CloseEvent playground page on\n"
      "http://HOST:PORT/ (default 127.0.0.1:9001), plus GET /codes.json?lang=en|es|pt|fr (the\n"
      "close-code registry, as `wsclean codes all --json`) and GET /scenarios.json (the scenario\n"
      "paths below that this server answers).\n"
      "\n"
      "  --host ADDR          address to bind (default 127.0.0.1)\n"
      "  --port N             port (default 9001; 0: any free port, printed at start)\n"
      "  --tls-cert F --tls-key F   serve wss:// and https:// with this PEM chain and key\n"
      "  --origin O           allow this Origin (repeatable); others get HTTP 403\n"
      "  --max-message SIZE   largest message accepted (default 16M); over it: close 1009\n"
      "  --max-connections N  connections over N are closed with 1013 (default 10000)\n"
      "  --text-only | --binary-only   the other kind of message is closed with 1003\n"
      "  --idle-timeout MS    close a connection silent this long (default 0: never)\n"
      "  --close-timeout MS   wait this long for a closing handshake (default 5000)\n"
      "  --threads N          N event loops sharing the port with SO_REUSEPORT (default 1)\n"
      "  --quiet | --verbose  only the address line and errors | one log line per connection\n"
      "                       open/close: code, reason, wasClean, who closed, code sent, duration\n"
      "  --scenarios on|off   the scenario endpoints below (default: on for loopback only)\n"
      "  --deflate | --no-deflate   accept permessage-deflate (RFC 7692) offers or not\n"
      "                       (default: not, as the library's server default)\n"
      "\n"
      "Scenario endpoints (the server ends or breaks the connection right after it opens):\n"
      "  /close?code=C&reason=R  with close code C and reason R (any code valid on the wire)\n"
      "  /empty                  with a close frame without a body: the client reports 1005\n"
      "  /fail                   the handler fails: 1011\n"
      "  /shutdown /restart /overload /policy   1001, 1012, 1013, 1008\n"
      "  /protocol-error /badutf8               1002, 1007\n"
      "  /toobig                 echoes, but a message over 125 bytes is closed with 1009\n"
      "  /text-only              echoes text; a binary message is closed with 1003\n"
      "  /drop                   TCP is cut right after open, without a close frame: 1006\n"
      "  /noclose                the server stops reading right after open, so it never sees\n"
      "                          nor answers a close frame: the client's close timeout ends it\n"
      "                          (1006); the server cuts TCP after 10 s\n"
      "\n"
      "Signals: SIGINT/SIGTERM close every connection with 1001 Going Away and exit 0 once the\n"
      "closing handshakes are done (or the close timeout passed); SIGHUP closes every\n"
      "connection with 1012 Service Restart and keeps serving.\n",
      out);
}

/* ---- small helpers --------------------------------------------------------------------------- */

/* The value of `name` in a query string, percent-decoded into out (NUL-terminated). */
static bool query_get(const char *q, size_t qlen, const char *name, char *out, size_t cap) {
  size_t nlen = strlen(name);
  const char *p = q, *end = q + qlen;
  while (p && p < end) {
    const char *amp = memchr(p, '&', (size_t)(end - p));
    const char *stop = amp ? amp : end;
    if ((size_t)(stop - p) > nlen && memcmp(p, name, nlen) == 0 && p[nlen] == '=') {
      size_t o = 0;
      for (const char *s = p + nlen + 1; s < stop && o + 1 < cap; s++) {
        if (*s == '+') {
          out[o++] = ' ';
        } else if (*s == '%' && stop - s >= 3 && ws__hexval(s[1]) >= 0 &&
                   ws__hexval(s[2]) >= 0) {
          out[o++] = (char)(ws__hexval(s[1]) * 16 + ws__hexval(s[2]));
          s += 2;
        } else {
          out[o++] = *s;
        }
      }
      out[o] = '\0';
      return true;
    }
    p = amp ? amp + 1 : NULL;
  }
  return false;
}

static void log_close(const conn_rec *c, const ws_close_event *ce) {
  size_t rlen = 0;
  const char *reason = ws_close_event_reason(ce, &rlen);
  const ws_close_diag *d = ws_close_event_diag(ce);
  static const char *const WHO[] = {"none", "local", "remote"};
  fprintf(stderr, "wsclean: close id=%lu target=%s code=%u reason=", c->id, c->target,
          ws_close_event_code(ce));
  wscli_json_str(stderr, reason, rlen);
  fprintf(stderr, " wasClean=%s initiator=%s sent=%u received=%u error=%s duration_ms=%llu\n",
          ws_close_event_was_clean(ce) ? "true" : "false",
          d ? WHO[d->initiator <= WS_CLOSER_REMOTE ? d->initiator : 0] : "none",
          d ? (unsigned)d->code_sent : 0u, d ? (unsigned)d->code_received : 0u,
          d && d->error ? ws_errname(d->error) : "-",
          d ? (unsigned long long)d->duration_ms : 0ull);
}

/* ---- connection events ----------------------------------------------------------------------- */

static void echo(ws_socket *ws, const serve_loop *sl, int scenario, const ws_event *ev) {
  const ws_message_event *m = ws_event_as_message(ev);
  size_t len = 0;
  const uint8_t *data = ws_message_event_data(m, &len);
  bool binary = ws_message_event_is_binary(m);
  if (scenario == SC_TOOBIG && len > 125) {
    ws_close_with(ws, WS_CLOSE_MESSAGE_TOO_BIG, "this endpoint takes at most 125 bytes");
    return;
  }
  if (scenario == SC_TEXTONLY && binary) {
    ws_close_with(ws, WS_CLOSE_UNSUPPORTED_DATA, "this endpoint takes text only");
    return;
  }
  int rc = binary ? ws_send_binary(ws, data, len) : ws_send_text(ws, (const char *)data, len);
  if (rc != WS_OK) {
    /* The echo could not be queued (send queue at its cap while the peer is not reading):
     * say so with 1011 rather than drop a message silently. */
    if (sl->o->verbosity >= 1)
      fprintf(stderr, "wsclean serve: echo failed: %s\n", ws_strerror(rc));
    ws_close_with(ws, WS_CLOSE_INTERNAL_ERROR, "echo failed: send queue full");
  }
}

/* A connection with a record (logged, or on a scenario path). */
static void on_message(const ws_event *ev, void *ud) {
  conn_rec *c = ud;
  echo(c->ws, c->sl, c->scenario, ev);
}

/* A plain echo connection keeps no record of its own (memory per idle connection, issue 8):
 * the handler's data is the loop, the socket is the event's target. It is the route's handler
 * (ws_server_route_on), shared by every connection: a plain one allocates nothing for it. */
static void on_message_plain(const ws_event *ev, void *ud) {
  echo(ws_event_socket(ev), ud, SC_ECHO, ev);
}

static void unlink_rec(conn_rec *c) {
  if (c->prev)
    c->prev->next = c->next;
  else
    c->sl->conns = c->next;
  if (c->next)
    c->next->prev = c->prev;
  ws__free(NULL, c);
}

static void on_close(const ws_event *ev, void *ud) {
  conn_rec *c = ud;
  if (c->timer)
    ws_loop_clear_timeout(c->sl->loop, c->timer);
  if (c->sl->o->verbosity >= 2)
    log_close(c, ws_event_as_close(ev));
  unlink_rec(c);
}

/* /noclose: the connection never read again; end it without a close frame. */
static void noclose_cut(ws_loop *loop, void *ud) {
  (void)loop;
  conn_rec *c = ud;
  c->timer = 0;
  ws_terminate(c->ws);
}

static void start_scenario(conn_rec *c, const scenario_def *sc, const ws_http_request *req) {
  c->scenario = sc->id;
  if (sc->code) { /* /fail never gets here: its handler fails first */
    ws_close_with(c->ws, sc->code, sc->reason);
  } else if (c->scenario == SC_DROP) {
    ws_terminate(c->ws); /* the 101 goes out, then TCP is cut: the client sees 1006 */
  } else if (c->scenario == SC_NOCLOSE) {
    ws_pause(c->ws);
    c->timer = ws_loop_set_timeout(c->sl->loop, NOCLOSE_CUT_MS, noclose_cut, c);
  } else if (c->scenario == SC_EMPTY) {
    ws_close(c->ws, 0, NULL); /* no code, no reason: an empty close frame (WHATWG close()) */
  } else if (c->scenario == SC_CLOSE) {
    char code_s[16] = "1000", reason[512] = "";
    if (req->query) {
      query_get(req->query, req->query_len, "code", code_s, sizeof(code_s));
      query_get(req->query, req->query_len, "reason", reason, sizeof(reason));
    }
    uint64_t code = 0;
    int rc = wscli_parse_u64(code_s, 0, 65535, &code)
                 ? ws_close_with(c->ws, (uint16_t)code, reason[0] ? reason : NULL)
                 : WS_ERR_INVALID_ACCESS;
    if (rc != WS_OK) {
      /* A code that must not be on the wire, or a reason over 123 bytes: say so with 1008. */
      char why[160];
      snprintf(why, sizeof(why), "/close refused: %s", ws_strerror(rc));
      why[123] = '\0';
      ws_close_with(c->ws, WS_CLOSE_POLICY_VIOLATION, why);
    }
  }
}

/* The scenario served at the request's path, or NULL (the echo). */
static const scenario_def *find_scenario(const ws_http_request *req) {
  for (size_t i = 0; i < sizeof(SCENARIOS) / sizeof(SCENARIOS[0]); i++)
    if (strlen(SCENARIOS[i].path) == req->path_len &&
        memcmp(SCENARIOS[i].path, req->path, req->path_len) == 0)
      return &SCENARIOS[i];
  return NULL;
}

static int on_connection(ws_server *srv, ws_socket *ws, const ws_http_request *req, void *ud) {
  (void)srv;
  serve_loop *sl = ud;
  const scenario_def *sc = sl->o->scenarios == 1 ? find_scenario(req) : NULL;
  if (!sc && sl->o->verbosity < 2) {
    /* Plain echo, nothing logged per connection: no record, and the route's handler echoes
     * (SIGHUP reaches it through ws_server_close_all). */
    return 0;
  }
  conn_rec *c = ws__calloc(NULL, 1, sizeof(*c));
  if (!c)
    return -1; /* the library closes with 1011 */
  c->sl = sl;
  c->ws = ws;
  c->id = ++sl->next_id * sl->o->threads + sl->index; /* unique across loops, 1 2 3 for one */
  size_t tl = req->target_len < sizeof(c->target) - 1 ? req->target_len : sizeof(c->target) - 1;
  memcpy(c->target, req->target, tl);
  size_t ol = 0;
  const char *origin = ws_http_request_header(req, "Origin", &ol);
  if (origin)
    snprintf(c->peer_origin, sizeof(c->peer_origin), "%.*s", (int)ol, origin);
  c->next = sl->conns;
  if (sl->conns)
    sl->conns->prev = c;
  sl->conns = c;
  /* These override the route's plain echo for this socket only. */
  if (ws_on(ws, "message", on_message, c) != WS_OK || ws_on(ws, "close", on_close, c) != WS_OK) {
    ws_on(ws, "message", NULL, NULL);
    unlink_rec(c);
    return -1;
  }
  if (sl->o->verbosity >= 2)
    fprintf(stderr, "wsclean: open id=%lu target=%s origin=%s\n", c->id, c->target,
            c->peer_origin[0] ? c->peer_origin : "-");
  if (sc && sc->id == SC_FAIL)
    return -1; /* the handler fails: the library closes with 1011 Internal Error (logged) */
  if (sc)
    start_scenario(c, sc, req);
  return 0;
}

/* ---- plain HTTP: the page and the registry --------------------------------------------------- */

static void send_codes_json(ws_http_exchange *x, const ws_http_request *req) {
  char lang_s[32] = "en";
  if (req->query)
    query_get(req->query, req->query_len, "lang", lang_s, sizeof(lang_s));
  int lang = ws_close_lang_parse(lang_s);
  if (lang < 0)
    lang = WS_LANG_EN;
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  if (!f) {
    ws_http_respond(x, 500, "text/plain", "out of memory\n", 14);
    return;
  }
  ws_cli_codes_json(f, (ws_close_lang)lang); /* the same as `wsclean codes all --json` */
  fclose(f);
  ws_http_respond(x, 200, "application/json; charset=utf-8", buf, len);
  free(buf); /* open_memstream's buffer belongs to the C library */
}

/* The scenario paths this server answers (none when --scenarios is off), so that the page can
 * offer exactly those: {"scenarios":["/close",...]}. */
static void send_scenarios_json(ws_http_exchange *x, const serve_opts *o) {
  char buf[1024];
  size_t n = (size_t)snprintf(buf, sizeof(buf), "{\"scenarios\":[");
  for (size_t i = 0; o->scenarios == 1 && i < sizeof(SCENARIOS) / sizeof(SCENARIOS[0]); i++)
    n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s\"%s\"", i ? "," : "", SCENARIOS[i].path);
  n += (size_t)snprintf(buf + n, sizeof(buf) - n, "]}\n");
  ws_http_respond(x, 200, "application/json; charset=utf-8", buf, n);
}

static void on_http(ws_server *srv, ws_http_exchange *x, const ws_http_request *req, void *ud) {
  (void)srv;
  serve_loop *sl = ud;
  if (req->method_len != 3 || memcmp(req->method, "GET", 3) != 0) {
    ws_http_respond(x, 405, "text/plain", "GET only\n", 9);
    return;
  }
  if (req->path_len == 11 && memcmp(req->path, "/codes.json", 11) == 0) {
    send_codes_json(x, req);
    return;
  }
  if (req->path_len == 15 && memcmp(req->path, "/scenarios.json", 15) == 0) {
    send_scenarios_json(x, sl->o);
    return;
  }
  const wscli_asset *a = wscli_asset_find(req->path, req->path_len);
  if (a)
    ws_http_respond(x, 200, a->content_type, a->data, a->len);
  else
    ws_http_respond(x, 404, "text/plain", "not found\n", 10);
}

/* ---- signals: a thread waits for them and posts to every loop ---------------------------------
 */

typedef struct serve_all {
  serve_loop *loops;
  unsigned n;
  sigset_t set;
  atomic_bool done; /* the loops have returned: the signal thread must post nothing more */
} serve_all;

static void do_shutdown(ws_loop *loop, void *ud) {
  (void)loop;
  serve_loop *sl = ud;
  /* A /noclose connection would not read the answer to our 1001: cut it rather than keep the
   * exit waiting for the close timeout (its events come later in this turn). */
  for (conn_rec *c = sl->conns; c; c = c->next)
    if (c->scenario == SC_NOCLOSE)
      ws_terminate(c->ws);
  if (sl->srv)
    ws_server_shutdown(sl->srv, WS_CLOSE_GOING_AWAY, sl->o->close_timeout_ms);
  sl->srv = NULL;
}

static void do_restart(ws_loop *loop, void *ud) {
  (void)loop;
  serve_loop *sl = ud;
  if (sl->srv)
    (void)ws_server_close_all(sl->srv, NULL, WS_CLOSE_SERVICE_RESTART, "service restart");
}

/* Posts the signal's work to every loop. It is joined before the loops are freed (a SIGTERM
 * the main thread sends itself, with `done` set, ends it): posting to a freed loop crashed the
 * process at exit under CPU contention (hostile.py saw exit status -11 after SIGTERM). */
static void *signal_thread(void *arg) {
  serve_all *all = arg;
  for (;;) {
    int sig = 0;
    if (sigwait(&all->set, &sig) != 0)
      continue;
    if (atomic_load(&all->done))
      return NULL;
    for (unsigned i = 0; i < all->n; i++)
      ws_loop_post(all->loops[i].loop, sig == SIGHUP ? do_restart : do_shutdown, &all->loops[i]);
    if (sig != SIGHUP)
      return NULL;
  }
}

static void *loop_thread(void *arg) {
  serve_loop *sl = arg;
  ws_loop_run(sl->loop);
  return NULL;
}

static bool is_loopback(const char *host) {
  struct in_addr a4;
  struct in6_addr a6;
  if (strcmp(host, "localhost") == 0)
    return true;
  if (inet_pton(AF_INET, host, &a4) == 1)
    return (ntohl(a4.s_addr) >> 24) == 127;
  if (inet_pton(AF_INET6, host, &a6) == 1)
    return IN6_IS_ADDR_LOOPBACK(&a6);
  return false;
}

/* ---- main ------------------------------------------------------------------------------------ */

static int bad(const char *opt, const char *want) {
  fprintf(stderr, "wsclean serve: %s wants %s (see wsclean serve --help)\n", opt, want);
  return WS_EXIT_USAGE;
}

int ws_cmd_serve(int argc, char **argv) {
  serve_opts o = {.host = "127.0.0.1",
                  .port = 9001,
                  .max_message = 16u << 20,
                  .max_connections = 10000,
                  .close_timeout_ms = 5000,
                  .threads = 1,
                  .verbosity = 1,
                  .scenarios = -1};
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    uint64_t n;
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      serve_usage(stdout);
      return WS_EXIT_OK;
    } else if (!strcmp(a, "--quiet")) {
      o.verbosity = 0;
    } else if (!strcmp(a, "--verbose")) {
      o.verbosity = 2;
    } else if (!strcmp(a, "--deflate")) {
      o.deflate = true;
    } else if (!strcmp(a, "--no-deflate")) {
      o.deflate = false;
    } else if (!strcmp(a, "--text-only")) {
      o.text_only = true;
    } else if (!strcmp(a, "--binary-only")) {
      o.binary_only = true;
    } else if (!v) {
      fprintf(stderr, "wsclean serve: unknown option or missing value: %s\n", a);
      return WS_EXIT_USAGE;
    } else {
      i++;
      if (!strcmp(a, "--host"))
        o.host = v;
      else if (!strcmp(a, "--port")) {
        if (!wscli_parse_u64(v, 0, 65535, &n))
          return bad(a, "a port 0..65535");
        o.port = (uint16_t)n;
      } else if (!strcmp(a, "--tls-cert"))
        o.tls_cert = v;
      else if (!strcmp(a, "--tls-key"))
        o.tls_key = v;
      else if (!strcmp(a, "--origin")) {
        if (o.num_origins == SERVE_MAX_ORIGINS)
          return bad(a, "at most 16 origins");
        o.origins[o.num_origins++] = v;
      } else if (!strcmp(a, "--max-message")) {
        if (!wscli_parse_size(v, &n) || n == 0)
          return bad(a, "a size like 16M");
        o.max_message = n;
      } else if (!strcmp(a, "--max-connections")) {
        if (!wscli_parse_u64(v, 1, 1000000, &n))
          return bad(a, "1..1000000");
        o.max_connections = (uint32_t)n;
      } else if (!strcmp(a, "--idle-timeout")) {
        if (!wscli_parse_u64(v, 0, 86400000, &n))
          return bad(a, "milliseconds");
        o.idle_timeout_ms = (uint32_t)n;
      } else if (!strcmp(a, "--close-timeout")) {
        if (!wscli_parse_u64(v, 1, 600000, &n))
          return bad(a, "milliseconds");
        o.close_timeout_ms = (uint32_t)n;
      } else if (!strcmp(a, "--threads")) {
        if (!wscli_parse_u64(v, 1, SERVE_MAX_THREADS, &n))
          return bad(a, "1..64");
        o.threads = (unsigned)n;
      } else if (!strcmp(a, "--scenarios")) {
        if (!strcmp(v, "on"))
          o.scenarios = 1;
        else if (!strcmp(v, "off"))
          o.scenarios = 0;
        else
          return bad(a, "on or off");
      } else {
        fprintf(stderr, "wsclean serve: unknown option %s\n", a);
        return WS_EXIT_USAGE;
      }
    }
  }
  if (o.text_only && o.binary_only)
    return bad("--text-only", "not --binary-only as well");
  if (!o.tls_cert != !o.tls_key)
    return bad("--tls-cert", "--tls-key too (and the reverse)");
  if (o.scenarios < 0)
    o.scenarios = is_loopback(o.host) ? 1 : 0;

  /* Signals go to the signal thread only: block them before any thread starts. */
  serve_all all = {.n = o.threads};
  atomic_init(&all.done, false);
  sigemptyset(&all.set);
  sigaddset(&all.set, SIGINT);
  sigaddset(&all.set, SIGTERM);
  sigaddset(&all.set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &all.set, NULL);
  signal(SIGPIPE, SIG_IGN);

  serve_loop *loops = ws__calloc(NULL, o.threads, sizeof(*loops));
  if (!loops)
    return WS_EXIT_FAIL;
  all.loops = loops;
  int rc = WS_EXIT_OK;
  uint16_t port = o.port;
  for (unsigned i = 0; i < o.threads && rc == WS_EXIT_OK; i++) {
    serve_loop *sl = &loops[i];
    sl->o = &o;
    sl->index = i;
    sl->loop = ws_loop_new(NULL);
    ws_server_options so;
    ws_server_options_init(&so);
    so.host = o.host;
    so.port = port;
    so.reuse_port = o.threads > 1;
    so.tls_cert_file = o.tls_cert;
    so.tls_key_file = o.tls_key;
    so.allowed_origins = o.num_origins ? o.origins : NULL;
    so.num_allowed_origins = o.num_origins;
    so.max_connections = o.max_connections;
    so.on_http = on_http;
    so.http_ud = sl;
    so.conn.max_message_size = o.max_message;
    so.conn.max_frame_size = o.max_message;
    /* An echo server must be able to queue a message of the largest size it accepts. */
    so.conn.send_queue_limit = wscli_echo_queue_limit(o.max_message, so.conn.send_queue_limit);
    so.conn.text_only = o.text_only;
    so.conn.binary_only = o.binary_only;
    so.conn.idle_timeout_ms = o.idle_timeout_ms;
    so.conn.close_timeout_ms = o.close_timeout_ms;
    so.deflate.enabled = o.deflate;
    int err = 0;
    sl->srv = sl->loop ? ws_server_new(sl->loop, &so, &err) : NULL;
    if (!sl->srv || ws_server_route(sl->srv, "*", NULL, 0, on_connection, sl) != WS_OK ||
        (err = ws_server_route_on(sl->srv, "*", "message", on_message_plain, sl)) != WS_OK) {
      fprintf(stderr, "wsclean serve: cannot listen on %s:%u: %s\n", o.host, port,
              ws_strerror(err ? err : WS_ERR_NOMEM));
      rc = WS_EXIT_FAIL;
      break;
    }
    port = ws_server_port(sl->srv); /* with --port 0, the other loops share the port found */
  }
  if (rc == WS_EXIT_OK) {
    const char *h = strchr(o.host, ':') ? "[" : "";
    const char *he = strchr(o.host, ':') ? "]" : "";
    bool tls = o.tls_cert != NULL;
    /* The address line is printed even with --quiet: with --port 0 it is the only way to
     * learn the port, and `make run` shows it as the URL to open. */
    printf("wsclean serve: playground on %s://%s%s%s:%u/  (WebSocket echo on %s://%s%s%s:%u/)\n",
           tls ? "https" : "http", h, o.host, he, port, tls ? "wss" : "ws", h, o.host, he, port);
    if (o.verbosity >= 1) {
      printf("wsclean serve: scenarios %s; Ctrl-C closes every connection with 1001\n",
             o.scenarios ? "on (see --help)" : "off");
    }
    fflush(stdout);
    pthread_t sigt;
    bool sig_started = pthread_create(&sigt, NULL, signal_thread, &all) == 0;
    for (unsigned i = 1; i < o.threads; i++)
      pthread_create(&loops[i].thread, NULL, loop_thread, &loops[i]);
    ws_loop_run(loops[0].loop);
    for (unsigned i = 1; i < o.threads; i++)
      pthread_join(loops[i].thread, NULL);
    if (sig_started) {
      /* Still in sigwait, or done after a SIGTERM/SIGINT: either way it ends now, before the
       * loops it posts to are freed. */
      atomic_store(&all.done, true);
      pthread_kill(sigt, SIGTERM);
      pthread_join(sigt, NULL);
    }
  }
  for (unsigned i = 0; i < o.threads; i++)
    ws_loop_free(loops[i].loop);
  ws__free(NULL, loops);
  if (rc == WS_EXIT_OK && o.verbosity >= 1)
    fprintf(stderr, "wsclean serve: stopped\n");
  return rc;
}
