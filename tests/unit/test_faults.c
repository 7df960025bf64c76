/* Fault injection and short I/O over whole client<->server sessions (issue 9).
 *
 * Every scenario below runs a real opening handshake and a ws_conn on each side (faults_pair.h),
 * first with no fault to learn its outcome and its number N of allocations, then once for every
 * allocation index 0..N-1 with that one allocation failing. Each run must: not crash (ASan/UBSan
 * in the asan. variant), free everything (the allocator's live count is 0; ASan's leak check),
 * fire on_close exactly once per connection with on_error at most once and before it, never hang,
 * and end either exactly as the fault-free run or with a clean failure: a handshake refused (the
 * server answers 500), or connections that report the scenario's code, 1011 (internal error: the
 * side that ran out of memory fails the connection) or 1006.
 *
 * The side that fails a connection reports 1006 itself (WHATWG "fail the WebSocket connection":
 * its CloseEvent is 1006, wasClean false, whatever it sent); its peer reports the code it got.
 *
 * Every scenario is also replayed with 1-byte chunks and with seeded random chunk sizes, both for
 * feeding input and for consuming output; with no fault those runs must end exactly as the
 * whole-buffer run (same codes, same wasClean, same messages byte for byte by checksum).
 * A failing run prints scenario, chunk mode, seed and the failed allocation index.
 * The deflate_* scenarios (permessage-deflate, zlib's allocations included) are compiled in once
 * wsclean/deflate.h exists. */
#include <stdio.h>

#include "faults_pair.h"
#include "wstest.h"

/* The sanitized twin is ~8x slower: there the random chunkings are left to the plain build
 * (WS_FAULT_SEEDS=n still asks for them); whole buffers and 1-byte chunks, which split every
 * header at every byte, run under ASan with every allocation failed. */
#if defined(__SANITIZE_ADDRESS__)
#define FAULT_DEFAULT_SEEDS 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FAULT_DEFAULT_SEEDS 0
#endif
#endif
#ifndef FAULT_DEFAULT_SEEDS
#define FAULT_DEFAULT_SEEDS 2
#endif

typedef struct fp_outcome {
  bool hs_failed;
  bool opened[2];
  uint16_t code[2];
  bool clean[2];
  int n_msg[2];
  uint32_t hash[2];
  uint64_t bytes[2];
} fp_outcome;

typedef struct scenario {
  const char *name;
  void (*setup)(fp_pair *p); /* options before the handshake (may be NULL) */
  void (*run)(fp_pair *p);   /* after both connections opened */
  uint16_t expect[2];        /* fault-free CloseEvent codes: client, server */
  bool clean[2];             /* fault-free wasClean */
} scenario;

/* ---- payloads ------------------------------------------------------------------------------ */

static uint8_t BIG[70000];
static void fill_big(void) {
  uint64_t s = 42;
  for (size_t i = 0; i < sizeof BIG; i++)
    BIG[i] = (uint8_t)fp_rand(&s);
}
static const char TEXT[] = "h\xc3\xa9llo w\xc3\xb6rld \xf0\x9f\x98\x80 caf\xc3\xa9";

#define C(p) (&(p)->s[0])
#define S(p) (&(p)->s[1])

/* ---- scenarios ----------------------------------------------------------------------------- */

