/* The output queue of ws_conn (src/proto/conn_out.c), byte-exact: a message buffer taken by the
 * queue instead of copied (the echo/forward pattern), small frames sharing a node, partial
 * writes at every byte boundary with bufferedAmount, and every allocation failing once. */
#include "conn_harness.h"

/* An echo application on top of the harness (h must stay first: the harness's callbacks take
 * the user data as an h_conn). on_message sends what it got, as `wsclean serve` does, and
 * records what the connection did with the buffer. */
typedef struct e_conn {
  h_conn h;
  h_alloc al;
  ws_allocator alloc;
  int sends;         /* ws_conn_send calls per message */
  size_t off;        /* they send d[off .. off + len) */
  size_t cut;        /* ... with len = n - cut */
  bool drain_inside; /* write everything from inside on_message (a synchronous transport) */
  bool close_inside; /* ws_conn_close from inside on_message, after the sends */
  int rc[2];
  bool lent;          /* on_message's pointer was the conn's message buffer */
  bool taken;         /* the first send queued that very buffer */
  bool kept;          /* the conn still had its message buffer after the sends */
  bool view_intact;   /* the application's bytes were unchanged after its sends */
  const uint8_t *ptr; /* on_message's pointer */
} e_conn;

static int e_on_message(ws_conn *c, void *ud, ws_opcode op, const uint8_t *d, size_t n) {
  e_conn *e = ud;
  h_on_message(c, ud, op, d, n);
  e->ptr = d;
  e->lent = d && d == c->lent && d == c->msg.data;
  for (int i = 0; i < e->sends && i < 2; i++) {
    e->rc[i] = ws_conn_send(c, op, d + e->off, n - e->off - e->cut);
    if (i == 0)
      e->taken = c->tail && c->tail->ext == d;
  }
  e->kept = c->msg.data != NULL;
  if (e->drain_inside)
    h_drain(&e->h);
  /* ASan reports a read here if the queue freed the buffer while the callback runs. */
  e->view_intact = memcmp(d, e->h.last_msg, e->h.last_msg_len) == 0;
  if (e->close_inside)
    ws_conn_close(c, 1000, "bye", 3);
  return 0;
}

static const ws_conn_callbacks E_CB = {e_on_message,     h_on_ping,  h_on_pong,
                                       h_on_close_frame, h_on_error, h_on_close};

/* fail_at: the allocation call that fails (-1: none); limit: send_queue_limit (0: default). */
static e_conn *e_new(ws_role role, long fail_at, size_t limit) {
  e_conn *e = calloc(1, sizeof *e);
  e->al.fail_at = fail_at;
  e->alloc = (ws_allocator){ha_malloc, ha_realloc, ha_free, &e->al};
  e->sends = 1;
  ws_conn_options o;
  h_opts(&o, role, &e->h);
  o.alloc = &e->alloc;
  if (limit)
    o.send_queue_limit = limit;
  e->h.c = ws_conn_new(&o, &E_CB, e, 1000);
  return e;
}

/* Free it; returns the blocks it leaked (0). */
static long e_free(e_conn *e) {
  if (e->h.c)
    ws_conn_free(e->h.c);
  long live = e->al.live;
  free(e);
  return live;
}

static void pattern(uint8_t *p, size_t n, unsigned seed) {
  for (size_t i = 0; i < n; i++)
    p[i] = (uint8_t)(i * 7 + seed);
}

/* Scratch buffers, filled afresh by each test (nothing is carried from one test to the next). */
static uint8_t g_in[1 << 18];
static uint8_t g_want[1 << 18];
static uint8_t g_pay[1 << 17];

/* ---- taking the message buffer ------------------------------------------------------------ */

/* A message assembled from several reads (or fragments) and echoed from on_message is sent
 * from the conn's own buffer: two slices (header, then that very buffer), the exact bytes, and
 * the conn's message slot empty and reusable afterwards. A zero-copy message (whole in one
 * read: the pointer is into the caller's input), a small one and a client's are copied. */
