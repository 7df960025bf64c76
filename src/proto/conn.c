/* The sans-I/O connection: input parsing, the closing state machine, timers and the CloseEvent.
 * The output queue lives in conn_out.c. See docs/internals/proto.md for the walk-through. */
#include <assert.h>
#include <limits.h>
#include <string.h>

#include "base/alloc.h"
#include "base/event.h"
#include "proto/conn_internal.h"
#include "proto/conn_direct.h"
#include "proto/conn_out.h"
#include "proto/mask.h"
#include "wsclean/deflate.h"

#define DEFAULT_MAX_MESSAGE (1u << 20) /* 1 MiB, as Python websockets */
/* Fragments cost what frames cost (each is parsed and counted, none is stored), and the message
 * size already bounds memory; the cap only stops a message that never ends in zero-length
 * fragments. 1 Mi leaves room for Autobahn 9.3.1/9.4.1 (4 MiB in 64-byte fragments: 65536). */
#define DEFAULT_MAX_FRAGMENTS (1u << 20)
#define DEFAULT_CLOSE_TIMEOUT 5000
#define DEFAULT_PING_TIMEOUT 20000
#define DEFAULT_SEND_QUEUE_LIMIT (16u << 20)

void ws_conn_options_init(ws_conn_options *o, ws_role role) {
  memset(o, 0, sizeof *o);
  o->size = sizeof *o;
  o->role = role;
  o->max_message_size = DEFAULT_MAX_MESSAGE;
  o->max_frame_size = 0; /* 0 = max_message_size, so raising one raises both */
  o->max_fragments = DEFAULT_MAX_FRAGMENTS;
  o->close_timeout_ms = DEFAULT_CLOSE_TIMEOUT;
  o->ping_timeout_ms = DEFAULT_PING_TIMEOUT;
  o->send_queue_limit = DEFAULT_SEND_QUEUE_LIMIT;
}

static uint64_t add_sat(uint64_t a, uint64_t b) { return a > UINT64_MAX - b ? UINT64_MAX : a + b; }

/* WHATWG readyState only moves forward: OPEN -> CLOSING -> CLOSED (OPEN -> CLOSED when the
 * transport vanishes first). */
static void set_state(ws_conn *c, ws_ready_state s) {
  assert((int)s >= (int)c->state);
  c->state = (uint8_t)s;
}

ws_conn *ws_conn_new(const ws_conn_options *opts, const ws_conn_callbacks *cb, void *ud,
                     uint64_t now_ms) {
  if (!opts || opts->size < sizeof *opts)
    return NULL;
  if (opts->role != WS_ROLE_CLIENT && opts->role != WS_ROLE_SERVER)
    return NULL;
  /* RFC 6455 5.3: a client masks every frame with a fresh unpredictable key. */
  if (opts->role == WS_ROLE_CLIENT && !opts->random)
    return NULL;
  /* Every limit is finite and non-zero: no "unlimited" setting exists. */
  if (opts->max_message_size == 0 || opts->max_fragments == 0 || opts->close_timeout_ms == 0 ||
      opts->send_queue_limit == 0 || (opts->ping_interval_ms && opts->ping_timeout_ms == 0))
    return NULL;
  if (opts->text_only && opts->binary_only)
    return NULL;
  ws_conn *c = ws__calloc(opts->alloc, 1, sizeof *c);
  if (!c)
    return NULL;
  if (cb)
    c->cb = *cb;
  c->ud = ud;
  c->alloc = opts->alloc;
  c->rand_cb = opts->random;
  c->rand_ud = opts->random_ud;
  c->max_message = opts->max_message_size;
  c->max_frame = opts->max_frame_size ? opts->max_frame_size : opts->max_message_size;
  if (c->max_frame > c->max_message)
    c->max_frame = c->max_message;
  c->send_queue_limit = opts->send_queue_limit;
  c->max_fragments = opts->max_fragments;
  c->close_timeout_ms = opts->close_timeout_ms;
  c->idle_timeout_ms = opts->idle_timeout_ms;
  c->ping_interval_ms = opts->ping_interval_ms;
  c->ping_timeout_ms = opts->ping_timeout_ms;
  c->now = c->opened_at = c->last_rx = now_ms;
  c->role = (uint8_t)opts->role;
  c->rsv_allowed = opts->rsv_allowed & 0x7;
  c->text_only = opts->text_only;
  c->binary_only = opts->binary_only;
  c->state = WS_OPEN;
  c->transport = WS_TRANSPORT_KEEP;
  c->detail = "";
  /* A message buffer never holds more than one message (1009 past it). */
  ws__buf_init(&c->msg, opts->alloc, (size_t)(opts->max_message_size > SIZE_MAX ? SIZE_MAX
                                                                                : opts->max_message_size));
  ws__utf8_reset(&c->utf8);
  ws__utf8_reset(&c->rutf8);
  ws__utf8_reset(&c->oututf8);
  /* permessage-deflate: the zlib state itself is allocated on first use (src/proto/deflate.c). */
  const ws_deflate_params *dp = opts->deflate;
  if (dp && dp->enabled) {
    ws__pmd_config pc;
    ws__pmd_params pp = {dp->tx_window_bits, dp->rx_window_bits, dp->tx_no_context_takeover,
                         dp->rx_no_context_takeover};
    ws__pmd_config_init(&pc);
    pc.level = dp->level;
    pc.mem_level = dp->mem_level;
    pc.threshold = dp->threshold;
    if (ws__pmd_config_check(&pc) || pp.tx_window_bits < 8 || pp.tx_window_bits > 15 ||
        pp.rx_window_bits < 8 || pp.rx_window_bits > 15 ||
        !(c->pmd = ws__malloc(c->alloc, sizeof *c->pmd))) {
      ws__free(c->alloc, c);
      return NULL;
    }
    ws__pmd_init(c->pmd, c->alloc, &pc, &pp);
    c->rsv_allowed |= WS__RSV1; /* RFC 7692 6 */
  }
  return c;
}