static void sc_handshake_close(fp_pair *p) {
  fp_close(C(p), 1000, "bye");
  fp_settle(p);
}
static void sc_echo_text(fp_pair *p) {
  S(p)->echo = true;
  fp_send(C(p), WS_OP_TEXT, TEXT, sizeof TEXT - 1);
  fp_send(C(p), WS_OP_TEXT, "", 0);
  fp_pump(p);
  fp_close(C(p), 1000, NULL);
  fp_settle(p);
}
static void sc_echo_binary(fp_pair *p) {
  S(p)->echo = true;
  fp_send(C(p), WS_OP_BINARY, BIG, 125);
  fp_send(C(p), WS_OP_BINARY, BIG, 126);
  fp_send(C(p), WS_OP_BINARY, BIG, 65535);
  fp_send(C(p), WS_OP_BINARY, BIG, 65536);
  fp_pump(p);
  fp_close(C(p), 1000, NULL);
  fp_settle(p);
}
static void sc_echo_big(fp_pair *p) {
  S(p)->echo = true;
  fp_send(C(p), WS_OP_BINARY, BIG, sizeof BIG);
  fp_pump(p);
  fp_close(S(p), 1000, "done");
  fp_settle(p);
}
static void sc_fragmented_client(fp_pair *p) {
  S(p)->echo = true;
  fp_fragment(C(p), WS_OP_TEXT, TEXT, 2, false); /* splits a 2-byte sequence across frames */
  fp_fragment(C(p), WS_OP_CONTINUATION, TEXT + 2, 10, false);
  fp_ping(C(p), "mid-message");
  fp_fragment(C(p), WS_OP_CONTINUATION, TEXT + 12, sizeof TEXT - 13, true);
  fp_pump(p);
  fp_close(C(p), 1000, NULL);
  fp_settle(p);
}
static void sc_fragmented_server(fp_pair *p) {
  C(p)->echo = true;
  for (int i = 0; i < 20; i++)
    fp_fragment(S(p), i ? WS_OP_CONTINUATION : WS_OP_BINARY, BIG + i * 1000, 1000, i == 19);
  fp_fragment(S(p), WS_OP_BINARY, "", 0, false);
  fp_fragment(S(p), WS_OP_CONTINUATION, "", 0, true);
  fp_pump(p);
  fp_close(S(p), 1001, "going");
  fp_settle(p);
}
static void sc_ping_pong(fp_pair *p) {
  fp_ping(C(p), "c1");
  fp_ping(S(p), "s1");
  fp_pong(S(p), "unsolicited");
  fp_ping(C(p), "");
  fp_pump(p);
  fp_close(C(p), 4000, "app");
  fp_settle(p);
}
static void sc_close_client(fp_pair *p) {
  fp_send(C(p), WS_OP_TEXT, "last words", 10);
  fp_close(C(p), 1000, "client done");
  fp_settle(p);
}
static void sc_close_server(fp_pair *p) {
  fp_send(S(p), WS_OP_BINARY, BIG, 3000);
  fp_close(S(p), 1001, "server going away");
  fp_settle(p);
}
static void sc_close_nobody(fp_pair *p) {
  fp_close(S(p), 0, NULL);
  fp_settle(p);
}
static void sc_close_both(fp_pair *p) {
  fp_close(C(p), 1000, "c");
  fp_close(S(p), 1012, "restart");
  fp_settle(p);
}
static void sc_close_restart_after_data(fp_pair *p) {
  /* nothing lost: everything the server queued before its close arrives before it */
  for (int i = 0; i < 30; i++)
    fp_send(S(p), (i & 1) ? WS_OP_TEXT : WS_OP_BINARY, TEXT, sizeof TEXT - 1);
  fp_close(S(p), 1012, NULL);
  fp_settle(p);
}
static void sc_bad_utf8(fp_pair *p) {
  static const uint8_t mask[4] = {1, 2, 3, 4};
  uint8_t f[64];
  size_t n = fp_frame(f, true, WS_OP_TEXT, mask, "ok\xc3\x28!", 5);
  fp_raw(C(p), f, n);
  fp_settle(p);
}
static void sc_bad_utf8_fragmented(fp_pair *p) {
  static const uint8_t mask[4] = {9, 8, 7, 6};
  uint8_t f[64];
  size_t n = fp_frame(f, false, WS_OP_TEXT, mask, "ab\xf0\x9f", 4);
  n += fp_frame(f + n, true, WS_OP_CONTINUATION, mask, "\x98\xff", 2);
  fp_raw(C(p), f, n);
  fp_settle(p);
}
static void setup_small_max(fp_pair *p) { p->copt[1].max_message_size = 1000; }
static void sc_too_big(fp_pair *p) {
  fp_send(C(p), WS_OP_BINARY, BIG, 999);
  fp_send(C(p), WS_OP_BINARY, BIG, 1001);
  fp_settle(p);
}
static void sc_too_big_header_only(fp_pair *p) {
  /* a header announcing 2^40 bytes: 1009 must come from the header alone */
  static const uint8_t mask[4] = {0, 0, 0, 0};
  uint8_t f[16];
  size_t n = fp_frame(f, true, WS_OP_BINARY, mask, NULL, (uint64_t)1 << 40);
  fp_raw(C(p), f, n);
  fp_settle(p);
}
static void setup_few_fragments(fp_pair *p) { p->copt[1].max_fragments = 4; }
static void sc_too_many_fragments(fp_pair *p) {
  for (int i = 0; i < 6; i++)
    fp_fragment(C(p), i ? WS_OP_CONTINUATION : WS_OP_BINARY, "x", 1, i == 5);
  fp_settle(p);
}
static void sc_reserved_opcode(fp_pair *p) {
  static const uint8_t mask[4] = {1, 1, 1, 1};
  uint8_t f[16];
  size_t n = fp_frame(f, true, 0x3, mask, "abc", 3);
  fp_raw(C(p), f, n);
  fp_settle(p);
}
static void sc_unmasked_client(fp_pair *p) {
  uint8_t f[16];
  size_t n = fp_frame(f, true, WS_OP_TEXT, NULL, "abc", 3);
  fp_raw(C(p), f, n);
  fp_settle(p);
}
static void sc_masked_server(fp_pair *p) {
  static const uint8_t mask[4] = {1, 2, 3, 4};
  uint8_t f[16];
  size_t n = fp_frame(f, true, WS_OP_TEXT, mask, "abc", 3);
  fp_raw(S(p), f, n);
  fp_settle(p);
}
static void sc_bad_close_code(fp_pair *p) {
  static const uint8_t mask[4] = {5, 6, 7, 8};
  uint8_t f[16];
  size_t n = fp_frame(f, true, WS_OP_CLOSE, mask, "\x03\xed", 2); /* 1005 on the wire */
  fp_raw(C(p), f, n);
  fp_settle(p);
}
static void sc_app_failure(fp_pair *p) {
  S(p)->app_fail_at = 2;
  fp_send(C(p), WS_OP_TEXT, "one", 3);
  fp_send(C(p), WS_OP_TEXT, "two", 3);
  fp_send(C(p), WS_OP_TEXT, "three", 5);
  fp_settle(p);
}
static void sc_shared_frames(fp_pair *p) {
  ws_frame_shared *f = ws_frame_shared_new(&p->a, WS_OP_TEXT, TEXT, sizeof TEXT - 1);
  if (!f) {
    S(p)->nomem_seen++;
    ws_conn_fail(S(p)->c, WS_ERR_NOMEM, 0);
  } else {
    for (int i = 0; i < 3; i++)
      fp_api_rc(S(p), ws_conn_send_shared(S(p)->c, f));
    ws_frame_shared_release(f); /* the queue keeps its own references */
  }
  fp_pump(p);
  fp_close(S(p), 1000, NULL);
  fp_settle(p);
}
static void sc_never_answers_close(fp_pair *p) {
  C(p)->no_read = true; /* the client neither reads nor answers */
  fp_close(S(p), 1000, "hello?");
  fp_settle(p);
}
static void sc_eof_mid_message(fp_pair *p) {
  static const uint8_t mask[4] = {1, 2, 3, 4};
  uint8_t f[32];
  size_t n = fp_frame(f, true, WS_OP_BINARY, mask, BIG, 20);
  fp_raw(C(p), f, n - 7);
  fp_pump(p);
  /* the client's transport dies under it */
  C(p)->no_read = true;
  fp_gone(C(p), WS_ERR_PROTO_EOF);
  fp_settle(p);
}
static void setup_idle(fp_pair *p) { p->copt[1].idle_timeout_ms = 30000; }
static void sc_idle_timeout(fp_pair *p) {
  fp_send(C(p), WS_OP_TEXT, "hi", 2);
  fp_sleep(p, 31000);
  fp_settle(p);
}
static void setup_keepalive(fp_pair *p) {
  p->copt[1].ping_interval_ms = 10000;
  p->copt[1].ping_timeout_ms = 5000;
}
static void sc_keepalive_ok(fp_pair *p) {
  fp_sleep(p, 25000); /* pings answered by the client */
  fp_close(C(p), 1000, NULL);
  fp_settle(p);
}
static void sc_keepalive_dead(fp_pair *p) {
  C(p)->no_read = true; /* a half-open peer: the pong never comes */
  fp_sleep(p, 16000);
  fp_settle(p);
}
static void setup_small_queue(fp_pair *p) { p->copt[1].send_queue_limit = 10000; }
static void sc_send_queue_cap(fp_pair *p) {
  C(p)->no_read = true;
  for (int i = 0; i < 20; i++)
    fp_send(S(p), WS_OP_BINARY, BIG, 1000);
  /* the application's answer to WS_ERR_BUFFER_FULL: close with 1008 ... or give up */
  if (S(p)->errors_seen)
    ws_conn_fail(S(p)->c, WS_ERR_BUFFER_FULL, 1013);
  C(p)->no_read = false;
  fp_settle(p);
}
static void sc_many_messages(fp_pair *p) {
  /* both ways, interleaved, random sizes: every byte checked by the checksums */
  S(p)->echo = true;
  uint64_t r = 7;
  for (int i = 0; i < 60; i++) {
    size_t n = (size_t)(fp_rand(&r) % 3000);
    size_t off = (size_t)(fp_rand(&r) % (sizeof BIG - n));
    fp_send(C(p), WS_OP_BINARY, BIG + off, n);
    if (i % 7 == 0)
      fp_pump(p);
  }
  fp_pump(p);
  fp_close(C(p), 1000, NULL);
  fp_settle(p);
}

