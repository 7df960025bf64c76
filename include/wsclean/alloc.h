/* wsclean — the pluggable allocator.
 *
 * Every object takes an optional `const ws_allocator *`; NULL means the C library's
 * malloc/realloc/free. The allocator must outlive every object created with it. The library
 * never allocates through anything else, so a test allocator that fails the Nth call reaches
 * every allocation site.
 */
#ifndef WSCLEAN_ALLOC_H
#define WSCLEAN_ALLOC_H

#include "wsclean/common.h"

WS_BEGIN_DECLS

typedef struct ws_allocator {
  /* Like malloc(n); may return NULL. n is never 0. */
  void *(*malloc)(size_t n, void *ud);
  /* Like realloc(p, n); p may be NULL; may return NULL (p then stays valid). n is never 0. */
  void *(*realloc)(void *p, size_t n, void *ud);
  /* Like free(p); p is never NULL. */
  void (*free)(void *p, void *ud);
  void *ud;
} ws_allocator;

/* The allocator used when NULL is passed: the C library's, read-only. */
WS_API const ws_allocator *ws_allocator_default(void);

WS_END_DECLS
#endif
