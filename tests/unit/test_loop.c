/* src/loop: timers, posts from other threads, stop, and a loopback TCP echo through ws__sock. */
#include "loop/loop.h"
#include "loop/sock.h"
#include "wstest.h"

#include <pthread.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- timers ------------------------------------------------------------------------------ */
typedef struct {
  char order[64];
  int n;
} trace;

typedef struct {
  trace *t;
  char label;
} slot;

static void mark_slot(ws_loop *l, void *ud) {
  (void)l;
  slot *s = ud;
  if (s->t->n < 63)
    s->t->order[s->t->n++] = s->label;
}

WS_TEST(timers_fire_in_deadline_then_start_order) {
  static const struct {
    uint32_t delay;
    char label;
  } rows[] = {{30, 'd'}, {10, 'b'}, {0, 'a'}, {10, 'c'}, {50, 'f'}, {30, 'e'}};
  ws_loop *l = ws_loop_new(NULL);
  WS_CHECK(l != NULL);
  trace t = {{0}, 0};
  slot slots[6];
  for (int i = 0; i < 6; i++) {
    slots[i].t = &t;
    slots[i].label = rows[i].label;
    WS_CHECK(ws_loop_set_timeout(l, rows[i].delay, mark_slot, &slots[i]) > 0);
  }
  uint64_t t0 = ws__clock_ms();
  WS_CHECK_EQ_INT(ws_loop_run(l), WS_OK);
  uint64_t took = ws__clock_ms() - t0;
  WS_CHECK_EQ_STR(t.order, "abcdef");
  WS_CHECK_MSG(took >= 50 && took < 1000, "ran for %llu ms", (unsigned long long)took);
  ws_loop_free(l);
}

WS_TEST(clear_timeout_cancels_once) {
  ws_loop *l = ws_loop_new(NULL);
  trace t = {{0}, 0};
  slot a = {&t, 'a'}, b = {&t, 'b'}, c = {&t, 'c'};
  uint64_t ia = ws_loop_set_timeout(l, 5, mark_slot, &a);
  uint64_t ib = ws_loop_set_timeout(l, 1, mark_slot, &b);
  uint64_t ic = ws_loop_set_timeout(l, 3, mark_slot, &c);
  WS_CHECK(ia && ib && ic && ia != ib);
  WS_CHECK_EQ_INT(ws_loop_clear_timeout(l, ib), WS_OK);
  WS_CHECK_EQ_INT(ws_loop_clear_timeout(l, ib), WS_ERR_NOT_FOUND);
  WS_CHECK_EQ_INT(ws_loop_clear_timeout(l, 9999), WS_ERR_NOT_FOUND);
  WS_CHECK_EQ_INT(ws_loop_run(l), WS_OK);
  WS_CHECK_EQ_STR(t.order, "ca");
  WS_CHECK_EQ_INT(ws_loop_clear_timeout(l, ia), WS_ERR_NOT_FOUND); /* already fired */
  ws_loop_free(l);
}

/* Many timers in random order come out sorted (exercises the heap's up/down moves). */
static uint64_t last_fired;
static int fired_count, misordered;
typedef struct {
  uint64_t due;
} due_slot;
static void check_order(ws_loop *l, void *ud) {
  (void)l;
  due_slot *d = ud;
  if (d->due < last_fired)
    misordered++;
  last_fired = d->due;
  fired_count++;
}

WS_TEST(heap_keeps_order_under_cancel) {
  ws_loop *l = ws_loop_new(NULL);
  due_slot slots[200];
  uint64_t ids[200];
  uint32_t x = 12345;
  uint64_t base = ws_loop_now(l);
  for (int i = 0; i < 200; i++) {
    x = x * 1103515245u + 12345u;
    uint32_t d = (x >> 16) % 40;
    slots[i].due = base + d;
    ids[i] = ws_loop_set_timeout(l, d, check_order, &slots[i]);
  }
  for (int i = 0; i < 200; i += 3)
    WS_CHECK_EQ_INT(ws_loop_clear_timeout(l, ids[i]), WS_OK);
  last_fired = 0;
  fired_count = misordered = 0;
  WS_CHECK_EQ_INT(ws_loop_run(l), WS_OK);
  WS_CHECK_EQ_INT(fired_count, 200 - 67);
  WS_CHECK_EQ_INT(misordered, 0);
  ws_loop_free(l);
}

/* ---- posts from another thread ----------------------------------------------------------- */
typedef struct {
  ws_loop *loop;
  int received;
  int last;
  int out_of_order;
  pthread_t loop_thread;
  int wrong_thread;
} post_state;

typedef struct {
  post_state *st;
  int seq;
} post_msg;

static post_msg msgs[1000];

static void on_post(ws_loop *l, void *ud) {
  post_msg *m = ud;
  post_state *st = m->st;
  if (!pthread_equal(pthread_self(), st->loop_thread))
    st->wrong_thread++;
  if (m->seq != st->last + 1)
    st->out_of_order++;
  st->last = m->seq;
  if (++st->received == 1000)
    ws_loop_stop(l);
}