#ifdef FP_HAVE_DEFLATE
/* permessage-deflate (RFC 7692) negotiated by both sides, every message compressed */
static uint8_t PATTERN[100000];
static void setup_deflate(fp_pair *p) {
  p->deflate = true;
  for (size_t i = 0; i < sizeof PATTERN; i++)
    PATTERN[i] = (uint8_t)((uint8_t) "wsclean "[i % 8] + (i / 4096) % 3);
}
static void setup_deflate_no_takeover(fp_pair *p) {
  setup_deflate(p);
  p->dopt[0].no_context_takeover = p->dopt[1].no_context_takeover = true;
  p->dopt[0].peer_no_context_takeover = p->dopt[1].peer_no_context_takeover = true;
}
static void setup_deflate_small_max(fp_pair *p) {
  setup_deflate(p);
  p->copt[1].max_message_size = 1000;
}
static void sc_deflate_echo(fp_pair *p) {
  S(p)->echo = true;
  fp_send(C(p), WS_OP_TEXT, TEXT, sizeof TEXT - 1);
  fp_send(C(p), WS_OP_TEXT, "", 0);
  fp_send(C(p), WS_OP_BINARY, PATTERN, 70000);
  fp_send(C(p), WS_OP_BINARY, BIG, 3000); /* incompressible */
  fp_send(C(p), WS_OP_BINARY, PATTERN, 70000);
  fp_pump(p);
  fp_close(C(p), 1000, NULL);
  fp_settle(p);
}
static void sc_deflate_fragmented(fp_pair *p) {
  C(p)->echo = true;
  for (int i = 0; i < 10; i++)
    fp_fragment(S(p), i ? WS_OP_CONTINUATION : WS_OP_TEXT, PATTERN + i * 500, 500, i == 9);
  fp_pump(p);
  fp_close(S(p), 1001, NULL);
  fp_settle(p);
}
static void sc_deflate_bomb(fp_pair *p) {
  /* 100,000 bytes that compress to a few hundred: the server's 1000-byte limit applies to the
   * inflated size (1009), not to the bytes on the wire */
  fp_send(C(p), WS_OP_BINARY, PATTERN, sizeof PATTERN);
  fp_settle(p);
}
#endif

