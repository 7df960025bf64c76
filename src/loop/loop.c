/* The event loop: timers, posts from other threads, end-of-turn flush and deferred frees.
 * The OS mechanism is in loop_epoll.c; docs/internals/loop.md explains the turn. */
#include "loop/loop.h"

#include "base/alloc.h"

#include <errno.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#define WS__RBUF_SIZE (64u * 1024u)

/* A post, allocated by the posting thread, freed by the loop thread. */
typedef struct post_node {
  struct post_node *next;
  ws_loop_fn fn;
  void *ud;
} post_node;

/* An application timer (ws_loop_set_timeout). */
typedef struct app_timer {
  ws__timer t; /* first: the heap holds &t */
  ws_loop *loop;
  uint64_t id;
  ws_loop_fn fn;
  void *ud;
} app_timer;

struct ws_loop {
  const ws_allocator *alloc;
  ws__backend *be;
  int wakefd;
  ws__io wake_io;

  ws__timer **heap;
  size_t nheap, capheap;
  uint64_t timer_seq;
  uint64_t next_app_timer_id;
  uint64_t now;
  bool in_turn; /* inside ws_loop_run_once: `now` is the turn's start; outside it is stale */

  pthread_mutex_t mu; /* guards posts_head/posts_tail/closed */
  post_node *posts_head, *posts_tail;
  bool closed;
  atomic_bool stop;
  atomic_bool wake_pending; /* coalesces eventfd writes */

  ws__flush *flush_head;
  ws__deferred *defer_head, *defer_tail;
  /* ios with input decrypted but not delivered (TLS): called again next turn. "batch" is the
   * list being run this turn, "next" collects marks for the following one. */
  ws__io *again_next_head, *again_batch;

  long refs;
  uint8_t *rbuf;
  size_t rbuf_cap;    /* WS__RBUF_SIZE; tests shrink it to reach the partial-read paths */
  ws__handle handles; /* sentinel of the list of objects ws_loop_free must cut */
};

/* ---- clock and randomness ---------------------------------------------------------------- */
uint64_t ws__clock_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void ws__random_bytes(void *ud, uint8_t *out, size_t n) {
  (void)ud;
  while (n > 0) {
    ssize_t r = getrandom(out, n, 0);
    if (r < 0) {
      if (errno == EINTR)
        continue;
      /* Only masking keys come from here (RFC 6455 10.3: unpredictable, not secret); a kernel
       * without getrandom still gets a varying key from the clock rather than a crash. */
      uint64_t x = ws__clock_ms() * 0x9E3779B97F4A7C15u;
      for (; n > 0; n--, out++, x = x * 6364136223846793005u + 1442695040888963407u)
        *out = (uint8_t)(x >> 56);
      return;
    }
    out += r;
    n -= (size_t)r;
  }
}

/* ---- timer heap ------------------------------------------------------------------------- */
static bool timer_less(const ws__timer *a, const ws__timer *b) {
  return a->when < b->when || (a->when == b->when && a->seq < b->seq);
}

static void heap_place(ws_loop *l, size_t i, ws__timer *t) {
  l->heap[i] = t;
  t->idx = i;
}

static void heap_up(ws_loop *l, size_t i) {
  ws__timer *t = l->heap[i];
  while (i > 0) {
    size_t p = (i - 1) / 2;
    if (!timer_less(t, l->heap[p]))
      break;
    heap_place(l, i, l->heap[p]);
    i = p;
  }
  heap_place(l, i, t);
}

static void heap_down(ws_loop *l, size_t i) {
  ws__timer *t = l->heap[i];
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= l->nheap)
      break;
    if (c + 1 < l->nheap && timer_less(l->heap[c + 1], l->heap[c]))
      c++;
    if (!timer_less(l->heap[c], t))
      break;
    heap_place(l, i, l->heap[c]);
    i = c;
  }
  heap_place(l, i, t);
}

void ws__timer_stop(ws_loop *l, ws__timer *t) {
  if (t->idx == WS__TIMER_IDLE)
    return;
  size_t i = t->idx;
  t->idx = WS__TIMER_IDLE;
  ws__timer *last = l->heap[--l->nheap];
  if (i == l->nheap)
    return;
  heap_place(l, i, last);
  heap_up(l, i);
  heap_down(l, last->idx);
}

