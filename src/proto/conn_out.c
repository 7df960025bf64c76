/* The output side of a ws_conn: a queue of frames for writev, our close frame in an inline slot
 * that always goes last, masking for the client role, shared broadcast frames and WHATWG
 * bufferedAmount.
 *
 * Two copies and allocations are avoided on the hot paths (issue 8):
 * - small frames are written back to back into the spare room of the tail node, so frames
 *   queued together (pipelined echoes) cost one allocation and one writev slice, not one each;
 * - a message sent from inside on_message with the very buffer the connection assembled it in
 *   (echo, forward) is not copied: the queue takes that buffer and sends it after a separate
 *   header (two slices). */
#include <assert.h>
#include <string.h>

#include "base/alloc.h"
#include "proto/conn_internal.h"
#include "proto/conn_direct.h"
#include "proto/conn_out.h"
#include "proto/mask.h"

static const uint8_t *out_bytes(const ws__out *o) { return o->shared ? o->shared->data : o->data; }

static void out_free(ws_conn *c, ws__out *o) {
  if (o->shared)
    ws_frame_shared_release(o->shared);
  if (o->ext) {
    /* on_message may still be reading a taken buffer that was written while it ran (a
     * transport that writes synchronously): hand it back to the message slot, which frees it
     * once the callback returns, so the application's pointer stays valid until then. */
    if (o->ext == c->lent && !c->msg.data) {
      c->msg.data = o->ext;
      c->msg.len = c->msg.cap = 0;
    } else {
      ws__free(c->alloc, o->ext);
    }
  }
  ws__free(c->alloc, o);
}

/* A node with room for cap bytes in data[], not yet in the queue. */
static ws__out *node_alloc(ws_conn *c, size_t cap) {
  if (cap > SIZE_MAX - sizeof(ws__out))
    return NULL;
  ws__out *o = ws__malloc(c->alloc, sizeof *o + cap);
  if (o) {
    memset(o, 0, sizeof *o);
    o->cap = cap;
  }
  return o;
}

static void out_push(ws_conn *c, ws__out *o) {
  o->next = NULL;
  if (c->tail)
    c->tail->next = o;
  else
    c->head = o;
  c->tail = o;
}

/* A frame of `bytes` bytes, `app` of them application payload, was added to node o. */
static void frame_added(ws_conn *c, ws__out *o, size_t bytes, size_t app) {
  o->len += bytes;
  o->app += app;
  c->out_bytes += bytes;
  c->buffered += app;
}

/* The node that takes a frame of `need` bytes at the end of the queue: the tail's spare room
 * when it is big enough, else a new node (with WS__OUT_ROOM of room for a small frame, so the
 * frames queued after it need no allocation). NULL: out of memory. */
static ws__out *room_at_tail(ws_conn *c, size_t need) {
  ws__out *t = c->tail;
  if (t && !t->shared && !t->ext && !t->pong && t->cap - t->len >= need)
    return t;
  ws__out *o = node_alloc(c, need <= WS__OUT_ROOM ? WS__OUT_ROOM : need);
  if (o)
    out_push(c, o);
  return o;
}

/* Bytes [from, to) of node o were written: bufferedAmount falls by the application payload
 * bytes among them (WHATWG: headers and control frames do not count). A node written to its
 * end settles at once; a partial write walks the frame headers from o->scan. */
static void account(ws_conn *c, ws__out *o, size_t from, size_t to) {
  if (o->app == 0)
    return;
  if (to == o->len) {
    c->buffered -= o->app;
    o->app = 0;
    return;
  }
  const uint8_t *b = out_bytes(o);
  while (o->scan < to) {
    ws__frame_hdr fh;
    int h = ws__frame_parse(b + o->scan, (o->ext ? o->hdr : o->len) - o->scan, &fh);
    assert(h > 0); /* our own frames */
    size_t pay = o->scan + (size_t)h;
    size_t end = pay + (size_t)fh.len;
    if (!ws__opcode_is_control(fh.opcode)) {
      size_t lo = from > pay ? from : pay;
      size_t hi = to < end ? to : end;
      if (hi > lo) {
        c->buffered -= hi - lo;
        o->app -= hi - lo;
      }
    }
    if (end > to)
      break;
    o->scan = end;
  }
}

