/* A client and a server wired back to back in memory, for the fault-injection and short-I/O
 * tests (tests/unit/test_faults*.c) and the pair fuzzer.
 *
 * Both sides go through the real opening handshake (ws_client_handshake / ws_server_handshake)
 * and then a ws_conn each. The "network" is two in-memory pipes with a FIN flag; the pump moves
 * bytes through them in chunks chosen by a chunker (whole, 1 byte, or seeded random sizes) both
 * when it consumes a side's output (short writes) and when it feeds the other side (short
 * reads). Every allocation of both sides goes through one counting allocator that can fail the
 * Nth call. The loop-layer rules the pump follows are the ones in conn.h: SHUTDOWN -> FIN after
 * the output is flushed, keep reading until EOF; CLOSE -> flush, FIN, transport_closed(WS_OK);
 * EOF -> ws_conn_eof(); nothing moving -> advance the clock to the next deadline.
 *
 * Each input chunk is copied into a buffer of exactly its size, so an over-read by the parser
 * is caught by ASan in the sanitized build. */
#ifndef FAULTS_PAIR_H
#define FAULTS_PAIR_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wsclean/conn.h"
#include "wsclean/errors.h"
#include "wsclean/event.h"
#include "wsclean/handshake.h"

/* permessage-deflate, once its header exists (the deflate scenarios are skipped before). */
#if defined(__has_include)
#if __has_include("wsclean/deflate.h")
#include "wsclean/deflate.h"
#define FP_HAVE_DEFLATE 1
#endif
#endif

/* ---- the allocator that fails the Nth call ------------------------------------------------- */

typedef struct fp_alloc {
  long calls;          /* malloc + realloc calls so far */
  long fail_at;        /* the call index that returns NULL, -1 for none */
  long failed;         /* how many calls were failed */
  long live;           /* blocks allocated and not yet freed */
  bool fail_all_after; /* fail every call from fail_at on (not only the one) */
} fp_alloc;

static inline void *fp_malloc(size_t n, void *ud) {
  fp_alloc *a = ud;
  long i = a->calls++;
  if (a->fail_at >= 0 && (i == a->fail_at || (a->fail_all_after && i > a->fail_at))) {
    a->failed++;
    return NULL;
  }
  void *p = malloc(n);
  if (p)
    a->live++;
  return p;
}
static inline void *fp_realloc(void *p, size_t n, void *ud) {
  fp_alloc *a = ud;
  long i = a->calls++;
  if (a->fail_at >= 0 && (i == a->fail_at || (a->fail_all_after && i > a->fail_at))) {
    a->failed++;
    return NULL;
  }
  void *q = realloc(p, n);
  if (q && !p)
    a->live++;
  return q;
}
static inline void fp_free(void *p, void *ud) {
  fp_alloc *a = ud;
  a->live--;
  free(p);
}

/* ---- chunking ------------------------------------------------------------------------------ */

/* FP_SCRIPT: sizes read from a byte string (the pair fuzzer's choice): 1 + byte, or the whole
 * buffer for a byte >= 0xf0; the whole buffer once the string is used up. */
typedef enum fp_chunk_mode { FP_WHOLE = 0, FP_ONE = 1, FP_RANDOM = 2, FP_SCRIPT = 3 } fp_chunk_mode;

typedef struct fp_chunker {
  fp_chunk_mode mode;
  uint64_t rng; /* xorshift64* state, seeded per run: a failure is reproducible from its seed */
  const uint8_t *script;
  size_t script_len, script_pos;
} fp_chunker;

static inline uint64_t fp_rand(uint64_t *s) {
  uint64_t x = *s ? *s : 0x9e3779b97f4a7c15ull;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  *s = x;
  return x * 0x2545f4914f6cdd1dull;
}

static inline size_t fp_chunk(fp_chunker *ch, size_t avail) {
  size_t n = avail;
  if (ch->mode == FP_ONE)
    n = 1;
  else if (ch->mode == FP_SCRIPT) {
    if (ch->script_pos < ch->script_len) {
      uint8_t b = ch->script[ch->script_pos++];
      if (b < 0xf0)
        n = 1u + b;
    }
  } else if (ch->mode == FP_RANDOM) {
    uint64_t r = fp_rand(&ch->rng);
    /* mostly tiny pieces (headers split everywhere), sometimes large ones */
    switch (r & 3u) {
    case 0:
      n = 1 + (size_t)((r >> 8) % 3u);
      break;
    case 1:
      n = 1 + (size_t)((r >> 8) % 16u);
      break;
    case 2:
      n = 1 + (size_t)((r >> 8) % 300u);
      break;
    default:
      n = 1 + (size_t)((r >> 8) % 70000u);
      break;
    }
  }
  return n < avail ? n : avail;
}