int ws__timer_start_at(ws_loop *l, ws__timer *t, uint64_t when) {
  ws__timer_stop(l, t);
  if (l->nheap == l->capheap) {
    size_t cap = l->capheap ? l->capheap * 2 : 16;
    ws__timer **h = ws__realloc(l->alloc, l->heap, cap * sizeof *h);
    if (!h)
      return WS_ERR_NOMEM;
    l->heap = h;
    l->capheap = cap;
  }
  t->when = when;
  t->seq = l->timer_seq++;
  l->heap[l->nheap] = t;
  t->idx = l->nheap++;
  heap_up(l, t->idx);
  return WS_OK;
}

static void run_timers(ws_loop *l) {
  /* A timer started by a callback for "now" waits for the next turn: seq bounds the batch. */
  uint64_t limit = l->timer_seq;
  while (l->nheap > 0) {
    ws__timer *t = l->heap[0];
    if (t->when > l->now || t->seq >= limit)
      break;
    ws__timer_stop(l, t);
    t->cb(t);
  }
}

/* ---- application timers ----------------------------------------------------------------- */
static void app_timer_fire(ws__timer *t) {
  app_timer *a = (app_timer *)t;
  ws_loop *l = a->loop;
  ws_loop_fn fn = a->fn;
  void *ud = a->ud;
  ws__free(l->alloc, a);
  l->refs--;
  fn(l, ud);
}

uint64_t ws_loop_set_timeout(ws_loop *l, uint32_t delay_ms, ws_loop_fn fn, void *ud) {
  if (!l || !fn || delay_ms > 0x80000000u)
    return 0;
  app_timer *a = ws__malloc(l->alloc, sizeof *a);
  if (!a)
    return 0;
  ws__timer_init(&a->t, app_timer_fire);
  a->loop = l;
  a->id = ++l->next_app_timer_id;
  a->fn = fn;
  a->ud = ud;
  if (ws__timer_start_at(l, &a->t, ws_loop_now(l) + delay_ms) != WS_OK) {
    ws__free(l->alloc, a);
    return 0;
  }
  l->refs++;
  return a->id;
}

int ws_loop_clear_timeout(ws_loop *l, uint64_t id) {
  for (size_t i = 0; l && i < l->nheap; i++) {
    if (l->heap[i]->cb != app_timer_fire)
      continue;
    app_timer *a = (app_timer *)l->heap[i];
    if (a->id == id) {
      ws__timer_stop(l, &a->t);
      ws__free(l->alloc, a);
      l->refs--;
      return WS_OK;
    }
  }
  return WS_ERR_NOT_FOUND;
}

/* ---- descriptors ------------------------------------------------------------------------ */
int ws__io_start(ws_loop *l, ws__io *io, int fd, ws__io_cb cb, uint32_t want) {
  io->fd = fd;
  io->cb = cb;
  io->registered = false;
  io->want = 0;
  return ws__backend_ctl(l->be, io, want);
}

int ws__io_set(ws_loop *l, ws__io *io, uint32_t want) {
  if (io->registered && io->want == want)
    return WS_OK;
  return ws__backend_ctl(l->be, io, want);
}

static void again_remove(ws__io **head, ws__io *io) {
  for (ws__io **p = head; *p; p = &(*p)->again_next)
    if (*p == io) {
      *p = io->again_next;
      break;
    }
}

void ws__io_stop(ws_loop *l, ws__io *io) {
  ws__backend_del(l->be, io);
  if (io->again) {
    again_remove(&l->again_next_head, io);
    again_remove(&l->again_batch, io);
    io->again = false;
    io->again_next = NULL;
  }
}

void ws__again_mark(ws_loop *l, ws__io *io) {
  if (io->again)
    return;
  io->again = true;
  io->again_next = l->again_next_head;
  l->again_next_head = io;
}

/* ---- end of turn ------------------------------------------------------------------------ */
void ws__flush_mark(ws_loop *l, ws__flush *f) {
  if (f->queued)
    return;
  f->queued = true;
  f->next = l->flush_head;
  l->flush_head = f;
}

void ws__flush_unmark(ws_loop *l, ws__flush *f) {
  if (!f->queued)
    return;
  for (ws__flush **p = &l->flush_head; *p; p = &(*p)->next) {
    if (*p == f) {
      *p = f->next;
      break;
    }
  }
  f->queued = false;
  f->next = NULL;
}

