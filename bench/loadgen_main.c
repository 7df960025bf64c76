/* bench_loadgen — a WebSocket load generator built on wsclean's own sans-I/O core.
 *
 * Every connection is a ws_conn in client role driven by a small epoll loop in this file, after a
 * minimal client opening handshake (RFC 6455 4.1: GET + Upgrade; the reply's status must be 101;
 * Sec-WebSocket-Accept is not checked: this is a benchmark of servers we start ourselves).
 * Loopback only: the target host must be in 127.0.0.0/8.
 *
 * Modes (see usage()):
 *   echo   N connections, each sends K frames in one write and waits for the K echoes, again and
 *          again, for a duration or a message count; msgs/s, MB/s, and latency percentiles when
 *          K == 1 (one in flight per connection).
 *   churn  C slots at a time: connect + handshake + one echo + clean close (1000), the client
 *          waiting for the server to close TCP first; counts clean closes (client's view; the
 *          peers print their own count on SIGTERM).
 *   idle   N connections opened across several 127.0.0.x source addresses and held; with
 *          --server-pid, the server's VmRSS before and after gives bytes per idle connection.
 * Always reports its own CPU time (getrusage) and, with --server-pid, the server's (from
 * /proc/PID/stat), so a result bound by the load generator rather than the server is flagged.
 * Output: one line "result key=value ..." for bench/run.sh, plus a readable summary on stderr. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "base/alloc.h"
#include "wsclean/conn.h"
#include "wsclean/event.h"

/* The library's client handshake (builds the request, checks the 101 response and
 * Sec-WebSocket-Accept) once it is in the tree; until then a minimal one of our own. */
#ifdef WS_BENCH_HAVE_HS /* set by bench/CMakeLists.txt when include/wsclean/handshake.h exists */
#include "wsclean/handshake.h"
#endif

#define READ_BUF   (256u * 1024u)
#define MAX_SLICES 64
#define HS_MAX     2048       /* bytes of a handshake response we accept */
#define LAT_MAX    (4u << 20) /* latency samples kept (the first ones of the measured window) */

typedef enum { MODE_ECHO, MODE_CHURN, MODE_IDLE } lg_mode;
typedef enum { C_FREE, C_CONNECTING, C_HANDSHAKE, C_OPEN, C_CLOSING, C_DONE } lg_state;

typedef struct lg_opts {
  lg_mode mode;
  const char *host;
  int port;
  int conns;    /* echo/idle: connections; churn: slots (connections at a time) */
  int inflight; /* echo: frames per write and in flight per connection */
  size_t size;  /* payload bytes */
  bool binary;
  double duration; /* seconds measured (after warmup) */
  double warmup;
  uint64_t messages; /* echo: stop after this many echoes (0: duration bound) */
  int addrs;         /* idle: source addresses 127.0.0.2 .. 127.0.0.(1+addrs) */
  int open_at_once;  /* idle: connects in progress at once */
  double hold;       /* idle: seconds to hold the connections after measuring */
  int server_pid;
  double timeout; /* hard bound on the whole run, seconds */
} lg_opts;

struct lg;

typedef struct lg_conn {
  struct lg *lg;
  int fd;
  lg_state st;
  ws_conn *ws;
  uint32_t events; /* epoll interest */
  int outstanding; /* echoes awaited */
  uint64_t t_send; /* ns, when the batch was written (latency) */
  uint64_t t_start;
#ifdef WS_BENCH_HAVE_HS
  ws_client_handshake *hsk;
#else
  size_t hs_len;
  char hs[HS_MAX];
#endif
  bool closed_clean;
  bool shut_wr;
} lg_conn;

typedef struct lg_stats {
  uint64_t msgs, bytes, errors, bad_echo;
  uint64_t clean, unclean, hs_fail, connect_fail;
  uint64_t opened;
} lg_stats;

