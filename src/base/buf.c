#include "base/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"

void ws__buf_init(ws__buf *b, const ws_allocator *alloc, size_t max) {
  b->data = NULL;
  b->len = b->cap = 0;
  b->max = max;
  b->alloc = alloc;
}

void ws__buf_free(ws__buf *b) {
  ws__free(b->alloc, b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}

int ws__buf_reserve(ws__buf *b, size_t extra) {
  if (extra > b->max || b->len > b->max - extra)
    return WS_ERR_LIMIT;
  size_t need = b->len + extra;
  if (need <= b->cap)
    return WS_OK;
  size_t cap = b->cap ? b->cap : 256;
  while (cap < need)
    cap = cap > SIZE_MAX / 2 ? need : cap * 2;
  if (cap > b->max)
    cap = b->max;
  uint8_t *p = ws__realloc(b->alloc, b->data, cap);
  if (!p)
    return WS_ERR_NOMEM;
  b->data = p;
  b->cap = cap;
  return WS_OK;
}

int ws__buf_append(ws__buf *b, const void *p, size_t n) {
  if (n == 0)
    return WS_OK;
  int rc = ws__buf_reserve(b, n);
  if (rc)
    return rc;
  memcpy(b->data + b->len, p, n);
  b->len += n;
  return WS_OK;
}

int ws__buf_append_str(ws__buf *b, const char *s) { return ws__buf_append(b, s, strlen(s)); }

int ws__buf_appendf(ws__buf *b, const char *fmt, ...) {
  /* Format into a stack buffer first: vsnprintf writes a NUL that must not count against max. */
  char small[256];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(small, sizeof small, fmt, ap);
  va_end(ap);
  if (n < 0)
    return WS_ERR_INVAL;
  if ((size_t)n < sizeof small)
    return ws__buf_append(b, small, (size_t)n);
  int rc = ws__buf_reserve(b, (size_t)n + 1); /* long output: needs one byte of slack */
  if (rc)
    return rc;
  va_start(ap, fmt);
  vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
  return WS_OK;
}

void ws__buf_consume(ws__buf *b, size_t n) {
  if (n >= b->len) {
    b->len = 0;
    return;
  }
  memmove(b->data, b->data + n, b->len - n);
  b->len -= n;
}
