/* Our side of the interop tests: a client or a server built on the public API only, scripted by
 * its arguments, printing one line per observation for tests/interop/run.py to assert on.
 *
 *   ws_peer client URL [--echo SIZES] [--close CODE] [--reason R|@N] [--native]
 *                      [--close-timeout MS] [--max-message N] [--ca FILE] [--protocol P]...
 *   ws_peer server [--port N] [--max-conn N] [--max-message N] [--close-timeout MS]
 *                  [--shutdown-after MS (from the first connection)] [--shutdown-code C]
 *                  [--exit-after N] [--tls CERT KEY]
 *                  [--protocols P,Q] [--origin O]
 *
 * Server routes: /echo (echo back), /close/CODE/REASON (close at open: CODE 0 = no code,
 * REASON "-" = none, "@N" = N bytes of 'r'), /fail (the handler fails: 1011), /wait (nothing),
 * /burst/N (send N binary 64 KiB messages at open, then close 1000).
 * Output lines: "listening PORT", "conn path=P" (server), "open proto=P", "echo-ok N", "echo-bad ...", "message
 * text|binary LEN", "error", "close code=C clean=0|1 reason_len=L reason=R err=NAME path=P".
 * Every run ends by itself: a 30 s guard timer stops the loop (exit status 3).
 */
#include <wsclean/wsclean.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  /* common */
  long close_code; /* -1: do not close */
  const char *reason;
  char reason_buf[256];
  bool native;
  uint32_t close_timeout;
  uint64_t max_message;
  /* client */
  size_t sizes[32];
  size_t nsizes;
  size_t echo_idx;
  int echo_phase; /* 0 text, 1 binary */
  uint8_t *expect;
  size_t expect_len;
  int echo_bad;
  /* server */
  long shutdown_after;
  uint16_t shutdown_code;
  long exit_after;
  bool shutdown_scheduled;
  long closed;
  ws_server *srv;
  ws_loop *loop;
  int guard_fired;
} peer;

static peer P;

static const char *reason_arg(const char *r) {
  if (!r || strcmp(r, "-") == 0)
    return NULL;
  if (r[0] == '@') {
    size_t n = (size_t)atoi(r + 1);
    if (n >= sizeof P.reason_buf)
      n = sizeof P.reason_buf - 1;
    memset(P.reason_buf, 'r', n);
    P.reason_buf[n] = 0;
    return P.reason_buf;
  }
  return r;
}

static void print_close(const ws_event *ev, const char *path) {
  const ws_close_event *c = ws_event_as_close(ev);
  size_t rl;
  const char *r = ws_close_event_reason(c, &rl);
  const ws_close_diag *d = ws_close_event_diag(c);
  printf("close code=%u clean=%d reason_len=%zu reason=%s err=%s path=%s detail=%s\n",
         ws_close_event_code(c), ws_close_event_was_clean(c) ? 1 : 0, rl, rl <= 40 ? r : "(long)",
         ws_errname(d->error), path ? path : "-", d->detail);
  fflush(stdout);
}

static void do_close(ws_socket *ws, long code, const char *reason) {
  int rc =
      P.native ? ws_close_with(ws, (uint16_t)code, reason) : ws_close(ws, (uint16_t)code, reason);
  if (rc != WS_OK) {
    printf("close-rejected %s\n", ws_errname(rc));
    fflush(stdout);
  }
}

/* ---- client -------------------------------------------------------------------------------- */
static void fill(uint8_t *p, size_t n, size_t seed) {
  for (size_t i = 0; i < n; i++)
    p[i] = (uint8_t)('a' + (i * 7 + seed) % 26);
}

static void send_next(ws_socket *ws) {
  if (P.echo_idx >= P.nsizes) {
    printf("echo-ok %zu\n", P.nsizes);
    fflush(stdout);
    do_close(ws, P.close_code >= 0 ? P.close_code : 1000, P.reason);
    return;
  }
  size_t n = P.sizes[P.echo_idx];
  free(P.expect);
  P.expect = malloc(n ? n : 1);
  fill(P.expect, n, P.echo_idx * 2 + (size_t)P.echo_phase);
  P.expect_len = n;
  int rc = P.echo_phase == 0 ? ws_send_text(ws, (const char *)P.expect, n)
                             : ws_send_binary(ws, P.expect, n);
  if (rc != WS_OK)
    printf("send-failed %s\n", ws_errname(rc));
}

static void c_open(const ws_event *ev, void *ud) {
  (void)ud;
  ws_socket *ws = ws_event_socket(ev);
  printf("open proto=%s ext=%s\n", ws_protocol(ws), ws_extensions(ws));
  fflush(stdout);
  if (P.nsizes > 0)
    send_next(ws);
  else if (P.close_code >= 0)
    do_close(ws, P.close_code, P.reason);
}

