/* src/api — internals shared by the client side (socket.c) and the server (server.c). */
#ifndef WS_API_API_H
#define WS_API_API_H

#include "base/buf.h"
#include "base/event.h"
#include "loop/loop.h"
#include "loop/sock.h"

typedef enum ws__phase {
  WS__PH_CONNECT = 0, /* TCP connect and/or TLS handshake */
  WS__PH_HANDSHAKE,   /* HTTP upgrade request/response */
  WS__PH_OPEN,        /* a ws_conn runs the connection */
  WS__PH_HTTP,        /* server: a plain HTTP answer or a refusal is being written, then close */
  WS__PH_DONE         /* closed; waiting for the deferred free */
} ws__phase;

typedef struct ws__route ws__route;

/* What a socket needs only until it is open (or while it answers plain HTTP): freed once the
 * 101 is written, so an open connection does not carry it (memory per idle connection). */
typedef struct ws__pend {
  ws_client_handshake *chs;
  ws_server_handshake *shs; /* from the request's first byte until it is answered */
  ws__buf out;              /* handshake request/response or HTTP answer */
  size_t out_off;
  uint64_t handshake_deadline;
  struct ws__pmd_ctx *pmd; /* permessage-deflate offer (client side), NULL when not offered */
} ws__pend;

/* What only a client socket has, one allocation: its conn options and its URL. */
typedef struct ws__client {
  ws_conn_options copts;
  char url[];
} ws__client;

/* What a socket needs only while it works (handshake, traffic, a deadline, closing): one block
 * beside the socket, freed when an idle connection is parked (unless its deadline is near) and
 * made again when it wakes. An idle connection then keeps only its struct ws_socket
 * (docs/internals/loop.md, memory per connection). A client socket keeps its block for life. */
typedef struct ws__live {
  ws_socket *ws;
  ws_conn *conn;         /* NULL before open and while parked */
  struct ws__pend *pend; /* until the connection is open and its 101 written; NULL after */
  ws__client *client;    /* a client's conn options and URL; NULL for a server's socket */
  ws__flush flush;
  ws__timer timer;
  ws__deferred freer;
  ws__handle handle;   /* client sockets: ws_loop_free cuts them (a server cuts its own) */
  uint64_t over_since; /* slow consumer: when the queue went over the limit (0: not over) */
  int fail_err;        /* a client's connect failed at once (reported from the timer) */
} ws__live;

struct ws_socket {
  ws__sock sock;          /* sock.loop is the socket's loop; its allocator is the socket's */
  ws_event_target target; /* embedded: no allocation until a handler is set */
  ws__live *live;         /* NULL only while parked (socket.c release_idle_live) */
  union {
    ws_conn_parked park; /* an idle OPEN connection, when `parked` (docs/conn.md) */
    ws__deferred freer;  /* freeing a socket that has no live block (out of memory waking) */
  } idle;
  char *negotiated; /* "protocol\0extensions\0", NULL when nothing was negotiated */
  void *user_data;
  /* server side */
  ws_server *srv;
  const ws__route *route;
  ws_socket *prev, *next; /* in srv's list */
  /* small fields together (memory per idle connection) */
  uint8_t phase; /* ws__phase */
  uint8_t state; /* ws_ready_state before a ws_conn exists; then the conn's */
  bool is_server : 1;
  bool freeing : 1;
  bool events_done : 1;   /* the close event was dispatched (or must never be) */
  bool abort_pending : 1; /* ws_close while CONNECTING: fail at the next timer */
  bool terminating : 1;   /* ws_terminate: cut at the end of the turn, close event 1006 */
  bool parked : 1;        /* the conn is in idle.park */
  bool touched : 1;       /* activity since the server's last parking sweep */
  bool woke : 1;          /* unparked at least once: parked by the sweep from then on */
  bool counted : 1;       /* counted in srv->nopen */
};

/* Every socket allocates with its loop's allocator. */
static inline const ws_allocator *ws__socket_allocator(const ws_socket *ws) {
  return ws__loop_alloc(ws->sock.loop);
}

/* The conn in memory: NULL before open, after the end, and while parked. */
static inline ws_conn *ws__socket_live_conn(const ws_socket *ws) {
  return ws->live ? ws->live->conn : NULL;
}

