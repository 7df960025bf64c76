/* The server: listening, routes, Origin policy, connection limit, plain HTTP on the same port,
 * broadcast with shared frames, graceful shutdown. docs/api.md shows it in use. */
#include "api/api.h"

#include "base/alloc.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_ROUTES 32

struct ws__route {
  const char *path;
  size_t path_len;
  const char *const *protocols;
  size_t num_protocols;
  ws_connection_cb cb; /* NULL: the route's handlers do all the work */
  void *ud;
  /* ws_server_route_on: the handlers every connection of the route starts with, shared by
   * their event targets (copy-on-write, src/base/event.h) so that a connection that keeps them
   * allocates nothing for its listeners. Never changed in place once lent to a connection. */
  ws__listener_set *handlers;
  bool lent; /* some connection may view `handlers`: replace it, retire the old one */
};

struct ws_http_exchange {
  ws_socket *ws;
  bool answered;
};

struct ws_server {
  ws_loop *loop;
  const ws_allocator *alloc;
  ws_server_options opts;
  ws_server_handshake_options hso;
  int lfd;
  ws__io lio;
  uint16_t port;
  SSL_CTX *tls;
  ws__route routes[MAX_ROUTES];
  size_t num_routes;
  ws_socket *head; /* every connection, in any phase */
  ws__timer park_timer; /* parks connections idle for opts.park_idle_ms */
  size_t nopen;    /* OPEN connections counted against max_connections */
  ws__handle handle;
  ws__timer timer; /* the shutdown deadline */
  ws__deferred freer;
  bool shutting;
  bool freeing;
  uint16_t shutdown_code;
  ws_extension pmd_ext; /* permessage-deflate, when opts.deflate.enabled */
  ws__listener_set *retired; /* routes' old handler sets, still viewed by older connections */
};

void ws_server_options_init(ws_server_options *o) {
  memset(o, 0, sizeof *o);
  o->size = sizeof *o;
  o->max_connections = 10000;
  /* 30 s, not 10: Chromium keeps a pre-opened, unused socket for up to 10 s
   * (net/socket/client_socket_pool.cc, unused idle socket timeout) and may hand it to a new
   * WebSocket at that very moment; a server that cuts at 10 s races it and the page sees 1006
   * (ERR_SOCKET_NOT_CONNECTED). Longer than that, Chromium closes its spare first. Peers: nginx
   * client_header_timeout 60 s, Node's http server headersTimeout 60 s, Python websockets
   * open_timeout 10 s. docs/api.md. */
  o->handshake_timeout_ms = 30000;
  o->park_idle_ms = 1000;
  ws_conn_options_init(&o->conn, WS_ROLE_SERVER);
  ws_deflate_options_init(&o->deflate, WS_ROLE_SERVER);
}

const ws_deflate_options *ws__server_deflate(const ws_server *srv) {
  return srv->opts.deflate.enabled ? &srv->opts.deflate : NULL;
}

static const ws__route *find_route(const ws_server *srv, const char *path, size_t len) {
  const ws__route *any = NULL;
  for (size_t i = 0; i < srv->num_routes; i++) {
    const ws__route *r = &srv->routes[i];
    if (r->path_len == 1 && r->path[0] == '*')
      any = r;
    else if (r->path_len == len && memcmp(r->path, path, len) == 0)
      return r;
  }
  return any;
}

/* Handshake hooks (handshake.h): route by path (404 when none), choose a subprotocol. */
static int hs_accept(void *ud, const ws_http_request *req, ws_server_reply *reply) {
  (void)reply;
  ws_server *srv = ud;
  return find_route(srv, req->path, req->path_len) ? 0 : 404;
}

static int hs_select(void *ud, const ws_http_request *req, const ws_str *offered, size_t n) {
  ws_server *srv = ud;
  const ws__route *r = find_route(srv, req->path, req->path_len);
  if (!r)
    return -1;
  /* RFC 6455 4.2.2 leaves the choice to the server: ours is the route's preference order. */
  for (size_t i = 0; i < r->num_protocols; i++) {
    size_t pl = strlen(r->protocols[i]);
    for (size_t j = 0; j < n; j++)
      if (offered[j].len == pl && memcmp(offered[j].data, r->protocols[i], pl) == 0)
        return (int)j;
  }
  return -1;
}

