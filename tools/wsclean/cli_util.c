/* wsclean CLI — small helpers shared by the subcommands (see cli_util.h). */
#include "cli_util.h"

#include <errno.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <stdlib.h>

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if it is not valid (RFC 3629). */
static size_t utf8_seq(const unsigned char *s, size_t n) {
  unsigned char c = s[0];
  size_t len;
  uint32_t cp;
  if (c < 0x80)
    return 1;
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
    cp = c & 0x1Fu;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    cp = c & 0x0Fu;
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    cp = c & 0x07u;
  } else {
    return 0;
  }
  if (n < len)
    return 0;
  for (size_t i = 1; i < len; i++) {
    if ((s[i] & 0xC0) != 0x80)
      return 0;
    cp = cp << 6 | (s[i] & 0x3Fu);
  }
  if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
      (cp >= 0xD800 && cp <= 0xDFFF))
    return 0;
  return len;
}

void wscli_json_str(FILE *out, const char *s, size_t len) {
  const unsigned char *p = (const unsigned char *)s;
  fputc('"', out);
  for (size_t i = 0; i < len;) {
    unsigned char c = p[i];
    if (c == '"' || c == '\\') {
      fputc('\\', out);
      fputc(c, out);
      i++;
    } else if (c < 0x20) {
      switch (c) {
      case '\n':
        fputs("\\n", out);
        break;
      case '\r':
        fputs("\\r", out);
        break;
      case '\t':
        fputs("\\t", out);
        break;
      default:
        fprintf(out, "\\u%04x", c);
        break;
      }
      i++;
    } else {
      size_t l = utf8_seq(p + i, len - i);
      if (l == 0) {
        fputs("\\ufffd", out);
        i++;
      } else {
        fwrite(p + i, 1, l, out);
        i += l;
      }
    }
  }
  fputc('"', out);
}

bool wscli_parse_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *out) {
  if (!s || !*s || *s == '-' || *s == '+')
    return false;
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || *end || v < lo || v > hi)
    return false;
  *out = v;
  return true;
}

bool wscli_parse_size(const char *s, uint64_t *out) {
  if (!s || !*s || *s == '-')
    return false;
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || end == s)
    return false;
  uint64_t mul = 1;
  switch (*end) {
  case '\0':
    break;
  case 'k':
  case 'K':
    mul = 1024;
    end++;
    break;
  case 'm':
  case 'M':
    mul = 1024 * 1024;
    end++;
    break;
  case 'g':
  case 'G':
    mul = 1024ull * 1024 * 1024;
    end++;
    break;
  default:
    return false;
  }
  if (*end == 'i' || *end == 'B' || *end == 'b')
    end++;
  if (*end == 'B')
    end++;
  if (*end || v > UINT64_MAX / mul)
    return false;
  *out = v * mul;
  return true;
}

size_t wscli_echo_queue_limit(uint64_t max_message, size_t current) {
  const uint64_t slack = 1u << 20;
  if (max_message > (SIZE_MAX - slack) / 2)
    return SIZE_MAX;
  uint64_t want = 2 * max_message + slack;
  return want > current ? (size_t)want : current;
}

int wscli_signalfd(void) {
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  sigprocmask(SIG_BLOCK, &sigs, NULL);
  signal(SIGPIPE, SIG_IGN);
  return signalfd(-1, &sigs, SFD_CLOEXEC);
}