/* ---- the pair ------------------------------------------------------------------------------ */

typedef struct fp_wire {
  uint8_t *buf; /* test memory, not the fault allocator's */
  size_t len, off, cap;
  bool fin;
} fp_wire;

struct fp_pair;

typedef struct fp_side {
  struct fp_pair *p;
  int idx; /* 0 client, 1 server */
  ws_conn *c;
  bool opened;    /* a ws_conn was created */
  bool gone;      /* transport closed (transport_closed called) */
  bool eof_given; /* ws_conn_eof called */
  bool wr_fin;    /* our FIN sent */
  int n_close, n_error, n_msg, n_ping, n_pong, n_close_frame;
  bool close_before_error; /* on_error after on_close: a contract violation */
  bool msg_after_close;
  bool msg_after_close_frame; /* RFC 6455 5.5.1: nothing is delivered after the peer's close */
  uint16_t code;
  bool clean;
  int diag_err;
  uint32_t hash; /* FNV-1a over every message received: op, length, bytes */
  uint64_t bytes;
  /* scenario hooks */
  bool echo;       /* send every message back */
  int app_fail_at; /* on_message returns non-zero for message number app_fail_at (1-based) */
  bool no_read;    /* stop reading input (a peer that never answers) */
  int nomem_seen;  /* API calls that returned WS_ERR_NOMEM */
  int errors_seen; /* other API errors (a scenario may expect some) */
} fp_side;

typedef struct fp_pair {
  fp_alloc fa;
  ws_allocator a;
  fp_chunker ch;
  uint64_t now;
  fp_side s[2];
  fp_wire w[2]; /* w[0]: client -> server, w[1]: server -> client */
  bool hs_failed;
  int hs_client_rc, hs_server_rc, hs_server_status;
  ws_conn_options copt[2];
  bool stuck;   /* nothing moved and no timer was running while a side was still open */
  bool deflate; /* negotiate permessage-deflate (both sides offer/accept it) */
#ifdef FP_HAVE_DEFLATE
  ws_deflate_options dopt[2];
  ws_deflate_params dpar[2];
#endif
  long steps;
  uint8_t key_ctr;
} fp_pair;

static inline void fp_wire_put(fp_wire *w, const void *d, size_t n) {
  if (w->off == w->len)
    w->off = w->len = 0; /* everything was read: reuse the space */
  if (w->len + n > w->cap) {
    size_t cap = w->cap ? w->cap : 4096;
    while (cap < w->len + n)
      cap *= 2;
    w->buf = realloc(w->buf, cap);
    if (!w->buf)
      abort();
    w->cap = cap;
  }
  memcpy(w->buf + w->len, d, n);
  w->len += n;
}

static inline void fp_random(void *ud, uint8_t *out, size_t n) {
  fp_pair *p = ud;
  for (size_t i = 0; i < n; i++)
    out[i] = (uint8_t)(0x5a ^ p->key_ctr++ * 37u);
}

static inline uint32_t fp_fnv(uint32_t h, const void *d, size_t n) {
  const uint8_t *b = d;
  for (size_t i = 0; i < n; i++) {
    h ^= b[i];
    h *= 16777619u;
  }
  return h;
}

static inline void fp_send(fp_side *s, ws_opcode op, const void *d, size_t n);