WS_TEST(conn_out_takes_the_assembled_message) {
  static const struct {
    const char *name;
    ws_role role;
    size_t n;
    size_t chunk; /* feed pieces (0: all at once) */
    int frags;    /* 1: one frame; 2: two fragments */
    bool taken;
  } rows[] = {
      {"1 KiB in two reads", WS_ROLE_SERVER, 1024, 600, 1, true},
      {"4000 B in 1000 B reads", WS_ROLE_SERVER, 4000, 1000, 1, true},
      {"70000 B (64-bit length) in 4 KiB reads", WS_ROLE_SERVER, 70000, 4096, 1, true},
      {"two fragments in one read", WS_ROLE_SERVER, 3000, 0, 2, true},
      {"1023 B split: small, copied", WS_ROLE_SERVER, 1023, 500, 1, false},
      {"whole frame in one read: zero-copy, copied", WS_ROLE_SERVER, 4000, 0, 1, false},
      {"client: masking would show, copied", WS_ROLE_CLIENT, 4000, 1000, 1, false},
  };
  for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
    size_t n = rows[r].n;
    ws_role role = rows[r].role;
    pattern(g_pay, n, (unsigned)r);
    size_t len;
    if (rows[r].frags == 2) {
      len = h_frame(g_in, role, 0x02, g_pay, n / 2);
      len += h_frame(g_in + len, role, 0x80, g_pay + n / 2, n - n / 2);
    } else {
      len = h_frame(g_in, role, 0x82, g_pay, n);
    }
    e_conn *e = e_new(role, -1, 0);
    WS_CHECK_EQ_INT(h_feed(&e->h, g_in, len, rows[r].chunk), len);
    WS_CHECK_MSG(e->h.n_msg == 1, "%s", rows[r].name);
    WS_CHECK_EQ_INT(e->rc[0], WS_OK);
    WS_CHECK_MSG(e->taken == rows[r].taken, "%s: taken %d", rows[r].name, e->taken);
    WS_CHECK_MSG(e->lent == (rows[r].chunk != 0 || rows[r].frags == 2), "%s: lent", rows[r].name);
    WS_CHECK_MSG(e->kept == (e->lent && !rows[r].taken), "%s: kept", rows[r].name);
    WS_CHECK_MSG(e->view_intact, "%s: the application's bytes changed", rows[r].name);
    WS_CHECK(e->h.c->msg.data == NULL); /* between messages: empty and unallocated */
    WS_CHECK_EQ_INT(ws_conn_buffered_amount(e->h.c), n);
    ws_slice s[4];
    int k = ws_conn_pending_out(e->h.c, s, 4);
    if (rows[r].taken) {
      /* No copy: the payload slice is the buffer on_message was given. */
      WS_CHECK_EQ_INT(k, 2);
      WS_CHECK(s[1].data == e->ptr);
      WS_CHECK_EQ_INT(s[1].len, n);
    } else {
      WS_CHECK_EQ_INT(k, 1);
    }
    size_t wl = h_frame_ex(g_want, 0x82, role == WS_ROLE_CLIENT, g_pay, n);
    h_drain(&e->h);
    WS_CHECK_MSG(e->h.out_len == wl && memcmp(e->h.out, g_want, wl) == 0, "%s: bytes",
                 rows[r].name);
    WS_CHECK_EQ_INT(ws_conn_buffered_amount(e->h.c), 0);
    WS_CHECK(e->h.c->head == NULL);
    /* The message slot works again: a second message, assembled and echoed the same way. */
    e->h.out_len = 0;
    pattern(g_pay, n, (unsigned)r + 100);
    len = h_frame(g_in, role, 0x82, g_pay, n);
    WS_CHECK_EQ_INT(h_feed(&e->h, g_in, len, rows[r].chunk ? rows[r].chunk : 999), len);
    WS_CHECK_EQ_INT(e->h.n_msg, 2);
    WS_CHECK_EQ_MEM(e->h.last_msg, e->h.last_msg_len, g_pay,
                    n < sizeof e->h.last_msg ? n : sizeof e->h.last_msg);
    wl = h_frame_ex(g_want, 0x82, role == WS_ROLE_CLIENT, g_pay, n);
    h_drain(&e->h);
    WS_CHECK_MSG(e->h.out_len == wl && memcmp(e->h.out, g_want, wl) == 0, "%s: second",
                 rows[r].name);
    WS_CHECK_EQ_INT(e_free(e), 0);
  }
}