void ws_conn_free(ws_conn *c) {
  if (!c)
    return;
  ws__out_clear(c);
  ws__buf_free(&c->msg);
  if (c->pmd) {
    ws__pmd_free(c->pmd);
    ws__free(c->alloc, c->pmd);
  }
  ws__free(c->alloc, c);
}

size_t ws_conn_sizeof(void) { return sizeof(ws_conn); }

/* ---- closing ----------------------------------------------------------------------------- */

static bool handshake_done(const ws_conn *c) { return c->close_sent && c->close_received; }

/* RFC 6455 7.1.1: the server closes TCP first once both close frames have passed; the client
 * waits for that (up to the close timeout, which restarts here). */
static void on_handshake_progress(ws_conn *c) {
  if (!handshake_done(c) || c->failed || c->transport == WS_TRANSPORT_CLOSE)
    return;
  c->close_deadline = add_sat(c->now, c->close_timeout_ms);
  c->transport = c->role == WS_ROLE_SERVER ? WS_TRANSPORT_SHUTDOWN : WS_TRANSPORT_KEEP;
}

/* The close code a failure sends (RFC 6455 7.4.1). */
static uint16_t code_for_err(int err) {
  switch (err) {
  case WS_ERR_PROTO_INVALID_UTF8:
  case WS_ERR_PROTO_INVALID_UTF8_REASON:
  case WS_ERR_PMD_DATA: /* as Node ws: a corrupt compressed payload is bad payload data */
    return WS_CLOSE_INVALID_PAYLOAD;
  case WS_ERR_PMD_RSV1:
    return WS_CLOSE_PROTOCOL_ERROR;
  case WS_ERR_PROTO_MESSAGE_TOO_BIG:
  case WS_ERR_PROTO_FRAME_TOO_BIG:
  case WS_ERR_PROTO_TOO_MANY_FRAGMENTS:
    return WS_CLOSE_MESSAGE_TOO_BIG;
  case WS_ERR_PROTO_UNSUPPORTED_DATA:
    return WS_CLOSE_UNSUPPORTED_DATA;
  case WS_ERR_PROTO_POLICY:
    return WS_CLOSE_POLICY_VIOLATION;
  case WS_ERR_PROTO_GOING_AWAY:
  case WS_ERR_PROTO_IDLE_TIMEOUT:
    return WS_CLOSE_GOING_AWAY;
  case WS_ERR_PROTO_APP_ERROR:
  case WS_ERR_PROTO_PING_TIMEOUT:
  case WS_ERR_NOMEM:
    return WS_CLOSE_INTERNAL_ERROR;
  default:
    /* Every other protocol error is a violation of RFC 6455 framing. */
    return (err <= -50 && err >= -99) ? WS_CLOSE_PROTOCOL_ERROR : WS_CLOSE_INTERNAL_ERROR;
  }
}

