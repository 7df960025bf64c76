/* Internal allocation helpers: every allocation in the library goes through these. */
#ifndef WS_BASE_ALLOC_H
#define WS_BASE_ALLOC_H

#include "wsclean/alloc.h"

static inline const ws_allocator *ws__alloc_or_default(const ws_allocator *a) {
  return a ? a : ws_allocator_default();
}
/* n == 0 returns NULL without calling the allocator. */
void *ws__malloc(const ws_allocator *a, size_t n);
void *ws__calloc(const ws_allocator *a, size_t count, size_t size);
void *ws__realloc(const ws_allocator *a, void *p, size_t n);
void ws__free(const ws_allocator *a, void *p);

#endif