static const scenario SCENARIOS[] = {
    {"handshake_then_close", NULL, sc_handshake_close, {1000, 1000}, {true, true}},
    {"echo_text", NULL, sc_echo_text, {1000, 1000}, {true, true}},
    {"echo_binary_lengths", NULL, sc_echo_binary, {1000, 1000}, {true, true}},
    {"echo_70000", NULL, sc_echo_big, {1000, 1000}, {true, true}},
    {"fragmented_client_text", NULL, sc_fragmented_client, {1000, 1000}, {true, true}},
    {"fragmented_server_binary", NULL, sc_fragmented_server, {1001, 1001}, {true, true}},
    {"ping_pong", NULL, sc_ping_pong, {4000, 4000}, {true, true}},
    {"close_by_client", NULL, sc_close_client, {1000, 1000}, {true, true}},
    {"close_by_server", NULL, sc_close_server, {1001, 1001}, {true, true}},
    {"close_no_body", NULL, sc_close_nobody, {1005, 1005}, {true, true}},
    {"close_simultaneous", NULL, sc_close_both, {1012, 1000}, {true, true}},
    {"close_1012_after_data", NULL, sc_close_restart_after_data, {1012, 1012}, {true, true}},
    {"bad_utf8_1007", NULL, sc_bad_utf8, {1007, 1006}, {true, false}},
    {"bad_utf8_fragmented_1007", NULL, sc_bad_utf8_fragmented, {1007, 1006}, {true, false}},
    {"too_big_1009", setup_small_max, sc_too_big, {1009, 1006}, {true, false}},
    {"too_big_header_1009", setup_small_max, sc_too_big_header_only, {1009, 1006}, {true, false}},
    {"too_many_fragments_1009",
     setup_few_fragments,
     sc_too_many_fragments,
     {1009, 1006},
     {true, false}},
    {"reserved_opcode_1002", NULL, sc_reserved_opcode, {1002, 1006}, {true, false}},
    {"unmasked_client_1002", NULL, sc_unmasked_client, {1002, 1006}, {true, false}},
    {"masked_server_1002", NULL, sc_masked_server, {1006, 1002}, {false, true}},
    {"bad_close_code_1002", NULL, sc_bad_close_code, {1002, 1006}, {true, false}},
    {"app_failure_1011", NULL, sc_app_failure, {1011, 1006}, {true, false}},
    {"shared_frames", NULL, sc_shared_frames, {1000, 1000}, {true, true}},
    {"never_answers_close", NULL, sc_never_answers_close, {1006, 1006}, {false, false}},
    {"eof_mid_message", NULL, sc_eof_mid_message, {1006, 1006}, {false, false}},
    {"idle_timeout_1001", setup_idle, sc_idle_timeout, {1001, 1001}, {true, true}},
    {"keepalive_answered", setup_keepalive, sc_keepalive_ok, {1000, 1000}, {true, true}},
    {"keepalive_dead_peer", setup_keepalive, sc_keepalive_dead, {1006, 1006}, {false, false}},
    {"send_queue_cap", setup_small_queue, sc_send_queue_cap, {1013, 1006}, {true, false}},
    {"many_messages_checksummed", NULL, sc_many_messages, {1000, 1000}, {true, true}},
#ifdef FP_HAVE_DEFLATE
    {"deflate_echo", setup_deflate, sc_deflate_echo, {1000, 1000}, {true, true}},
    {"deflate_no_context_takeover",
     setup_deflate_no_takeover,
     sc_deflate_echo,
     {1000, 1000},
     {true, true}},
    {"deflate_fragmented", setup_deflate, sc_deflate_fragmented, {1001, 1001}, {true, true}},
    {"deflate_bomb_1009", setup_deflate_small_max, sc_deflate_bomb, {1009, 1006}, {true, false}},
#endif
};
#define N_SCENARIOS (sizeof SCENARIOS / sizeof SCENARIOS[0])