const ws_server_handshake_options *ws__server_hs_options(const ws_server *srv) { return &srv->hso; }
const ws_conn_options *ws__server_conn_options(const ws_server *srv) { return &srv->opts.conn; }
SSL_CTX *ws__server_tls(const ws_server *srv) { return srv->tls; }

bool ws__server_slow_limits(const ws_server *srv, size_t *bytes, uint32_t *ms) {
  if (srv->opts.slow_consumer_ms == 0)
    return false;
  *bytes = srv->opts.slow_consumer_bytes;
  *ms = srv->opts.slow_consumer_ms;
  return true;
}

/* ---- lifetime ------------------------------------------------------------------------------- */
static void server_free_now(ws__deferred *d) {
  ws_server *srv = (ws_server *)((char *)d - offsetof(ws_server, freer));
  for (ws_socket *ws = srv->head; ws; ws = ws->next)
    ws->srv = NULL;
  if (srv->lfd >= 0) {
    ws__io_stop(srv->loop, &srv->lio);
    close(srv->lfd);
  }
  ws__timer_stop(srv->loop, &srv->timer);
  ws__timer_stop(srv->loop, &srv->park_timer);
  ws__handle_unlink(&srv->handle);
  ws__tls_ctx_free(srv->tls);
  /* No connection dispatches from a handler set any more: shutdown frees the server once every
   * socket is gone, and ws_loop_free drops them first (server_cut); one still on its way to
   * being freed finalises its target without reading the set (a view owns nothing). */
  for (size_t i = 0; i < srv->num_routes; i++)
    ws__listener_set_free(srv->alloc, srv->routes[i].handlers);
  while (srv->retired) {
    ws__listener_set *next = srv->retired->next;
    ws__listener_set_free(srv->alloc, srv->retired);
    srv->retired = next;
  }
  ws_loop *loop = srv->loop;
  ws__free(srv->alloc, srv);
  ws__loop_unref(loop);
}

static void server_cut(ws__handle *h) {
  ws_server *srv = (ws_server *)((char *)h - offsetof(ws_server, handle));
  ws__handle_unlink(h);
  /* ws_loop_free: the server's sockets go with it, without events (they are on no loop list of
   * their own: memory per connection). Those already freeing are freed by the loop's deferred
   * run and only forget their server (server_free_now). */
  for (ws_socket *ws = srv->head, *next; ws; ws = next) {
    next = ws->next;
    if (!ws->freeing)
      ws__socket_drop(ws);
  }
  if (!srv->freeing) {
    srv->freeing = true;
    server_free_now(&srv->freer);
  }
}

static void maybe_finish_shutdown(ws_server *srv) {
  if (srv->shutting && !srv->head && !srv->freeing) {
    srv->freeing = true;
    ws__defer(srv->loop, &srv->freer);
  }
}

void ws__server_socket_gone(ws_server *srv, ws_socket *ws) {
  ws__server_socket_closed(srv, ws);
  if (ws->prev)
    ws->prev->next = ws->next;
  else if (srv->head == ws)
    srv->head = ws->next;
  if (ws->next)
    ws->next->prev = ws->prev;
  ws->prev = ws->next = NULL;
  ws->srv = NULL;
  maybe_finish_shutdown(srv);
}

/* ---- parking idle connections ---------------------------------------------------------------
 * Every park_idle_ms the sweep parks each connection that saw no activity since the previous
 * sweep and has nothing in flight (ws_conn_park). An idle connection is parked between one and
 * two periods after its last activity; a busy one only pays for a flag set at each flush. The
 * sweep visits every connection (O(n) per period: about 1 ms per 10,000 connections). */
static bool sweep_on(const ws_server *srv) {
  return srv->opts.park_idle_ms != 0 && srv->opts.park_idle_ms != UINT32_MAX;
}

static void arm_park(ws_server *srv) {
  if (sweep_on(srv) && !srv->freeing && !ws__timer_active(&srv->park_timer) && srv->head)
    (void)ws__timer_start_at(srv->loop, &srv->park_timer,
                             ws_loop_now(srv->loop) + srv->opts.park_idle_ms);
}