static void c_message(const ws_event *ev, void *ud) {
  (void)ud;
  const ws_message_event *m = ws_event_as_message(ev);
  size_t len;
  const uint8_t *d = ws_message_event_data(m, &len);
  ws_socket *ws = ws_event_socket(ev);
  if (P.nsizes == 0) {
    printf("message %s %zu\n", ws_message_event_is_binary(m) ? "binary" : "text", len);
    fflush(stdout);
    return;
  }
  bool want_bin = P.echo_phase == 1;
  if (len != P.expect_len || ws_message_event_is_binary(m) != want_bin ||
      (len && memcmp(d, P.expect, len) != 0)) {
    printf("echo-bad size=%zu got=%zu binary=%d\n", P.expect_len, len,
           ws_message_event_is_binary(m));
    do_close(ws, 1000, NULL);
    return;
  }
  if (++P.echo_phase == 2) {
    P.echo_phase = 0;
    P.echo_idx++;
  }
  send_next(ws);
}

static void c_error(const ws_event *ev, void *ud) {
  (void)ev, (void)ud;
  printf("error\n");
  fflush(stdout);
}

static void c_close(const ws_event *ev, void *ud) {
  (void)ud;
  print_close(ev, NULL);
  ws_loop_stop(P.loop); /* the guard timer would keep the loop running */
}

/* ---- server -------------------------------------------------------------------------------- */
static void s_echo(const ws_event *ev, void *ud) {
  (void)ud;
  const ws_message_event *m = ws_event_as_message(ev);
  size_t len;
  const uint8_t *d = ws_message_event_data(m, &len);
  ws_socket *ws = ws_event_socket(ev);
  if (ws_message_event_is_binary(m))
    ws_send_binary(ws, d, len);
  else
    ws_send_text(ws, (const char *)d, len);
}

static void s_close(const ws_event *ev, void *ud) {
  print_close(ev, ud);
  P.closed++;
  if (P.exit_after > 0 && P.closed >= P.exit_after)
    ws_loop_stop(P.loop);
}

static void s_open_close(const ws_event *ev, void *ud) {
  /* path /close/CODE/REASON */
  const char *path = ud;
  ws_socket *ws = ws_event_socket(ev);
  const char *p = path + strlen("/close/");
  long code = strtol(p, NULL, 10);
  const char *r = strchr(p, '/');
  char tok[128] = "-";
  if (r) {
    size_t n = strcspn(r + 1, "/");
    snprintf(tok, sizeof tok, "%.*s", (int)n, r + 1);
  }
  /* The server side uses the native close: any code valid on the wire. */
  int rc = ws_close_with(ws, (uint16_t)code, reason_arg(tok));
  if (rc != WS_OK)
    printf("close-rejected %s\n", ws_errname(rc));
}

static void s_open_burst(const ws_event *ev, void *ud) {
  const char *path = ud;
  ws_socket *ws = ws_event_socket(ev);
  long n = strtol(path + strlen("/burst/"), NULL, 10);
  static uint8_t block[65536];
  for (long i = 0; i < n; i++)
    if (ws_send_binary(ws, block, sizeof block) != WS_OK)
      break;
  ws_close(ws, 1000, NULL);
}

static void do_shutdown(ws_loop *loop, void *ud);
static char paths[64][128];
static int npaths;

static int on_conn(ws_server *srv, ws_socket *ws, const ws_http_request *req, void *ud) {
  (void)srv, (void)ud;
  char *path = paths[npaths++ % 64];
  snprintf(path, 128, "%.*s", (int)req->path_len, req->path);
  printf("conn path=%s\n", path);
  fflush(stdout);
  if (P.shutdown_after >= 0 && !P.shutdown_scheduled) {
    /* Counted from the first connection, so a slow-starting peer cannot miss it. */
    P.shutdown_scheduled = true;
    ws_loop_set_timeout(P.loop, (uint32_t)P.shutdown_after, do_shutdown, NULL);
  }
  ws_on(ws, "close", s_close, path);
  if (strncmp(path, "/fail", 5) == 0)
    return -1;
  if (strncmp(path, "/echo", 5) == 0)
    ws_on(ws, "message", s_echo, NULL);
  else if (strncmp(path, "/close/", 7) == 0)
    ws_on(ws, "open", s_open_close, path);
  else if (strncmp(path, "/burst/", 7) == 0)
    ws_on(ws, "open", s_open_burst, path);
  return 0;
}

static void do_shutdown(ws_loop *loop, void *ud) {
  (void)loop, (void)ud;
  printf("shutdown %u\n", P.shutdown_code);
  fflush(stdout);
  ws_server_shutdown(P.srv, P.shutdown_code, 2000);
}

static void guard(ws_loop *loop, void *ud) {
  (void)ud;
  P.guard_fired = 1;
  printf("guard-timeout\n");
  ws_loop_stop(loop);
}