void ws_conn_fail(ws_conn *c, int err, uint16_t code) {
  if (!c || c->closed || c->failed)
    return;
  if (err >= 0)
    err = WS_ERR_PROTO_POLICY;
  c->failed = true;
  c->fail_err = err;
  if (code == 0 || !ws_close_code_on_wire(code))
    code = code_for_err(err);
  /* RFC 6455 7.1.7: send a close frame (unless one was sent), then close without waiting for
   * the peer's. What the application queued before the failure is still sent, in order, ahead
   * of the close frame: a message echoed just before the peer's bad frame is not lost. The close
   * timeout bounds how long a peer that does not read can hold that output. */
  if (!c->close_sent && !c->eof) {
    const char *reason = ws_strerror(err);
    size_t rl = strlen(reason);
    if (rl > 123)
      rl = 123;
    ws__out_close(c, code, reason, rl);
    c->initiator = c->close_received ? WS_CLOSER_REMOTE : WS_CLOSER_LOCAL;
  }
  if (c->transport != WS_TRANSPORT_CLOSE)
    c->transport = c->eof ? WS_TRANSPORT_CLOSE : WS_TRANSPORT_SHUTDOWN;
  if (c->close_deadline == 0)
    c->close_deadline = add_sat(c->now, c->close_timeout_ms);
  c->ping_outstanding = false;
  c->msg_op = 0;
  if (c->state == WS_OPEN)
    set_state(c, WS_CLOSING);
}

int ws_conn_close(ws_conn *c, uint16_t code, const char *reason, size_t reason_len) {
  if (!c)
    return WS_ERR_INVAL;
  if (code != 0 && !ws_close_code_on_wire(code))
    return WS_ERR_INVAL;
  if (reason_len && (!reason || code == 0))
    return code == 0 ? WS_ERR_INVAL : WS_ERR_SYNTAX;
  /* RFC 6455 5.5: the close payload is at most 125 bytes, 2 of them the code. */
  if (reason_len > 123 || (reason_len && !ws__utf8_valid((const uint8_t *)reason, reason_len)))
    return WS_ERR_SYNTAX;
  if (c->closed || c->close_sent || c->failed || c->eof)
    return WS_OK;
  ws__out_close(c, code, reason, reason_len);
  c->initiator = WS_CLOSER_LOCAL;
  if (c->state == WS_OPEN)
    set_state(c, WS_CLOSING);
  c->close_deadline = add_sat(c->now, c->close_timeout_ms);
  c->ping_outstanding = false;
  on_handshake_progress(c);
  return WS_OK;
}

void ws_conn_eof(ws_conn *c) {
  if (!c || c->closed || c->eof)
    return;
  c->eof = true;
  /* A close frame cut short by the EOF never arrived. */
  if (!handshake_done(c) && !c->failed && !c->end_err)
    c->end_err = WS_ERR_PROTO_EOF;
  c->transport = WS_TRANSPORT_CLOSE;
  if (c->state == WS_OPEN)
    set_state(c, WS_CLOSING);
}