/* ---- runner -------------------------------------------------------------------------------- */

typedef struct run_result {
  fp_outcome o;
  long allocs;
  long live;
  bool ok_contract; /* per-connection contract held (see check_contract) */
  char why[160];
  bool stuck;
  bool deflate_missing; /* a deflate scenario whose handshake did not negotiate it */
} run_result;

static bool check_contract(fp_pair *p, char *why, size_t cap) {
  for (int i = 0; i < 2; i++) {
    fp_side *s = &p->s[i];
    if (!s->opened)
      continue;
    if (s->n_close != 1) {
      snprintf(why, cap, "side %d: on_close fired %d times", i, s->n_close);
      return false;
    }
    if (s->n_error > 1 || s->close_before_error) {
      snprintf(why, cap, "side %d: on_error %d times, after close %d", i, s->n_error,
               s->close_before_error);
      return false;
    }
    if (s->msg_after_close || s->msg_after_close_frame) {
      snprintf(why, cap, "side %d: a message after on_close or after the peer's close frame", i);
      return false;
    }
  }
  return true;
}

static run_result run_one(const scenario *sc, fp_chunk_mode mode, uint64_t seed, long fail_at) {
  fp_pair *p = calloc(1, sizeof *p);
  fp_init(p, mode, seed, fail_at);
  if (sc->setup)
    sc->setup(p);
  if (fp_handshake(p))
    sc->run(p);
  else
    fp_settle(p);
  run_result r;
  memset(&r, 0, sizeof r);
  r.o.hs_failed = p->hs_failed;
  for (int i = 0; i < 2; i++) {
    r.o.opened[i] = p->s[i].opened;
    r.o.code[i] = p->s[i].code;
    r.o.clean[i] = p->s[i].clean;
    r.o.n_msg[i] = p->s[i].n_msg;
    r.o.hash[i] = p->s[i].hash;
    r.o.bytes[i] = p->s[i].bytes;
  }
  r.stuck = p->stuck;
#ifdef FP_HAVE_DEFLATE
  r.deflate_missing = p->deflate && !p->hs_failed && !(p->dpar[0].enabled && p->dpar[1].enabled);
#endif
  r.ok_contract = check_contract(p, r.why, sizeof r.why);
  if (p->hs_failed && p->hs_server_rc != WS_OK && p->hs_server_rc != WS_ERR_NOMEM &&
      p->hs_server_status != 500 && p->hs_server_status != 0) {
    snprintf(r.why, sizeof r.why, "server handshake: %s, status %d", ws_errname(p->hs_server_rc),
             p->hs_server_status);
    r.ok_contract = false;
  }
  fp_free_pair(p);
  r.allocs = p->fa.calls;
  r.live = p->fa.live;
  free(p);
  return r;
}

