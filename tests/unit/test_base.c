/* src/base: errors, allocator, bounded buffer. */
#include "base/alloc.h"
#include "base/buf.h"
#include "wsclean/errors.h"
#include "wstest.h"
#include "wstest_alloc.h"

#include <stdlib.h>

WS_TEST(errors_every_entry_has_name_and_message) {
#define CHECK_ENTRY(name, num, msg)                                                                \
  WS_CHECK(num < 0);                                                                               \
  WS_CHECK_EQ_STR(ws_strerror(num), msg);                                                          \
  WS_CHECK_EQ_STR(ws_errname(num), "WS_ERR_" #name);
  WS_ERROR_TABLE(CHECK_ENTRY)
#undef CHECK_ENTRY
  WS_CHECK_EQ_STR(ws_strerror(0), "success");
  WS_CHECK_EQ_STR(ws_strerror(-9999), "unknown error");
  WS_CHECK_EQ_STR(ws_errname(-9999), "WS_ERR_UNKNOWN");
}

WS_TEST(errors_numbers_are_unique) {
  static const int nums[] = {
#define NUM(name, num, msg) num,
      WS_ERROR_TABLE(NUM)
#undef NUM
  };
  size_t n = sizeof nums / sizeof nums[0];
  for (size_t i = 0; i < n; i++)
    for (size_t j = i + 1; j < n; j++)
      WS_CHECK_MSG(nums[i] != nums[j], "duplicate error number %d", nums[i]);
}


WS_TEST(buf_respects_its_maximum) {
  ws__buf b;
  ws__buf_init(&b, NULL, 10);
  WS_CHECK_EQ_INT(ws__buf_append(&b, "0123456789", 10), WS_OK);
  WS_CHECK_EQ_INT(ws__buf_append(&b, "x", 1), WS_ERR_LIMIT);
  WS_CHECK_EQ_INT(b.len, 10);
  ws__buf_consume(&b, 4);
  WS_CHECK_EQ_MEM(b.data, b.len, "456789", 6);
  WS_CHECK_EQ_INT(ws__buf_appendf(&b, "%d", 1234), WS_OK);
  WS_CHECK_EQ_MEM(b.data, b.len, "4567891234", 10);
  WS_CHECK_EQ_INT(ws__buf_appendf(&b, "%d", 5), WS_ERR_LIMIT);
  WS_CHECK(b.cap <= 10);
  ws__buf_free(&b);
}

WS_TEST(buf_allocation_failure_leaves_buffer_intact) {
  ws_test_counting c = {.budget = 1};
  ws_allocator a = ws_test_counting_allocator(&c);
  ws__buf b;
  ws__buf_init(&b, &a, 1 << 20);
  WS_CHECK_EQ_INT(ws__buf_append(&b, "abc", 3), WS_OK);
  char big[1000] = {0};
  WS_CHECK_EQ_INT(ws__buf_append(&b, big, sizeof big), WS_ERR_NOMEM);
  WS_CHECK_EQ_MEM(b.data, b.len, "abc", 3);
  ws__buf_free(&b);
  WS_CHECK_EQ_INT(c.live, 0);
}

WS_TEST(alloc_zero_and_overflow) {
  WS_CHECK(ws__malloc(NULL, 0) == NULL);
  WS_CHECK(ws__calloc(NULL, SIZE_MAX / 2, 4) == NULL);
  void *p = ws__calloc(NULL, 4, 4);
  WS_CHECK(p && ((unsigned char *)p)[15] == 0);
  ws__free(NULL, p);
  WS_CHECK(ws_allocator_default() != NULL);
}

int main(void) { return ws_test_main(); }
