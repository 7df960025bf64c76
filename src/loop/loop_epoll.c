/* The epoll backend: the only file of the loop that knows the OS readiness mechanism
 * (redis ae_epoll.c's shape). Level-triggered: a descriptor that still has input after its
 * callback returns is reported again at the next turn, so a callback may read once and leave. */
#include "base/alloc.h"
#include "loop/loop.h"

#include <errno.h>
#include <sys/epoll.h>
#include <unistd.h>

#define WS__EPOLL_BATCH 256

struct ws__backend {
  int epfd;
  int nready; /* events of the batch being dispatched */
  int cursor;
  struct epoll_event ev[WS__EPOLL_BATCH];
};

ws__backend *ws__backend_new(const ws_allocator *alloc) {
  ws__backend *b = ws__calloc(alloc, 1, sizeof *b);
  if (!b)
    return NULL;
  b->epfd = epoll_create1(EPOLL_CLOEXEC);
  if (b->epfd < 0) {
    ws__free(alloc, b);
    return NULL;
  }
  return b;
}

void ws__backend_free(const ws_allocator *alloc, ws__backend *b) {
  if (!b)
    return;
  close(b->epfd);
  ws__free(alloc, b);
}

int ws__backend_fd(const ws__backend *b) { return b->epfd; }

static uint32_t to_epoll(uint32_t want) {
  uint32_t e = 0;
  if (want & WS__IO_READ)
    e |= EPOLLIN | EPOLLRDHUP;
  if (want & WS__IO_WRITE)
    e |= EPOLLOUT;
  return e;
}

int ws__backend_ctl(ws__backend *b, ws__io *io, uint32_t want) {
  struct epoll_event ev = {.events = to_epoll(want), .data.ptr = io};
  int op = io->registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
  if (epoll_ctl(b->epfd, op, io->fd, &ev) != 0)
    return errno == ENOMEM ? WS_ERR_NOMEM : WS_ERR_IO;
  io->registered = true;
  io->want = (uint8_t)want;
  return WS_OK;
}

void ws__backend_del(ws__backend *b, ws__io *io) {
  if (io->registered)
    (void)epoll_ctl(b->epfd, EPOLL_CTL_DEL, io->fd, NULL);
  io->registered = false;
  io->want = 0;
  ws__backend_forget(b, io);
}

/* A callback may stop (and its owner may later free) another io whose event is still waiting
 * in this batch: blank it so the dispatch skips it. */
void ws__backend_forget(ws__backend *b, ws__io *io) {
  for (int i = b->cursor; i < b->nready; i++)
    if (b->ev[i].data.ptr == io)
      b->ev[i].data.ptr = NULL;
}

int ws__backend_poll(ws__backend *b, int timeout_ms, uint64_t *now) {
  int n = epoll_wait(b->epfd, b->ev, WS__EPOLL_BATCH, timeout_ms);
  *now = ws__clock_ms();
  if (n < 0)
    return errno == EINTR ? 0 : WS_ERR_IO;
  b->nready = n;
  for (b->cursor = 0; b->cursor < n;) {
    struct epoll_event *e = &b->ev[b->cursor++];
    ws__io *io = e->data.ptr;
    if (!io)
      continue;
    uint32_t r = 0;
    if (e->events & (EPOLLIN | EPOLLRDHUP))
      r |= WS__IO_READ;
    if (e->events & EPOLLOUT)
      r |= WS__IO_WRITE;
    if (e->events & (EPOLLERR | EPOLLHUP))
      r |= WS__IO_HUP;
    io->cb(io, r);
  }
  b->nready = 0;
  b->cursor = 0;
  return n;
}
