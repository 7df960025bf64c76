/* Test harness for ws_conn (included by tests/unit/test_conn*.c): recording callbacks, a
 * deterministic mask source, frame builders written independently of src/proto/frame.c,
 * split feeding, output draining, a failing allocator and a client<->server pipe. */
#ifndef CONN_HARNESS_H
#define CONN_HARNESS_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/conn_internal.h"
#include "wsclean/conn.h"
#include "wsclean/event.h"
#include "wstest.h"

/* The RFC 6455 5.7 example key. */
static const uint8_t H_KEY[4] = {0x37, 0xfa, 0x21, 0x3d};

typedef struct h_conn {
  ws_conn *c;
  char log[8192];
  size_t log_len;
  uint8_t last_msg[1 << 17];
  size_t last_msg_len;
  const uint8_t *last_msg_ptr;
  int app_ret;
  int n_msg, n_close, n_error, n_ping, n_pong, n_close_frame;
  int err_seen;
  int error_before_close; /* 1 when on_error preceded on_close */
  uint16_t ev_code;
  bool ev_clean;
  char ev_reason[128];
  size_t ev_reason_len;
  ws_close_diag diag;
  char detail[128];
  bool free_in_close;
  bool key_counter; /* random source: counter keys instead of H_KEY */
  uint8_t next_key;
  uint8_t out[1 << 18];
  size_t out_len;
} h_conn;