void ws_conn_transport_closed(ws_conn *c, int err, const char *detail) {
  if (!c || c->closed)
    return;
  c->closed = true;
  c->transport = WS_TRANSPORT_CLOSE;
  set_state(c, WS_CLOSED);
  ws__out_clear(c);
  c->close_off = c->close_len; /* nothing is pending once the transport is gone */
  ws__buf_free(&c->msg);

  bool done = handshake_done(c);
  /* wasClean (WHATWG): the closing handshake completed and the connection was not failed. */
  bool clean = done && !c->failed;
  /* A transport failure (TLS, I/O) before the handshake completed fails the connection too;
   * a plain EOF does not (RFC 6455 7.1.5 / WHATWG: close 1006 without error). */
  if (!c->failed && !done && err != WS_OK && err != WS_ERR_PROTO_EOF) {
    c->failed = true;
    c->fail_err = err;
  }
  ws_close_diag diag;
  memset(&diag, 0, sizeof diag);
  diag.initiator = (ws_closer)c->initiator;
  diag.code_sent = c->code_sent;
  diag.code_received = c->code_received;
  if (clean)
    diag.error = WS_OK;
  else if (c->failed)
    diag.error = c->fail_err;
  else if (c->end_err)
    diag.error = c->end_err;
  else
    diag.error = err ? err : WS_ERR_PROTO_EOF;
  diag.detail = detail ? detail : c->detail;
  diag.duration_ms = c->now - c->opened_at;

  uint16_t code = c->close_received ? c->code_received : WS_CLOSE_ABNORMAL;
  const char *reason = "";
  size_t rl = 0;
  if (c->close_received && c->code_received != WS_CLOSE_NO_STATUS) {
    reason = (const char *)c->ctl + 2;
    rl = (size_t)c->ctl_len - 2;
  }
  ws_close_event ev;
  ws__close_event_set(&ev, code, reason, rl, clean, &diag, (double)c->now);
  if (c->failed && c->cb.on_error)
    c->cb.on_error(c, c->ud, c->fail_err);
  if (c->cb.on_close)
    c->cb.on_close(c, c->ud, &ev); /* may free c: nothing after this */
}

/* ---- timers ------------------------------------------------------------------------------ */

static bool closing_timer(const ws_conn *c) {
  return c->close_sent || c->close_received || c->failed;
}

uint64_t ws_conn_next_deadline(const ws_conn *c) {
  if (!c || c->closed || c->transport == WS_TRANSPORT_CLOSE)
    return UINT64_MAX;
  if (closing_timer(c))
    return c->close_deadline ? c->close_deadline : UINT64_MAX;
  if (c->eof)
    return UINT64_MAX;
  uint64_t d = UINT64_MAX;
  if (c->idle_timeout_ms) {
    uint64_t t = add_sat(c->last_rx, c->idle_timeout_ms);
    d = t < d ? t : d;
  }
  if (c->ping_interval_ms) {
    uint64_t t = c->ping_outstanding ? add_sat(c->ping_sent_at, c->ping_timeout_ms)
                                     : add_sat(c->last_rx, c->ping_interval_ms);
    d = t < d ? t : d;
  }
  return d;
}

void ws_conn_tick(ws_conn *c, uint64_t now_ms) {
  if (!c)
    return;
  if (now_ms > c->now)
    c->now = now_ms; /* a clock that steps back changes nothing */
  if (c->closed || c->transport == WS_TRANSPORT_CLOSE)
    return;
  uint64_t now = c->now;
  if (closing_timer(c)) {
    if (c->close_deadline && now >= c->close_deadline) {
      /* RFC 6455 7.1.1: after the handshake, the client closes TCP itself once the server has
       * had its chance; before it, a peer that never answers is cut off (1006). */
      if (!handshake_done(c) && !c->failed) {
        c->end_err = WS_ERR_PROTO_CLOSE_TIMEOUT;
        c->detail = c->idle_closing ? "no close frame answered the idle timeout's 1001" : "";
      }
      c->transport = WS_TRANSPORT_CLOSE;
    }
    return;
  }
  if (c->eof)
    return;
  if (c->idle_timeout_ms && now >= add_sat(c->last_rx, c->idle_timeout_ms)) {
    static const char why[] = "idle timeout";
    c->idle_closing = true;
    (void)ws_conn_close(c, WS_CLOSE_GOING_AWAY, why, sizeof why - 1);
    return;
  }
  if (c->ping_interval_ms) {
    if (c->ping_outstanding) {
      if (now >= add_sat(c->ping_sent_at, c->ping_timeout_ms))
        ws_conn_fail(c, WS_ERR_PROTO_PING_TIMEOUT, 0);
    } else if (now >= add_sat(c->last_rx, c->ping_interval_ms)) {
      int rc = ws__out_control(c, WS_OP_PING, NULL, 0, false);
      if (rc == WS_ERR_NOMEM)
        ws_conn_fail(c, rc, 0);
      else if (rc == WS_OK) {
        c->ping_outstanding = true;
        c->ping_sent_at = now;
      }
    }
  }
}

/* ---- input ------------------------------------------------------------------------------- */

/* Stop reading: after a failure, after the peer's close frame (RFC 6455 5.5.1: nothing follows
 * it; data after it is discarded) or once the transport is finished. */