static void park_sweep(ws__timer *t) {
  ws_server *srv = (ws_server *)((char *)t - offsetof(ws_server, park_timer));
  /* Deadlines before the next sweep get their timer back now (ws__socket_rearm). */
  uint64_t until = ws_loop_now(srv->loop) + 2 * (uint64_t)srv->opts.park_idle_ms;
  bool again = false;
  for (ws_socket *ws = srv->head; ws; ws = ws->next) {
    bool retry = false;
    if (ws->parked)
      retry = !ws__socket_rearm(ws, until);
    else if (ws->touched)
      ws->touched = false;
    else
      (void)ws__socket_try_park(ws);
    /* Awake ones may be parked later; a parked one with a deadline and no timer of its own
     * has its deadline watched by the sweep. */
    again = again || retry || !ws->parked ||
            (!ws->live && ws_conn_parked_deadline(&ws->idle.park) != UINT64_MAX);
  }
  if (again)
    arm_park(srv);
}

uint32_t ws__server_sweep_period(const ws_server *srv) {
  return sweep_on(srv) ? srv->opts.park_idle_ms : 0;
}

void ws__server_socket_unparked(ws_server *srv) { arm_park(srv); }

bool ws__server_parks_at_once(const ws_server *srv) { return srv->opts.park_idle_ms == 0; }

void ws__server_socket_opened(ws_server *srv, ws_socket *ws) {
  ws->counted = true;
  srv->nopen++;
}

void ws__server_socket_closed(ws_server *srv, ws_socket *ws) {
  if (ws->counted) {
    ws->counted = false;
    srv->nopen--;
  }
}

/* ---- accepting ------------------------------------------------------------------------------ */
static void on_accept(ws__io *io, uint32_t ev) {
  (void)ev;
  ws_server *srv = (ws_server *)((char *)io - offsetof(ws_server, lio));
  /* A bounded batch per turn keeps a connection storm from starving established connections. */
  for (int i = 0; i < 64 && !srv->shutting; i++) {
    int fd = accept4(srv->lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0)
      return; /* EAGAIN, or EMFILE and friends: try again next turn */
    /* The handshake object (~1.1 KiB while the request comes in) is made at the first read and
     * freed as soon as the request is answered: a connection storm costs the sockets only. */
    ws_socket *ws = ws__socket_alloc(srv->loop, true);
    if (!ws) {
      close(fd);
      continue;
    }
    ws->srv = srv;
    ws->touched = true;
    ws->next = srv->head;
    if (srv->head)
      srv->head->prev = ws;
    srv->head = ws;
    arm_park(srv);
    if (ws__sock_accept(&ws->sock, fd, srv->tls) != WS_OK) {
      ws__socket_finish(ws);
      continue;
    }
    ws->phase = srv->tls ? WS__PH_CONNECT : WS__PH_HANDSHAKE;
    ws->live->pend->handshake_deadline = ws_loop_now(srv->loop) + srv->opts.handshake_timeout_ms;
    ws__socket_start_timer(ws);
  }
}

ws_server *ws_server_new(ws_loop *loop, const ws_server_options *opts, int *err) {
  int dummy;
  if (!err)
    err = &dummy;
  ws_server_options defaults;
  if (!opts) {
    ws_server_options_init(&defaults);
    opts = &defaults;
  }
  if (!loop || (!opts->tls_cert_file != !opts->tls_key_file) ||
      (opts->deflate.enabled && ws_deflate_options_check(&opts->deflate) != WS_OK)) {
    *err = WS_ERR_INVAL;
    return NULL;
  }
  const ws_allocator *alloc = ws__loop_alloc(loop);
  ws_server *srv = ws__calloc(alloc, 1, sizeof *srv);
  if (!srv) {
    *err = WS_ERR_NOMEM;
    return NULL;
  }
  srv->loop = loop;
  srv->alloc = alloc;
  srv->opts = *opts;
  srv->lfd = -1;
  srv->freer.fn = server_free_now;
  ws__timer_init(&srv->timer, NULL);
  ws__timer_init(&srv->park_timer, park_sweep);
  char detail[WS__DETAIL_MAX];
  if (opts->tls_cert_file) {
    srv->tls = ws__tls_server_ctx(opts->tls_cert_file, opts->tls_key_file, detail, sizeof detail);
    if (!srv->tls) {
      ws__free(alloc, srv);
      *err = WS_ERR_TLS_CONFIG;
      return NULL;
    }
  }
  int fd =
      ws__listen(opts->host, opts->port, opts->reuse_port, 511, &srv->port, detail, sizeof detail);
  if (fd < 0 || ws__io_start(loop, &srv->lio, fd, on_accept, WS__IO_READ) != WS_OK) {
    if (fd >= 0)
      close(fd);
    ws__tls_ctx_free(srv->tls);
    ws__free(alloc, srv);
    *err = fd < 0 ? fd : WS_ERR_IO;
    return NULL;
  }
  srv->lfd = fd;
  ws_server_handshake_options_init(&srv->hso);
  srv->hso.allowed_origins = opts->allowed_origins;
  srv->hso.num_allowed_origins = opts->num_allowed_origins;
  srv->hso.accept = hs_accept;
  srv->hso.select_protocol = hs_select;
  srv->hso.ud = srv;
  /* permessage-deflate: offers are accepted only when enabled (docs/deflate.md). */
  if (srv->opts.deflate.enabled) {
    ws_deflate_extension(&srv->pmd_ext, &srv->opts.deflate);
    srv->hso.extensions = &srv->pmd_ext;
    srv->hso.num_extensions = 1;
  }
  ws__handle_link(loop, &srv->handle, server_cut);
  ws__loop_ref(loop);
  *err = WS_OK;
  return srv;
}

