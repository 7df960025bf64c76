/* The fault-injecting allocator the unit tests share: it fails every call once `budget` calls
 * have succeeded, and counts the blocks still live, so a test can walk every allocation index
 * (budget 0, 1, 2, ...) and check that each failure is reported and leaks nothing. */
#ifndef WSTEST_ALLOC_H
#define WSTEST_ALLOC_H

#include "wsclean/alloc.h"

typedef struct ws_test_counting {
  int budget; /* calls that may still succeed; then every call fails */
  int live;   /* blocks allocated and not freed */
} ws_test_counting;

/* An allocator bound to c (c must outlive every object created with it). */
ws_allocator ws_test_counting_allocator(ws_test_counting *c);

#endif
