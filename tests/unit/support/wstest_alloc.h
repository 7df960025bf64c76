/* The counting, fault-injecting allocator the unit tests share. It fails every call once
 * `budget` calls have succeeded (so a test can walk every allocation index, budget 0, 1, 2, ...,
 * and check that each failure is reported and leaks nothing), can fail the next allocation of
 * one exact size (a given object's), and counts the blocks and bytes held. */
#ifndef WSTEST_ALLOC_H
#define WSTEST_ALLOC_H

#include "wsclean/alloc.h"

#include <stddef.h>

typedef struct ws_test_counting {
  long budget;      /* calls that may still succeed, then every call fails; < 0: never fail */
  long live;        /* blocks allocated and not freed */
  long calls;       /* malloc and realloc calls made */
  size_t bytes;     /* bytes held now */
  size_t peak;      /* the most bytes held at once (a test may reset it to bytes) */
  size_t fail_size; /* non-zero: the next allocation of exactly this many bytes fails, once */
  long failed;      /* allocations failed by fail_size */
} ws_test_counting;

/* An allocator bound to c (c must outlive every object created with it). */
ws_allocator ws_test_counting_allocator(ws_test_counting *c);

#endif