static bool rx_done(const ws_conn *c) {
  return c->closed || c->failed || c->close_received || c->eof ||
         c->transport == WS_TRANSPORT_CLOSE;
}

static void deliver(ws_conn *c, const uint8_t *p, size_t n) {
  uint8_t op = c->msg_op;
  c->msg_op = 0;
  c->frags = 0;
  if (!c->cb.on_message)
    return;
  static const uint8_t empty[1] = {0};
  if (c->cb.on_message(c, c->ud, (ws_opcode)op, p ? p : empty, n) != 0)
    ws_conn_fail(c, WS_ERR_PROTO_APP_ERROR, 0);
}

static void control_done(ws_conn *c) {
  uint8_t op = c->fh.opcode;
  const uint8_t *p = c->ctl;
  size_t n = c->ctl_len;
  if (op == WS_OP_PING) {
    /* RFC 6455 5.5.2/5.5.3: answer with a pong carrying the same data; a newer ping's pong may
     * replace one not yet sent. Nothing follows our close frame. */
    if (!c->close_sent) {
      int rc = ws__out_control(c, WS_OP_PONG, p, n, true);
      if (rc == WS_ERR_NOMEM) {
        ws_conn_fail(c, rc, 0);
        return;
      }
    }
    if (c->cb.on_ping)
      c->cb.on_ping(c, c->ud, p, n);
    return;
  }
  if (op == WS_OP_PONG) {
    c->ping_outstanding = false; /* RFC 6455 5.5.3: any pong will do, solicited or not */
    if (c->cb.on_pong)
      c->cb.on_pong(c, c->ud, p, n);
    return;
  }
  /* WS_OP_CLOSE. The code was checked as its second byte arrived, the reason as it came. */
  uint16_t code = WS_CLOSE_NO_STATUS; /* RFC 6455 7.1.5: no body -> 1005 */
  if (n >= 2)
    code = (uint16_t)(p[0] << 8 | p[1]);
  if (!ws__utf8_complete(&c->rutf8)) {
    ws_conn_fail(c, WS_ERR_PROTO_INVALID_UTF8_REASON, 0);
    return;
  }
  c->ctl[n] = '\0';
  c->close_received = true;
  c->code_received = code;
  c->msg_op = 0; /* a fragmented message cut by the close is dropped */
  if (c->state == WS_OPEN)
    set_state(c, WS_CLOSING);
  if (!c->close_sent) {
    /* RFC 6455 5.5.1: answer with a close frame, echoing the code (none if there was none).
     * The reason is echoed too, as Python websockets and Node ws do: a browser that closed with
     * (4000, "bye") then reports 4000 "bye" in its CloseEvent instead of an empty reason. */
    c->initiator = WS_CLOSER_REMOTE;
    if (code == WS_CLOSE_NO_STATUS)
      ws__out_close(c, 0, NULL, 0);
    else
      ws__out_close(c, code, (const char *)p + 2, n - 2);
  }
  on_handshake_progress(c);
  if (c->cb.on_close_frame)
    c->cb.on_close_frame(c, c->ud, code, n >= 2 ? (const char *)p + 2 : "", n >= 2 ? n - 2 : 0);
}

/* The header in c->fh is complete: apply the rules of RFC 6455 5.2-5.5 and this endpoint's
 * limits before a byte of payload is kept. */
