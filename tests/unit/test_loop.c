/* src/loop: timers, posts from other threads, stop, and a loopback TCP echo through ws__sock. */
#include "loop/loop.h"
#include "loop/sock.h"
#include "wstest.h"

#include <poll.h>
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
  /* Timers count from the loop's cached time (taken in ws_loop_new, as libuv's uv_now), so
   * the stopwatch starts before the loop exists: starting it later let a slow (ASan, loaded)
   * setup make the run look shorter than the longest delay. */
  uint64_t t0 = ws__clock_ms();
  ws_loop *l = ws_loop_new(NULL);
  WS_CHECK(l != NULL);
  trace t = {{0}, 0};
  slot slots[6];
  for (int i = 0; i < 6; i++) {
    slots[i].t = &t;
    slots[i].label = rows[i].label;
    WS_CHECK(ws_loop_set_timeout(l, rows[i].delay, mark_slot, &slots[i]) > 0);
  }
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

/* Set up from inside a turn, where ws_loop_now() is the same for every call, so each timer's
 * deadline is exactly base + d. */
typedef struct {
  due_slot slots[200];
  int cleared;
} heap_case;

static void heap_setup(ws_loop *l, void *ud) {
  heap_case *hc = ud;
  uint64_t ids[200];
  uint32_t x = 12345;
  uint64_t base = ws_loop_now(l);
  for (int i = 0; i < 200; i++) {
    x = x * 1103515245u + 12345u;
    uint32_t d = (x >> 16) % 40;
    hc->slots[i].due = base + d;
    ids[i] = ws_loop_set_timeout(l, d, check_order, &hc->slots[i]);
  }
  for (int i = 0; i < 200; i += 3)
    hc->cleared += ws_loop_clear_timeout(l, ids[i]) == WS_OK;
}

WS_TEST(heap_keeps_order_under_cancel) {
  ws_loop *l = ws_loop_new(NULL);
  static heap_case hc;
  memset(&hc, 0, sizeof hc);
  last_fired = 0;
  fired_count = misordered = 0;
  ws_loop_set_timeout(l, 0, heap_setup, &hc);
  WS_CHECK_EQ_INT(ws_loop_run(l), WS_OK);
  WS_CHECK_EQ_INT(hc.cleared, 67);
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
  echo_peer *p = (echo_peer *)(void *)s; /* s is its first member */
  (void)detail;
  p->opened = err == WS_OK;
  p->open_err = err;
  if (err == WS_OK && p->out_len)
    ws__flush_mark(p->loop, &p->flush);
  if (err != WS_OK)
    ws__loop_unref(p->loop);
}
static void p_read(ws__sock *s, uint8_t *d, size_t n) {
  echo_peer *p = (echo_peer *)(void *)s; /* s is its first member */
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
  echo_peer *p = (echo_peer *)(void *)s; /* s is its first member */
  p->eof = true;
  if (p->is_server)
    ws__sock_shutdown_write(s); /* answer FIN with FIN; the client then closes */
  else {
    ws__sock_close(s);
    ws__loop_unref(p->loop);
  }
}
static void p_error(ws__sock *s, int err, const char *detail) {
  echo_peer *p = (echo_peer *)(void *)s; /* s is its first member */
  (void)err;
  (void)detail;
  p->errors++;
  ws__sock_close(s);
  ws__loop_unref(p->loop);
}
static void p_writable(ws__sock *s) { peer_write((echo_peer *)(void *)s); }

static const ws__sock_handler peer_h = {p_open, p_read, p_eof, p_error, p_writable, NULL, NULL};

typedef struct {
  ws__io io;
  ws_loop *loop;
  echo_peer *server;
} acceptor;