void ws__defer(ws_loop *l, ws__deferred *d) {
  d->next = NULL;
  if (l->defer_tail)
    l->defer_tail->next = d;
  else
    l->defer_head = d;
  l->defer_tail = d;
}

static void run_flush(ws_loop *l) {
  /* Flushing may mark more (a write error closes a connection that then queues nothing), so
   * take the list and loop until it is empty. */
  while (l->flush_head) {
    ws__flush *f = l->flush_head;
    l->flush_head = f->next;
    f->queued = false;
    f->next = NULL;
    f->cb(f);
  }
}

static void run_deferred(ws_loop *l) {
  while (l->defer_head) {
    ws__deferred *d = l->defer_head;
    l->defer_head = d->next;
    if (!l->defer_head)
      l->defer_tail = NULL;
    d->fn(d);
  }
}

/* ---- posts and wakeup ------------------------------------------------------------------- */
static void wake_cb(ws__io *io, uint32_t events) {
  (void)events;
  ws_loop *l = (ws_loop *)((char *)io - offsetof(ws_loop, wake_io));
  uint64_t v;
  while (read(l->wakefd, &v, sizeof v) < 0 && errno == EINTR) {
  }
  atomic_store(&l->wake_pending, false);
  pthread_mutex_lock(&l->mu);
  post_node *n = l->posts_head;
  l->posts_head = l->posts_tail = NULL;
  pthread_mutex_unlock(&l->mu);
  while (n) {
    post_node *next = n->next;
    n->fn(l, n->ud);
    ws__free(l->alloc, n);
    n = next;
  }
}

static void wake(ws_loop *l) {
  if (atomic_exchange(&l->wake_pending, true))
    return;
  uint64_t one = 1;
  while (write(l->wakefd, &one, sizeof one) < 0 && errno == EINTR) {
  }
}

int ws_loop_post(ws_loop *l, ws_loop_fn fn, void *ud) {
  if (!l || !fn)
    return WS_ERR_INVAL;
  post_node *n = ws__malloc(l->alloc, sizeof *n);
  if (!n)
    return WS_ERR_NOMEM;
  n->next = NULL;
  n->fn = fn;
  n->ud = ud;
  pthread_mutex_lock(&l->mu);
  if (l->closed) {
    pthread_mutex_unlock(&l->mu);
    ws__free(l->alloc, n);
    return WS_ERR_CLOSED;
  }
  if (l->posts_tail)
    l->posts_tail->next = n;
  else
    l->posts_head = n;
  l->posts_tail = n;
  pthread_mutex_unlock(&l->mu);
  wake(l);
  return WS_OK;
}

void ws_loop_stop(ws_loop *l) {
  if (!l)
    return;
  atomic_store(&l->stop, true);
  wake(l);
}

/* ---- the loop --------------------------------------------------------------------------- */
ws_loop *ws_loop_new(const ws_allocator *alloc) {
  ws_loop *l = ws__calloc(alloc, 1, sizeof *l);
  if (!l)
    return NULL;
  l->alloc = alloc;
  l->wakefd = -1;
  l->handles.next = l->handles.prev = &l->handles;
  atomic_init(&l->stop, false);
  atomic_init(&l->wake_pending, false);
  if (pthread_mutex_init(&l->mu, NULL) != 0) {
    ws__free(alloc, l);
    return NULL;
  }
  l->rbuf = ws__malloc(alloc, WS__RBUF_SIZE);
  l->rbuf_cap = WS__RBUF_SIZE;
  l->be = ws__backend_new(alloc);
  l->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (!l->rbuf || !l->be || l->wakefd < 0 ||
      ws__io_start(l, &l->wake_io, l->wakefd, wake_cb, WS__IO_READ) != WS_OK) {
    l->closed = true;
    ws_loop_free(l);
    return NULL;
  }
  l->now = ws__clock_ms();
  return l;
}