void ws__out_clear(ws_conn *c) {
  ws__out *o = c->head;
  while (o) {
    ws__out *next = o->next;
    out_free(c, o);
    o = next;
  }
  c->head = c->tail = c->pong = NULL;
  c->pongs = 0;
  c->head_off = 0;
  c->out_bytes = 0;
  c->buffered = 0;
}

/* RFC 6455 5.3: a client masks every frame with a fresh key; a server never masks. */
static size_t build_rsv(ws_conn *c, uint8_t *dst, bool fin, uint8_t rsv, uint8_t op,
                        const uint8_t *p, size_t n) {
  if (c->role == WS_ROLE_CLIENT) {
    uint8_t key[4];
    c->rand_cb(c->rand_ud, key, 4);
    size_t h = ws__frame_build(dst, fin, rsv, op, key, n);
    if (n)
      ws__mask_copy(dst + h, p, n, key, 0);
    return h + n;
  }
  size_t h = ws__frame_build(dst, fin, rsv, op, NULL, n);
  if (n)
    memcpy(dst + h, p, n);
  return h + n;
}

static size_t build(ws_conn *c, uint8_t *dst, bool fin, uint8_t op, const uint8_t *p, size_t n) {
  return build_rsv(c, dst, fin, 0, op, p, n);
}

void ws__out_close(ws_conn *c, uint16_t code, const char *reason, size_t reason_len) {
  uint8_t body[WS__CONTROL_MAX] = {0};
  size_t n = 0;
  if (code) {
    body[0] = (uint8_t)(code >> 8);
    body[1] = (uint8_t)code;
    if (reason_len > WS__CONTROL_MAX - 2)
      reason_len = WS__CONTROL_MAX - 2;
    if (reason_len)
      memcpy(body + 2, reason, reason_len);
    n = 2 + reason_len;
  }
  c->close_len = (uint8_t)build(c, c->close_out, true, WS_OP_CLOSE, body, n);
  c->close_off = 0;
  c->close_sent = true;
  c->code_sent = code ? code : WS_CLOSE_NO_STATUS;
  c->out_msg_op = 0;
}

int ws__out_control(ws_conn *c, uint8_t op, const uint8_t *p, size_t n, bool replace) {
  if (replace && c->pong && c->pongs >= WS__MAX_QUEUED_PONGS &&
      !(c->pong == c->head && c->head_off > 0)) {
    /* Every ping gets its pong while the peer reads them (as browsers and Autobahn 2.10 expect);
     * past WS__MAX_QUEUED_PONGS unsent ones, a ping flood only rewrites the newest, which RFC 6455
     * 5.5.3 allows ("only the most recently processed Ping"), so memory stays bounded. */
    ws__out *o = c->pong;
    c->out_bytes -= o->len;
    o->len = build(c, o->data, true, op, p, n);
    c->out_bytes += o->len;
    return WS_OK;
  }
  ws__out *o;
  if (replace) {
    /* An automatic pong has a node of its own: a newer ping may rewrite it (length and all). */
    o = node_alloc(c, WS__FRAME_HDR_MAX + WS__CONTROL_MAX);
    if (o) {
      o->pong = true;
      out_push(c, o);
    }
  } else {
    o = room_at_tail(c, ws__frame_hdr_size(n, c->role == WS_ROLE_CLIENT) + n);
  }
  if (!o)
    return WS_ERR_NOMEM;
  frame_added(c, o, build(c, o->data + o->len, true, op, p, n), 0);
  if (replace) {
    c->pong = o;
    c->pongs++;
  }
  return WS_OK;
}

