/* A very small test framework: table-driven checks with a clear report.
 *
 *   WS_TEST(name) { WS_CHECK(x == 1); WS_CHECK_EQ_INT(a, b); ... }
 *   int main(void) { return ws_test_main(); }   (tests register themselves)
 *
 * A failed check prints file:line, the expression and the values, and the test goes on (so a
 * table reports every bad row). The run ends with "N passed, N failed". */
#ifndef WSTEST_H
#define WSTEST_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

typedef void (*ws_test_fn)(void);
void ws_test_register(const char *name, ws_test_fn fn);
int ws_test_main(void);
void ws_test_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Hex dump helper for byte-exact failures. */
void ws_test_hexdump(const char *label, const void *p, size_t n);

#define WS_TEST(name)                                                                              \
  static void name(void);                                                                          \
  __attribute__((constructor)) static void name##_register(void) { ws_test_register(#name, name); } \
  static void name(void)

#define WS_CHECK(cond)                                                                             \
  do {                                                                                             \
    if (!(cond))                                                                                   \
      ws_test_fail(__FILE__, __LINE__, "%s", #cond);                                               \
  } while (0)

#define WS_CHECK_MSG(cond, ...)                                                                    \
  do {                                                                                             \
    if (!(cond))                                                                                   \
      ws_test_fail(__FILE__, __LINE__, __VA_ARGS__);                                               \
  } while (0)

#define WS_CHECK_EQ_INT(a, b)                                                                      \
  do {                                                                                             \
    long long ws_a_ = (long long)(a), ws_b_ = (long long)(b);                                      \
    if (ws_a_ != ws_b_)                                                                            \
      ws_test_fail(__FILE__, __LINE__, "%s == %s: %lld != %lld", #a, #b, ws_a_, ws_b_);            \
  } while (0)

#define WS_CHECK_EQ_STR(a, b)                                                                      \
  do {                                                                                             \
    const char *ws_a_ = (a), *ws_b_ = (b);                                                         \
    if (!ws_a_ || !ws_b_ || strcmp(ws_a_, ws_b_) != 0)                                             \
      ws_test_fail(__FILE__, __LINE__, "%s == %s: \"%s\" != \"%s\"", #a, #b,                       \
                   ws_a_ ? ws_a_ : "(null)", ws_b_ ? ws_b_ : "(null)");                           \
  } while (0)

#define WS_CHECK_EQ_MEM(a, alen, b, blen)                                                          \
  do {                                                                                             \
    size_t ws_al_ = (size_t)(alen), ws_bl_ = (size_t)(blen);                                       \
    if (ws_al_ != ws_bl_ || memcmp((a), (b), ws_al_) != 0) {                                       \
      ws_test_fail(__FILE__, __LINE__, "%s (%zu bytes) != %s (%zu bytes)", #a, ws_al_, #b, ws_bl_); \
      ws_test_hexdump("got", (a), ws_al_);                                                         \
      ws_test_hexdump("want", (b), ws_bl_);                                                        \
    }                                                                                              \
  } while (0)

#endif