/* What on_message does around its send: the buffer is taken at most once, a pointer that is not
 * the buffer's start is copied, the application can read its bytes until it returns even when
 * the transport writes them (and the queue frees its nodes) during the callback, and our close
 * frame still goes after the message. A send over the queue limit takes nothing. */
WS_TEST(conn_out_take_inside_the_callback) {
  enum { N = 3000 };
  static const struct {
    const char *name;
    int sends;
    size_t off, cut;
    bool drain, close;
    size_t limit;
    bool taken, kept;
    int rc;
    int frames; /* echo frames expected on the wire */
  } rows[] = {
      {"twice: taken, then copied", 2, 0, 0, false, false, 0, true, false, WS_OK, 2},
      {"a prefix: taken", 1, 0, 10, false, false, 0, true, false, WS_OK, 1},
      {"from offset 1: copied", 1, 1, 0, false, false, 0, false, true, WS_OK, 1},
      {"written during the callback", 1, 0, 0, true, false, 0, true, false, WS_OK, 1},
      {"twice, written during the callback", 2, 0, 0, true, false, 0, true, false, WS_OK, 2},
      {"close after it: close frame last", 1, 0, 0, false, true, 0, true, false, WS_OK, 1},
      {"over the queue limit: refused, kept", 1, 0, 0, false, false, 2000, false, true,
       WS_ERR_BUFFER_FULL, 0},
  };
  pattern(g_pay, N, 9);
  size_t len = h_frame(g_in, WS_ROLE_SERVER, 0x82, g_pay, N);
  for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
    e_conn *e = e_new(WS_ROLE_SERVER, -1, rows[r].limit);
    e->sends = rows[r].sends;
    e->off = rows[r].off;
    e->cut = rows[r].cut;
    e->drain_inside = rows[r].drain;
    e->close_inside = rows[r].close;
    WS_CHECK_EQ_INT(h_feed(&e->h, g_in, len, 1000), len);
    WS_CHECK_MSG(e->lent, "%s", rows[r].name);
    WS_CHECK_MSG(e->taken == rows[r].taken, "%s: taken", rows[r].name);
    WS_CHECK_MSG(e->kept == rows[r].kept, "%s: kept", rows[r].name);
    WS_CHECK_MSG(e->rc[0] == rows[r].rc, "%s: rc %d", rows[r].name, e->rc[0]);
    if (rows[r].sends == 2)
      WS_CHECK_EQ_INT(e->rc[1], WS_OK);
    WS_CHECK_MSG(e->view_intact, "%s: view", rows[r].name);
    h_drain(&e->h);
    size_t wl = 0;
    for (int f = 0; f < rows[r].frames; f++)
      wl +=
          h_frame_ex(g_want + wl, 0x82, false, g_pay + rows[r].off, N - rows[r].off - rows[r].cut);
    if (rows[r].close)
      wl += h_frame_ex(g_want + wl, 0x88, false,
                       "\x03\xe8"
                       "bye",
                       5);
    WS_CHECK_MSG(e->h.out_len == wl && memcmp(e->h.out, g_want, wl) == 0, "%s: bytes (%zu, %zu)",
                 rows[r].name, e->h.out_len, wl);
    WS_CHECK_EQ_INT(ws_conn_buffered_amount(e->h.c), 0);
    WS_CHECK(e->h.c->msg.data == NULL);
    WS_CHECK_MSG(e_free(e) == 0, "%s: leak", rows[r].name);
  }
}

