/* Echo server: every message comes back to its sender. Usage: echo_server [port] (default 9001)
 * Try it: examples/client ws://127.0.0.1:9001/echo hello */
#include <wsclean/wsclean.h>

#include <stdio.h>
#include <stdlib.h>

static void on_message(const ws_event *ev, void *ud) {
  (void)ud;
  const ws_message_event *m = ws_event_as_message(ev);
  size_t len;
  const uint8_t *data = ws_message_event_data(m, &len);
  ws_socket *ws = ws_event_socket(ev); /* event.target */
  if (ws_message_event_is_binary(m))
    ws_send_binary(ws, data, len);
  else
    ws_send_text(ws, (const char *)data, len);
}

int main(int argc, char **argv) {
  ws_loop *loop = ws_loop_new(NULL);
  ws_server_options o;
  ws_server_options_init(&o);
  o.port = (uint16_t)(argc > 1 ? atoi(argv[1]) : 9001);
  int err;
  ws_server *srv = ws_server_new(loop, &o, &err);
  if (!srv) {
    fprintf(stderr, "listen: %s\n", ws_strerror(err));
    return 1;
  }
  /* No connection callback: the route's "message" handler, shared by every connection (none
   * allocates anything for it), does all the work. A callback could set per-socket handlers. */
  ws_server_route(srv, "/echo", NULL, 0, NULL, NULL);
  ws_server_route_on(srv, "/echo", "message", on_message, NULL);
  printf("listening on ws://localhost:%u/echo\n", ws_server_port(srv));
  fflush(stdout);
  ws_loop_run(loop);
  ws_loop_free(loop);
  return 0;
}
