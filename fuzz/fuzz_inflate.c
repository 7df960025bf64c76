/* The permessage-deflate inflate path under a cap: whatever the bytes, the inflated output never
 * passes the cap, the buffer is never allocated past it, all zlib memory stays within
 * cap + a constant, and nothing leaks.
 *
 * Input: byte 0 = flags (bits 0-2: window bits 8 + n%8, bit 3: no context takeover),
 * bytes 1-2 = the cap (1..65536), then messages separated by the byte pair 0xfe 0xfe; each
 * message is fed in fragments cut at every 0xfd byte (the 0xfd is dropped). */
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "proto/deflate.h"

typedef struct {
  size_t bytes, peak;
  long live;
} meter;

#define PREFIX 16

static void *m_malloc(size_t n, void *ud) {
  meter *m = ud;
  unsigned char *p = malloc(n + PREFIX);
  if (!p)
    return NULL;
  memcpy(p, &n, sizeof n);
  m->bytes += n;
  m->live++;
  if (m->bytes > m->peak)
    m->peak = m->bytes;
  return p + PREFIX;
}
static void m_free(void *q, void *ud) {
  meter *m = ud;
  unsigned char *p = (unsigned char *)q - PREFIX;
  size_t n;
  memcpy(&n, p, sizeof n);
  m->bytes -= n;
  m->live--;
  free(p);
}
static void *m_realloc(void *q, size_t n, void *ud) {
  meter *m = ud;
  if (!q)
    return m_malloc(n, ud);
  unsigned char *p = (unsigned char *)q - PREFIX;
  size_t old;
  memcpy(&old, p, sizeof old);
  unsigned char *np = realloc(p, n + PREFIX);
  if (!np)
    return NULL;
  memcpy(np, &n, sizeof n);
  m->bytes = m->bytes - old + n;
  if (m->bytes > m->peak)
    m->peak = m->bytes;
  return np + PREFIX;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 3)
    return 0;
  meter m = {0, 0, 0};
  ws_allocator a = {m_malloc, m_realloc, m_free, &m};
  ws__pmd_config cfg;
  ws__pmd_config_init(&cfg);
  ws__pmd_params p;
  p.tx_window_bits = 15;
  p.rx_window_bits = (uint8_t)(8 + (data[0] & 7));
  p.tx_no_context_takeover = false;
  p.rx_no_context_takeover = (data[0] & 8) != 0;
  size_t cap = 1 + (size_t)(data[1] | data[2] << 8);
  ws__pmd d;
  ws__pmd_init(&d, &a, &cfg, &p);
  const uint8_t *in = data + 3, *end = data + size;
  int rc = WS_OK;
  while (in < end && rc == WS_OK) {
    const uint8_t *msg_end = in;
    while (msg_end < end && !(msg_end + 1 < end && msg_end[0] == 0xfe && msg_end[1] == 0xfe))
      msg_end++;
    ws__buf out;
    ws__buf_init(&out, &a, cap);
    while (rc == WS_OK) {
      const uint8_t *cut = memchr(in, 0xfd, (size_t)(msg_end - in));
      const uint8_t *frag_end = cut ? cut : msg_end;
      rc = ws__pmd_inflate(&d, in, (size_t)(frag_end - in), cut == NULL, &out);
      if (out.len > cap || out.cap > cap)
        abort(); /* the cap is on inflated bytes, and on memory */
      in = cut ? cut + 1 : msg_end;
      if (!cut)
        break;
    }
    ws__buf_free(&out);
    in = msg_end + 2;
  }
  /* cap, the inflater state (about 7 KiB), its window (at most 32 KiB) and a transient window
   * copy after a final block (32 KiB). */
  if (m.peak > cap + 80 * 1024)
    abort();
  ws__pmd_free(&d);
  if (m.live != 0)
    abort();
  return 0;
}
