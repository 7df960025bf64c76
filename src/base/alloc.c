#include "base/alloc.h"

#include <stdlib.h>
#include <string.h>

static void *std_malloc(size_t n, void *ud) {
  (void)ud;
  return malloc(n);
}
static void *std_realloc(void *p, size_t n, void *ud) {
  (void)ud;
  return realloc(p, n);
}
static void std_free(void *p, void *ud) {
  (void)ud;
  free(p);
}

/* Read-only: the one piece of static data the allocator needs, never written. */
static const ws_allocator std_allocator = {std_malloc, std_realloc, std_free, NULL};

const ws_allocator *ws_allocator_default(void) { return &std_allocator; }

void *ws__malloc(const ws_allocator *a, size_t n) {
  if (n == 0)
    return NULL;
  a = ws__alloc_or_default(a);
  return a->malloc(n, a->ud);
}

void *ws__calloc(const ws_allocator *a, size_t count, size_t size) {
  if (count == 0 || size == 0 || count > SIZE_MAX / size)
    return NULL;
  void *p = ws__malloc(a, count * size);
  if (p)
    memset(p, 0, count * size);
  return p;
}

void *ws__realloc(const ws_allocator *a, void *p, size_t n) {
  if (n == 0)
    return NULL;
  a = ws__alloc_or_default(a);
  return a->realloc(p, n, a->ud);
}

void ws__free(const ws_allocator *a, void *p) {
  if (!p)
    return;
  a = ws__alloc_or_default(a);
  a->free(p, a->ud);
}
