#include "wstest.h"

#include <stdarg.h>
#include <stdlib.h>

#define MAX_TESTS 1024

static struct {
  const char *name;
  ws_test_fn fn;
} tests[MAX_TESTS];
static int ntests;
static int current_failures;

void ws_test_register(const char *name, ws_test_fn fn) {
  if (ntests == MAX_TESTS) {
    fprintf(stderr, "wstest: too many tests\n");
    abort();
  }
  tests[ntests].name = name;
  tests[ntests].fn = fn;
  ntests++;
}

void ws_test_fail(const char *file, int line, const char *fmt, ...) {
  current_failures++;
  if (current_failures > 50)
    return; /* a broken table should not flood the log */
  fprintf(stderr, "  FAIL %s:%d: ", file, line);
  va_list ap;
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
}

void ws_test_hexdump(const char *label, const void *p, size_t n) {
  const unsigned char *b = p;
  fprintf(stderr, "    %s:", label);
  for (size_t i = 0; i < n && i < 64; i++)
    fprintf(stderr, " %02x", b[i]);
  fprintf(stderr, n > 64 ? " ...\n" : "\n");
}

int ws_test_main(void) {
  const char *only = getenv("WSTEST_ONLY");
  int passed = 0, failed = 0;
  for (int i = 0; i < ntests; i++) {
    if (only && !strstr(tests[i].name, only))
      continue;
    current_failures = 0;
    tests[i].fn();
    if (current_failures) {
      failed++;
      fprintf(stderr, "FAILED %s (%d checks)\n", tests[i].name, current_failures);
    } else {
      passed++;
      printf("ok %s\n", tests[i].name);
    }
  }
  printf("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}

/* ---- the shared fault-injecting allocator (wstest_alloc.h) ------------------------------- */
#include "wstest_alloc.h"

static void *counting_malloc(size_t n, void *ud) {
  ws_test_counting *c = ud;
  if (c->budget-- <= 0)
    return NULL;
  c->live++;
  return malloc(n);
}

static void *counting_realloc(void *p, size_t n, void *ud) {
  ws_test_counting *c = ud;
  if (c->budget-- <= 0)
    return NULL;
  if (!p)
    c->live++;
  return realloc(p, n);
}

static void counting_free(void *p, void *ud) {
  ws_test_counting *c = ud;
  c->live--;
  free(p);
}

ws_allocator ws_test_counting_allocator(ws_test_counting *c) {
  ws_allocator a = {counting_malloc, counting_realloc, counting_free, c};
  return a;
}
