/* Client: send one text message, print the answer, close, and print the CloseEvent.
 * Usage: client [url] [text]   (default ws://127.0.0.1:9001/echo "hello") */
#include <wsclean/wsclean.h>

#include <stdio.h>
#include <string.h>

static void on_open(const ws_event *ev, void *ud) {
  ws_send_text(ws_event_socket(ev), ud, strlen(ud));
}

static void on_message(const ws_event *ev, void *ud) {
  (void)ud;
  size_t len;
  const uint8_t *data = ws_message_event_data(ws_event_as_message(ev), &len);
  printf("message: %.*s\n", (int)len, (const char *)data);
  ws_close(ws_event_socket(ev), 1000, "done");
}

static void on_close(const ws_event *ev, void *ud) {
  (void)ud;
  const ws_close_event *c = ws_event_as_close(ev);
  printf("close: code %u reason \"%s\" wasClean %s (%s)\n", ws_close_event_code(c),
         ws_close_event_reason(c, NULL), ws_close_event_was_clean(c) ? "true" : "false",
         ws_close_event_diag(c)->detail);
}

int main(int argc, char **argv) {
  ws_loop *loop = ws_loop_new(NULL);
  int err;
  ws_socket *ws =
      ws_open(loop, argc > 1 ? argv[1] : "ws://127.0.0.1:9001/echo", NULL, 0, NULL, &err);
  if (!ws) {
    fprintf(stderr, "ws_open: %s\n", ws_strerror(err));
    return 1;
  }
  ws_on(ws, "open", on_open, argc > 2 ? argv[2] : "hello");
  ws_on(ws, "message", on_message, NULL);
  ws_on(ws, "close", on_close, NULL);
  ws_loop_run(loop); /* returns when the socket is closed */
  ws_loop_free(loop);
  return 0;
}