static int frame_start(ws_conn *c) {
  const ws__frame_hdr *h = &c->fh;
  int rc = ws__frame_check(h, c->role == WS_ROLE_SERVER, c->rsv_allowed);
  if (rc)
    return rc;
  uint8_t op = h->opcode;
  /* RFC 7692 6.1: RSV1 marks the first frame of a compressed message, nothing else. */
  if ((h->rsv & WS__RSV1) && c->pmd && (ws__opcode_is_control(op) || op == WS_OP_CONTINUATION))
    return WS_ERR_PMD_RSV1;
  if (ws__opcode_is_control(op)) {
    /* RFC 6455 5.5.1: a close body is empty or starts with a 2-byte code. */
    if (op == WS_OP_CLOSE && h->len == 1)
      return WS_ERR_PROTO_CLOSE_PAYLOAD;
    c->ctl_len = 0;
    c->code_checked = false;
    ws__utf8_reset(&c->rutf8);
  } else {
    if (op == WS_OP_CONTINUATION) {
      if (!c->msg_op)
        return WS_ERR_PROTO_CONTINUATION; /* RFC 6455 5.4 */
    } else {
      if (c->msg_op)
        return WS_ERR_PROTO_EXPECTED_CONTINUATION; /* RFC 6455 5.4: messages do not nest */
      if ((c->text_only && op == WS_OP_BINARY) || (c->binary_only && op == WS_OP_TEXT))
        return WS_ERR_PROTO_UNSUPPORTED_DATA; /* RFC 6455 7.4.1: 1003 */
      c->msg_op = op;
      c->frags = 0;
      ws__utf8_reset(&c->utf8);
      c->rx_pmd = (h->rsv & WS__RSV1) != 0;
    }
    /* Limits from the header alone, before the excess is buffered: 1009. A compressed message
     * is not buffered as received: its cap applies to the inflated bytes (payload_chunk). */
    if (!c->rx_pmd && h->len > c->max_message - c->msg.len)
      return WS_ERR_PROTO_MESSAGE_TOO_BIG;
    if (h->len > c->max_frame)
      return WS_ERR_PROTO_FRAME_TOO_BIG;
    if (++c->frags > c->max_fragments)
      return WS_ERR_PROTO_TOO_MANY_FRAGMENTS;
  }
  c->fpos = 0;
  c->rx_phase = WS__RX_PAYLOAD;
  return 0;
}

/* permessage-deflate: inflate compressed payload bytes into the message buffer as they arrive,
 * so the cap (the buffer's maximum, max_message_size) stops a bomb at the first inflated byte
 * past it (1009), and validate the new text (1007). fin: the message ends (RFC 7692 7.2.2). */
static int inflate_chunk(ws_conn *c, const uint8_t *p, size_t n, bool fin) {
  size_t before = c->msg.len;
  int rc = ws__pmd_inflate(c->pmd, p, n, fin, &c->msg);
  if (rc == WS_OK && c->msg_op == WS_OP_TEXT && c->msg.len > before &&
      ws__utf8_feed(&c->utf8, c->msg.data + before, c->msg.len - before) < c->msg.len - before)
    rc = WS_ERR_PROTO_INVALID_UTF8;
  if (rc)
    ws_conn_fail(c, rc, 0);
  return rc;
}

/* End of a frame's payload. */
static void frame_done(ws_conn *c) {
  c->rx_phase = WS__RX_HDR;
  if (ws__opcode_is_control(c->fh.opcode)) {
    control_done(c);
    return;
  }
  if (!c->fh.fin)
    return;
  if (c->rx_pmd && inflate_chunk(c, NULL, 0, true) != WS_OK)
    return;
  /* RFC 6455 8.1: a text message ends on a complete UTF-8 sequence. */
  if (c->msg_op == WS_OP_TEXT && !ws__utf8_complete(&c->utf8)) {
    ws_conn_fail(c, WS_ERR_PROTO_INVALID_UTF8, 0);
    return;
  }
  /* While on_message runs, ws_conn_send of this very buffer may take it instead of copying it
   * (the echo/forward pattern: conn_out.c); the application's pointer stays valid until the
   * callback returns either way. A zero-copy message (whole_message) points into the caller's
   * input and is never lent. */
  c->lent = c->msg.data;
  deliver(c, c->msg.data, c->msg.len);
  c->lent = NULL;
  ws__buf_free(&c->msg); /* a finished message keeps no memory (nothing if it was taken) */
}

/* Payload bytes p[0..n) of the current frame, n <= what the frame still lacks. Returns the
 * bytes consumed: n, or fewer when they fail the connection (up to and including the bad one). */