static bool same_outcome(const fp_outcome *a, const fp_outcome *b) {
  if (a->hs_failed != b->hs_failed)
    return false;
  for (int i = 0; i < 2; i++)
    if (a->opened[i] != b->opened[i] || a->code[i] != b->code[i] || a->clean[i] != b->clean[i] ||
        a->n_msg[i] != b->n_msg[i] || a->hash[i] != b->hash[i] || a->bytes[i] != b->bytes[i])
      return false;
  return true;
}

static const char *MODE_NAME[] = {"whole", "1-byte", "random"};
static long total_runs, total_fault_runs;

/* A run with one failed allocation: as the fault-free run, or a clean failure. */
static bool acceptable_degraded(const scenario *sc, const fp_outcome *o) {
  if (o->hs_failed)
    return true; /* refused during the handshake: checked in run_one (500 / NOMEM) */
  for (int i = 0; i < 2; i++) {
    if (!o->opened[i])
      continue;
    uint16_t c = o->code[i];
    if (c != sc->expect[i] && c != 1011 && c != 1006)
      return false;
  }
  return true;
}

static void run_scenario(const scenario *sc, fp_chunk_mode mode, uint64_t seed,
                         const fp_outcome *reference) {
  run_result base = run_one(sc, mode, seed, -1);
  total_runs++;
  WS_CHECK_MSG(!base.stuck, "%s/%s seed %llu: hung", sc->name, MODE_NAME[mode],
               (unsigned long long)seed);
  WS_CHECK_MSG(base.ok_contract, "%s/%s seed %llu: %s", sc->name, MODE_NAME[mode],
               (unsigned long long)seed, base.why);
  WS_CHECK_MSG(base.live == 0, "%s/%s: %ld blocks leaked", sc->name, MODE_NAME[mode], base.live);
  WS_CHECK_MSG(!base.o.hs_failed, "%s/%s: handshake failed", sc->name, MODE_NAME[mode]);
  WS_CHECK_MSG(!base.deflate_missing, "%s: permessage-deflate was not negotiated", sc->name);
  for (int i = 0; i < 2; i++) {
    WS_CHECK_MSG(base.o.code[i] == sc->expect[i], "%s/%s seed %llu: %s code %u, expected %u",
                 sc->name, MODE_NAME[mode], (unsigned long long)seed, i ? "server" : "client",
                 base.o.code[i], sc->expect[i]);
    WS_CHECK_MSG(base.o.clean[i] == sc->clean[i], "%s/%s seed %llu: %s wasClean %d, expected %d",
                 sc->name, MODE_NAME[mode], (unsigned long long)seed, i ? "server" : "client",
                 base.o.clean[i], sc->clean[i]);
  }
  if (reference)
    WS_CHECK_MSG(same_outcome(&base.o, reference),
                 "%s/%s seed %llu: outcome differs from the whole-buffer run (msgs %d/%d vs %d/%d)",
                 sc->name, MODE_NAME[mode], (unsigned long long)seed, base.o.n_msg[0],
                 base.o.n_msg[1], reference->n_msg[0], reference->n_msg[1]);
  for (long k = 0; k < base.allocs; k++) {
    run_result r = run_one(sc, mode, seed, k);
    total_fault_runs++;
    WS_CHECK_MSG(!r.stuck, "%s/%s seed %llu fail@%ld: hung", sc->name, MODE_NAME[mode],
                 (unsigned long long)seed, k);
    WS_CHECK_MSG(r.ok_contract, "%s/%s seed %llu fail@%ld: %s", sc->name, MODE_NAME[mode],
                 (unsigned long long)seed, k, r.why);
    WS_CHECK_MSG(r.live == 0, "%s/%s seed %llu fail@%ld: %ld blocks leaked", sc->name,
                 MODE_NAME[mode], (unsigned long long)seed, k, r.live);
    WS_CHECK_MSG(same_outcome(&r.o, &base.o) || acceptable_degraded(sc, &r.o),
                 "%s/%s seed %llu fail@%ld: codes %u/%u (expected %u/%u, or 1011/1006)", sc->name,
                 MODE_NAME[mode], (unsigned long long)seed, k, r.o.code[0], r.o.code[1],
                 sc->expect[0], sc->expect[1]);
  }
}