static inline int fp_on_message(ws_conn *c, void *ud, ws_opcode op, const uint8_t *d, size_t n) {
  (void)c;
  fp_side *s = ud;
  if (s->n_close)
    s->msg_after_close = true;
  if (s->n_close_frame)
    s->msg_after_close_frame = true;
  s->n_msg++;
  uint8_t o = (uint8_t)op;
  uint64_t len = n;
  s->hash = fp_fnv(s->hash, &o, 1);
  s->hash = fp_fnv(s->hash, &len, sizeof len);
  s->hash = fp_fnv(s->hash, d, n);
  s->bytes += n;
  if (s->app_fail_at && s->n_msg == s->app_fail_at)
    return 1;
  if (s->echo)
    fp_send(s, op, d, n);
  return 0;
}
static inline void fp_on_ping(ws_conn *c, void *ud, const uint8_t *d, size_t n) {
  (void)c, (void)d, (void)n;
  ((fp_side *)ud)->n_ping++;
}
static inline void fp_on_pong(ws_conn *c, void *ud, const uint8_t *d, size_t n) {
  (void)c, (void)d, (void)n;
  ((fp_side *)ud)->n_pong++;
}
static inline void fp_on_close_frame(ws_conn *c, void *ud, uint16_t code, const char *r, size_t n) {
  (void)c, (void)code, (void)r, (void)n;
  ((fp_side *)ud)->n_close_frame++;
}
static inline void fp_on_error(ws_conn *c, void *ud, int err) {
  (void)c, (void)err;
  fp_side *s = ud;
  if (s->n_close)
    s->close_before_error = true;
  s->n_error++;
}
static inline void fp_on_close(ws_conn *c, void *ud, const ws_close_event *ev) {
  (void)c;
  fp_side *s = ud;
  s->n_close++;
  s->code = ws_close_event_code(ev);
  s->clean = ws_close_event_was_clean(ev);
  s->diag_err = ws_close_event_diag(ev)->error;
}

/* An API call failed for lack of memory: the application's answer is to fail the connection
 * (1011), which is what a loop does too. */
static inline void fp_api_rc(fp_side *s, int rc) {
  if (rc == WS_ERR_NOMEM) {
    s->nomem_seen++;
    ws_conn_fail(s->c, WS_ERR_NOMEM, 0);
  } else if (rc < 0)
    s->errors_seen++;
}

static inline void fp_send(fp_side *s, ws_opcode op, const void *d, size_t n) {
  if (!s->c || s->gone)
    return;
  fp_api_rc(s, ws_conn_send(s->c, op, d, n));
}
static inline void fp_fragment(fp_side *s, ws_opcode op, const void *d, size_t n, bool fin) {
  if (!s->c || s->gone)
    return;
  fp_api_rc(s, ws_conn_send_fragment(s->c, op, d, n, fin));
}
static inline void fp_ping(fp_side *s, const char *d) {
  if (s->c && !s->gone)
    fp_api_rc(s, ws_conn_ping(s->c, d, strlen(d)));
}
static inline void fp_pong(fp_side *s, const char *d) {
  if (s->c && !s->gone)
    fp_api_rc(s, ws_conn_pong(s->c, d, strlen(d)));
}
static inline void fp_close(fp_side *s, uint16_t code, const char *reason) {
  if (s->c && !s->gone)
    fp_api_rc(s, ws_conn_close(s->c, code, reason, reason ? strlen(reason) : 0));
}
/* Bytes that `s` puts on the wire as if its socket sent them (hostile frames). */
static inline void fp_raw(fp_side *s, const void *d, size_t n) {
  if (!s->gone && !s->wr_fin)
    fp_wire_put(&s->p->w[s->idx], d, n);
}

/* A frame built by hand (independently of src/proto/frame.c), masked when mask is not NULL. */
static inline size_t fp_frame(uint8_t *out, bool fin, uint8_t op, const uint8_t *mask,
                              const void *d, uint64_t n) {
  size_t k = 0;
  out[k++] = (uint8_t)((fin ? 0x80 : 0) | op);
  uint8_t m = mask ? 0x80 : 0;
  if (n < 126)
    out[k++] = (uint8_t)(m | n);
  else if (n < 65536) {
    out[k++] = m | 126;
    out[k++] = (uint8_t)(n >> 8);
    out[k++] = (uint8_t)n;
  } else {
    out[k++] = m | 127;
    for (int i = 7; i >= 0; i--)
      out[k++] = (uint8_t)(n >> (8 * i));
  }
  if (mask) {
    memcpy(out + k, mask, 4);
    k += 4;
  }
  if (d)
    for (uint64_t i = 0; i < n; i++)
      out[k++] = (uint8_t)(((const uint8_t *)d)[i] ^ (mask ? mask[i % 4] : 0));
  return k;
}

/* ---- handshake ----------------------------------------------------------------------------- */