/* ---- public output API ------------------------------------------------------------------- */

/* WHATWG send(): once the closing handshake has started the data is dropped but counted. */
static bool send_closed(ws_conn *c, size_t len) {
  if (c->close_sent || c->failed || c->closed || c->eof) {
    c->dropped += len;
    return true;
  }
  return false;
}

/* Would a frame of h header + n payload bytes keep the queue within send_queue_limit? */
static bool room_for(const ws_conn *c, size_t h, size_t n) {
  if (n > SIZE_MAX - h)
    return false;
  size_t need = h + n;
  return need <= c->send_queue_limit && c->out_bytes <= c->send_queue_limit - need;
}

/* The echo/forward pattern: on_message's application sends (a prefix of) the message it was
 * given, and that message sits in the connection's own buffer (assembled from several reads or
 * fragments; a zero-copy message points into the caller's input and is never lent). Server role
 * only: a client would have to mask the payload in place (RFC 6455 5.3) while the application
 * may still read it until its callback returns. Small payloads are cheaper to copy into a
 * shared node than to give a node of their own. The payload starts at the buffer's start and
 * ends within the message (a prefix is fine); anything else is copied. */
static bool can_take(const ws_conn *c, const uint8_t *p, size_t n) {
  return n >= WS__OUT_TAKE_MIN && p == c->lent && p && p == c->msg.data && n <= c->msg.len &&
         c->role == WS_ROLE_SERVER;
}

/* Queue the frame with the message buffer as its payload: the buffer leaves the connection
 * (which is left with an empty, unallocated message slot, as between messages) and is freed
 * once written. */
static int take_message(ws_conn *c, uint8_t op, size_t n, bool fin, uint8_t rsv) {
  ws__out *o = node_alloc(c, WS__FRAME_HDR_MAX);
  if (!o)
    return WS_ERR_NOMEM;
  o->hdr = ws__frame_build(o->data, fin, rsv, op, NULL, n);
  o->ext = c->msg.data;
  ws__buf_init(&c->msg, c->alloc, c->msg.max); /* detached, not freed: the queue owns it */
  out_push(c, o);
  frame_added(c, o, o->hdr + n, n);
  return WS_OK;
}

static int queue_data_rsv(ws_conn *c, uint8_t op, const uint8_t *p, size_t n, bool fin,
                          uint8_t rsv) {
  size_t h = ws__frame_hdr_size(n, c->role == WS_ROLE_CLIENT);
  if (!room_for(c, h, n))
    return WS_ERR_BUFFER_FULL;
  if (can_take(c, p, n))
    return take_message(c, op, n, fin, rsv);
  ws__out *o = room_at_tail(c, h + n);
  if (!o)
    return WS_ERR_NOMEM;
  frame_added(c, o, build_rsv(c, o->data + o->len, fin, rsv, op, p, n), n);
  return WS_OK;
}

/* permessage-deflate (RFC 7692 6): compress the payload and set RSV1 on the first frame of the
 * message only. compress: this message goes compressed (decided on its first frame). */
static int queue_data(ws_conn *c, uint8_t op, const uint8_t *p, size_t n, bool fin, bool compress) {
  if (!compress)
    return queue_data_rsv(c, op, p, n, fin, 0);
  ws__buf z;
  ws__buf_init(&z, c->alloc, c->send_queue_limit);
  int rc = ws__pmd_compress(c->pmd, p, n, fin, &z);
  if (rc == WS_ERR_LIMIT)
    rc = WS_ERR_BUFFER_FULL;
  if (rc == WS_OK)
    rc = queue_data_rsv(c, op, z.data, z.len, fin, op == WS_OP_CONTINUATION ? 0 : WS__RSV1);
  ws__buf_free(&z);
  return rc;
}