/* ---- one queue of every kind of node, written in every possible way ------------------------- */

/* The frames build_mixed queues, in order: header bytes, payload bytes, application data. */
typedef struct m_frame {
  uint8_t b0;
  size_t n;
  bool app;
  const uint8_t *p;
} m_frame;

static uint8_t g_big[3000]; /* a frame bigger than a node's room: a node of its own */
static uint8_t g_msg[2000]; /* the peer's message, echoed from the conn's buffer (taken) */

/* Queue, on a server: a ping and "hi" (sharing a node), an automatic pong (a node of its own), a
 * shared frame, a taken message (header + buffer), a frame bigger than the room, "end", and
 * our close frame. Fills m with the frames' model; returns how many. */
static size_t build_mixed(e_conn *e, ws_frame_shared *f, m_frame *m) {
  ws_conn *c = e->h.c;
  size_t k = 0;
  WS_CHECK_EQ_INT(ws_conn_ping(c, "p", 1), WS_OK);
  m[k++] = (m_frame){0x89, 1, false, (const uint8_t *)"p"};
  WS_CHECK_EQ_INT(ws_conn_send(c, WS_OP_TEXT, "hi", 2), WS_OK);
  m[k++] = (m_frame){0x81, 2, true, (const uint8_t *)"hi"};
  uint8_t in[4096];
  size_t n = h_frame(in, WS_ROLE_SERVER, 0x89, "q", 1);
  WS_CHECK_EQ_INT(ws_conn_recv(c, in, n), n);
  m[k++] = (m_frame){0x8A, 1, false, (const uint8_t *)"q"};
  WS_CHECK_EQ_INT(ws_conn_send_shared(c, f), WS_OK);
  m[k++] = (m_frame){0x81, 4, true, (const uint8_t *)"news"};
  n = h_frame(in, WS_ROLE_SERVER, 0x82, g_msg, sizeof g_msg);
  WS_CHECK_EQ_INT(h_feed(&e->h, in, n, 700), n);
  WS_CHECK(e->taken);
  m[k++] = (m_frame){0x82, sizeof g_msg, true, g_msg};
  WS_CHECK_EQ_INT(ws_conn_send(c, WS_OP_BINARY, g_big, sizeof g_big), WS_OK);
  m[k++] = (m_frame){0x82, sizeof g_big, true, g_big};
  WS_CHECK_EQ_INT(ws_conn_send(c, WS_OP_TEXT, "end", 3), WS_OK);
  m[k++] = (m_frame){0x81, 3, true, (const uint8_t *)"end"};
  WS_CHECK_EQ_INT(ws_conn_close(c, 1000, "", 0), WS_OK);
  m[k++] = (m_frame){0x88, 2, false, (const uint8_t *)"\x03\xe8"};
  return k;
}

/* The model: the byte stream (built by the harness, not by src/proto) and, for every prefix
 * length, the application payload bytes not yet written (bufferedAmount). */
static size_t model(const m_frame *m, size_t k, uint8_t *want, uint64_t *ba) {
  size_t len = 0;
  uint64_t total = 0;
  for (size_t i = 0; i < k; i++)
    total += m[i].app ? m[i].n : 0;
  ba[0] = total;
  for (size_t i = 0; i < k; i++) {
    size_t fl = h_frame_ex(want + len, m[i].b0, false, m[i].p, m[i].n);
    size_t h = fl - m[i].n;
    for (size_t j = 0; j < fl; j++) {
      if (m[i].app && j >= h)
        total--;
      ba[len + j + 1] = total;
    }
    len += fl;
  }
  return len;
}

/* Write exactly `want` bytes as a socket would (slices in order, the last one cut short),
 * asking for at most max_slices per round. Returns the bytes written. */
