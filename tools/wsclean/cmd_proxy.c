/* wsclean proxy --listen PORT --to ws://upstream — a WebSocket reverse proxy that keeps close
 * codes and reasons intact in both directions and says 1014 Bad Gateway when the upstream
 * cannot be reached, refuses the handshake, or drops the connection without a close frame.
 *
 * One thread: the library loop embedded in poll() with a signalfd (SIGINT/SIGTERM: graceful
 * shutdown, every client gets 1001 and so does its upstream).
 */
#include "commands.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "base/alloc.h"
#include "cli_util.h"
#include "wsclean/handshake.h"
#include "wsclean/wsclean.h"

#define PROXY_QUEUE_MAX (1u << 20) /* bytes buffered per client while the upstream connects */

typedef struct proxy_opts {
  char host[256];
  uint16_t port;
  const char *to; /* upstream base URL without a trailing '/' */
  size_t to_len;
  bool verbose;
  uint32_t close_timeout_ms;
  uint64_t max_message;
} proxy_opts;

typedef struct queued {
  struct queued *next;
  bool binary;
  size_t len;
  uint8_t data[];
} queued;

/* One client and its upstream. Freed when both sockets have reported close. */
typedef struct pair {
  const proxy_opts *o;
  unsigned long id;
  ws_socket *client, *upstream;
  bool upstream_open;
  /* The client closed while the upstream was still connecting: close it this way once open. */
  bool close_pending;
  uint16_t pending_code;
  char pending_reason[256];
  queued *head, *tail;
  size_t queued_bytes;
  char target[512];
} pair;

typedef struct proxy {
  proxy_opts o;
  ws_loop *loop;
  ws_server *srv;
  unsigned long next_id;
} proxy;

static void proxy_usage(FILE *out) {
  fputs("usage: wsclean proxy --listen [HOST:]PORT --to ws://UPSTREAM[:PORT][/BASE] [options]\n"
        "\n"
        "A WebSocket reverse proxy. Each client connection opens one upstream connection to\n"
        "UPSTREAM + the client's path and query; messages and close frames are forwarded both\n"
        "ways with their codes and reasons unchanged. When the upstream cannot be reached or\n"
        "refuses the handshake, the client is closed with 1014 Bad Gateway (the reason says\n"
        "why); when the upstream drops without a close frame (it would report 1006), 1014 too.\n"
        "An upstream close without a code (1005) is passed on as an empty close frame.\n"
        "\n"
        "  --listen [HOST:]PORT  where to listen (HOST default 127.0.0.1; PORT 0: any, printed)\n"
        "  --to URL              the upstream (ws:// or wss://)\n"
        "  --close-timeout MS    closing handshake timeout on both sides (default 5000)\n"
        "  --max-message SIZE    largest message forwarded (default 16M); over it: 1009\n"
        "  --verbose             one log line per connection and per close forwarded\n"
        "\n"
        "SIGINT/SIGTERM: every client is closed with 1001 Going Away, and so is its upstream.\n",
        out);
}

static void free_queue(pair *p) {
  while (p->head) {
    queued *q = p->head;
    p->head = q->next;
    ws__free(NULL, q);
  }
  p->tail = NULL;
  p->queued_bytes = 0;
}

static void maybe_free(pair *p) {
  if (!p->client && !p->upstream) {
    free_queue(p);
    ws__free(NULL, p);
  }
}

/* A reason cut to at most 123 bytes without splitting a UTF-8 sequence (RFC 6455 5.5). */
static void cut_reason(char *r) {
  size_t n = strlen(r);
  if (n <= 123)
    return;
  n = 123;
  while (n > 0 && ((unsigned char)r[n] & 0xC0) == 0x80)
    n--;
  r[n] = '\0';
}

/* ---- upstream side --------------------------------------------------------------------------- */

static void up_open(const ws_event *ev, void *ud) {
  (void)ev;
  pair *p = ud;
  p->upstream_open = true;
  for (queued *q = p->head; q; q = q->next)
    q->binary ? ws_send_binary(p->upstream, q->data, q->len)
              : ws_send_text(p->upstream, (const char *)q->data, q->len);
  free_queue(p);
  if (p->close_pending) {
    if (p->pending_code == 0)
      ws_close(p->upstream, 0, NULL);
    else
      ws_close_with(p->upstream, p->pending_code, p->pending_reason);
  }
}

static void up_message(const ws_event *ev, void *ud) {
  pair *p = ud;
  if (!p->client)
    return;
  const ws_message_event *m = ws_event_as_message(ev);
  size_t len = 0;
  const uint8_t *d = ws_message_event_data(m, &len);
  if (ws_message_event_is_binary(m))
    ws_send_binary(p->client, d, len);
  else
    ws_send_text(p->client, (const char *)d, len);
}