static int send_msg(ws_conn *c, ws_opcode op, const void *data, size_t len, bool checked) {
  if (!c || (op != WS_OP_TEXT && op != WS_OP_BINARY) || (!data && len))
    return WS_ERR_INVAL;
  if (send_closed(c, len))
    return WS_ERR_STATE;
  if (c->out_msg_op)
    return WS_ERR_STATE; /* RFC 6455 5.4: a fragmented message is being sent */
  /* RFC 6455 5.6: a text message is UTF-8; the peer would fail us with 1007. */
  if (op == WS_OP_TEXT && !checked && !ws__utf8_valid(data, len))
    return WS_ERR_INVAL;
  bool z = c->pmd && ws__pmd_should_compress(c->pmd, len);
  return queue_data(c, (uint8_t)op, data, len, true, z);
}

int ws_conn_send(ws_conn *c, ws_opcode op, const void *data, size_t len) {
  return send_msg(c, op, data, len, false);
}

int ws__conn_send_checked(ws_conn *c, ws_opcode op, const void *data, size_t len) {
  return send_msg(c, op, data, len, true);
}

int ws_conn_send_fragment(ws_conn *c, ws_opcode op, const void *data, size_t len, bool fin) {
  if (!c || (!data && len))
    return WS_ERR_INVAL;
  if (op != WS_OP_TEXT && op != WS_OP_BINARY && op != WS_OP_CONTINUATION)
    return WS_ERR_INVAL;
  if (send_closed(c, len))
    return WS_ERR_STATE;
  /* RFC 6455 5.4: TEXT/BINARY start a message, CONTINUATION carries it on. */
  if ((op == WS_OP_CONTINUATION) != (c->out_msg_op != 0))
    return WS_ERR_STATE;
  uint8_t mop = op == WS_OP_CONTINUATION ? c->out_msg_op : (uint8_t)op;
  ws__utf8 st = c->oututf8;
  if (op != WS_OP_CONTINUATION)
    ws__utf8_reset(&st);
  if (mop == WS_OP_TEXT && (ws__utf8_feed(&st, data, len) != len || (fin && !ws__utf8_complete(&st))))
    return WS_ERR_INVAL;
  /* permessage-deflate: the first fragment decides for the whole message (RFC 7692 6). */
  bool z = op == WS_OP_CONTINUATION ? c->tx_pmd : (c->pmd && ws__pmd_should_compress(c->pmd, len));
  int rc = queue_data(c, (uint8_t)op, data, len, fin, z);
  if (rc && z && op == WS_OP_CONTINUATION) {
    /* The compressed stream is cut: the message cannot be finished (RFC 7692 7.2.1). */
    ws_conn_fail(c, WS_ERR_NOMEM, 0);
    return rc;
  }
  if (rc)
    return rc;
  c->tx_pmd = z && !fin;
  c->oututf8 = st;
  c->out_msg_op = fin ? 0 : mop;
  return WS_OK;
}

static int user_control(ws_conn *c, uint8_t op, const void *data, size_t len) {
  if (!c || (!data && len) || len > WS__CONTROL_MAX)
    return WS_ERR_INVAL;
  if (c->close_sent || c->failed || c->closed || c->eof)
    return WS_ERR_STATE;
  if (!room_for(c, ws__frame_hdr_size(len, c->role == WS_ROLE_CLIENT), len))
    return WS_ERR_BUFFER_FULL;
  return ws__out_control(c, op, data, len, false);
}

int ws_conn_ping(ws_conn *c, const void *data, size_t len) {
  return user_control(c, WS_OP_PING, data, len);
}
int ws_conn_pong(ws_conn *c, const void *data, size_t len) {
  return user_control(c, WS_OP_PONG, data, len);
}

