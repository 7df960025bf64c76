/* A growable byte buffer that is born with a maximum size (curl's dynbuf habit): growing past
 * `max` fails with WS_ERR_LIMIT, so every caller must decide what a full buffer means
 * (1009 for a message, 431 for a handshake head, ...). */
#ifndef WS_BASE_BUF_H
#define WS_BASE_BUF_H

#include "wsclean/alloc.h"
#include "wsclean/errors.h"

typedef struct ws__buf {
  uint8_t *data;
  size_t len;
  size_t cap;
  size_t max;
  const ws_allocator *alloc;
} ws__buf;

void ws__buf_init(ws__buf *b, const ws_allocator *alloc, size_t max);
void ws__buf_free(ws__buf *b); /* releases memory; the buffer stays usable (empty) */
/* Make room for `extra` more bytes. WS_ERR_LIMIT past max, WS_ERR_NOMEM. */
int ws__buf_reserve(ws__buf *b, size_t extra);
int ws__buf_append(ws__buf *b, const void *p, size_t n);
int ws__buf_append_str(ws__buf *b, const char *s);
/* printf-style append (bounded by max). */
int ws__buf_appendf(ws__buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Drop the first n bytes. */
void ws__buf_consume(ws__buf *b, size_t n);
static inline void ws__buf_clear(ws__buf *b) { b->len = 0; }

#endif