static void parse_sizes(const char *s) {
  while (*s && P.nsizes < 32) {
    char *end;
    P.sizes[P.nsizes++] = (size_t)strtoull(s, &end, 10);
    s = *end == ',' ? end + 1 : end;
    if (end == s && *s != 0)
      break;
  }
}

int main(int argc, char **argv) {
  if (argc < 2)
    return 2;
  setvbuf(stdout, NULL, _IOLBF, 0);
  bool server = strcmp(argv[1], "server") == 0;
  const char *url = NULL, *ca = NULL, *cert = NULL, *key = NULL, *origin = NULL;
  const char *protocols[8];
  size_t nprot = 0;
  long port = 0, max_conn = 0;
  P.close_code = -1;
  P.shutdown_after = -1;
  P.shutdown_code = 1001;
  int i = 2;
  if (!server && argc > 2)
    url = argv[i++];
  for (; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : "";
    if (!strcmp(a, "--echo"))
      parse_sizes(v), i++;
    else if (!strcmp(a, "--close"))
      P.close_code = atol(v), i++;
    else if (!strcmp(a, "--reason"))
      P.reason = reason_arg(v), i++;
    else if (!strcmp(a, "--native"))
      P.native = true;
    else if (!strcmp(a, "--close-timeout"))
      P.close_timeout = (uint32_t)atol(v), i++;
    else if (!strcmp(a, "--max-message"))
      P.max_message = strtoull(v, NULL, 10), i++;
    else if (!strcmp(a, "--ca"))
      ca = v, i++;
    else if (!strcmp(a, "--protocol") && nprot < 8)
      protocols[nprot++] = v, i++;
    else if (!strcmp(a, "--port"))
      port = atol(v), i++;
    else if (!strcmp(a, "--max-conn"))
      max_conn = atol(v), i++;
    else if (!strcmp(a, "--shutdown-after"))
      P.shutdown_after = atol(v), i++;
    else if (!strcmp(a, "--shutdown-code"))
      P.shutdown_code = (uint16_t)atol(v), i++;
    else if (!strcmp(a, "--exit-after"))
      P.exit_after = atol(v), i++;
    else if (!strcmp(a, "--origin"))
      origin = v, i++;
    else if (!strcmp(a, "--tls") && i + 2 < argc)
      cert = argv[i + 1], key = argv[i + 2], i += 2;
    else {
      fprintf(stderr, "unknown argument %s\n", a);
      return 2;
    }
  }
  P.loop = ws_loop_new(NULL);
  uint64_t guard_id = ws_loop_set_timeout(P.loop, server ? 110000 : 30000, guard, NULL);
  int err = 0;
  if (server) {
    ws_server_options o;
    ws_server_options_init(&o);
    o.host = "127.0.0.1";
    o.port = (uint16_t)port;
    if (max_conn)
      o.max_connections = (uint32_t)max_conn;
    if (P.max_message)
      o.conn.max_message_size = P.max_message;
    else
      o.conn.max_message_size = 32u << 20;
    o.conn.max_frame_size = o.conn.max_message_size;
    o.conn.send_queue_limit = 64u << 20;
    if (P.close_timeout)
      o.conn.close_timeout_ms = P.close_timeout;
    o.tls_cert_file = cert;
    o.tls_key_file = key;
    if (origin) {
      static const char *origins[1];
      origins[0] = origin;
      o.allowed_origins = origins;
      o.num_allowed_origins = 1;
    }
    P.srv = ws_server_new(P.loop, &o, &err);
    if (!P.srv) {
      printf("listen-failed %s\n", ws_errname(err));
      return 1;
    }
    static const char *sprot[1];
    if (nprot)
      sprot[0] = protocols[0];
    ws_server_route(P.srv, "*", nprot ? sprot : NULL, nprot, on_conn, NULL);
    printf("listening %u\n", ws_server_port(P.srv));
    fflush(stdout);
  } else {
    ws_open_options o;
    ws_open_options_init(&o);
    o.ca_file = ca;
    o.conn.max_message_size = P.max_message ? P.max_message : 32u << 20;
    o.conn.max_frame_size = o.conn.max_message_size;
    o.conn.send_queue_limit = 64u << 20;
    if (P.close_timeout)
      o.conn.close_timeout_ms = P.close_timeout;
    o.origin = origin;
    ws_socket *ws = ws_open(P.loop, url, nprot ? protocols : NULL, nprot, &o, &err);
    if (!ws) {
      printf("open-failed %s\n", ws_errname(err));
      return 1;
    }
    ws_on(ws, "open", c_open, NULL);
    ws_on(ws, "message", c_message, NULL);
    ws_on(ws, "error", c_error, NULL);
    ws_on(ws, "close", c_close, NULL);
  }
  int rc = ws_loop_run(P.loop);
  ws_loop_clear_timeout(P.loop, guard_id);
  ws_loop_free(P.loop);
  free(P.expect);
  return rc != WS_OK ? 1 : P.guard_fired ? 3 : 0;
}