static inline void fp_open_conn(fp_side *s, const uint8_t *rest, size_t rest_len) {
  static const ws_conn_callbacks FP_CB = {fp_on_message,     fp_on_ping,  fp_on_pong,
                                          fp_on_close_frame, fp_on_error, fp_on_close};
  fp_pair *p = s->p;
  ws_conn_options o = p->copt[s->idx];
  o.alloc = &p->a;
  o.random = fp_random;
  o.random_ud = p;
  s->c = ws_conn_new(&o, &FP_CB, s, p->now);
  if (!s->c) {
    /* The loop could not create the connection: it closes the socket (the peer sees EOF). */
    s->gone = s->wr_fin = true;
    p->w[s->idx].fin = true;
    return;
  }
  s->opened = true;
  if (rest_len) {
    uint8_t *tmp = malloc(rest_len);
    memcpy(tmp, rest, rest_len);
    (void)ws_conn_recv(s->c, tmp, rest_len);
    free(tmp);
  }
}

/* Runs both opening handshakes through the chunked pipes. Returns true when both sides have a
 * connection. */
static inline bool fp_handshake(fp_pair *p) {
  static const char *const FP_PROTOS[] = {"chat", "superchat"};
  ws_client_handshake *ch = ws_client_handshake_new(&p->a);
  ws_server_handshake_options so;
  ws_server_handshake_options_init(&so);
  so.protocols = FP_PROTOS;
  so.num_protocols = 2;
#ifdef FP_HAVE_DEFLATE
  ws_extension cext, sext;
  if (p->deflate) {
    ws_deflate_extension(&cext, &p->dopt[0]);
    ws_deflate_extension(&sext, &p->dopt[1]);
    so.extensions = &sext;
    so.num_extensions = 1;
  }
#endif
  ws_server_handshake *sh = ws_server_handshake_new(&so, &p->a);
  int crc = WS_ERR_NOMEM, src = WS_ERR_NOMEM;
  if (ch) {
    ws_client_handshake_options co;
    ws_client_handshake_options_init(&co);
    co.url = "ws://127.0.0.1:9/chat?x=1";
    co.random = fp_random;
    co.random_ud = p;
    co.origin = "http://127.0.0.1";
    co.protocols = FP_PROTOS + 1;
    co.num_protocols = 1;
#ifdef FP_HAVE_DEFLATE
    if (p->deflate) {
      co.extensions = &cext;
      co.num_extensions = 1;
    }
#endif
    crc = ws_client_handshake_start(ch, &co);
    if (crc == WS_OK) {
      size_t n;
      const uint8_t *req = ws_client_handshake_request(ch, &n);
      fp_wire_put(&p->w[0], req, n);
    }
  }
  /* server reads the request in chunks */
  fp_wire *w = &p->w[0];
  if (sh && crc == WS_OK) {
    src = WS_ERR_AGAIN;
    while (src == WS_ERR_AGAIN && w->off < w->len) {
      size_t n = fp_chunk(&p->ch, w->len - w->off);
      uint8_t *tmp = malloc(n);
      memcpy(tmp, w->buf + w->off, n);
      size_t used = 0;
      src = ws_server_handshake_recv(sh, tmp, n, &used);
      free(tmp);
      w->off += src == WS_ERR_AGAIN ? n : used;
    }
    p->hs_server_status = ws_server_handshake_status(sh);
    size_t n;
    const uint8_t *resp = ws_server_handshake_response(sh, &n);
    if (n)
      fp_wire_put(&p->w[1], resp, n);
  }
  p->hs_server_rc = src;
#ifdef FP_HAVE_DEFLATE
  if (src == WS_OK && p->deflate) {
    (void)ws_deflate_params_from_handshake(&p->dpar[1], WS_ROLE_SERVER, &p->dopt[1],
                                           ws_server_handshake_extensions(sh));
    p->copt[1].deflate = &p->dpar[1];
    p->copt[1].rsv_allowed = ws_server_handshake_rsv(sh);
  }
#endif
  if (src == WS_OK)
    fp_open_conn(&p->s[1], w->buf + w->off, w->len - w->off);
  if (src == WS_OK)
    w->off = w->len;
  /* client reads the response in chunks; the bytes after it are the server's first frames
   * (written by the scenario after fp_handshake returns, so here there are none yet) */
  w = &p->w[1];
  if (ch && crc == WS_OK && src == WS_OK) {
    crc = WS_ERR_AGAIN;
    while (crc == WS_ERR_AGAIN && w->off < w->len) {
      size_t n = fp_chunk(&p->ch, w->len - w->off);
      uint8_t *tmp = malloc(n);
      memcpy(tmp, w->buf + w->off, n);
      size_t used = 0;
      crc = ws_client_handshake_recv(ch, tmp, n, &used);
      free(tmp);
      w->off += crc == WS_ERR_AGAIN ? n : used;
    }
  } else if (crc == WS_OK)
    crc = WS_ERR_HS_STATUS; /* the server refused (500 for its lack of memory) */
  p->hs_client_rc = crc;
#ifdef FP_HAVE_DEFLATE
  if (crc == WS_OK && p->deflate) {
    (void)ws_deflate_params_from_handshake(&p->dpar[0], WS_ROLE_CLIENT, &p->dopt[0],
                                           ws_client_handshake_extensions(ch));
    p->copt[0].deflate = &p->dpar[0];
    p->copt[0].rsv_allowed = ws_client_handshake_rsv(ch);
  }
#endif
  if (crc == WS_OK)
    fp_open_conn(&p->s[0], w->buf + w->off, w->len - w->off);
  if (crc == WS_OK)
    w->off = w->len;
  ws_client_handshake_free(ch);
  ws_server_handshake_free(sh);
  p->hs_failed = !(crc == WS_OK && src == WS_OK);
  if (p->hs_failed) {
    /* whoever has a connection sees the other end go away */
    for (int i = 0; i < 2; i++)
      if (!p->s[i].c) {
        p->s[i].gone = p->s[i].wr_fin = true;
        p->w[i].fin = true;
      }
  }
  return !p->hs_failed && p->s[0].c && p->s[1].c;
}