static size_t write_some(e_conn *e, size_t want, int max_slices) {
  size_t done = 0;
  while (done < want) {
    ws_slice s[3]; /* max_slices <= 3: ASan sees a slice written past it */
    int k = ws_conn_pending_out(e->h.c, s, max_slices);
    WS_CHECK(k <= max_slices);
    if (k == 0)
      break;
    size_t got = 0;
    for (int i = 0; i < k && done + got < want; i++) {
      size_t t = s[i].len < want - done - got ? s[i].len : want - done - got;
      memcpy(e->h.out + e->h.out_len, s[i].data, t);
      e->h.out_len += t;
      got += t;
    }
    ws_conn_consume_out(e->h.c, got);
    done += got;
  }
  return done;
}

static uint64_t g_ba[1 << 14];

/* Cut the stream at every byte: the bytes, bufferedAmount and pending bytes are exact at the
 * cut, and the rest completes the stream. Then one byte per write, one slice at a time. */
WS_TEST(conn_out_partial_writes_at_every_byte) {
  pattern(g_big, sizeof g_big, 1);
  pattern(g_msg, sizeof g_msg, 2);
  ws_frame_shared *f = ws_frame_shared_new(NULL, WS_OP_TEXT, "news", 4);
  m_frame m[16];
  e_conn *e = e_new(WS_ROLE_SERVER, -1, 0);
  size_t k = build_mixed(e, f, m);
  size_t total = model(m, k, g_want, g_ba);
  WS_CHECK_EQ_INT(ws_conn_pending_bytes(e->h.c), total);
  WS_CHECK_EQ_INT(ws_conn_buffered_amount(e->h.c), g_ba[0]);
  /* ping + "hi" share a node; then pong, shared, taken (2 slices), big, "end", close. */
  ws_slice s[16];
  WS_CHECK_EQ_INT(ws_conn_pending_out(e->h.c, s, 16), 8);
  WS_CHECK_EQ_INT(e_free(e), 0);
  int bad = 0;
  for (size_t cut = 0; cut <= total && bad < 5; cut++) {
    e = e_new(WS_ROLE_SERVER, -1, 0);
    build_mixed(e, f, m);
    int maxs = (int)(cut % 3) + 1; /* 1, 2 or 3 slices per writev */
    WS_CHECK_EQ_INT(write_some(e, cut, maxs), cut);
    uint64_t ba = ws_conn_buffered_amount(e->h.c);
    size_t pend = ws_conn_pending_bytes(e->h.c);
    write_some(e, SIZE_MAX, maxs);
    bool ok = ba == g_ba[cut] && pend == total - cut && e->h.out_len == total &&
              memcmp(e->h.out, g_want, total) == 0 && e->h.c->head == NULL && e->h.c->close_flushed;
    WS_CHECK_MSG(ok, "cut %zu: bufferedAmount %llu (want %llu), pending %zu, %zu bytes", cut,
                 (unsigned long long)ba, (unsigned long long)g_ba[cut], pend, e->h.out_len);
    bad += !ok;
    WS_CHECK_MSG(e_free(e) == 0, "cut %zu: leak", cut);
  }
  e = e_new(WS_ROLE_SERVER, -1, 0);
  build_mixed(e, f, m);
  for (size_t i = 0; i < total && bad < 5; i++) {
    WS_CHECK_EQ_INT(write_some(e, 1, 1), 1);
    bool ok = e->h.out[i] == g_want[i] && ws_conn_buffered_amount(e->h.c) == g_ba[i + 1];
    WS_CHECK_MSG(ok, "byte %zu", i);
    bad += !ok;
  }
  WS_CHECK_EQ_INT(ws_conn_pending_bytes(e->h.c), 0);
  WS_CHECK_EQ_INT(e_free(e), 0);
  ws_frame_shared_release(f);
}