uint16_t ws_server_port(const ws_server *srv) { return srv ? srv->port : 0; }

int ws_server_route(ws_server *srv, const char *path, const char *const *protocols,
                    size_t num_protocols, ws_connection_cb on_connection, void *ud) {
  if (!srv || !path)
    return WS_ERR_INVAL;
  if (srv->num_routes == MAX_ROUTES)
    return WS_ERR_LIMIT;
  ws__route *r = &srv->routes[srv->num_routes++];
  r->path = path;
  r->path_len = strlen(path);
  r->protocols = protocols;
  r->num_protocols = num_protocols;
  r->cb = on_connection;
  r->ud = ud;
  return WS_OK;
}

int ws_server_route_on(ws_server *srv, const char *path, const char *type, ws_event_listener_cb cb,
                       void *user_data) {
  if (!srv || !path || !type)
    return WS_ERR_INVAL;
  ws__route *r = NULL;
  for (size_t i = 0; i < srv->num_routes && !r; i++) /* the first, as find_route */
    if (strcmp(srv->routes[i].path, path) == 0)
      r = &srv->routes[i];
  if (!r)
    return WS_ERR_NOT_FOUND;
  ws__listener_set *next;
  int rc = ws__listener_set_handler(srv->alloc, r->handlers, type, cb, user_data, &next);
  if (rc != WS_OK || next == r->handlers)
    return rc;
  /* Connections already accepted keep viewing the old set: it lives until the server goes. */
  if (r->lent && r->handlers) {
    r->handlers->next = srv->retired;
    srv->retired = r->handlers;
  } else {
    ws__listener_set_free(srv->alloc, r->handlers);
  }
  r->handlers = next;
  r->lent = false;
  return WS_OK;
}

size_t ws_server_connections(const ws_server *srv) { return srv ? srv->nopen : 0; }

/* ---- the two ends of a handshake ------------------------------------------------------------ */
void ws__server_on_upgrade(ws_server *srv, ws_socket *ws, const uint8_t *rest, size_t rest_len) {
  const ws_http_request *req = ws_server_handshake_request(ws->live->pend->shs);
  ws->route = find_route(srv, req->path, req->path_len);
  if (srv->shutting) {
    ws->events_done = true;
    (void)ws_conn_close(ws->live->conn, srv->shutdown_code, "server shutting down", 20);
  } else if (srv->nopen >= srv->opts.max_connections || !ws->route) {
    /* Over the limit: the handshake completed, so the client learns why (RFC 6455 7.4.1
     * 1013 Try Again Later) instead of a bare 503 it could not tell from a broken server. */
    ws->events_done = true;
    (void)ws_conn_close(ws->live->conn, WS_CLOSE_TRY_AGAIN_LATER,
                        "server is at its connection limit", 33);
  } else {
    ws__server_socket_opened(srv, ws);
    ws__route *r = &srv->routes[ws->route - srv->routes];
    /* The route's handlers first, as if ws_on had set them: the connection callback may
     * override or clear them for this socket, and "open" reaches them. */
    if (r->handlers) {
      ws__event_target_share(&ws->target, r->handlers);
      r->lent = true;
    }
    if (r->cb && r->cb(srv, ws, req, r->ud) != 0) {
      /* RFC 6455 7.4.1: 1011, the server met a condition that kept it from serving. */
      (void)ws_conn_close(ws->live->conn, WS_CLOSE_INTERNAL_ERROR, "handler failed", 14);
    } else if (!ws->freeing) {
      ws__socket_fire_open(ws);
    }
  }
  if (!ws->freeing && !ws->terminating && rest_len > 0)
    (void)ws_conn_recv(ws->live->conn, (uint8_t *)rest, rest_len);
  if (!ws->freeing)
    ws__socket_touch(ws);
}