typedef struct lg {
  lg_opts o;
  int ep;
  struct sockaddr_in dst;
  lg_conn *conns;
  int nconns;
  uint8_t *rbuf;
  uint8_t *payload;
  uint64_t rng;
  bool measuring, running;
  lg_stats st;
  uint32_t *lat; /* ns */
  size_t nlat;
  int next_src;
  char url[64];
} lg;

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static double cpu_self_s(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
         (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* utime + stime of another process, seconds (/proc/PID/stat fields 14 and 15); -1 if unknown. */
static double cpu_pid_s(int pid) {
  if (pid <= 0)
    return -1;
  char path[64], buf[1024];
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  FILE *f = fopen(path, "r");
  if (!f)
    return -1;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  char *p = strrchr(buf, ')'); /* the command name may hold spaces */
  if (!p)
    return -1;
  unsigned long ut = 0, stt = 0;
  if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &stt) != 2)
    return -1;
  return (double)(ut + stt) / (double)sysconf(_SC_CLK_TCK);
}

/* VmRSS of a process in bytes; -1 if unknown. */
static long rss_pid(int pid) {
  if (pid <= 0)
    return -1;
  char path[64], line[256];
  snprintf(path, sizeof path, "/proc/%d/status", pid);
  FILE *f = fopen(path, "r");
  if (!f)
    return -1;
  long kb = -1;
  while (fgets(line, sizeof line, f))
    if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
      break;
  fclose(f);
  return kb < 0 ? -1 : kb * 1024;
}

/* Mask keys: xorshift64*, not cryptographic. RFC 6455 10.3 wants unpredictable keys to protect
 * intermediaries; a benchmark against our own loopback servers has none. */
static void lg_random(void *ud, uint8_t *out, size_t n) {
  lg *g = ud;
  for (size_t i = 0; i < n; i++) {
    g->rng ^= g->rng >> 12;
    g->rng ^= g->rng << 25;
    g->rng ^= g->rng >> 27;
    out[i] = (uint8_t)((g->rng * 2685821657736338717ull) >> 56);
  }
}

static void set_events(lg_conn *c, uint32_t ev) {
  if (c->events == ev)
    return;
  struct epoll_event e = {.events = ev, .data.ptr = c};
  epoll_ctl(c->lg->ep, EPOLL_CTL_MOD, c->fd, &e);
  c->events = ev;
}

static void conn_finish(lg_conn *c, int err);

/* Writes what the ws_conn has queued; arms EPOLLOUT when the socket is full. */
static void flush_out(lg_conn *c) {
  if (c->fd < 0 || !c->ws)
    return;
  for (;;) {
    ws_slice sl[MAX_SLICES];
    int n = ws_conn_pending_out(c->ws, sl, MAX_SLICES);
    if (n <= 0)
      break;
    struct iovec iov[MAX_SLICES];
    for (int i = 0; i < n; i++) {
      iov[i].iov_base = (void *)(uintptr_t)sl[i].data;
      iov[i].iov_len = sl[i].len;
    }
    ssize_t w = writev(c->fd, iov, n);
    if (w < 0) {
      if (errno == EAGAIN || errno == EINTR) {
        set_events(c, EPOLLIN | EPOLLOUT);
        return;
      }
      c->lg->st.errors++;
      conn_finish(c, WS_ERR_PROTO_EOF);
      return;
    }
    ws_conn_consume_out(c->ws, (size_t)w);
  }
  set_events(c, EPOLLIN);
  ws_transport_action a = ws_conn_transport(c->ws);
  if (a == WS_TRANSPORT_SHUTDOWN && !c->shut_wr) {
    shutdown(c->fd, SHUT_WR);
    c->shut_wr = true;
  } else if (a == WS_TRANSPORT_CLOSE) {
    conn_finish(c, WS_OK);
  }
}

static void send_batch(lg_conn *c) {
  lg *g = c->lg;
  ws_opcode op = g->o.binary ? WS_OP_BINARY : WS_OP_TEXT;
  for (int i = 0; i < g->o.inflight; i++) {
    if (ws_conn_send(c->ws, op, g->payload, g->o.size) != 0) {
      g->st.errors++;
      return;
    }
  }
  c->outstanding = g->o.inflight;
  c->t_send = now_ns();
  flush_out(c);
}