/* ---- pump ---------------------------------------------------------------------------------- */

static inline void fp_gone(fp_side *s, int err) {
  s->gone = s->wr_fin = true;
  s->p->w[s->idx].fin = true;
  ws_conn_transport_closed(s->c, err, NULL);
}

/* One turn for side s: write a chunk, act on the transport state, read a chunk. Returns true
 * when something happened. */
static inline bool fp_turn(fp_side *s) {
  fp_pair *p = s->p;
  if (!s->c || s->gone)
    return false;
  bool moved = false;
  fp_wire *out = &p->w[s->idx], *in = &p->w[1 - s->idx];
  fp_side *peer = &p->s[1 - s->idx];
  /* write: one chunk of the pending output (a short write) */
  size_t pend = ws_conn_pending_bytes(s->c);
  if (pend && !s->wr_fin) {
    ws_slice sl[4];
    int k = ws_conn_pending_out(s->c, sl, 4);
    size_t want = fp_chunk(&p->ch, pend), took = 0;
    for (int i = 0; i < k && took < want; i++) {
      size_t n = sl[i].len < want - took ? sl[i].len : want - took;
      if (!peer->gone)
        fp_wire_put(out, sl[i].data, n);
      took += n;
    }
    ws_conn_consume_out(s->c, took);
    moved = took > 0;
  }
  ws_transport_action act = ws_conn_transport(s->c);
  if (act == WS_TRANSPORT_SHUTDOWN && !s->wr_fin && ws_conn_pending_bytes(s->c) == 0) {
    s->wr_fin = true;
    out->fin = true;
    moved = true;
  } else if (act == WS_TRANSPORT_CLOSE) {
    /* flush what can be flushed without waiting: all of it, in memory */
    ws_slice sl[8];
    int k;
    while (!s->wr_fin && (k = ws_conn_pending_out(s->c, sl, 8)) > 0) {
      size_t took = 0;
      for (int i = 0; i < k; i++) {
        if (!peer->gone)
          fp_wire_put(out, sl[i].data, sl[i].len);
        took += sl[i].len;
      }
      ws_conn_consume_out(s->c, took);
    }
    fp_gone(s, WS_OK);
    return true;
  }
  /* read: one chunk */
  if (s->no_read)
    return moved;
  if (in->off < in->len) {
    size_t n = fp_chunk(&p->ch, in->len - in->off);
    uint8_t *tmp = malloc(n);
    memcpy(tmp, in->buf + in->off, n);
    long r = ws_conn_recv(s->c, tmp, n);
    free(tmp);
    in->off += n; /* what was not consumed is discarded, as the loop does */
    (void)r;
    moved = true;
  } else if (in->fin && !s->eof_given) {
    s->eof_given = true;
    ws_conn_eof(s->c);
    moved = true;
  }
  return moved;
}