/* ---- small frames share a node ----------------------------------------------------------- */

/* 16 pipelined 20 B echoes (the pipe20 benchmark) cost one allocation and leave one slice; the
 * node's room is a bound, not a goal: more frames than fit take a second node. The queue is
 * freed once written (an idle connection holds no output memory). */
WS_TEST(conn_out_pipelined_small_frames_share_a_node) {
  static const struct {
    int frames;
    size_t size;
    long allocs;
  } rows[] = {
      {1, 20, 1},
      {16, 20, 1},
      /* 22 B frames: the node's room holds WS__OUT_ROOM / 22 of them */
      {(int)(WS__OUT_ROOM / 22), 20, 1},
      {(int)(WS__OUT_ROOM / 22) + 1, 20, 2},
      {3, 400, 2}, /* 402 B frames: two fit */
  };
  for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
    e_conn *e = e_new(WS_ROLE_SERVER, -1, 0);
    size_t len = 0, wl = 0;
    for (int i = 0; i < rows[r].frames; i++) {
      pattern(g_pay, rows[r].size, (unsigned)i);
      for (size_t j = 0; j < rows[r].size; j++)
        g_pay[j] = (uint8_t)('a' + g_pay[j] % 26); /* text */
      len += h_frame(g_in + len, WS_ROLE_SERVER, 0x81, g_pay, rows[r].size);
      wl += h_frame_ex(g_want + wl, 0x81, false, g_pay, rows[r].size);
    }
    long before = e->al.calls;
    WS_CHECK_EQ_INT(ws_conn_recv(e->h.c, g_in, len), len); /* one read */
    WS_CHECK_EQ_INT(e->h.n_msg, rows[r].frames);
    WS_CHECK_MSG(e->al.calls - before == rows[r].allocs, "row %zu: %ld allocations", r,
                 e->al.calls - before);
    ws_slice s[8];
    WS_CHECK_EQ_INT(ws_conn_pending_out(e->h.c, s, 8), rows[r].allocs);
    WS_CHECK_EQ_INT(ws_conn_buffered_amount(e->h.c), (uint64_t)rows[r].frames * rows[r].size);
    h_drain(&e->h);
    WS_CHECK_EQ_MEM(e->h.out, e->h.out_len, g_want, wl);
    WS_CHECK(e->h.c->head == NULL && e->h.c->tail == NULL);
    WS_CHECK_EQ_INT(e->al.live, 1); /* the conn itself */
    WS_CHECK_EQ_INT(e_free(e), 0);
  }
}

/* Automatic pongs keep a node of their own among shared nodes: with the peer not reading, data
 * frames and pings interleave; past WS__MAX_QUEUED_PONGS the newest pong is rewritten in place
 * (RFC 6455 5.5.3) and the frames queued after it are untouched. */
WS_TEST(conn_out_pongs_among_shared_nodes) {
  e_conn *e = e_new(WS_ROLE_SERVER, -1, 0);
  enum { ROUNDS = WS__MAX_QUEUED_PONGS + 8 };
  size_t wl = 0;
  char t[8], p[8];
  for (int i = 0; i < ROUNDS; i++) {
    int tl = snprintf(t, sizeof t, "a%d", i);
    int pl = snprintf(p, sizeof p, "p%d", i);
    uint8_t in[32];
    size_t n = h_frame(in, WS_ROLE_SERVER, 0x81, t, (size_t)tl);
    n += h_frame(in + n, WS_ROLE_SERVER, 0x89, p, (size_t)pl);
    WS_CHECK_EQ_INT(ws_conn_recv(e->h.c, in, n), n);
  }
  for (int i = 0; i < ROUNDS; i++) {
    int tl = snprintf(t, sizeof t, "a%d", i);
    wl += h_frame_ex(g_want + wl, 0x81, false, t, (size_t)tl);
    if (i < WS__MAX_QUEUED_PONGS) {
      int pl = snprintf(p, sizeof p, "p%d", i == WS__MAX_QUEUED_PONGS - 1 ? ROUNDS - 1 : i);
      wl += h_frame_ex(g_want + wl, 0x8A, false, p, (size_t)pl);
    }
  }
  WS_CHECK_EQ_INT(e->h.c->pongs, WS__MAX_QUEUED_PONGS);
  WS_CHECK_EQ_INT(ws_conn_pending_bytes(e->h.c), wl);
  h_drain(&e->h);
  WS_CHECK_EQ_MEM(e->h.out, e->h.out_len, g_want, wl);
  WS_CHECK_EQ_INT(e->h.c->pongs, 0);
  WS_CHECK_EQ_INT(e_free(e), 0);
}

