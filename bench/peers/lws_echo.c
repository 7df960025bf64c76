/* Benchmark peer: a minimal libwebsockets (Debian libwebsockets-dev) echo server, no compression.
 *
 * Usage: lws_echo PORT   (listens on 127.0.0.1:PORT)
 * Echoes every text and binary message with the same opcode, in order, one message per
 * WRITEABLE callback (lws' documented idiom: one lws_write per writeable callback). On SIGTERM
 * prints "closes clean=N other=M" to stderr: clean = the peer's close frame carried 1000.
 * Built by bench/run.sh with pkg-config; not part of the wsclean build. */
#include <libwebsockets.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct msg {
  struct msg *next;
  size_t len;
  int binary;
  unsigned char data[]; /* LWS_PRE bytes of headroom, then the payload */
};

struct sess {
  struct msg *head, *tail;
  unsigned char *cur; /* message being assembled (LWS_PRE headroom) */
  size_t cur_len, cur_cap;
  int close_code;
};

static volatile sig_atomic_t interrupted;
static unsigned long closes_clean, closes_other;

static void on_term(int sig) {
  (void)sig;
  interrupted = 1;
}

static int append(struct sess *s, const void *in, size_t len) {
  if (s->cur_len + len > s->cur_cap) {
    size_t cap = s->cur_cap ? s->cur_cap : 4096;
    while (cap < s->cur_len + len)
      cap *= 2;
    unsigned char *n = realloc(s->cur, sizeof(struct msg) + LWS_PRE + cap);
    if (!n)
      return -1;
    s->cur = n;
    s->cur_cap = cap;
  }
  struct msg *m = (struct msg *)s->cur;
  memcpy(m->data + LWS_PRE + s->cur_len, in, len);
  s->cur_len += len;
  return 0;
}

static int cb_echo(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                   size_t len) {
  struct sess *s = user;
  switch (reason) {
  case LWS_CALLBACK_ESTABLISHED:
    memset(s, 0, sizeof(*s));
    break;
  case LWS_CALLBACK_RECEIVE: {
    if (append(s, in, len) != 0)
      return -1;
    if (lws_is_final_fragment(wsi)) {
      struct msg *m = (struct msg *)s->cur;
      m->next = NULL;
      m->len = s->cur_len;
      m->binary = lws_frame_is_binary(wsi);
      if (s->tail)
        s->tail->next = m;
      else
        s->head = m;
      s->tail = m;
      s->cur = NULL;
      s->cur_len = s->cur_cap = 0;
      lws_callback_on_writable(wsi);
    }
    break;
  }
  case LWS_CALLBACK_SERVER_WRITEABLE: {
    struct msg *m = s->head;
    if (!m)
      break;
    int n =
        lws_write(wsi, m->data + LWS_PRE, m->len, m->binary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT);
    if (n < (int)m->len)
      return -1;
    s->head = m->next;
    if (!s->head)
      s->tail = NULL;
    free(m);
    if (s->head)
      lws_callback_on_writable(wsi);
    break;
  }
  case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
    if (len >= 2)
      s->close_code = ((const unsigned char *)in)[0] << 8 | ((const unsigned char *)in)[1];
    break;
  case LWS_CALLBACK_CLOSED:
    if (s->close_code == 1000)
      closes_clean++;
    else
      closes_other++;
    while (s->head) {
      struct msg *m = s->head;
      s->head = m->next;
      free(m);
    }
    free(s->cur);
    s->cur = NULL;
    break;
  default:
    break;
  }
  return 0;
}

static const struct lws_protocols protocols[] = {
    {"echo", cb_echo, sizeof(struct sess), 65536, 0, NULL, 0}, {NULL, NULL, 0, 0, 0, NULL, 0}};

int main(int argc, char **argv) {
  struct lws_context_creation_info info;
  memset(&info, 0, sizeof info);
  info.port = argc > 1 ? atoi(argv[1]) : 9001;
  info.iface = "127.0.0.1";
  info.protocols = protocols; /* the first protocol serves clients that ask for none */
  info.pt_serv_buf_size = 65536;
  info.options = LWS_SERVER_OPTION_DISABLE_IPV6;
  lws_set_log_level(LLL_ERR, NULL);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_term; /* no SA_RESTART: the poll inside lws_service returns */
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  struct lws_context *ctx = lws_create_context(&info);
  if (!ctx) {
    fprintf(stderr, "lws_echo: lws_create_context failed\n");
    return 1;
  }
  printf("listening\n");
  fflush(stdout);
  while (!interrupted && lws_service(ctx, 0) >= 0) {
  }
  fprintf(stderr, "closes clean=%lu other=%lu\n", closes_clean, closes_other);
  lws_context_destroy(ctx);
  return 0;
}