WS_TEST(every_scenario_every_allocation_whole_buffers) {
  fill_big();
  for (size_t i = 0; i < N_SCENARIOS; i++)
    run_scenario(&SCENARIOS[i], FP_WHOLE, 0, NULL);
}

WS_TEST(every_scenario_every_allocation_one_byte_chunks) {
  fill_big();
  for (size_t i = 0; i < N_SCENARIOS; i++) {
    run_result ref = run_one(&SCENARIOS[i], FP_WHOLE, 0, -1);
    run_scenario(&SCENARIOS[i], FP_ONE, 0, &ref.o);
  }
}

WS_TEST(every_scenario_every_allocation_random_chunks) {
  fill_big();
  /* WS_FAULT_SEEDS=n runs n seeds per scenario (default 2, 0 under ASan); a failure names its
   * seed */
  const char *env = getenv("WS_FAULT_SEEDS");
  int seeds = env ? atoi(env) : FAULT_DEFAULT_SEEDS;
  for (size_t i = 0; i < N_SCENARIOS; i++) {
    run_result ref = run_one(&SCENARIOS[i], FP_WHOLE, 0, -1);
    for (int s = 0; s < seeds; s++)
      run_scenario(&SCENARIOS[i], FP_RANDOM, UINT64_C(0x1234567) * (uint64_t)(s + 1) + (uint64_t)i,
                   &ref.o);
  }
  printf("fault runs: %ld baseline runs, %ld with one allocation failed\n", total_runs,
         total_fault_runs);
}

int main(void) { return ws_test_main(); }