static void *poster(void *arg) {
  post_state *st = arg;
  for (int i = 0; i < 1000; i++) {
    msgs[i].st = st;
    msgs[i].seq = i + 1;
    while (ws_loop_post(st->loop, on_post, &msgs[i]) != WS_OK)
      usleep(100);
  }
  return NULL;
}

static void keepalive(ws_loop *l, void *ud) {
  (void)l;
  (void)ud; /* a 5 s timer keeps the loop running and bounds the test */
}

WS_TEST(post_from_another_thread_runs_in_order_on_loop_thread) {
  post_state st = {0};
  st.loop = ws_loop_new(NULL);
  st.loop_thread = pthread_self();
  uint64_t guard = ws_loop_set_timeout(st.loop, 5000, keepalive, NULL);
  pthread_t th;
  WS_CHECK_EQ_INT(pthread_create(&th, NULL, poster, &st), 0);
  WS_CHECK_EQ_INT(ws_loop_run(st.loop), WS_OK);
  pthread_join(th, NULL);
  WS_CHECK_EQ_INT(st.received, 1000);
  WS_CHECK_EQ_INT(st.out_of_order, 0);
  WS_CHECK_EQ_INT(st.wrong_thread, 0);
  ws_loop_clear_timeout(st.loop, guard);
  ws_loop_free(st.loop);
}

static void *stopper(void *arg) {
  usleep(20000);
  ws_loop_stop(arg);
  return NULL;
}

WS_TEST(stop_from_another_thread_wakes_a_sleeping_loop) {
  ws_loop *l = ws_loop_new(NULL);
  ws_loop_set_timeout(l, 5000, keepalive, NULL);
  pthread_t th;
  pthread_create(&th, NULL, stopper, l);
  uint64_t t0 = ws__clock_ms();
  WS_CHECK_EQ_INT(ws_loop_run(l), WS_OK);
  WS_CHECK(ws__clock_ms() - t0 < 2000);
  pthread_join(th, NULL);
  WS_CHECK_EQ_INT(ws_loop_post(l, keepalive, NULL), WS_OK); /* dropped at free, not leaked */
  ws_loop_free(l); /* frees the pending 5 s timer too (ASan checks) */
}

/* ---- a loopback TCP echo through ws__sock ---------------------------------------------------- */
typedef struct echo_peer {
  ws__sock s;
  ws_loop *loop;
  uint8_t out[1 << 16];
  size_t out_len, out_off;
  ws__flush flush;
  bool opened;
  int open_err;
  size_t got;
  uint8_t in[1 << 16];
  bool eof;
  int errors;
  bool is_server;
} echo_peer;

static void peer_write(echo_peer *p) {
  if (p->s.state != WS__SOCK_OPEN)
    return;
  ws_slice sl = {p->out + p->out_off, p->out_len - p->out_off};
  if (sl.len == 0)
    return;
  long w = ws__sock_write(&p->s, &sl, 1);
  if (w > 0)
    p->out_off += (size_t)w;
}
static void peer_flush(ws__flush *f) {
  echo_peer *p = (echo_peer *)((char *)f - offsetof(echo_peer, flush));
  peer_write(p);
  if (!p->is_server && p->out_off == p->out_len && p->got == p->out_len)
    ws__sock_shutdown_write(&p->s);
}
static void p_open(ws__sock *s, int err, const char *detail) {
  echo_peer *p = s->owner;
  (void)detail;
  p->opened = err == WS_OK;
  p->open_err = err;
  if (err == WS_OK && p->out_len)
    ws__flush_mark(p->loop, &p->flush);
  if (err != WS_OK)
    ws__loop_unref(p->loop);
}
static void p_read(ws__sock *s, uint8_t *d, size_t n) {
  echo_peer *p = s->owner;
  if (p->is_server) { /* echo back */
    memcpy(p->out + p->out_len, d, n);
    p->out_len += n;
  } else {
    memcpy(p->in + p->got, d, n);
  }
  p->got += n;
  ws__flush_mark(p->loop, &p->flush);
}
static void p_eof(ws__sock *s) {
  echo_peer *p = s->owner;
  p->eof = true;
  if (p->is_server)
    ws__sock_shutdown_write(s); /* answer FIN with FIN; the client then closes */
  else {
    ws__sock_close(s);
    ws__loop_unref(p->loop);
  }
}
static void p_error(ws__sock *s, int err, const char *detail) {
  echo_peer *p = s->owner;
  (void)err;
  (void)detail;
  p->errors++;
  ws__sock_close(s);
  ws__loop_unref(p->loop);
}
static void p_writable(ws__sock *s) { peer_write(s->owner); }

static const ws__sock_handler peer_h = {p_open, p_read, p_eof, p_error, p_writable};

typedef struct {
  ws__io io;
  ws_loop *loop;
  echo_peer *server;
} acceptor;

