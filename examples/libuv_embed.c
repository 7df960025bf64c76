/* Embedding wsclean's sans-I/O core in someone else's loop: an echo server on libuv.
 * wsclean's own loop is not used at all: libuv owns the sockets and timers, and the connection
 * is driven through handshake.h (ws_server_handshake_*) and conn.h (ws_conn_*):
 *   bytes in  -> ws_server_handshake_recv, then ws_conn_recv
 *   bytes out <- ws_conn_pending_out + ws_conn_consume_out
 *   time      -> ws_conn_tick at ws_conn_next_deadline
 *   TCP       <- ws_conn_transport (keep / shut down writing / close) -> ws_conn_transport_closed
 * Usage: libuv_embed [port]   (default 9002; any path is served) */
#include <wsclean/wsclean.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <uv.h>

typedef struct client {
  uv_tcp_t tcp; /* first: the handle's address is the client's */
  uv_timer_t timer;
  ws_server_handshake *hs;
  ws_conn *conn;
  int handles; /* libuv handles still open; the client is freed when both are closed */
} client;

static void pump(client *c);

static void on_handle_closed(uv_handle_t *h) {
  client *c = h->data;
  if (--c->handles == 0) {
    ws_conn_free(c->conn);
    ws_server_handshake_free(c->hs);
    free(c);
  }
}

static void random_bytes(void *ud, uint8_t *out, size_t n) {
  (void)ud;
  if (getrandom(out, n, 0) != (ssize_t)n)
    abort();
}

static int on_message(ws_conn *conn, void *ud, ws_opcode op, const uint8_t *data, size_t len) {
  (void)ud;
  return ws_conn_send(conn, op, data, len) == WS_OK ? 0 : -1; /* failure -> 1011 */
}

static void on_close(ws_conn *conn, void *ud, const ws_close_event *ev) {
  (void)conn, (void)ud;
  printf("closed: code %u wasClean %d\n", ws_close_event_code(ev), ws_close_event_was_clean(ev));
}

static const ws_conn_callbacks callbacks = {.on_message = on_message, .on_close = on_close};

static void on_written(uv_write_t *w, int status) {
  (void)status;
  free(w->data);
  free(w);
}

static void write_bytes(client *c, const void *p, size_t n) {
  /* libuv writes asynchronously: hand it a copy, so the core's queue can move on at once. */
  uv_write_t *w = malloc(sizeof *w);
  char *copy = malloc(n);
  memcpy(copy, p, n);
  w->data = copy;
  uv_buf_t b = uv_buf_init(copy, (unsigned)n);
  if (uv_write(w, (uv_stream_t *)&c->tcp, &b, 1, on_written) != 0)
    on_written(w, -1);
}

static void on_shutdown(uv_shutdown_t *s, int status) {
  (void)status;
  free(s);
}

static void on_timer(uv_timer_t *t) {
  client *c = t->data;
  ws_conn_tick(c->conn, uv_now(t->loop));
  pump(c);
}

/* After every input or timer: write what the core queued, then do what it asks of TCP. */
static void pump(client *c) {
  ws_slice sl[16];
  int n;
  while ((n = ws_conn_pending_out(c->conn, sl, 16)) > 0) {
    size_t total = 0;
    for (int i = 0; i < n; i++) {
      write_bytes(c, sl[i].data, sl[i].len);
      total += sl[i].len;
    }
    ws_conn_consume_out(c->conn, total);
  }
  switch (ws_conn_transport(c->conn)) {
  case WS_TRANSPORT_KEEP:
    break;
  case WS_TRANSPORT_SHUTDOWN: /* server side after the closing handshake: FIN first */
    if (!uv_is_closing((uv_handle_t *)&c->tcp)) {
      uv_shutdown_t *s = malloc(sizeof *s);
      if (uv_shutdown(s, (uv_stream_t *)&c->tcp, on_shutdown) != 0)
        free(s);
    }
    break;
  case WS_TRANSPORT_CLOSE:
    if (!uv_is_closing((uv_handle_t *)&c->tcp)) {
      ws_conn_transport_closed(c->conn, WS_OK, NULL); /* fires on_close */
      uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
      uv_close((uv_handle_t *)&c->timer, on_handle_closed);
    }
    return;
  }
  uint64_t due = ws_conn_next_deadline(c->conn);
  if (due != UINT64_MAX) {
    uint64_t now = uv_now(c->tcp.loop);
    uv_timer_start(&c->timer, on_timer, due > now ? due - now : 0, 0);
  }
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  (void)h;
  buf->base = malloc(suggested);
  buf->len = buf->base ? suggested : 0;
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  client *c = s->data;
  if (c->conn) /* the core's clock moves only when told: before input, tell it the time */
    ws_conn_tick(c->conn, uv_now(s->loop));
  if (nread < 0) { /* EOF or error */
    uv_read_stop(s);
    if (c->conn) {
      ws_conn_eof(c->conn);
      pump(c);
    } else if (!uv_is_closing((uv_handle_t *)&c->tcp)) {
      uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
      uv_close((uv_handle_t *)&c->timer, on_handle_closed);
    }
  } else if (nread > 0 && !c->conn) {
    size_t used = 0, rl;
    int rc = ws_server_handshake_recv(c->hs, (uint8_t *)buf->base, (size_t)nread, &used);
    const uint8_t *resp = ws_server_handshake_response(c->hs, &rl);
    if (rc != WS_ERR_AGAIN && rl)
      write_bytes(c, resp, rl); /* 101, or the refusal (400, 426...) */
    if (rc == WS_OK) {
      ws_conn_options o;
      ws_conn_options_init(&o, WS_ROLE_SERVER);
      o.random = random_bytes;
      c->conn = ws_conn_new(&o, &callbacks, c, uv_now(s->loop));
      if (used < (size_t)nread)
        ws_conn_recv(c->conn, (uint8_t *)buf->base + used, (size_t)nread - used);
      pump(c);
    } else if (rc != WS_ERR_AGAIN) {
      uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
      uv_close((uv_handle_t *)&c->timer, on_handle_closed);
    }
  } else if (nread > 0) {
    ws_conn_recv(c->conn, (uint8_t *)buf->base, (size_t)nread);
    pump(c);
  }
  free(buf->base);
}

static void on_connection(uv_stream_t *server, int status) {
  if (status < 0)
    return;
  client *c = calloc(1, sizeof *c);
  ws_server_handshake_options ho;
  ws_server_handshake_options_init(&ho);
  c->hs = ws_server_handshake_new(&ho, NULL);
  uv_tcp_init(server->loop, &c->tcp);
  uv_timer_init(server->loop, &c->timer);
  c->tcp.data = c->timer.data = c;
  c->handles = 2;
  if (uv_accept(server, (uv_stream_t *)&c->tcp) == 0)
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

int main(int argc, char **argv) {
  uv_loop_t *loop = uv_default_loop();
  uv_tcp_t server;
  struct sockaddr_in addr;
  uv_tcp_init(loop, &server);
  uv_ip4_addr("127.0.0.1", argc > 1 ? atoi(argv[1]) : 9002, &addr);
  if (uv_tcp_bind(&server, (const struct sockaddr *)&addr, 0) != 0 ||
      uv_listen((uv_stream_t *)&server, 128, on_connection) != 0) {
    fprintf(stderr, "cannot listen\n");
    return 1;
  }
  printf("libuv echo server on ws://127.0.0.1:%d/\n", ntohs(addr.sin_port));
  fflush(stdout);
  return uv_run(loop, UV_RUN_DEFAULT);
}