/* The conn's clock moves only when told (ws_conn_tick): bring it to the loop's time before
 * every call that reads it (input, close, send), or a close timeout would count from the last
 * timer, possibly long ago, and cut the connection at once. */
static inline void ws__socket_clock(ws_socket *ws) {
  /* A parked conn has no clock: unparking gives it the loop's time. */
  ws_conn *c = ws__socket_live_conn(ws);
  if (c)
    ws_conn_tick(c, ws_loop_now(ws->sock.loop));
}

/* Write at the end of this turn. No live block: parked, with nothing to write (a late
 * "writable"). Inline: once per message on the echo path. */
static inline void ws__socket_touch(ws_socket *ws) {
  if (!ws->freeing && ws->live)
    ws__flush_mark(ws->sock.loop, &ws->live->flush);
}

/* socket.c, used by server.c */
/* The socket has a conn, in memory or parked. */
static inline bool ws__socket_has_conn(const ws_socket *ws) {
  return ws__socket_live_conn(ws) || ws->parked;
}
/* The conn, unparked if needed; NULL when there is none or when unparking ran out of memory
 * (the connection is then cut: close event 1006 with WS_ERR_NOMEM). */
ws_conn *ws__socket_conn(ws_socket *ws);
/* Queue a broadcast frame (written at once, without waking, to a parked connection). */
int ws__socket_send_shared(ws_socket *ws, ws_frame_shared *f);
/* The sweep, for a parked connection without its live block: when its deadline comes before
 * `until`, make the block again and arm its timer for the deadline. False: out of memory (the
 * next sweep tries again). */
bool ws__socket_rearm(ws_socket *ws, uint64_t until);
/* The parking sweep's period in ms, 0 when the server does not sweep. */
uint32_t ws__server_sweep_period(const ws_server *srv);
/* Park the socket's conn if it has nothing in flight (server.c's sweep). */
bool ws__socket_try_park(ws_socket *ws);
ws_socket *ws__socket_alloc(ws_loop *loop, bool is_server);
void ws__socket_start_timer(ws_socket *ws);
void ws__socket_fire_open(ws_socket *ws);
void ws__socket_finish(ws_socket *ws); /* silent end for a socket no one has seen */
void ws__socket_cut(ws_socket *ws, int err, const char *detail); /* close TCP now, events */
/* ws_loop_free, through the server: free now, without events. */
void ws__socket_drop(ws_socket *ws);
extern const ws__sock_handler ws__socket_handler;

/* server.c, used by socket.c */
void ws__server_on_upgrade(ws_server *srv, ws_socket *ws, const uint8_t *rest, size_t rest_len);
void ws__server_on_http(ws_server *srv, ws_socket *ws, int rc);
void ws__server_socket_gone(ws_server *srv, ws_socket *ws);
void ws__server_socket_opened(ws_server *srv, ws_socket *ws);
void ws__server_socket_closed(ws_server *srv, ws_socket *ws);
/* A parked socket was restored: the sweep must run again. */
void ws__server_socket_unparked(ws_server *srv);
/* park_idle_ms 0: park at the end of the flush that left a connection idle. */
bool ws__server_parks_at_once(const ws_server *srv);
const ws_server_handshake_options *ws__server_hs_options(const ws_server *srv);
/* The conn options every connection of the server shares. */
const ws_conn_options *ws__server_conn_options(const ws_server *srv);
SSL_CTX *ws__server_tls(const ws_server *srv);
/* The slow-consumer limits; false when the check is off. */
bool ws__server_slow_limits(const ws_server *srv, size_t *bytes, uint32_t *ms);
void ws__socket_set_negotiated(ws_socket *ws, const char *protocol, const ws_ext_list *ext);

/* permessage-deflate (docs/deflate.md): a client's options and the extension its handshake calls
 * back, alive as long as the socket since the handshake keeps pointers to both. */
typedef struct ws__pmd_ctx {
  ws_deflate_options o;
  ws_extension e;
} ws__pmd_ctx;
/* The server's deflate options, NULL when it does not accept permessage-deflate. */
const ws_deflate_options *ws__server_deflate(const ws_server *srv);

#endif