static void up_close(const ws_event *ev, void *ud) {
  pair *p = ud;
  const ws_close_event *ce = ws_event_as_close(ev);
  uint16_t code = ws_close_event_code(ce);
  size_t rlen = 0;
  const char *reason = ws_close_event_reason(ce, &rlen);
  const ws_close_diag *d = ws_close_event_diag(ce);
  bool was_open = p->upstream_open;
  p->upstream = NULL;
  if (p->client) {
    char why[256];
    if (!was_open || code == WS_CLOSE_ABNORMAL || code == WS_CLOSE_TLS_HANDSHAKE) {
      /* Unreachable, refused, or dropped without a close frame: the gateway's failure. */
      snprintf(why, sizeof(why), "bad gateway: upstream %s%s%s",
               was_open ? "dropped" : "unreachable", d && d->error ? ": " : "",
               d && d->error ? ws_strerror(d->error) : "");
      cut_reason(why);
      ws_close_with(p->client, WS_CLOSE_BAD_GATEWAY, why);
      code = WS_CLOSE_BAD_GATEWAY;
    } else if (code == WS_CLOSE_NO_STATUS) {
      ws_close(p->client, 0, NULL); /* pass "no code" on as an empty close frame */
    } else {
      snprintf(why, sizeof(why), "%.*s", (int)(rlen > 200 ? 200 : rlen), reason);
      cut_reason(why);
      ws_close_with(p->client, code, why);
    }
    if (p->o->verbose)
      fprintf(stderr, "wsclean: proxy id=%lu target=%s upstream closed %u -> client %u\n", p->id,
              p->target, ws_close_event_code(ce), code);
  }
  maybe_free(p);
}

/* ---- client side ----------------------------------------------------------------------------- */

static void cl_message(const ws_event *ev, void *ud) {
  pair *p = ud;
  const ws_message_event *m = ws_event_as_message(ev);
  size_t len = 0;
  const uint8_t *d = ws_message_event_data(m, &len);
  bool binary = ws_message_event_is_binary(m);
  if (!p->upstream)
    return;
  if (p->upstream_open) {
    if (binary)
      ws_send_binary(p->upstream, d, len);
    else
      ws_send_text(p->upstream, (const char *)d, len);
    return;
  }
  if (p->queued_bytes + len > PROXY_QUEUE_MAX) {
    ws_close_with(p->client, WS_CLOSE_TRY_AGAIN_LATER, "upstream not ready and the queue is full");
    return;
  }
  queued *q = ws__malloc(NULL, sizeof(*q) + len + 1);
  if (!q)
    return;
  q->next = NULL;
  q->binary = binary;
  q->len = len;
  memcpy(q->data, d, len);
  if (p->tail)
    p->tail->next = q;
  else
    p->head = q;
  p->tail = q;
  p->queued_bytes += len;
}

static void cl_close(const ws_event *ev, void *ud) {
  pair *p = ud;
  const ws_close_event *ce = ws_event_as_close(ev);
  uint16_t code = ws_close_event_code(ce);
  size_t rlen = 0;
  const char *reason = ws_close_event_reason(ce, &rlen);
  p->client = NULL;
  if (p->upstream && !p->upstream_open) {
    /* Deliver what the client sent first: close the upstream once it is open (up_open). */
    p->close_pending = true;
    p->pending_code = code == WS_CLOSE_NO_STATUS    ? 0
                      : ws_close_code_on_wire(code) ? code
                                                    : WS_CLOSE_GOING_AWAY;
    snprintf(p->pending_reason, sizeof(p->pending_reason), "%.*s", (int)(rlen > 200 ? 200 : rlen),
             reason);
    cut_reason(p->pending_reason);
  } else if (p->upstream) {
    if (code == WS_CLOSE_NO_STATUS) {
      ws_close(p->upstream, 0, NULL);
    } else if (!ws_close_code_on_wire(code)) {
      ws_close_with(p->upstream, WS_CLOSE_GOING_AWAY, "client went away");
    } else {
      char why[256];
      snprintf(why, sizeof(why), "%.*s", (int)(rlen > 200 ? 200 : rlen), reason);
      cut_reason(why);
      ws_close_with(p->upstream, code, why);
    }
    if (p->o->verbose)
      fprintf(stderr, "wsclean: proxy id=%lu target=%s client closed %u -> upstream\n", p->id,
              p->target, code);
  }
  maybe_free(p);
}

static int on_connection(ws_server *srv, ws_socket *ws, const ws_http_request *req, void *ud) {
  (void)srv;
  proxy *px = ud;
  pair *p = ws__calloc(NULL, 1, sizeof(*p));
  if (!p)
    return -1;
  p->o = &px->o;
  p->id = ++px->next_id;
  p->client = ws;
  size_t tl = req->target_len < sizeof(p->target) - 1 ? req->target_len : sizeof(p->target) - 1;
  memcpy(p->target, req->target, tl);
  char url[2048];
  snprintf(url, sizeof(url), "%.*s%s", (int)px->o.to_len, px->o.to, p->target[0] ? p->target : "/");
  ws_open_options oo;
  ws_open_options_init(&oo);
  oo.conn.close_timeout_ms = px->o.close_timeout_ms;
  oo.conn.max_message_size = px->o.max_message;
  oo.conn.max_frame_size = px->o.max_message;
  int err = 0;
  p->upstream = ws_open(px->loop, url, NULL, 0, &oo, &err);
  ws_on(ws, "message", cl_message, p);
  ws_on(ws, "close", cl_close, p);
  if (!p->upstream) {
    char why[160];
    snprintf(why, sizeof(why), "bad gateway: %s", ws_strerror(err));
    cut_reason(why);
    ws_close_with(ws, WS_CLOSE_BAD_GATEWAY, why);
  } else {
    ws_on(p->upstream, "open", up_open, p);
    ws_on(p->upstream, "message", up_message, p);
    ws_on(p->upstream, "close", up_close, p);
  }
  if (px->o.verbose)
    fprintf(stderr, "wsclean: proxy id=%lu target=%s -> %s\n", p->id, p->target, url);
  return 0;
}