static size_t payload_chunk(ws_conn *c, uint8_t *p, size_t n) {
  if (c->fh.masked)
    ws__mask_inplace(p, n, c->fh.mask, c->fpos);
  if (ws__opcode_is_control(c->fh.opcode)) {
    size_t old = c->ctl_len;
    memcpy(c->ctl + old, p, n);
    c->ctl_len = (uint8_t)(old + n);
    if (c->fh.opcode == WS_OP_CLOSE) {
      /* Fail fast: the code as soon as its 2 bytes are in, the reason byte by byte. */
      if (!c->code_checked && c->ctl_len >= 2) {
        c->code_checked = true;
        uint16_t code = (uint16_t)(c->ctl[0] << 8 | c->ctl[1]);
        if (!ws_close_code_on_wire(code)) { /* RFC 6455 7.4: 1002 */
          ws_conn_fail(c, WS_ERR_PROTO_CLOSE_CODE, 0);
          return 2 - old;
        }
      }
      size_t from = old > 2 ? old : 2;
      if (c->ctl_len > from) {
        size_t m = c->ctl_len - from;
        size_t r = ws__utf8_feed(&c->rutf8, c->ctl + from, m);
        if (r < m) {
          ws_conn_fail(c, WS_ERR_PROTO_INVALID_UTF8_REASON, 0);
          return from - old + r + 1;
        }
      }
    }
  } else if (c->rx_pmd) {
    if (inflate_chunk(c, p, n, false) != WS_OK)
      return n;
  } else {
    if (c->msg_op == WS_OP_TEXT) {
      size_t r = ws__utf8_feed(&c->utf8, p, n);
      if (r < n) { /* RFC 6455 8.1, failing at the first bad byte, mid-frame */
        ws_conn_fail(c, WS_ERR_PROTO_INVALID_UTF8, 0);
        return r + 1;
      }
    }
    int rc = ws__buf_append(&c->msg, p, n);
    if (rc) {
      ws_conn_fail(c, rc == WS_ERR_LIMIT ? WS_ERR_PROTO_MESSAGE_TOO_BIG : rc, 0);
      return n;
    }
  }
  c->fpos += n;
  if (c->fpos == c->fh.len)
    frame_done(c);
  return n;
}

/* A whole single-frame message inside the caller's buffer: unmask it in place and hand out a
 * pointer to it (the zero-copy path). */
static size_t whole_message(ws_conn *c, uint8_t *p, size_t n) {
  if (c->fh.masked)
    ws__mask_inplace(p, n, c->fh.mask, 0);
  c->rx_phase = WS__RX_HDR;
  if (c->msg_op == WS_OP_TEXT) {
    ws__utf8 st;
    ws__utf8_reset(&st);
    size_t r = ws__utf8_feed(&st, p, n);
    if (r < n || !ws__utf8_complete(&st)) {
      ws_conn_fail(c, WS_ERR_PROTO_INVALID_UTF8, 0);
      return r < n ? r + 1 : n;
    }
  }
  deliver(c, p, n);
  return n;
}

long ws_conn_recv(ws_conn *c, uint8_t *in, size_t len) {
  if (!c || (!in && len))
    return WS_ERR_INVAL;
  if (len > (size_t)LONG_MAX)
    len = (size_t)LONG_MAX; /* the return value must be able to say "all of it" */
  if (len == 0 || rx_done(c))
    return (long)len; /* discarded */
  c->last_rx = c->now;
  size_t i = 0;
  while (i < len) {
    if (c->rx_phase == WS__RX_HDR) {
      int rc;
      if (c->hdr_have == 0 && len - i >= WS__FRAME_HDR_MAX) {
        /* The whole header is in the input (the usual case): parse it where it is. */
        size_t need = ws__frame_hdr_need(in + i, len - i);
        rc = ws__frame_parse(in + i, need, &c->fh);
        i += need;
      } else {
        /* A header split across reads: gather it byte by byte. */
        size_t need = ws__frame_hdr_need(c->hdr, c->hdr_have);
        while (c->hdr_have < need && i < len) {
          c->hdr[c->hdr_have++] = in[i++];
          need = ws__frame_hdr_need(c->hdr, c->hdr_have);
        }
        if (c->hdr_have < need)
          break;
        rc = ws__frame_parse(c->hdr, c->hdr_have, &c->fh);
        c->hdr_have = 0;
      }
      if (rc >= 0)
        rc = frame_start(c);
      if (rc < 0) {
        ws_conn_fail(c, rc, 0);
        break;
      }
      if (c->fh.len == 0)
        frame_done(c);
    } else if (c->fpos == 0 && c->fh.fin && c->fh.opcode != WS_OP_CONTINUATION &&
               !ws__opcode_is_control(c->fh.opcode) && !c->rx_pmd && len - i >= c->fh.len) {
      i += whole_message(c, in + i, (size_t)c->fh.len);
    } else {
      uint64_t left = c->fh.len - c->fpos;
      size_t n = left < len - i ? (size_t)left : len - i;
      i += payload_chunk(c, in + i, n);
    }
    if (rx_done(c))
      break;
  }
  if (c->failed || c->close_received || c->closed)
    ws__buf_free(&c->msg);
  return (long)(c->failed ? i : len);
}