static int on_message(ws_conn *w, void *ud, ws_opcode op, const uint8_t *data, size_t len) {
  (void)w;
  (void)data;
  lg_conn *c = ud;
  lg *g = c->lg;
  if (len != g->o.size || op != (g->o.binary ? WS_OP_BINARY : WS_OP_TEXT))
    g->st.bad_echo++;
  if (g->measuring) {
    g->st.msgs++;
    g->st.bytes += len;
    if (g->o.inflight == 1 && g->nlat < LAT_MAX && g->o.mode == MODE_ECHO) {
      uint64_t d = now_ns() - c->t_send;
      g->lat[g->nlat++] = d > UINT32_MAX ? UINT32_MAX : (uint32_t)d;
    }
  }
  if (c->outstanding > 0)
    c->outstanding--;
  if (g->o.mode == MODE_CHURN) {
    ws_conn_close(c->ws, 1000, "", 0); /* RFC 6455 7.1.2: start the closing handshake */
    c->st = C_CLOSING;
  } else if (c->outstanding == 0 && g->running && g->o.mode == MODE_ECHO) {
    if (g->o.messages && g->st.msgs >= g->o.messages) {
      g->running = false;
    } else {
      c->outstanding = -1; /* sent after the input in hand is consumed: see on_readable */
    }
  }
  return 0;
}

static void on_close(ws_conn *w, void *ud, const ws_close_event *ev) {
  (void)w;
  lg_conn *c = ud;
  c->closed_clean = ws_close_event_was_clean(ev) && ws_close_event_code(ev) == 1000;
}

static const ws_conn_callbacks lg_callbacks = {.on_message = on_message, .on_close = on_close};

/* The TCP connection is gone: report it to the ws_conn (err as ws_conn_transport_closed wants),
 * count the outcome, free the slot. */
static void conn_finish(lg_conn *c, int err) {
  lg *g = c->lg;
  if (c->fd >= 0) {
    epoll_ctl(g->ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    c->fd = -1;
  }
#ifdef WS_BENCH_HAVE_HS
  if (c->hsk) {
    ws_client_handshake_free(c->hsk);
    c->hsk = NULL;
  }
#endif
  if (c->ws) {
    c->closed_clean = false;
    ws_conn_transport_closed(c->ws, err, NULL);
    if (c->closed_clean)
      g->st.clean++;
    else
      g->st.unclean++;
    ws_conn_free(c->ws);
    c->ws = NULL;
  }
  c->st = C_DONE;
}

static int start_connect(lg_conn *c) {
  lg *g = c->lg;
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -1;
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (g->o.mode == MODE_IDLE && g->o.addrs > 0) {
    /* spread over 127.0.0.2.. so more than one source port range is available */
    struct sockaddr_in src = {.sin_family = AF_INET};
    src.sin_addr.s_addr = htonl(0x7F000002u + (uint32_t)(g->next_src++ % g->o.addrs));
    setsockopt(fd, SOL_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&src, sizeof src) != 0) {
      close(fd);
      return -1;
    }
  }
  if (connect(fd, (struct sockaddr *)&g->dst, sizeof g->dst) != 0 && errno != EINPROGRESS) {
    close(fd);
    return -1;
  }
  c->fd = fd;
  c->st = C_CONNECTING;
#ifndef WS_BENCH_HAVE_HS
  c->hs_len = 0;
#endif
  c->shut_wr = false;
  c->outstanding = 0;
  c->t_start = now_ns();
  c->events = EPOLLOUT;
  struct epoll_event e = {.events = EPOLLOUT, .data.ptr = c};
  epoll_ctl(g->ep, EPOLL_CTL_ADD, fd, &e);
  return 0;
}