static inline void h_log(h_conn *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static inline void h_log(h_conn *h, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(h->log + h->log_len, sizeof h->log - h->log_len, fmt, ap);
  va_end(ap);
  if (n > 0) {
    h->log_len += (size_t)n;
    if (h->log_len >= sizeof h->log)
      h->log_len = sizeof h->log - 1;
  }
}

static inline int h_on_message(ws_conn *c, void *ud, ws_opcode op, const uint8_t *d, size_t n) {
  (void)c;
  h_conn *h = ud;
  h->n_msg++;
  h->last_msg_ptr = d;
  h->last_msg_len = n < sizeof h->last_msg ? n : sizeof h->last_msg;
  memcpy(h->last_msg, d, h->last_msg_len);
  if (op == WS_OP_TEXT && n <= 64)
    h_log(h, "T:%.*s;", (int)n, (const char *)d);
  else
    h_log(h, "%c%zu;", op == WS_OP_TEXT ? 'T' : 'B', n);
  return h->app_ret;
}
static inline void h_on_ping(ws_conn *c, void *ud, const uint8_t *d, size_t n) {
  (void)c;
  h_conn *h = ud;
  h->n_ping++;
  h_log(h, "ping:%.*s;", (int)n, (const char *)d);
}
static inline void h_on_pong(ws_conn *c, void *ud, const uint8_t *d, size_t n) {
  (void)c;
  h_conn *h = ud;
  h->n_pong++;
  h_log(h, "pong:%.*s;", (int)n, (const char *)d);
}
static inline void h_on_close_frame(ws_conn *c, void *ud, uint16_t code, const char *r, size_t n) {
  (void)c;
  h_conn *h = ud;
  h->n_close_frame++;
  h_log(h, "cf:%u:%.*s;", code, (int)n, r);
}
static inline void h_on_error(ws_conn *c, void *ud, int err) {
  (void)c;
  h_conn *h = ud;
  h->n_error++;
  h->err_seen = err;
  h_log(h, "error:%s;", ws_errname(err));
}
static inline void h_on_close(ws_conn *c, void *ud, const ws_close_event *ev) {
  h_conn *h = ud;
  h->n_close++;
  h->error_before_close = h->n_error > 0;
  h->ev_code = ws_close_event_code(ev);
  h->ev_clean = ws_close_event_was_clean(ev);
  const char *r = ws_close_event_reason(ev, &h->ev_reason_len);
  memcpy(h->ev_reason, r, h->ev_reason_len + 1);
  h->diag = *ws_close_event_diag(ev);
  snprintf(h->detail, sizeof h->detail, "%s", h->diag.detail);
  h->diag.detail = h->detail;
  h_log(h, "close:%u:%d:%s;", h->ev_code, h->ev_clean, ws_errname(h->diag.error));
  if (h->free_in_close) {
    ws_conn_free(c);
    h->c = NULL;
  }
}

static inline void h_random(void *ud, uint8_t *out, size_t n) {
  h_conn *h = ud;
  for (size_t i = 0; i < n; i++)
    out[i] = h->key_counter ? h->next_key++ : H_KEY[i % 4];
}

static const ws_conn_callbacks H_CB = {h_on_message, h_on_ping, h_on_pong,
                                       h_on_close_frame, h_on_error, h_on_close};

/* Options with the harness's random source. */
static inline void h_opts(ws_conn_options *o, ws_role role, h_conn *h) {
  ws_conn_options_init(o, role);
  o->random = h_random;
  o->random_ud = h;
}

static inline h_conn *h_new_opts(const ws_conn_options *o) {
  h_conn *h = calloc(1, sizeof *h);
  ws_conn_options oo = *o;
  oo.random_ud = h;
  h->c = ws_conn_new(&oo, &H_CB, h, 1000);
  return h;
}

static inline h_conn *h_new(ws_role role) {
  ws_conn_options o;
  h_opts(&o, role, NULL);
  return h_new_opts(&o);
}

/* A fresh connection in an existing harness (cheap: for loops over thousands of cases). */
static inline void h_renew(h_conn *h, ws_role role) {
  if (h->c)
    ws_conn_free(h->c);
  h->log_len = 0;
  h->log[0] = '\0';
  h->out_len = 0;
  h->n_msg = h->n_close = h->n_error = h->n_ping = h->n_pong = h->n_close_frame = 0;
  h->err_seen = 0;
  ws_conn_options o;
  h_opts(&o, role, h);
  h->c = ws_conn_new(&o, &H_CB, h, 1000);
}

static inline void h_free(h_conn *h) {
  if (h->c)
    ws_conn_free(h->c);
  free(h);
}

/* A frame as the peer of `role` sends it: masked (H_KEY) when the receiver is a server. */
static inline size_t h_frame_ex(uint8_t *out, uint8_t b0, bool mask, const void *payload, uint64_t n) {
  size_t i = 0;
  out[i++] = b0;
  uint8_t m = mask ? 0x80 : 0;
  if (n < 126) {
    out[i++] = (uint8_t)(m | n);
  } else if (n <= 0xFFFF) {
    out[i++] = (uint8_t)(m | 126);
    out[i++] = (uint8_t)(n >> 8);
    out[i++] = (uint8_t)n;
  } else {
    out[i++] = (uint8_t)(m | 127);
    for (int k = 7; k >= 0; k--)
      out[i++] = (uint8_t)(n >> (8 * k));
  }
  if (mask) {
    memcpy(out + i, H_KEY, 4);
    i += 4;
  }
  const uint8_t *p = payload;
  for (uint64_t k = 0; k < n && p; k++)
    out[i + k] = mask ? (uint8_t)(p[k] ^ H_KEY[k % 4]) : p[k];
  return i + (size_t)n;
}
/* To a conn of `role`: masked iff role is server. */
static inline size_t h_frame(uint8_t *out, ws_role to, uint8_t b0, const void *payload, size_t n) {
  return h_frame_ex(out, b0, to == WS_ROLE_SERVER, payload, n);
}
static inline size_t h_close_frame(uint8_t *out, ws_role to, uint16_t code, const char *reason, size_t rl) {
  uint8_t body[200];
  body[0] = (uint8_t)(code >> 8);
  body[1] = (uint8_t)code;
  if (rl)
    memcpy(body + 2, reason, rl);
  return h_frame(out, to, 0x88, body, 2 + rl);
}

/* Feed bytes in pieces of `chunk` (0: all at once), each piece from a fresh copy (recv unmasks
 * in place). Returns the total consumed (stops at a short count). */
static inline size_t h_feed(h_conn *h, const uint8_t *p, size_t n, size_t chunk) {
  if (chunk == 0)
    chunk = n ? n : 1;
  size_t total = 0;
  for (size_t i = 0; i < n; i += chunk) {
    size_t k = n - i < chunk ? n - i : chunk;
    uint8_t *copy = malloc(k);
    memcpy(copy, p + i, k);
    long r = ws_conn_recv(h->c, copy, k);
    free(copy);
    if (r < 0)
      return total;
    total += (size_t)r;
    if ((size_t)r < k)
      break;
  }
  return total;
}
/* Feed split at one point. */
static inline size_t h_feed_split(h_conn *h, const uint8_t *p, size_t n, size_t at) {
  size_t a = h_feed(h, p, at, 0);
  if (a < at)
    return a;
  return a + h_feed(h, p + at, n - at, 0);
}

/* Take everything pending into h->out (appending). */
static inline size_t h_drain(h_conn *h) {
  ws_slice s[64];
  size_t total = 0;
  for (;;) {
    int k = ws_conn_pending_out(h->c, s, 64);
    if (k == 0)
      break;
    size_t got = 0;
    for (int i = 0; i < k; i++) {
      if (h->out_len + s[i].len <= sizeof h->out)
        memcpy(h->out + h->out_len, s[i].data, s[i].len);
      h->out_len += s[i].len;
      got += s[i].len;
    }
    ws_conn_consume_out(h->c, got);
    total += got;
  }
  return total;
}

/* The server's (unmasked) close frame bytes with the failure reason of err. */
static inline size_t h_fail_frame(uint8_t *out, ws_role from, uint16_t code, int err) {
  const char *r = ws_strerror(err);
  uint8_t body[130];
  body[0] = (uint8_t)(code >> 8);
  body[1] = (uint8_t)code;
  size_t rl = strlen(r);
  memcpy(body + 2, r, rl);
  return h_frame_ex(out, 0x88, from == WS_ROLE_CLIENT, body, 2 + rl);
}

/* ---- an allocator that fails the Nth call and counts live blocks ---- */
typedef struct h_alloc {
  long fail_at; /* calls before the failing one; -1: never */
  long calls;
  long live;
} h_alloc;
static inline void *ha_malloc(size_t n, void *ud) {
  h_alloc *a = ud;
  if (a->calls++ == a->fail_at)
    return NULL;
  a->live++;
  return malloc(n);
}
static inline void *ha_realloc(void *p, size_t n, void *ud) {
  h_alloc *a = ud;
  if (a->calls++ == a->fail_at)
    return NULL;
  if (!p)
    a->live++;
  return realloc(p, n);
}
static inline void ha_free(void *p, void *ud) {
  h_alloc *a = ud;
  a->live--;
  free(p);
}

#endif