/* ---- reading in place (conn_direct.h) ----------------------------------------------------- */

/* The frame being received is a data frame whose plain payload is due. */
static bool direct_ok(const ws_conn *c) {
  return !rx_done(c) && c->rx_phase == WS__RX_PAYLOAD && !ws__opcode_is_control(c->fh.opcode) &&
         !c->rx_pmd;
}

#define DIRECT_STEP  (64u << 10) /* the first growth, then the buffer doubles */
#define DIRECT_SMALL 4096u       /* spare room below this is grown before it is offered */

uint8_t *ws__conn_recv_direct(ws_conn *c, size_t min, size_t *len) {
  if (len)
    *len = 0;
  if (!c || !len || !direct_ok(c))
    return NULL;
  uint64_t left = c->fh.len - c->fpos;
  if (left == 0 || left < min)
    return NULL;
  /* Offer the spare room; grow only when it is small (the buffer doubles, as when appending,
   * so memory follows the bytes received). frame_start checked the frame against max_message:
   * the reservation is within the buffer's maximum. */
  size_t spare = c->msg.cap - c->msg.len;
  if (spare < left && spare < DIRECT_SMALL) {
    size_t step = c->msg.len > DIRECT_STEP ? c->msg.len : DIRECT_STEP;
    if (ws__buf_reserve(&c->msg, left < step ? (size_t)left : step) != WS_OK)
      return NULL;
  }
  size_t room = c->msg.cap - c->msg.len;
  *len = left < room ? (size_t)left : room;
  return c->msg.data + c->msg.len;
}

long ws__conn_recv_commit(ws_conn *c, size_t n) {
  if (!c || !direct_ok(c) || n > c->msg.cap - c->msg.len || n > c->fh.len - c->fpos)
    return WS_ERR_INVAL;
  if (n == 0)
    return 0;
  c->last_rx = c->now;
  uint8_t *p = c->msg.data + c->msg.len;
  if (c->fh.masked)
    ws__mask_inplace(p, n, c->fh.mask, c->fpos);
  size_t used = n;
  if (c->msg_op == WS_OP_TEXT) {
    size_t r = ws__utf8_feed(&c->utf8, p, n);
    if (r < n) { /* RFC 6455 8.1, as payload_chunk */
      ws_conn_fail(c, WS_ERR_PROTO_INVALID_UTF8, 0);
      used = r + 1;
    }
  }
  if (!c->failed) {
    c->msg.len += n;
    c->fpos += n;
    if (c->fpos == c->fh.len)
      frame_done(c);
  }
  if (c->failed || c->close_received || c->closed)
    ws__buf_free(&c->msg);
  return (long)used;
}

/* ---- queries ----------------------------------------------------------------------------- */

ws_ready_state ws_conn_ready_state(const ws_conn *c) { return (ws_ready_state)c->state; }
ws_role ws_conn_role(const ws_conn *c) { return (ws_role)c->role; }
uint64_t ws_conn_buffered_amount(const ws_conn *c) { return c->buffered + c->dropped; }
uint16_t ws_conn_close_code_sent(const ws_conn *c) { return c->code_sent; }
uint16_t ws_conn_close_code_received(const ws_conn *c) { return c->code_received; }
const char *ws_conn_close_reason_received(const ws_conn *c, size_t *len) {
  size_t n = 0;
  const char *r = "";
  if (c->close_received && c->ctl_len >= 2) {
    r = (const char *)c->ctl + 2;
    n = (size_t)c->ctl_len - 2;
  }
  if (len)
    *len = n;
  return r;
}
bool ws_conn_failed(const ws_conn *c) { return c->failed; }
void *ws_conn_user_data(const ws_conn *c) { return c->ud; }
void ws_conn_set_user_data(ws_conn *c, void *ud) { c->ud = ud; }
ws_transport_action ws_conn_transport(const ws_conn *c) {
  return c->closed ? WS_TRANSPORT_CLOSE : (ws_transport_action)c->transport;
}