static void on_connected(lg_conn *c) {
  int err = 0;
  socklen_t l = sizeof err;
  getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &l);
  if (err) {
    c->lg->st.connect_fail++;
    conn_finish(c, WS_ERR_PROTO_EOF);
    return;
  }
#ifdef WS_BENCH_HAVE_HS
  ws_client_handshake_options ho;
  ws_client_handshake_options_init(&ho);
  ho.url = c->lg->url;
  ho.random = lg_random;
  ho.random_ud = c->lg;
  c->hsk = ws_client_handshake_new(NULL);
  if (!c->hsk || ws_client_handshake_start(c->hsk, &ho) != 0) {
    c->lg->st.hs_fail++;
    conn_finish(c, WS_ERR_NOMEM);
    return;
  }
  size_t rlen = 0;
  const uint8_t *req = ws_client_handshake_request(c->hsk, &rlen);
  if (write(c->fd, req, rlen) != (ssize_t)rlen) { /* a fresh socket takes it at once */
    c->lg->st.hs_fail++;
    conn_finish(c, WS_ERR_PROTO_EOF);
    return;
  }
#else
  /* RFC 6455 4.1: the client's opening handshake; the key is any 16 bytes, base64. */
  char req[512];
  int n =
      snprintf(req, sizeof req,
               "GET / HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
               c->lg->o.host, c->lg->o.port);
  if (write(c->fd, req, (size_t)n) != n) { /* a fresh socket takes 200 bytes at once */
    c->lg->st.hs_fail++;
    conn_finish(c, WS_ERR_PROTO_EOF);
    return;
  }
#endif
  c->st = C_HANDSHAKE;
  set_events(c, EPOLLIN);
}

static void on_open(lg_conn *c, uint8_t *extra, size_t extra_len) {
  lg *g = c->lg;
  ws_conn_options o;
  ws_conn_options_init(&o, WS_ROLE_CLIENT);
  o.random = lg_random;
  o.random_ud = g;
  o.max_message_size = 64u << 20;
  o.max_frame_size = 64u << 20;
  o.send_queue_limit = 256u << 20;
  o.close_timeout_ms = 2000;
  c->ws = ws_conn_new(&o, &lg_callbacks, c, now_ns() / 1000000u);
  if (!c->ws) {
    g->st.errors++;
    conn_finish(c, WS_ERR_NOMEM);
    return;
  }
  c->st = C_OPEN;
  g->st.opened++;
  if (extra_len)
    ws_conn_recv(c->ws, extra, extra_len);
  if (g->o.mode == MODE_ECHO || g->o.mode == MODE_CHURN) {
    int k = g->o.mode == MODE_CHURN ? 1 : g->o.inflight;
    int save = g->o.inflight;
    g->o.inflight = k;
    send_batch(c);
    g->o.inflight = save;
  }
}

#ifdef WS_BENCH_HAVE_HS
static void on_handshake_bytes(lg_conn *c) {
  lg *g = c->lg;
  ssize_t r = read(c->fd, g->rbuf, READ_BUF);
  if (r <= 0) {
    if (r < 0 && (errno == EAGAIN || errno == EINTR))
      return;
    g->st.hs_fail++;
    conn_finish(c, WS_ERR_PROTO_EOF);
    return;
  }
  size_t used = 0;
  int rc = ws_client_handshake_recv(c->hsk, g->rbuf, (size_t)r, &used);
  if (rc == WS_ERR_AGAIN)
    return;
  ws_client_handshake_free(c->hsk);
  c->hsk = NULL;
  if (rc != WS_OK) {
    g->st.hs_fail++;
    conn_finish(c, WS_ERR_PROTO_EOF);
    return;
  }
  /* bytes after the response head are the server's first frames */
  on_open(c, g->rbuf + used, (size_t)r - used);
}
#else
static void on_handshake_bytes(lg_conn *c) {
  ssize_t r = read(c->fd, c->hs + c->hs_len, sizeof c->hs - 1 - c->hs_len);
  if (r <= 0) {
    if (r < 0 && (errno == EAGAIN || errno == EINTR))
      return;
    c->lg->st.hs_fail++;
    conn_finish(c, WS_ERR_PROTO_EOF);
    return;
  }
  c->hs_len += (size_t)r;
  c->hs[c->hs_len] = 0;
  char *end = strstr(c->hs, "\r\n\r\n");
  if (!end) {
    if (c->hs_len >= sizeof c->hs - 1) {
      c->lg->st.hs_fail++;
      conn_finish(c, WS_ERR_PROTO_EOF);
    }
    return;
  }
  if (strncmp(c->hs, "HTTP/1.1 101", 12) != 0) {
    c->lg->st.hs_fail++;
    conn_finish(c, WS_ERR_PROTO_EOF);
    return;
  }
  size_t used = (size_t)(end + 4 - c->hs);
  size_t extra = c->hs_len - used;
  uint8_t tmp[HS_MAX];
  memcpy(tmp, c->hs + used, extra);
  on_open(c, tmp, extra);
}
#endif