void ws__server_on_http(ws_server *srv, ws_socket *ws, int rc) {
  ws->phase = WS__PH_HTTP;
  /* A short linger for the answer to go out; then the socket ends whatever the peer does. */
  ws->live->pend->handshake_deadline = ws_loop_now(ws->sock.loop) + 5000;
  ws__socket_start_timer(ws);
  if (rc == WS_ERR_HS_NOT_UPGRADE) {
    ws_http_exchange x = {ws, false};
    if (srv->opts.on_http && !srv->shutting)
      srv->opts.on_http(srv, &x, ws_server_handshake_request(ws->live->pend->shs),
                        srv->opts.http_ud);
    if (!x.answered) {
      /* Without a hook this port speaks only WebSocket: 426 names the protocol to use
       * (RFC 7231 6.5.15); with one, an unanswered request was not found. */
      static const char body426[] = "This port serves WebSocket (RFC 6455) only.\n";
      static const char body404[] = "Not Found\n";
      bool hook = srv->opts.on_http != NULL;
      (void)ws_http_respond(&x, hook ? 404 : 426, "text/plain; charset=utf-8",
                            hook ? body404 : body426,
                            hook ? sizeof body404 - 1 : sizeof body426 - 1);
    }
  } else {
    size_t len;
    const uint8_t *resp = ws_server_handshake_response(ws->live->pend->shs, &len);
    if (ws__buf_append(&ws->live->pend->out, resp, len) != WS_OK) {
      ws__socket_finish(ws);
      return;
    }
  }
  /* The answer is in ws->out: the request is no longer needed. */
  ws_server_handshake_free(ws->live->pend->shs);
  ws->live->pend->shs = NULL;
  ws__socket_touch(ws);
}

int ws_http_respond(ws_http_exchange *x, int status, const char *content_type, const void *body,
                    size_t len) {
  if (!x || (!body && len))
    return WS_ERR_INVAL;
  if (x->answered)
    return WS_ERR_STATE;
  if (len > (16u << 20))
    return WS_ERR_LIMIT;
  static const ws_header extra[] = {{"Connection", 10, "close", 5}};
  char head[1024];
  long hl = ws_http_response_head(head, sizeof head, status, content_type, len, extra, 1);
  if (hl < 0)
    return (int)hl;
  ws_socket *ws = x->ws;
  int rc = ws__buf_append(&ws->live->pend->out, head, (size_t)hl);
  if (rc == WS_OK && len)
    rc = ws__buf_append(&ws->live->pend->out, body, len);
  if (rc != WS_OK)
    return rc;
  x->answered = true;
  return WS_OK;
}

/* ---- broadcast ------------------------------------------------------------------------------ */
static long broadcast_to(ws_socket *const *list, size_t n, ws_socket *head, const char *route,
                         bool binary, const void *data, size_t len, const ws_allocator *alloc) {
  ws_frame_shared *f = ws_frame_shared_new(alloc, binary ? WS_OP_BINARY : WS_OP_TEXT, data, len);
  if (!f)
    return WS_ERR_NOMEM;
  long count = 0;
  size_t i = 0;
  for (ws_socket *ws = list ? (n ? list[0] : NULL) : head;;) {
    if (ws && ws__socket_has_conn(ws) && !ws->freeing && !ws->terminating &&
        ws_state(ws) == WS_OPEN && (!route || (ws->route && strcmp(ws->route->path, route) == 0)) &&
        ws__socket_send_shared(ws, f) == WS_OK)
      count++;
    if (list) {
      if (++i >= n)
        break;
      ws = list[i];
    } else {
      if (!ws || !(ws = ws->next))
        break;
    }
  }
  ws_frame_shared_release(f);
  return count;
}

