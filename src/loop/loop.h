/* src/loop — the event loop's internal interface (the public part is in wsclean/wsclean.h).
 *
 * One loop per thread. A turn of the loop is:
 *   1. epoll_wait (timeout = the earliest timer, 0 when something is marked "again")
 *   2. I/O callbacks for the ready descriptors (reads go into the loop's one shared buffer)
 *   3. expired timers, earliest first (ties in start order)
 *   4. flush: every connection marked dirty during the turn writes once (one writev)
 *   5. deferred frees: objects closed during the turn are released after every callback that
 *      could still hold a pointer to them has returned.
 * docs/internals/loop.md tells the story in prose.
 */
#ifndef WS_LOOP_LOOP_H
#define WS_LOOP_LOOP_H

#include "wsclean/wsclean.h"

#include <pthread.h>

/* ---- file descriptors ------------------------------------------------------------------- */
#define WS__IO_READ  0x1u
#define WS__IO_WRITE 0x2u
#define WS__IO_HUP   0x4u /* error or hang-up: the callback must read/write to learn which */

typedef struct ws__io ws__io;
typedef void (*ws__io_cb)(ws__io *io, uint32_t events);
struct ws__io { /* 24 bytes: one per connection (memory per idle connection) */
  int fd;
  uint8_t want; /* WS__IO_READ | WS__IO_WRITE currently registered */
  bool registered;
  bool again; /* on the loop's "read again" list (ws__again_mark) */
  ws__io *again_next;
  ws__io_cb cb;
};

/* Register, change or remove interest. want 0 keeps the fd registered with no interest. */
int ws__io_start(ws_loop *loop, ws__io *io, int fd, ws__io_cb cb, uint32_t want);
int ws__io_set(ws_loop *loop, ws__io *io, uint32_t want);
void ws__io_stop(ws_loop *loop, ws__io *io);

/* ---- timers (intrusive binary heap keyed by (when, seq)) -------------------------------- */
typedef struct ws__timer ws__timer;
typedef void (*ws__timer_cb)(ws__timer *t);
struct ws__timer {
  uint64_t when; /* loop clock, ms */
  uint64_t seq;  /* start order: equal deadlines fire first-started first */
  size_t idx;    /* position in the heap, WS__TIMER_IDLE when not armed */
  ws__timer_cb cb;
};
#define WS__TIMER_IDLE ((size_t)-1)

static inline void ws__timer_init(ws__timer *t, ws__timer_cb cb) {
  t->when = 0;
  t->seq = 0;
  t->idx = WS__TIMER_IDLE;
  t->cb = cb;
}
/* Arm (or re-arm) for the absolute time `when` (ms, loop clock). WS_ERR_NOMEM if the heap
 * cannot grow. */
int ws__timer_start_at(ws_loop *loop, ws__timer *t, uint64_t when);
void ws__timer_stop(ws_loop *loop, ws__timer *t);
static inline bool ws__timer_active(const ws__timer *t) { return t->idx != WS__TIMER_IDLE; }

/* ---- end-of-turn work ------------------------------------------------------------------- */
/* An object that wants to write once at the end of the turn (step 4). */
typedef struct ws__flush ws__flush;
struct ws__flush {
  ws__flush *next;
  bool queued;
  void (*cb)(ws__flush *f);
};
void ws__flush_mark(ws_loop *loop, ws__flush *f);
void ws__flush_unmark(ws_loop *loop, ws__flush *f);

/* Run fn(p) after this turn's callbacks (step 5). Never fails: the node lives in the object. */
typedef struct ws__deferred ws__deferred;
struct ws__deferred {
  ws__deferred *next;
  void (*fn)(ws__deferred *d);
};
void ws__defer(ws_loop *loop, ws__deferred *d);

/* An object that has buffered input it could not hand over (TLS records decrypted but not
 * delivered): the next epoll_wait does not sleep and the callback runs again. */
void ws__again_mark(ws_loop *loop, ws__io *io);

/* Objects ws_loop_free must cut (sockets, servers): cut() unlinks and frees without events. */
typedef struct ws__handle ws__handle;
struct ws__handle {
  ws__handle *prev, *next;
  void (*cut)(ws__handle *h);
};
void ws__handle_link(ws_loop *loop, ws__handle *h, void (*cut)(ws__handle *h));
void ws__handle_unlink(ws__handle *h); /* no-op when not linked */

/* ---- the loop --------------------------------------------------------------------------- */
/* Active objects keep ws_loop_run() running (sockets, listeners, app timers). */
void ws__loop_ref(ws_loop *loop);
void ws__loop_unref(ws_loop *loop);
const ws_allocator *ws__loop_alloc(const ws_loop *loop);
/* The shared read buffer (valid until the next read on this loop). */
uint8_t *ws__loop_rbuf(ws_loop *loop, size_t *cap);
/* Tests only: read at most cap bytes per read (0 restores 64 KiB). */
void ws__loop_set_rbuf_cap(ws_loop *loop, size_t cap);
/* Monotonic clock in ms (CLOCK_MONOTONIC), not cached. */
uint64_t ws__clock_ms(void);
/* Random bytes from getrandom(); never fails (falls back to /dev/urandom-free mixing of the
 * clock only if the kernel refuses, which Linux >= 3.17 does not). */
void ws__random_bytes(void *ud, uint8_t *out, size_t n);

/* ---- backend (loop_epoll.c): the only file that knows the OS mechanism ------------------ */
typedef struct ws__backend ws__backend;
ws__backend *ws__backend_new(const ws_allocator *alloc);
void ws__backend_free(const ws_allocator *alloc, ws__backend *b);
int ws__backend_fd(const ws__backend *b);
/* old/want are WS__IO_* masks; old 0 and !registered means add. */
int ws__backend_ctl(ws__backend *b, ws__io *io, uint32_t want);
void ws__backend_del(ws__backend *b, ws__io *io);
/* Wait up to timeout_ms (-1: forever), store the clock in *now once the wait is over (so the
 * callbacks see the time they run at, not the time the wait began), then call io->cb for each
 * ready io. Returns the number of ready descriptors or a negative ws_err. */
int ws__backend_poll(ws__backend *b, int timeout_ms, uint64_t *now);
/* Forget a pointer that the current poll batch may still hold (an io stopped by a callback). */
void ws__backend_forget(ws__backend *b, ws__io *io);

#endif