static void on_readable(lg_conn *c) {
  lg *g = c->lg;
  for (int turns = 0; turns < 4 && c->fd >= 0; turns++) {
    ssize_t r = read(c->fd, g->rbuf, READ_BUF);
    if (r < 0) {
      if (errno == EAGAIN || errno == EINTR)
        break;
      conn_finish(c, WS_ERR_PROTO_EOF);
      return;
    }
    if (r == 0) {
      ws_conn_eof(c->ws);
      /* the FIN was expected when the closing handshake is done (the conn then asks to close) */
      conn_finish(c, ws_conn_transport(c->ws) == WS_TRANSPORT_KEEP ? WS_ERR_PROTO_EOF : WS_OK);
      return;
    }
    ws_conn_recv(c->ws, g->rbuf, (size_t)r);
    if ((size_t)r < READ_BUF)
      break;
  }
  if (c->fd < 0)
    return;
  if (c->outstanding < 0) {
    if (g->running)
      send_batch(c);
    else
      c->outstanding = 0;
  } else {
    flush_out(c);
  }
}

static void on_event(lg_conn *c, uint32_t ev) {
  switch (c->st) {
  case C_CONNECTING:
    if (ev & (EPOLLOUT | EPOLLERR | EPOLLHUP))
      on_connected(c);
    break;
  case C_HANDSHAKE:
    on_handshake_bytes(c);
    break;
  case C_OPEN:
  case C_CLOSING:
    if (ev & (EPOLLIN | EPOLLHUP | EPOLLERR))
      on_readable(c);
    if (c->fd >= 0 && (ev & EPOLLOUT))
      flush_out(c);
    break;
  default:
    break;
  }
}

static void tick_all(lg *g) {
  uint64_t ms = now_ns() / 1000000u;
  for (int i = 0; i < g->nconns; i++) {
    lg_conn *c = &g->conns[i];
    if (!c->ws || c->fd < 0)
      continue;
    if (ws_conn_next_deadline(c->ws) <= ms) {
      ws_conn_tick(c->ws, ms);
      flush_out(c);
    }
  }
}

/* Runs the loop until `until` (ns) or until stop() says so. */
static void run_loop(lg *g, uint64_t until, bool (*stop)(lg *)) {
  struct epoll_event evs[256];
  uint64_t last_tick = now_ns();
  while (now_ns() < until && !(stop && stop(g))) {
    int n = epoll_wait(g->ep, evs, 256, 10);
    for (int i = 0; i < n; i++)
      on_event(evs[i].data.ptr, evs[i].events);
    uint64_t t = now_ns();
    if (t - last_tick > 100000000u) {
      tick_all(g);
      last_tick = t;
    }
    if (g->o.mode == MODE_CHURN && g->running) {
      for (int i = 0; i < g->nconns; i++)
        if (g->conns[i].st == C_DONE || g->conns[i].st == C_FREE) {
          if (start_connect(&g->conns[i]) != 0) {
            g->st.connect_fail++;
            g->conns[i].st = C_DONE;
          }
        }
    }
  }
}