int ws_conn_pending_out(const ws_conn *c, ws_slice *out, int max) {
  if (!c || !out || max <= 0)
    return 0;
  int k = 0;
  size_t off = c->head_off;
  const ws__out *o = c->head;
  for (; o && k < max; o = o->next, off = 0) {
    if (o->ext) {
      /* A taken message: its header, then its payload where it lies. */
      if (off < o->hdr) {
        out[k].data = o->data + off;
        out[k].len = o->hdr - off;
        k++;
        off = o->hdr;
        if (k == max)
          break;
      }
      out[k].data = o->ext + (off - o->hdr);
    } else {
      out[k].data = out_bytes(o) + off;
    }
    out[k].len = o->len - off;
    k++;
  }
  if (!o && k < max && c->close_off < c->close_len) {
    out[k].data = c->close_out + c->close_off;
    out[k].len = (size_t)(c->close_len - c->close_off);
    k++;
  }
  return k;
}

size_t ws_conn_pending_bytes(const ws_conn *c) {
  if (!c)
    return 0;
  return c->out_bytes + (size_t)(c->close_len - c->close_off);
}

void ws_conn_consume_out(ws_conn *c, size_t n) {
  if (!c)
    return;
  while (n && c->head) {
    ws__out *o = c->head;
    size_t left = o->len - c->head_off;
    size_t take = n < left ? n : left;
    account(c, o, c->head_off, c->head_off + take);
    c->head_off += take;
    c->out_bytes -= take;
    n -= take;
    if (c->head_off == o->len) {
      c->head = o->next;
      if (!c->head)
        c->tail = NULL;
      if (c->pong == o)
        c->pong = NULL;
      if (o->pong)
        c->pongs--;
      c->head_off = 0;
      out_free(c, o);
    }
  }
  if (n && c->close_off < c->close_len) {
    size_t left = (size_t)(c->close_len - c->close_off);
    size_t take = n < left ? n : left;
    c->close_off = (uint8_t)(c->close_off + take);
    if (c->close_off == c->close_len)
      c->close_flushed = true;
  }
}

/* ---- shared frames ----------------------------------------------------------------------- */

ws_frame_shared *ws_frame_shared_new(const ws_allocator *alloc, ws_opcode op, const void *data,
                                     size_t len) {
  if ((op != WS_OP_TEXT && op != WS_OP_BINARY) || (!data && len))
    return NULL;
  if (op == WS_OP_TEXT && !ws__utf8_valid(data, len))
    return NULL;
  if (len > SIZE_MAX - sizeof(ws_frame_shared) - WS__FRAME_HDR_MAX)
    return NULL;
  ws_frame_shared *f = ws__malloc(alloc, sizeof *f + WS__FRAME_HDR_MAX + len);
  if (!f)
    return NULL;
  f->alloc = alloc;
  f->refs = 1;
  f->hdr = ws__frame_build(f->data, true, 0, (uint8_t)op, NULL, len);
  if (len)
    memcpy(f->data + f->hdr, data, len);
  f->len = f->hdr + len;
  return f;
}

const uint8_t *ws__frame_shared_wire(const ws_frame_shared *f, size_t *len) {
  *len = f->len;
  return f->data;
}

void ws_frame_shared_release(ws_frame_shared *f) {
  if (f && --f->refs == 0)
    ws__free(f->alloc, f);
}

int ws_conn_send_shared(ws_conn *c, ws_frame_shared *f) {
  if (!c || !f || c->role != WS_ROLE_SERVER)
    return WS_ERR_INVAL;
  size_t payload = f->len - f->hdr;
  if (send_closed(c, payload))
    return WS_ERR_STATE;
  if (c->out_msg_op)
    return WS_ERR_STATE;
  if (!room_for(c, f->hdr, f->len - f->hdr))
    return WS_ERR_BUFFER_FULL;
  ws__out *o = node_alloc(c, 0);
  if (!o)
    return WS_ERR_NOMEM;
  o->shared = f;
  f->refs++;
  o->hdr = f->hdr;
  out_push(c, o);
  frame_added(c, o, f->len, f->len - f->hdr);
  return WS_OK;
}
