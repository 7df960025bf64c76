#include "wstest.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

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

/* Each block carries its size in a 16-byte prefix (keeps malloc's alignment). */
#define PREFIX 16

/* One more call: may it succeed? */
static bool counting_take(ws_test_counting *c, size_t n) {
  c->calls++;
  if (c->fail_size && n == c->fail_size) {
    c->fail_size = 0;
    c->failed++;
    return false;
  }
  if (c->budget == 0)
    return false;
  if (c->budget > 0)
    c->budget--;
  return true;
}

static void counting_hold(ws_test_counting *c, size_t add, size_t drop) {
  c->bytes = c->bytes - drop + add;
  if (c->bytes > c->peak)
    c->peak = c->bytes;
}

static void *counting_malloc(size_t n, void *ud) {
  ws_test_counting *c = ud;
  if (!counting_take(c, n))
    return NULL;
  unsigned char *p = malloc(n + PREFIX);
  if (!p)
    return NULL;
  memcpy(p, &n, sizeof n);
  c->live++;
  counting_hold(c, n, 0);
  return p + PREFIX;
}

static void counting_free(void *q, void *ud) {
  if (!q)
    return;
  ws_test_counting *c = ud;
  unsigned char *p = (unsigned char *)q - PREFIX;
  size_t n;
  memcpy(&n, p, sizeof n);
  c->live--;
  counting_hold(c, 0, n);
  free(p);
}

static void *counting_realloc(void *q, size_t n, void *ud) {
  if (!q)
    return counting_malloc(n, ud);
  ws_test_counting *c = ud;
  if (!counting_take(c, n))
    return NULL;
  unsigned char *p = (unsigned char *)q - PREFIX;
  size_t old;
  memcpy(&old, p, sizeof old);
  unsigned char *np = realloc(p, n + PREFIX);
  if (!np)
    return NULL;
  memcpy(np, &n, sizeof n);
  counting_hold(c, n, old);
  return np + PREFIX;
}

ws_allocator ws_test_counting_allocator(ws_test_counting *c) {
  ws_allocator a = {counting_malloc, counting_realloc, counting_free, c};
  return a;
}
