/* permessage-deflate interop peer: the wsclean handshake + ws_conn over a blocking loopback
 * socket (no event loop needed), driven by run.py against Node ws and Python websockets.
 *   peer client PORT NCT N   connect, negotiate permessage-deflate (threshold 0), send N messages
 *                            (text and binary, some fragmented, up to 200 KB), check each echo
 *   peer server 0 NCT        listen on a free port (prints "ready PORT"), accept one connection,
 *                            echo every message until the client closes
 * NCT 1: ask for no context takeover in both directions. Exit 0 only if every message came back
 * intact, the closing handshake completed with 1000, and every message in both directions was
 * compressed. Every socket read times out after 10 s. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "proto/conn_internal.h"
#include "wsclean/conn.h"
#include "wsclean/deflate.h"
#include "wsclean/handshake.h"

static int fd;
static uint8_t *last;
static size_t last_len;
static int got, compressed_rx;
static int echo_mode;

static void timeouts(int s) {
  struct timeval tv = {10, 0};
  setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

static void rnd(void *ud, uint8_t *out, size_t n) {
  (void)ud;
  for (size_t i = 0; i < n; i++)
    out[i] = (uint8_t)rand();
}

static void flush_out(ws_conn *c) {
  ws_slice sl[64];
  int n;
  while ((n = ws_conn_pending_out(c, sl, 64)) > 0) {
    for (int i = 0; i < n; i++) {
      size_t off = 0;
      while (off < sl[i].len) {
        ssize_t w = write(fd, sl[i].data + off, sl[i].len - off);
        if (w <= 0) {
          perror("write");
          exit(2);
        }
        off += (size_t)w;
      }
      ws_conn_consume_out(c, sl[i].len);
    }
  }
}

static int on_msg(ws_conn *c, void *ud, ws_opcode op, const uint8_t *d, size_t n) {
  (void)ud;
  got++;
  if (c->rx_pmd)
    compressed_rx++;
  if (echo_mode) {
    ws_conn_send(c, op, d, n);
  } else {
    free(last);
    last = malloc(n + 1);
    memcpy(last, d, n);
    last_len = n;
  }
  return 0;
}

static void on_close(ws_conn *c, void *ud, const ws_close_event *ev) {
  (void)c;
  (void)ud;
  (void)ev;
}

static ws_conn *open_conn(ws_role role, const ws_deflate_params *p, const uint8_t *rest,
                          size_t rest_len) {
  ws_conn_options o;
  ws_conn_options_init(&o, role);
  o.random = rnd;
  o.deflate = p;
  o.max_message_size = 1 << 22;
  ws_conn_callbacks cb;
  memset(&cb, 0, sizeof cb);
  cb.on_message = on_msg;
  cb.on_close = on_close;
  ws_conn *c = ws_conn_new(&o, &cb, NULL, 0);
  if (rest_len)
    ws_conn_recv(c, (uint8_t *)rest, rest_len);
  return c;
}

static void make_msg(uint8_t *m, size_t n, int text) {
  static const char *w[] = {"hello", "world", "\"price\":", "{\"type\":\"tick\",",
                            "1234",  " ",     "éà",         "message"};
  size_t i = 0;
  while (i < n) {
    if (text) {
      const char *s = w[rand() % 8];
      size_t k = strlen(s);
      if (i + k > n) {
        m[i++] = 'x';
        continue;
      }
      memcpy(m + i, s, k);
      i += k;
    } else {
      m[i++] = (uint8_t)(rand() % 16);
    }
  }
}

int main(int argc, char **argv) {
  if (argc < 4)
    return 2;
  int port = atoi(argv[2]);
  bool nct = atoi(argv[3]) != 0;
  ws_deflate_options dopt;
  struct sockaddr_in sa;
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_port = htons((uint16_t)port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  uint8_t buf[65536];
  if (strcmp(argv[1], "client") == 0) {
    int nmsg = argc > 4 ? atoi(argv[4]) : 50;
    ws_deflate_options_init(&dopt, WS_ROLE_CLIENT);
    dopt.threshold = 0;
    dopt.no_context_takeover = nct;
    dopt.peer_no_context_takeover = nct;
    fd = socket(AF_INET, SOCK_STREAM, 0);
    timeouts(fd);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa)) {
      perror("connect");
      return 2;
    }
    ws_extension ext;
    ws_deflate_extension(&ext, &dopt);
    ws_client_handshake_options ho;
    ws_client_handshake_options_init(&ho);
    char url[64];
    snprintf(url, sizeof url, "ws://127.0.0.1:%d/", port);
    ho.url = url;
    ho.random = rnd;
    ho.extensions = &ext;
    ho.num_extensions = 1;
    ws_client_handshake *h = ws_client_handshake_new(NULL);
    if (ws_client_handshake_start(h, &ho))
      return 3;
    size_t qn;
    const uint8_t *q = ws_client_handshake_request(h, &qn);
    if (write(fd, q, qn) != (ssize_t)qn)
      return 3;
    int rc = WS_ERR_AGAIN;
    size_t consumed = 0;
    ssize_t r = 0;
    while (rc == WS_ERR_AGAIN) {
      r = read(fd, buf, sizeof buf);
      if (r <= 0)
        return 4;
      rc = ws_client_handshake_recv(h, buf, (size_t)r, &consumed);
    }
    if (rc) {
      printf("handshake failed: %s %s\n", ws_errname(rc), ws_client_handshake_detail(h));
      return 5;
    }
    ws_deflate_params p;
    ws_deflate_params_from_handshake(&p, WS_ROLE_CLIENT, &dopt, ws_client_handshake_extensions(h));
    char ebuf[256] = "";
    ws_ext_list_format(ws_client_handshake_extensions(h), ebuf, sizeof ebuf);
    printf("client: negotiated \"%s\" enabled=%d tx=%u rx=%u tx_nct=%d rx_nct=%d\n", ebuf,
           p.enabled, p.tx_window_bits, p.rx_window_bits, p.tx_no_context_takeover,
           p.rx_no_context_takeover);
    ws_conn *c = open_conn(WS_ROLE_CLIENT, &p, buf + consumed, (size_t)r - consumed);
    ws_client_handshake_free(h);
    srand(7);
    uint8_t *m = malloc(200000);
    int sent_z = 0;
    for (int i = 0; i < nmsg; i++) {
      size_t n = (size_t)(i % 7 == 0 ? rand() % 200000 : rand() % 2000);
      int text = i % 2;
      make_msg(m, n, text);
      int before = got;
      if (i % 5 == 4 && n > 2) {
        ws_conn_send_fragment(c, text ? WS_OP_TEXT : WS_OP_BINARY, m, n / 2, false);
        ws_conn_send_fragment(c, WS_OP_CONTINUATION, m + n / 2, n - n / 2, true);
      } else {
        ws_conn_send(c, text ? WS_OP_TEXT : WS_OP_BINARY, m, n);
      }
      ws_slice sl[2];
      if (ws_conn_pending_out(c, sl, 1) > 0 && (sl[0].data[0] & 0x40))
        sent_z++;
      flush_out(c);
      while (got == before) {
        r = read(fd, buf, sizeof buf);
        if (r <= 0) {
          printf("client: EOF before echo %d\n", i);
          return 6;
        }
        ws_conn_recv(c, buf, (size_t)r);
        flush_out(c);
        if (ws_conn_failed(c)) {
          printf("client: failed, close code sent %u\n", ws_conn_close_code_sent(c));
          return 7;
        }
      }
      if (last_len != n || memcmp(last, m, n) != 0) {
        printf("client: echo %d differs (%zu vs %zu)\n", i, last_len, n);
        return 8;
      }
    }
    ws_conn_close(c, 1000, "bye", 3);
    flush_out(c);
    while ((r = read(fd, buf, sizeof buf)) > 0)
      ws_conn_recv(c, buf, (size_t)r);
    printf("client: %d messages echoed; %d sent compressed, %d received compressed; close code "
           "received %u\n",
           nmsg, sent_z, compressed_rx, ws_conn_close_code_received(c));
    int ok = ws_conn_close_code_received(c) == 1000 && compressed_rx == nmsg && sent_z == nmsg;
    ws_conn_transport_closed(c, WS_OK, NULL);
    ws_conn_free(c);
    free(m);
    free(last);
    return ok ? 0 : 10;
  }
  /* server */
  echo_mode = 1;
  ws_deflate_options_init(&dopt, WS_ROLE_SERVER);
  dopt.enabled = true;
  dopt.threshold = 0;
  dopt.no_context_takeover = nct;
  dopt.peer_no_context_takeover = nct;
  int ls = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  socklen_t salen = sizeof sa;
  if (bind(ls, (struct sockaddr *)&sa, sizeof sa) || listen(ls, 1) ||
      getsockname(ls, (struct sockaddr *)&sa, &salen)) {
    perror("bind");
    return 2;
  }
  printf("ready %d\n", ntohs(sa.sin_port));
  fflush(stdout);
  timeouts(ls);
  fd = accept(ls, NULL, NULL);
  if (fd < 0) {
    perror("accept");
    return 2;
  }
  timeouts(fd);
  close(ls);
  ws_extension ext;
  ws_deflate_extension(&ext, &dopt);
  ws_server_handshake_options so;
  ws_server_handshake_options_init(&so);
  so.extensions = &ext;
  so.num_extensions = 1;
  ws_server_handshake *h = ws_server_handshake_new(&so, NULL);
  int rc = WS_ERR_AGAIN;
  size_t consumed = 0;
  ssize_t r = 0;
  while (rc == WS_ERR_AGAIN) {
    r = read(fd, buf, sizeof buf);
    if (r <= 0)
      return 4;
    rc = ws_server_handshake_recv(h, buf, (size_t)r, &consumed);
  }
  size_t rn;
  const uint8_t *resp = ws_server_handshake_response(h, &rn);
  if (write(fd, resp, rn) != (ssize_t)rn)
    return 3;
  if (rc) {
    printf("server: refused %s\n", ws_errname(rc));
    return 5;
  }
  ws_deflate_params p;
  ws_deflate_params_from_handshake(&p, WS_ROLE_SERVER, &dopt, ws_server_handshake_extensions(h));
  char ebuf[256] = "";
  ws_ext_list_format(ws_server_handshake_extensions(h), ebuf, sizeof ebuf);
  printf("server: answered \"%s\" enabled=%d tx=%u rx=%u tx_nct=%d rx_nct=%d\n", ebuf, p.enabled,
         p.tx_window_bits, p.rx_window_bits, p.tx_no_context_takeover, p.rx_no_context_takeover);
  ws_conn *c = open_conn(WS_ROLE_SERVER, &p, buf + consumed, (size_t)r - consumed);
  ws_server_handshake_free(h);
  flush_out(c);
  while (!ws_conn_close_code_received(c) && !ws_conn_failed(c)) {
    r = read(fd, buf, sizeof buf);
    if (r <= 0)
      break;
    ws_conn_recv(c, buf, (size_t)r);
    flush_out(c);
  }
  flush_out(c);
  printf("server: %d messages echoed, %d received compressed, close code received %u, sent %u\n",
         got, compressed_rx, ws_conn_close_code_received(c), ws_conn_close_code_sent(c));
  shutdown(fd, SHUT_WR);
  while (read(fd, buf, sizeof buf) > 0) {
  }
  close(fd);
  int ok = !ws_conn_failed(c) && ws_conn_close_code_received(c) == 1000 && got > 0 &&
           compressed_rx == got;
  ws_conn_transport_closed(c, WS_OK, NULL);
  ws_conn_free(c);
  return ok ? 0 : 9;
}