static void on_accept(ws__io *io, uint32_t ev) {
  (void)ev;
  acceptor *a = (acceptor *)io;
  int fd = accept4(io->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
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
  ws__sock_init(&cli.s, l, &peer_h);
  ws__sock_init(&srv.s, l, &peer_h);
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
  ws__sock_init(&cli.s, l, &peer_h);
  char ps[8];
  snprintf(ps, sizeof ps, "%u", port);
  ws__loop_ref(l);
  int rc = ws__sock_connect(&cli.s, "127.0.0.1", ps, NULL);
  if (rc == WS_OK)
    WS_CHECK_EQ_INT(ws_loop_run(l), WS_OK);
  else
    ws__loop_unref(l);
  WS_CHECK(rc == WS_ERR_CONNECT || cli.open_err == WS_ERR_CONNECT);
  WS_CHECK(strstr(ws__sock_detail(&cli.s), "refused") != NULL);
  ws_loop_free(l);
}

WS_TEST(resolve_failure_is_synchronous_with_text) {
  ws_loop *l = ws_loop_new(NULL);
  static echo_peer cli;
  memset(&cli, 0, sizeof cli);
  ws__sock_init(&cli.s, l, &peer_h);
  WS_CHECK_EQ_INT(ws__sock_connect(&cli.s, "no-such-host.invalid", "80", NULL), WS_ERR_RESOLVE);
  WS_CHECK(strstr(ws__sock_detail(&cli.s), "no-such-host.invalid") != NULL);
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

/* The time seen by I/O callbacks is the time they run at, not when epoll_wait began: after a
 * 300 ms sleep, a 100 ms timer set from a callback must still wait 100 ms. */
typedef struct {
  uint64_t cb_at, cb_now, fired_at;
} stale_state;

static void stale_fired(ws_loop *l, void *ud) {
  (void)l;
  ((stale_state *)ud)->fired_at = ws__clock_ms();
}

static void stale_post(ws_loop *l, void *ud) {
  stale_state *st = ud;
  st->cb_at = ws__clock_ms();
  st->cb_now = ws_loop_now(l);
  ws_loop_set_timeout(l, 100, stale_fired, st);
}

static void *late_poster(void *arg) {
  void **a = arg;
  usleep(300000);
  ws_loop_post(a[0], stale_post, a[1]);
  return NULL;
}

WS_TEST(callbacks_see_the_time_after_the_wait) {
  ws_loop *l = ws_loop_new(NULL);
  stale_state st = {0, 0, 0};
  uint64_t guard = ws_loop_set_timeout(l, 3000, keepalive, NULL);
  void *args[2] = {l, &st};
  pthread_t th;
  pthread_create(&th, NULL, late_poster, args);
  for (int i = 0; i < 100 && st.fired_at == 0; i++)
    ws_loop_run_once(l, 50);
  pthread_join(th, NULL);
  WS_CHECK_MSG(st.cb_at - st.cb_now < 20, "callback saw a clock %llu ms old",
               (unsigned long long)(st.cb_at - st.cb_now));
  WS_CHECK_MSG(st.fired_at - st.cb_at >= 95, "100 ms timer fired after %llu ms",
               (unsigned long long)(st.fired_at - st.cb_at));
  ws_loop_clear_timeout(l, guard);
  ws_loop_free(l);
}

/* Embedding: another loop polls ws_loop_fd() and calls ws_loop_run_once(loop, 0). */
static void count_post(ws_loop *l, void *ud) {
  (void)l;
  (*(int *)ud)++;
}

WS_TEST(embedding_through_the_epoll_fd) {
  ws_loop *l = ws_loop_new(NULL);
  int ran = 0;
  struct pollfd p = {ws_loop_fd(l), POLLIN, 0};
  WS_CHECK_EQ_INT(poll(&p, 1, 0), 0); /* nothing to do yet */
  WS_CHECK_EQ_INT(ws_loop_next_timeout(l), -1);
  WS_CHECK_EQ_INT(ws_loop_post(l, count_post, &ran), WS_OK);
  WS_CHECK_EQ_INT(poll(&p, 1, 1000), 1); /* the eventfd made the epoll fd readable */
  WS_CHECK(ws_loop_run_once(l, 0) >= 0);
  WS_CHECK_EQ_INT(ran, 1);
  ws_loop_set_timeout(l, 30, count_post, &ran);
  int t = ws_loop_next_timeout(l);
  WS_CHECK_MSG(t > 0 && t <= 30, "next timeout %d", t);
  WS_CHECK_EQ_INT(poll(&p, 1, t + 5), 0); /* timers do not wake the fd: the host loop waits t */
  WS_CHECK_EQ_INT(ws_loop_run_once(l, 0), 0);
  WS_CHECK_EQ_INT(ran, 2);
  ws_loop_free(l);
}

int main(void) { return ws_test_main(); }