/* ---- fault injection ------------------------------------------------------------------------ */

/* Every allocation of each scenario fails once: no crash, no leak; a refused send reports
 * WS_ERR_NOMEM and takes nothing (the conn keeps its buffer and frees it itself). */
WS_TEST(conn_out_every_allocation_fails_once) {
  pattern(g_big, sizeof g_big, 1);
  pattern(g_msg, sizeof g_msg, 2);
  for (int sc = 0; sc < 3; sc++) {
    long total = -1;
    for (long fail = -1; fail < total || total < 0; fail++) {
      e_conn *e = e_new(WS_ROLE_SERVER, fail, 0);
      if (!e->h.c) {
        WS_CHECK(fail == 0);
        WS_CHECK_EQ_INT(e_free(e), 0);
        continue;
      }
      if (sc == 0) { /* an assembled message echoed, written during the callback */
        e->drain_inside = true;
        size_t n = h_frame(g_in, WS_ROLE_SERVER, 0x82, g_msg, sizeof g_msg);
        h_feed(&e->h, g_in, n, 500);
      } else if (sc == 1) { /* 16 pipelined echoes */
        size_t n = 0;
        for (int i = 0; i < 16; i++)
          n += h_frame(g_in + n, WS_ROLE_SERVER, 0x81, "01234567890123456789", 20);
        ws_conn_recv(e->h.c, g_in, n);
      } else { /* the mixed queue, without its checks */
        ws_frame_shared *f = ws_frame_shared_new(NULL, WS_OP_TEXT, "news", 4);
        ws_conn_ping(e->h.c, "p", 1);
        ws_conn_send(e->h.c, WS_OP_TEXT, "hi", 2);
        size_t n = h_frame(g_in, WS_ROLE_SERVER, 0x89, "q", 1);
        ws_conn_recv(e->h.c, g_in, n);
        ws_conn_send_shared(e->h.c, f);
        ws_frame_shared_release(f);
        n = h_frame(g_in, WS_ROLE_SERVER, 0x82, g_msg, sizeof g_msg);
        h_feed(&e->h, g_in, n, 700);
        ws_conn_send(e->h.c, WS_OP_BINARY, g_big, sizeof g_big);
      }
      if (e->h.n_msg && e->rc[0] == WS_ERR_NOMEM)
        WS_CHECK_MSG(!e->taken && e->kept, "sc %d fail %ld: a refused send took the buffer", sc,
                     fail);
      h_drain(&e->h);
      if (e->h.c->failed)
        WS_CHECK_MSG(e->h.c->fail_err == WS_ERR_NOMEM, "sc %d fail %ld: %s", sc, fail,
                     ws_errname(e->h.c->fail_err));
      ws_conn_eof(e->h.c);
      ws_conn_transport_closed(e->h.c, WS_OK, NULL);
      WS_CHECK_EQ_INT(e->h.n_close, 1);
      long calls = e->al.calls;
      WS_CHECK_MSG(e_free(e) == 0, "sc %d fail %ld: leak", sc, fail);
      if (fail == -1)
        total = calls;
    }
    WS_CHECK(total >= 2);
  }
}

int main(void) { return ws_test_main(); }
