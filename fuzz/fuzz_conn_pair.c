/* libFuzzer: a client and a server ws_conn wired back to back (after a real opening handshake),
 * with fuzzer-chosen chunking of every read and write, timer firing, API calls on both sides,
 * hostile raw bytes, resets and one failed allocation. The harness is tests/unit/faults_pair.h,
 * the same one the fault-injection unit test uses.
 *
 * Invariants, checked after every input:
 *   - each connection that opened fires on_close exactly once; on_error at most once and only
 *     before on_close; no message after on_close or after the peer's close frame;
 *   - nothing hangs: with the clock advanced to each deadline, both transports end;
 *   - every allocation is freed (the allocator's live count is 0);
 *   - codes are consistent: a clean CloseEvent carries 1005 or the code the peer sent, and when
 *     no hostile bytes were injected a side that reports a code (not 1005/1006) got exactly the
 *     code its peer sent; a clean close is never 1006; a failed connection is never clean and
 *     reports 1006 unless the peer's close frame had arrived before it failed (RFC 6455 7.1.5).
 *
 * Input: [flags] [n] [n chunk-size bytes] then a script of [op][arg] pairs. */
#include <stdio.h>
#include <stdlib.h>

#include "../tests/unit/faults_pair.h"

#define CHECK(x)                                                                                   \
  do {                                                                                             \
    if (!(x)) {                                                                                    \
      fprintf(stderr, "invariant failed: %s (line %d)\n", #x, __LINE__);                           \
      abort();                                                                                     \
    }                                                                                              \
  } while (0)

static const uint16_t CODES[] = {0, 1000, 1001, 1003, 1008, 1011, 1012, 1013, 3000, 4999};
static uint8_t PAYLOAD[255 * 300]; /* the largest len below */

static void settle_and_check(fp_pair *p, bool raw_used) {
  fp_settle(p);
  CHECK(!p->stuck);
  if (getenv("FP_DEBUG"))
    for (int i = 0; i < 2; i++)
      fprintf(stderr, "%s: opened %d close %d error %d code %u clean %d err %s sent %u got %u\n",
              i ? "server" : "client", p->s[i].opened, p->s[i].n_close, p->s[i].n_error,
              p->s[i].code, p->s[i].clean, ws_errname(p->s[i].diag_err),
              p->s[i].c ? ws_conn_close_code_sent(p->s[i].c) : 0,
              p->s[i].c ? ws_conn_close_code_received(p->s[i].c) : 0);
  for (int i = 0; i < 2; i++) {
    fp_side *s = &p->s[i], *peer = &p->s[1 - i];
    if (!s->opened)
      continue;
    CHECK(s->n_close == 1);
    CHECK(s->n_error <= 1 && !s->close_before_error);
    CHECK(!s->msg_after_close && !s->msg_after_close_frame);
    CHECK(ws_conn_ready_state(s->c) == WS_CLOSED);
    if (s->clean)
      CHECK(s->code != 1006 && s->n_error == 0 && !ws_conn_failed(s->c));
    /* a failed connection is never clean; its code is 1006, or the peer's close code when the
     * peer's close frame had arrived before it failed (RFC 6455 7.1.5) */
    if (s->n_error)
      CHECK(!s->clean && (s->code == 1006 || s->code == ws_conn_close_code_received(s->c)));
    uint16_t got = ws_conn_close_code_received(s->c);
    if (s->code != 1006 && s->code != 1005)
      CHECK(got == s->code);
    if (!raw_used && peer->opened && got != 0 && got != 1005)
      CHECK(got == ws_conn_close_code_sent(peer->c));
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) {
  if (n < 2)
    return 0;
  if (!PAYLOAD[1])
    for (size_t i = 0; i < sizeof PAYLOAD; i++)
      PAYLOAD[i] = (uint8_t)(i * 7 + 1);
  uint8_t flags = d[0];
  size_t nchunk = d[1];
  d += 2;
  n -= 2;
  if (nchunk > n)
    nchunk = n;
  fp_pair *p = calloc(1, sizeof *p);
  /* flags bit 7: fail one allocation, chosen by the next script byte */
  long fail_at = -1;
  if ((flags & 0x80) && n > nchunk) {
    fail_at = d[nchunk];
  }
  fp_init(p, FP_SCRIPT, 0, fail_at);
  p->ch.script = d;
  p->ch.script_len = nchunk;
  d += nchunk;
  n -= nchunk;
  /* small limits so that they are reached */
  if (flags & 1)
    p->copt[1].max_message_size = 200;
  if (flags & 2)
    p->copt[0].max_fragments = 3;
  if (flags & 4) {
    p->copt[1].ping_interval_ms = 1000;
    p->copt[1].ping_timeout_ms = 500;
  }
  if (flags & 8)
    p->copt[0].idle_timeout_ms = 3000;
  if (flags & 16)
    p->copt[1].send_queue_limit = 500;
  if (flags & 32)
    p->copt[0].close_timeout_ms = 100;
#ifdef FP_HAVE_DEFLATE
  if (flags & 64) /* permessage-deflate on both sides (once wsclean/deflate.h exists) */
    p->deflate = true;
#endif
  bool raw_used = false;
  if (fp_handshake(p)) {
    bool frag_open[2] = {false, false};
    for (size_t i = 0; i + 1 < n; i += 2) {
      uint8_t op = d[i], arg = d[i + 1];
      fp_side *s = &p->s[op & 1];
      size_t len = (size_t)arg * (arg > 200 ? 300u : 1u);
      switch ((op >> 1) % 16) {
      case 0:
        fp_send(s, WS_OP_BINARY, PAYLOAD, len);
        break;
      case 1: {
        /* text: the script's own bytes (often not UTF-8: the send is refused) */
        size_t k = arg % 32 < n - i ? arg % 32 : n - i;
        fp_send(s, WS_OP_TEXT, d + i, k);
        break;
      }
      case 2:
        fp_fragment(s, frag_open[op & 1] ? WS_OP_CONTINUATION : WS_OP_BINARY, PAYLOAD, arg % 40,
                    arg & 1);
        frag_open[op & 1] = !(arg & 1);
        break;
      case 3:
        fp_ping(s, (arg & 1) ? "ping" : "");
        break;
      case 4:
        fp_pong(s, "pong");
        break;
      case 5:
        fp_close(s, CODES[arg % (sizeof CODES / sizeof CODES[0])], (arg & 16) ? "bye" : NULL);
        break;
      case 6:
        (void)fp_turn(s);
        break;
      case 7:
        fp_pump(p);
        break;
      case 8:
        fp_sleep(p, (uint64_t)arg * 50u);
        break;
      case 9: {
        /* hostile bytes from s, up to 24 taken from the script */
        size_t k = arg % 24 < n - i - 2 ? arg % 24 : n - i - 2;
        fp_raw(s, d + i + 2, k);
        raw_used = raw_used || k > 0;
        i += k;
        break;
      }
      case 10:
        if (s->c && !s->gone)
          fp_gone(s, WS_ERR_PROTO_EOF); /* RST */
        break;
      case 11:
        if (s->c && !s->gone)
          ws_conn_fail(s->c, WS_ERR_PROTO_POLICY, (arg & 1) ? 1008 : 0);
        break;
      case 12:
        s->app_fail_at = s->n_msg + 1 + arg % 3;
        break;
      case 13:
        /* echo on one side only: two echoing sides would bounce a message forever */
        s->echo = !s->echo;
        p->s[1 - s->idx].echo = false;
        break;
      case 14:
        if (s->idx == 1 && s->c && !s->gone) {
          ws_frame_shared *f = ws_frame_shared_new(&p->a, WS_OP_BINARY, PAYLOAD, len);
          if (f) {
            fp_api_rc(s, ws_conn_send_shared(s->c, f));
            ws_frame_shared_release(f);
          }
        }
        break;
      default:
        s->no_read = !s->no_read;
        break;
      }
    }
  }
  /* Two idle open connections may wait forever (no timer is due): end the session with a close
   * from the client (a no-op if closing already started); from then on every state must reach
   * CLOSED by itself, with the clock advanced to each deadline. A peer that stopped reading
   * ends by reset only (see fp_settle). */
  fp_close(&p->s[0], 1000, NULL);
  settle_and_check(p, raw_used);
  fp_free_pair(p);
  CHECK(p->fa.live == 0);
  free(p);
  return 0;
}