long ws_server_broadcast(ws_server *srv, const char *route, bool binary, const void *data,
                         size_t len) {
  if (!srv || (!data && len))
    return WS_ERR_INVAL;
  if (!srv->head)
    return 0;
  return broadcast_to(NULL, 0, srv->head, route, binary, data, len, srv->alloc);
}

long ws_broadcast(ws_socket *const *sockets, size_t n, bool binary, const void *data, size_t len) {
  if (!sockets || (!data && len))
    return WS_ERR_INVAL;
  for (size_t i = 0; i < n; i++)
    if (sockets[i]) /* NULL is the default allocator: find a socket, not an allocator */
      return broadcast_to(sockets, n, NULL, NULL, binary, data, len, ws__socket_allocator(sockets[i]));
  return 0;
}

long ws_server_close_all(ws_server *srv, const char *route, uint16_t code, const char *reason) {
  if (!srv)
    return WS_ERR_INVAL;
  /* A bad code or reason fails the call rather than every socket. */
  if (!ws_close_code_on_wire(code))
    return WS_ERR_INVALID_ACCESS;
  if (reason && strlen(reason) > 123)
    return WS_ERR_SYNTAX;
  long count = 0;
  for (ws_socket *ws = srv->head; ws; ws = ws->next) {
    if (ws->freeing || ws->terminating || ws->phase != WS__PH_OPEN ||
        ws_state(ws) != WS_OPEN || (route && (!ws->route || strcmp(ws->route->path, route) != 0)))
      continue;
    int rc = ws_close_with(ws, code, reason);
    if (rc == WS_ERR_SYNTAX) /* not UTF-8: the same for every socket */
      return rc;
    if (rc == WS_OK)
      count++;
  }
  return count;
}

/* ---- graceful shutdown ---------------------------------------------------------------------- */
static void shutdown_deadline(ws__timer *t) {
  ws_server *srv = (ws_server *)((char *)t - offsetof(ws_server, timer));
  /* Whoever has not finished the closing handshake by now is cut: they see 1006. */
  ws_socket *ws = srv->head;
  while (ws) {
    ws_socket *next = ws->next;
    ws__socket_cut(ws, WS_ERR_SHUTDOWN, "the server's shutdown deadline passed");
    ws = next;
  }
}

int ws_server_shutdown(ws_server *srv, uint16_t code, uint32_t deadline_ms) {
  if (!srv)
    return WS_ERR_INVAL;
  if (srv->shutting)
    return WS_ERR_STATE;
  if (code == 0)
    code = WS_CLOSE_GOING_AWAY;
  if (!ws_close_code_on_wire(code))
    return WS_ERR_INVALID_ACCESS;
  if (deadline_ms == 0)
    deadline_ms = 5000;
  srv->shutting = true;
  srv->shutdown_code = code;
  ws__io_stop(srv->loop, &srv->lio);
  close(srv->lfd);
  srv->lfd = -1;
  const char *reason =
      code == WS_CLOSE_SERVICE_RESTART ? "server restarting" : "server shutting down";
  for (ws_socket *ws = srv->head; ws; ws = ws->next) {
    if (ws->freeing || ws->terminating) /* ws_terminate: no frame goes out any more */
      continue;
    if (ws->phase == WS__PH_OPEN && ws__socket_has_conn(ws)) {
      if (!ws__socket_conn(ws))
        continue; /* out of memory: cut instead (close event 1006) */
      /* Queued after the messages already sent: they are delivered first. */
      ws__socket_clock(ws);
      (void)ws_conn_close(ws->live->conn, code, reason, strlen(reason));
      ws__socket_touch(ws);
    } else if (ws->phase != WS__PH_HTTP) {
      ws__socket_finish(ws); /* still handshaking: nobody has seen it */
    }
  }
  srv->timer.cb = shutdown_deadline;
  (void)ws__timer_start_at(srv->loop, &srv->timer, ws_loop_now(srv->loop) + deadline_ms);
  maybe_finish_shutdown(srv);
  return WS_OK;
}