static int cmp_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}

static double pct(const uint32_t *v, size_t n, double p) {
  if (!n)
    return 0;
  size_t i = (size_t)(p / 100.0 * (double)(n - 1) + 0.5);
  return (double)v[i] / 1000.0; /* us */
}

static bool idle_open_done(lg *g) {
  uint64_t done = g->st.opened + g->st.hs_fail + g->st.connect_fail;
  return done >= (uint64_t)g->o.conns;
}

static bool echo_done(lg *g) { return !g->running; }

static void usage(void) {
  fprintf(stderr, "usage: bench_loadgen [--mode echo|churn|idle] [--host 127.0.0.1] --port P\n"
                  "  [--conns N (100)] [--inflight K (1)] [--size BYTES (20)] [--binary|--text]\n"
                  "  [--duration S (3)] [--warmup S (0.5)] [--messages M] [--server-pid PID]\n"
                  "  [--addrs A (4, idle)] [--open-at-once C (64, idle)] [--hold S (1, idle)]\n"
                  "  [--timeout S (60)]\n");
}

static int parse_args(lg_opts *o, int argc, char **argv) {
  *o = (lg_opts){.mode = MODE_ECHO,
                 .host = "127.0.0.1",
                 .conns = 100,
                 .inflight = 1,
                 .size = 20,
                 .duration = 3,
                 .warmup = 0.5,
                 .addrs = 4,
                 .open_at_once = 64,
                 .hold = 1,
                 .timeout = 60};
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define ARG(name) (strcmp(a, name) == 0 && v && ++i)
    if (ARG("--mode")) {
      if (strcmp(v, "echo") == 0)
        o->mode = MODE_ECHO;
      else if (strcmp(v, "churn") == 0)
        o->mode = MODE_CHURN;
      else if (strcmp(v, "idle") == 0)
        o->mode = MODE_IDLE;
      else
        return -1;
    } else if (ARG("--host"))
      o->host = v;
    else if (ARG("--port"))
      o->port = atoi(v);
    else if (ARG("--conns"))
      o->conns = atoi(v);
    else if (ARG("--inflight"))
      o->inflight = atoi(v);
    else if (ARG("--size"))
      o->size = (size_t)strtoull(v, NULL, 10);
    else if (ARG("--duration"))
      o->duration = atof(v);
    else if (ARG("--warmup"))
      o->warmup = atof(v);
    else if (ARG("--messages"))
      o->messages = strtoull(v, NULL, 10);
    else if (ARG("--server-pid"))
      o->server_pid = atoi(v);
    else if (ARG("--addrs"))
      o->addrs = atoi(v);
    else if (ARG("--open-at-once"))
      o->open_at_once = atoi(v);
    else if (ARG("--hold"))
      o->hold = atof(v);
    else if (ARG("--timeout"))
      o->timeout = atof(v);
    else if (strcmp(a, "--binary") == 0)
      o->binary = true;
    else if (strcmp(a, "--text") == 0)
      o->binary = false;
    else
      return -1;
#undef ARG
  }
  if (o->port <= 0 || o->port > 65535 || o->conns <= 0 || o->inflight <= 0 || o->addrs <= 0 ||
      o->open_at_once <= 0 || o->size > (64u << 20) || o->duration <= 0 || o->timeout <= 0)
    return -1;
  return 0;
}

static void raise_nofile(void) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