void ws_loop_free(ws_loop *l) {
  if (!l)
    return;
  pthread_mutex_lock(&l->mu);
  l->closed = true;
  post_node *n = l->posts_head;
  l->posts_head = l->posts_tail = NULL;
  pthread_mutex_unlock(&l->mu);
  while (n) {
    post_node *next = n->next;
    ws__free(l->alloc, n);
    n = next;
  }
  /* Sockets and servers still open are cut without events (each unlinks itself). */
  while (l->handles.next != &l->handles)
    l->handles.next->cut(l->handles.next);
  run_deferred(l);
  while (l->nheap > 0) {
    ws__timer *t = l->heap[l->nheap - 1];
    ws__timer_stop(l, t);
    if (t->cb == app_timer_fire)
      ws__free(l->alloc, t);
  }
  run_deferred(l);
  if (l->wakefd >= 0)
    close(l->wakefd);
  ws__backend_free(l->alloc, l->be);
  pthread_mutex_destroy(&l->mu);
  ws__free(l->alloc, l->heap);
  ws__free(l->alloc, l->rbuf);
  ws__free(l->alloc, l);
}

int ws_loop_fd(const ws_loop *l) { return ws__backend_fd(l->be); }

static bool posts_pending(ws_loop *l) {
  pthread_mutex_lock(&l->mu);
  bool p = l->posts_head != NULL;
  pthread_mutex_unlock(&l->mu);
  return p;
}

int ws_loop_next_timeout(ws_loop *l) {
  if (l->again_next_head || l->flush_head || l->defer_head)
    return 0;
  if (l->nheap == 0)
    return -1;
  uint64_t now = ws__clock_ms();
  uint64_t when = l->heap[0]->when;
  if (when <= now)
    return 0;
  uint64_t d = when - now;
  return d > 0x7fffffff ? 0x7fffffff : (int)d;
}

int ws_loop_run_once(ws_loop *l, int timeout_ms) {
  int t = ws_loop_next_timeout(l);
  if (timeout_ms >= 0 && (t < 0 || timeout_ms < t))
    t = timeout_ms;
  l->in_turn = true;
  int rc = ws__backend_poll(l->be, t, &l->now);
  if (rc < 0) {
    l->in_turn = false;
    return rc;
  }
  /* Inputs that TLS decrypted but the shared buffer could not take last turn. */
  l->again_batch = l->again_next_head;
  l->again_next_head = NULL;
  while (l->again_batch) {
    ws__io *io = l->again_batch;
    l->again_batch = io->again_next;
    io->again = false;
    io->again_next = NULL;
    io->cb(io, WS__IO_READ);
  }
  run_timers(l);
  run_flush(l);
  run_deferred(l);
  l->in_turn = false;
  return l->refs > 0 || l->again_next_head || posts_pending(l);
}

int ws_loop_run(ws_loop *l) {
  if (!l)
    return WS_ERR_INVAL;
  l->now = ws__clock_ms();
  for (;;) {
    if (atomic_exchange(&l->stop, false))
      break;
    if (l->refs <= 0 && !l->again_next_head && !posts_pending(l))
      break;
    int rc = ws_loop_run_once(l, -1);
    if (rc < 0)
      return rc;
  }
  return WS_OK;
}

/* Inside a turn every caller sees the same time (the turn's start, as libuv's uv_now); outside
 * one (setting up before ws_loop_run, after it returned) the cached time may be old, so the
 * clock is read: a 50 ms timer set then really waits 50 ms. */
uint64_t ws_loop_now(const ws_loop *l) { return l->in_turn ? l->now : ws__clock_ms(); }

void ws__loop_ref(ws_loop *l) { l->refs++; }
void ws__loop_unref(ws_loop *l) { l->refs--; }
const ws_allocator *ws__loop_alloc(const ws_loop *l) { return l->alloc; }
uint8_t *ws__loop_rbuf(ws_loop *l, size_t *cap) {
  *cap = l->rbuf_cap;
  return l->rbuf;
}

void ws__loop_set_rbuf_cap(ws_loop *l, size_t cap) {
  l->rbuf_cap = cap == 0 || cap > WS__RBUF_SIZE ? WS__RBUF_SIZE : cap;
}

void ws__handle_link(ws_loop *l, ws__handle *h, void (*cut)(ws__handle *h)) {
  h->cut = cut;
  h->prev = &l->handles;
  h->next = l->handles.next;
  l->handles.next->prev = h;
  l->handles.next = h;
}

void ws__handle_unlink(ws__handle *h) {
  if (!h->next)
    return;
  h->prev->next = h->next;
  h->next->prev = h->prev;
  h->next = h->prev = NULL;
}