/* Move bytes until nothing moves (no clock change). */
static inline void fp_pump(fp_pair *p) {
  for (long guard = 0; guard < 50000000; guard++) {
    bool a = fp_turn(&p->s[0]);
    bool b = fp_turn(&p->s[1]);
    p->steps++;
    if (!a && !b)
      return;
  }
  p->stuck = true;
}

/* Advance the clock by ms (firing timers), pumping between. */
static inline void fp_sleep(fp_pair *p, uint64_t ms) {
  uint64_t until = p->now + ms;
  for (int guard = 0; guard < 10000; guard++) {
    fp_pump(p);
    uint64_t next = UINT64_MAX;
    for (int i = 0; i < 2; i++)
      if (p->s[i].c && !p->s[i].gone) {
        uint64_t d = ws_conn_next_deadline(p->s[i].c);
        if (d < next)
          next = d;
      }
    if (next > until)
      break;
    p->now = next > p->now ? next : p->now;
    for (int i = 0; i < 2; i++)
      if (p->s[i].c && !p->s[i].gone)
        ws_conn_tick(p->s[i].c, p->now);
  }
  p->now = until;
  for (int i = 0; i < 2; i++)
    if (p->s[i].c && !p->s[i].gone)
      ws_conn_tick(p->s[i].c, p->now);
  fp_pump(p);
}

/* Run until both transports are gone, advancing the clock to the next deadline when nothing
 * moves. A side still open with no timer running and nothing to do is a hang: `stuck`. */
static inline void fp_settle(fp_pair *p) {
  for (int guard = 0; guard < 1000; guard++) {
    fp_pump(p);
    bool open = false;
    uint64_t next = UINT64_MAX;
    for (int i = 0; i < 2; i++)
      if (p->s[i].c && !p->s[i].gone) {
        open = true;
        uint64_t d = ws_conn_next_deadline(p->s[i].c);
        if (d < next)
          next = d;
      }
    if (!open)
      return;
    if (next == UINT64_MAX) {
      /* Only a side that stopped reading on purpose may wait forever (it answers nothing and
       * runs no timer): its socket is reset, as the kernel would after the peer closed. */
      bool reset = false;
      for (int i = 0; i < 2; i++)
        if (p->s[i].c && !p->s[i].gone && p->s[i].no_read) {
          fp_gone(&p->s[i], WS_ERR_PROTO_EOF);
          reset = true;
        }
      if (reset)
        continue;
      p->stuck = true;
      break;
    }
    p->now = next > p->now ? next : p->now;
    for (int i = 0; i < 2; i++)
      if (p->s[i].c && !p->s[i].gone)
        ws_conn_tick(p->s[i].c, p->now);
  }
  /* a hang (already flagged) or a guard overrun: tear down so nothing leaks */
  for (int i = 0; i < 2; i++)
    if (p->s[i].c && !p->s[i].gone) {
      p->stuck = true;
      fp_gone(&p->s[i], WS_ERR_PROTO_EOF);
    }
}

static inline void fp_init(fp_pair *p, fp_chunk_mode mode, uint64_t seed, long fail_at) {
  memset(p, 0, sizeof *p);
  p->fa.fail_at = fail_at;
  p->a = (ws_allocator){fp_malloc, fp_realloc, fp_free, &p->fa};
  p->ch.mode = mode;
  p->ch.rng = seed;
  p->now = 1000;
  for (int i = 0; i < 2; i++) {
    p->s[i].p = p;
    p->s[i].idx = i;
    p->s[i].hash = 2166136261u;
    ws_conn_options_init(&p->copt[i], i == 0 ? WS_ROLE_CLIENT : WS_ROLE_SERVER);
#ifdef FP_HAVE_DEFLATE
    ws_deflate_options_init(&p->dopt[i], i == 0 ? WS_ROLE_CLIENT : WS_ROLE_SERVER);
    p->dopt[i].enabled = true;
    p->dopt[i].threshold = 0; /* compress everything, even "" */
#endif
  }
}

static inline void fp_free_pair(fp_pair *p) {
  for (int i = 0; i < 2; i++) {
    if (p->s[i].c)
      ws_conn_free(p->s[i].c);
    p->s[i].c = NULL;
    free(p->w[i].buf);
    p->w[i].buf = NULL;
  }
}

#endif