int main(int argc, char **argv) {
  lg g;
  memset(&g, 0, sizeof g);
  if (parse_args(&g.o, argc, argv) != 0) {
    usage();
    return 2;
  }
  g.dst.sin_family = AF_INET;
  g.dst.sin_port = htons((uint16_t)g.o.port);
  if (inet_pton(AF_INET, g.o.host, &g.dst.sin_addr) != 1 ||
      (ntohl(g.dst.sin_addr.s_addr) >> 24) != 127) {
    fprintf(stderr, "bench_loadgen: --host must be an IPv4 loopback address (127.0.0.0/8)\n");
    return 2;
  }
  snprintf(g.url, sizeof g.url, "ws://%s:%d/", g.o.host, g.o.port);
  raise_nofile();
  uint64_t seed = (uint64_t)(unsigned)getpid();
  g.rng = UINT64_C(0x9E3779B97F4A7C15) ^ seed;
  g.ep = epoll_create1(EPOLL_CLOEXEC);
  g.nconns = g.o.conns;
  g.conns = ws__calloc(NULL, (size_t)g.nconns, sizeof *g.conns);
  g.rbuf = ws__malloc(NULL, READ_BUF);
  g.payload = ws__malloc(NULL, g.o.size ? g.o.size : 1);
  if (g.o.mode == MODE_ECHO && g.o.inflight == 1)
    g.lat = ws__malloc(NULL, LAT_MAX * sizeof *g.lat);
  if (g.ep < 0 || !g.conns || !g.rbuf || !g.payload ||
      (g.o.mode == MODE_ECHO && g.o.inflight == 1 && !g.lat)) {
    fprintf(stderr, "bench_loadgen: out of memory\n");
    return 1;
  }
  /* text payloads are ASCII (valid UTF-8); binary ones cover every byte value */
  for (size_t i = 0; i < g.o.size; i++)
    g.payload[i] = g.o.binary ? (uint8_t)(i * 131u + 7u) : (uint8_t)('a' + i % 26u);
  for (int i = 0; i < g.nconns; i++) {
    g.conns[i].lg = &g;
    g.conns[i].fd = -1;
  }
  uint64_t t0 = now_ns();
  uint64_t hard_end = t0 + (uint64_t)(g.o.timeout * 1e9);
  const char *mode_name = g.o.mode == MODE_ECHO    ? "echo"
                          : g.o.mode == MODE_CHURN ? "churn"
                                                   : "idle";
  double ccpu0, scpu0, wall;
  long rss0 = -1, rss1 = -1;
  g.running = true;

  if (g.o.mode == MODE_IDLE) {
    rss0 = rss_pid(g.o.server_pid);
    /* open them open_at_once at a time: a listen backlog of 100-511 is common among the peers */
    int started = 0;
    while (started < g.nconns && now_ns() < hard_end) {
      uint64_t done = g.st.opened + g.st.hs_fail + g.st.connect_fail;
      while (started < g.nconns && (uint64_t)started - done < (uint64_t)g.o.open_at_once) {
        if (start_connect(&g.conns[started]) != 0)
          g.st.connect_fail++;
        started++;
      }
      run_loop(&g, now_ns() + 1000000u, NULL);
    }
    run_loop(&g, hard_end, idle_open_done);
    run_loop(&g, now_ns() + 1000000000u, NULL); /* let the server settle */
    ccpu0 = cpu_self_s();
    scpu0 = cpu_pid_s(g.o.server_pid);
    rss1 = rss_pid(g.o.server_pid);
    uint64_t m0 = now_ns();
    run_loop(&g, now_ns() + (uint64_t)(g.o.hold * 1e9), NULL);
    wall = (double)(now_ns() - m0) / 1e9;
  } else {
    if (g.o.mode == MODE_ECHO) {
      for (int i = 0; i < g.nconns; i++)
        if (start_connect(&g.conns[i]) != 0)
          g.st.connect_fail++;
      /* every connection open before the clock starts */
      run_loop(&g, t0 + 10000000000ull, idle_open_done);
    }
    g.measuring = false;
    run_loop(&g, now_ns() + (uint64_t)(g.o.warmup * 1e9), echo_done);
    memset(&g.st, 0, sizeof g.st);
    g.nlat = 0;
    g.measuring = true;
    ccpu0 = cpu_self_s();
    scpu0 = cpu_pid_s(g.o.server_pid);
    uint64_t m0 = now_ns();
    uint64_t m_end = g.o.messages ? hard_end : m0 + (uint64_t)(g.o.duration * 1e9);
    run_loop(&g, m_end < hard_end ? m_end : hard_end, echo_done);
    wall = (double)(now_ns() - m0) / 1e9;
    g.measuring = false;
    g.running = false;
  }
  lg_stats st = g.st; /* the measured window only */
  double ccpu = cpu_self_s() - ccpu0;
  double scpu = scpu0 >= 0 ? cpu_pid_s(g.o.server_pid) - scpu0 : -1;

  if (g.o.mode == MODE_CHURN) {
    /* let the cycles in progress finish (they are not counted) */
    g.measuring = false;
    bool busy = true;
    uint64_t drain_end = now_ns() + 3000000000ull;
    while (busy && now_ns() < drain_end) {
      run_loop(&g, now_ns() + 10000000u, NULL);
      busy = false;
      for (int i = 0; i < g.nconns; i++)
        if (g.conns[i].fd >= 0)
          busy = true;
    }
  }
  uint64_t count = g.o.mode == MODE_CHURN ? st.clean : st.msgs;
  double rate = wall > 0 ? (double)count / wall : 0;
  double client_util = wall > 0 ? ccpu / wall : 0;
  double server_util = wall > 0 && scpu >= 0 ? scpu / wall : -1;
  printf("result mode=%s conns=%d inflight=%d size=%zu binary=%d secs=%.3f", mode_name, g.o.conns,
         g.o.inflight, g.o.size, g.o.binary ? 1 : 0, wall);
  if (g.o.mode == MODE_IDLE) {
    long per = rss0 >= 0 && rss1 >= 0 && g.st.opened ? (rss1 - rss0) / (long)g.st.opened : -1;
    printf(" opened=%llu rss_before=%ld rss_after=%ld bytes_per_conn=%ld",
           (unsigned long long)g.st.opened, rss0, rss1, per);
  } else {
    printf(" count=%llu rate=%.1f MBps=%.2f", (unsigned long long)count, rate,
           (double)st.bytes / wall / 1e6);
  }
  if (g.o.mode == MODE_CHURN)
    printf(" clean=%llu unclean=%llu", (unsigned long long)st.clean,
           (unsigned long long)st.unclean);
  if (g.lat && g.nlat) {
    qsort(g.lat, g.nlat, sizeof *g.lat, cmp_u32);
    printf(" p50_us=%.1f p90_us=%.1f p99_us=%.1f p999_us=%.1f", pct(g.lat, g.nlat, 50),
           pct(g.lat, g.nlat, 90), pct(g.lat, g.nlat, 99), pct(g.lat, g.nlat, 99.9));
  }
  printf(" client_cpu=%.2f server_cpu=%.2f", client_util, server_util);
  if (scpu >= 0 && count && g.o.mode != MODE_IDLE)
    printf(" server_us_per_msg=%.3f", scpu * 1e6 / (double)count);
  if (count && g.o.mode != MODE_IDLE)
    printf(" client_us_per_msg=%.3f", ccpu * 1e6 / (double)count);
  /* the load generator used (nearly) all of its core: the server may be faster than shown */
  printf(" client_bound=%d", client_util > 0.9 ? 1 : 0);
  printf(" errors=%llu bad_echo=%llu hs_fail=%llu connect_fail=%llu\n",
         (unsigned long long)g.st.errors, (unsigned long long)g.st.bad_echo,
         (unsigned long long)g.st.hs_fail, (unsigned long long)g.st.connect_fail);
  fflush(stdout);

  for (int i = 0; i < g.nconns; i++) {
    lg_conn *c = &g.conns[i];
    if (c->fd >= 0)
      close(c->fd);
    if (c->ws)
      ws_conn_free(c->ws);
  }
  ws__free(NULL, g.lat);
  ws__free(NULL, g.payload);
  ws__free(NULL, g.rbuf);
  ws__free(NULL, g.conns);
  close(g.ep);
  return g.st.bad_echo || (g.o.mode != MODE_IDLE && count == 0) ? 1 : 0;
}