static void on_accept(ws__io *io, uint32_t ev) {
  (void)ev;
  acceptor *a = (acceptor *)io;
  int fd = accept4(io->fd, NULL, NULL, SOCK_CLOEXEC);
  if (fd < 0)
    return;
  ws__sock_accept(&a->server->s, fd, NULL);
  ws__io_stop(a->loop, io);
}

static void echo_over(const char *host) {
  ws_loop *l = ws_loop_new(NULL);
  char detail[256];
  uint16_t port = 0;
  int lfd = ws__listen(host, 0, false, 16, &port, detail, sizeof detail);
  WS_CHECK_MSG(lfd >= 0, "listen %s: %s", host, detail);
  if (lfd < 0) {
    ws_loop_free(l);
    return;
  }
  static echo_peer cli, srv;
  memset(&cli, 0, sizeof cli);
  memset(&srv, 0, sizeof srv);
  cli.loop = srv.loop = l;
  srv.is_server = true;
  cli.flush.cb = srv.flush.cb = peer_flush;
  ws__sock_init(&cli.s, l, &peer_h, &cli);
  ws__sock_init(&srv.s, l, &peer_h, &srv);
  for (size_t i = 0; i < 40000; i++)
    cli.out[i] = (uint8_t)(i * 7);
  cli.out_len = 40000;
  acceptor a = {{0}, l, &srv};
  WS_CHECK_EQ_INT(ws__io_start(l, &a.io, lfd, on_accept, WS__IO_READ), WS_OK);
  char ps[8];
  snprintf(ps, sizeof ps, "%u", port);
  ws__loop_ref(l);
  WS_CHECK_EQ_INT(ws__sock_connect(&cli.s, host, ps, NULL), WS_OK);
  for (int turns = 0; turns < 2000 && (cli.s.state != WS__SOCK_CLOSED); turns++)
    WS_CHECK(ws_loop_run_once(l, 100) >= 0);
  WS_CHECK(cli.opened);
  WS_CHECK_EQ_INT(cli.got, 40000);
  WS_CHECK_EQ_MEM(cli.in, cli.got, cli.out, cli.out_len);
  WS_CHECK(cli.eof);
  WS_CHECK(srv.eof);
  WS_CHECK_EQ_INT(cli.errors, 0);
  ws__sock_close(&srv.s);
  ws__io_stop(l, &a.io);
  close(lfd);
  ws_loop_free(l);
}

WS_TEST(tcp_echo_ipv4) { echo_over("127.0.0.1"); }
WS_TEST(tcp_echo_ipv6) { echo_over("::1"); }

WS_TEST(connect_refused_reports_through_on_open) {
  ws_loop *l = ws_loop_new(NULL);
  char detail[256];
  uint16_t port = 0;
  int lfd = ws__listen("127.0.0.1", 0, false, 1, &port, detail, sizeof detail);
  close(lfd); /* a port that was free a moment ago: nothing listens there now */
  static echo_peer cli;
  memset(&cli, 0, sizeof cli);
  cli.loop = l;
  cli.flush.cb = peer_flush;
  ws__sock_init(&cli.s, l, &peer_h, &cli);
  char ps[8];
  snprintf(ps, sizeof ps, "%u", port);
  ws__loop_ref(l);
  int rc = ws__sock_connect(&cli.s, "127.0.0.1", ps, NULL);
  if (rc == WS_OK)
    WS_CHECK_EQ_INT(ws_loop_run(l), WS_OK);
  else
    ws__loop_unref(l);
  WS_CHECK(rc == WS_ERR_CONNECT || cli.open_err == WS_ERR_CONNECT);
  WS_CHECK(strstr(cli.s.detail, "refused") != NULL);
  ws_loop_free(l);
}

WS_TEST(resolve_failure_is_synchronous_with_text) {
  ws_loop *l = ws_loop_new(NULL);
  static echo_peer cli;
  memset(&cli, 0, sizeof cli);
  ws__sock_init(&cli.s, l, &peer_h, &cli);
  WS_CHECK_EQ_INT(ws__sock_connect(&cli.s, "no-such-host.invalid", "80", NULL), WS_ERR_RESOLVE);
  WS_CHECK(strstr(cli.s.detail, "no-such-host.invalid") != NULL);
  ws_loop_free(l);
}

WS_TEST(reuse_port_lets_two_listeners_share_a_port) {
  char detail[256];
  uint16_t port = 0, port2 = 0;
  int a = ws__listen("127.0.0.1", 0, true, 4, &port, detail, sizeof detail);
  WS_CHECK(a >= 0);
  int b = ws__listen("127.0.0.1", port, true, 4, &port2, detail, sizeof detail);
  WS_CHECK_MSG(b >= 0, "%s", detail);
  WS_CHECK_EQ_INT(port2, port);
  int c = ws__listen("127.0.0.1", port, false, 4, &port2, detail, sizeof detail);
  WS_CHECK_EQ_INT(c, WS_ERR_LISTEN); /* without SO_REUSEPORT the port is taken */
  close(a);
  if (b >= 0)
    close(b);
}

int main(void) { return ws_test_main(); }