int ws_cmd_proxy(int argc, char **argv) {
  proxy px;
  memset(&px, 0, sizeof(px));
  snprintf(px.o.host, sizeof(px.o.host), "127.0.0.1");
  px.o.close_timeout_ms = 5000;
  px.o.max_message = 16u << 20;
  bool have_listen = false;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    uint64_t n;
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      proxy_usage(stdout);
      return WS_EXIT_OK;
    } else if (!strcmp(a, "--verbose")) {
      px.o.verbose = true;
    } else if (!v) {
      fprintf(stderr, "wsclean proxy: unknown option or missing value: %s\n", a);
      return WS_EXIT_USAGE;
    } else if (!strcmp(a, "--listen")) {
      i++;
      const char *colon = strrchr(v, ':');
      const char *port = colon ? colon + 1 : v;
      if (colon)
        snprintf(px.o.host, sizeof(px.o.host), "%.*s", (int)(colon - v), v);
      if (!wscli_parse_u64(port, 0, 65535, &n)) {
        fprintf(stderr, "wsclean proxy: --listen wants [HOST:]PORT\n");
        return WS_EXIT_USAGE;
      }
      px.o.port = (uint16_t)n;
      have_listen = true;
    } else if (!strcmp(a, "--to")) {
      i++;
      px.o.to = v;
      px.o.to_len = strlen(v);
      while (px.o.to_len > 0 && v[px.o.to_len - 1] == '/')
        px.o.to_len--;
    } else if (!strcmp(a, "--close-timeout")) {
      i++;
      if (!wscli_parse_u64(v, 1, 600000, &n)) {
        fprintf(stderr, "wsclean proxy: --close-timeout wants milliseconds\n");
        return WS_EXIT_USAGE;
      }
      px.o.close_timeout_ms = (uint32_t)n;
    } else if (!strcmp(a, "--max-message")) {
      i++;
      if (!wscli_parse_size(v, &n) || n == 0) {
        fprintf(stderr, "wsclean proxy: --max-message wants a size like 16M\n");
        return WS_EXIT_USAGE;
      }
      px.o.max_message = n;
    } else {
      fprintf(stderr, "wsclean proxy: unknown option %s\n", a);
      return WS_EXIT_USAGE;
    }
  }
  if (!have_listen || !px.o.to ||
      (strncmp(px.o.to, "ws://", 5) != 0 && strncmp(px.o.to, "wss://", 6) != 0)) {
    proxy_usage(stderr);
    return WS_EXIT_USAGE;
  }

  int sfd = wscli_signalfd();

  px.loop = ws_loop_new(NULL);
  ws_server_options so;
  ws_server_options_init(&so);
  so.host = px.o.host;
  so.port = px.o.port;
  so.conn.close_timeout_ms = px.o.close_timeout_ms;
  so.conn.max_message_size = px.o.max_message;
  so.conn.max_frame_size = px.o.max_message;
  int err = 0;
  px.srv = px.loop ? ws_server_new(px.loop, &so, &err) : NULL;
  if (!px.srv || ws_server_route(px.srv, "*", NULL, 0, on_connection, &px) != WS_OK) {
    fprintf(stderr, "wsclean proxy: cannot listen on %s:%u: %s\n", px.o.host, px.o.port,
            ws_strerror(err ? err : WS_ERR_NOMEM));
    ws_loop_free(px.loop);
    if (sfd >= 0)
      close(sfd);
    return WS_EXIT_FAIL;
  }
  printf("wsclean proxy: ws://%s:%u/ -> %.*s/\n", px.o.host, ws_server_port(px.srv),
         (int)px.o.to_len, px.o.to);
  fflush(stdout);
  for (;;) {
    struct pollfd pf[2] = {{.fd = ws_loop_fd(px.loop), .events = POLLIN},
                           {.fd = sfd, .events = POLLIN}};
    int r = poll(pf, 2, ws_loop_next_timeout(px.loop));
    if (r < 0 && errno != EINTR)
      break;
    if (r > 0 && (pf[1].revents & POLLIN)) {
      struct signalfd_siginfo si;
      if (read(sfd, &si, sizeof(si)) > 0 && px.srv) {
        ws_server_shutdown(px.srv, WS_CLOSE_GOING_AWAY, px.o.close_timeout_ms);
        px.srv = NULL;
      }
    }
    if (ws_loop_run_once(px.loop, 0) <= 0)
      break;
  }
  ws_loop_free(px.loop);
  if (sfd >= 0)
    close(sfd);
  return WS_EXIT_OK;
}
