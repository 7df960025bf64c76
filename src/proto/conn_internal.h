/* The layout of a ws_conn, shared by the files of src/proto that implement it and by the unit
 * tests (which check sizes and internal invariants). Applications see only wsclean/conn.h. */
#ifndef WS_PROTO_CONN_INTERNAL_H
#define WS_PROTO_CONN_INTERNAL_H

#include "base/buf.h"
#include "proto/deflate.h"
#include "proto/frame.h"
#include "proto/utf8.h"
#include "wsclean/conn.h"

/* A node of the output queue: one writev slice (two for a taken message buffer).
 * - own bytes (shared == NULL, ext == NULL): whole frames back to back in data[0..len), with
 *   room for cap bytes, so small frames queued together share one allocation (the tail node's
 *   spare room takes the next frame);
 * - shared (broadcast): one frame whose bytes live in the ws_frame_shared;
 * - ext: one frame, its header in data[0..hdr) and its payload in ext[0..len - hdr), a message
 *   buffer taken from the connection (ws_conn_send of the message being delivered). */
typedef struct ws__out {
  struct ws__out *next;
  ws_frame_shared *shared; /* non-NULL: the bytes live there (broadcast) */
  uint8_t *ext;            /* non-NULL: the payload lives there; freed with the node */
  size_t len;              /* frame bytes in the node */
  size_t hdr;              /* header bytes of a single-frame node (shared, ext) */
  size_t cap;              /* own bytes: room of data[] */
  size_t app;              /* application payload bytes not yet written (bufferedAmount) */
  size_t scan;             /* start of the frame holding the write position (partial writes) */
  bool pong;               /* an automatic answer to a ping: alone in its node (replaceable) */
  uint8_t data[];          /* own bytes, or the header of an ext frame */
} ws__out;

/* Allocation size of a node for small frames: frames of up to WS__OUT_ROOM bytes (header
 * included) get a node with that much room, which the frames queued after them fill before
 * another allocation; a larger frame gets a node of its own size. 1 KiB keeps the node in the
 * C library's per-thread cache (glibc's tcache serves blocks up to 1032 bytes): with 4 KiB
 * nodes an unpipelined 20 B echo of `wsclean serve` cost ~400 more instructions (callgrind),
 * with 512 B the same as 1 KiB. 952 B of room hold 43 frames of 20 B (a pipelined burst of 16
 * echoes: one node). Memory is only held while output is queued: an idle connection's queue
 * is empty and freed. */
#define WS__OUT_NODE_SIZE 1024
#define WS__OUT_ROOM      (WS__OUT_NODE_SIZE - sizeof(ws__out))
/* A message buffer is taken by the queue instead of copied from this payload size on: below
 * it, the copy into a shared node is cheaper than a node of its own. */
#define WS__OUT_TAKE_MIN 1024

struct ws_frame_shared {
  const ws_allocator *alloc;
  size_t refs; /* one thread: shared frames are queued from the loop thread that owns them */
  size_t len;
  size_t hdr;
  uint8_t data[];
};

/* A close frame: 2 header bytes + 4 mask bytes (client) + 125 payload bytes (RFC 6455 5.5). */
#define WS__CLOSE_FRAME_MAX (2 + 4 + WS__CONTROL_MAX)
/* Automatic pongs queued unsent before a newer ping replaces the newest (ping flood bound). */
#define WS__MAX_QUEUED_PONGS 32

enum { WS__RX_HDR = 0, WS__RX_PAYLOAD = 1 };

struct ws_conn {
  ws_conn_callbacks cb;
  void *ud;
  const ws_allocator *alloc;
  ws_random_cb rand_cb; /* mask keys (client role) */
  void *rand_ud;

  /* limits (copied from the options) */
  uint64_t max_message;
  uint64_t max_frame;
  size_t send_queue_limit;
  uint32_t max_fragments;
  uint32_t close_timeout_ms;
  uint32_t idle_timeout_ms;
  uint32_t ping_interval_ms;
  uint32_t ping_timeout_ms;

  /* time: the last value fed by ws_conn_new/ws_conn_tick (the core never reads a clock) */
  uint64_t now;
  uint64_t opened_at;
  uint64_t last_rx;
  uint64_t ping_sent_at;
  uint64_t close_deadline; /* 0: not running */

  /* input */
  ws__frame_hdr fh; /* the frame being received */
  uint64_t fpos;    /* payload bytes of it received so far */
  ws__buf msg;      /* a message in progress (fragmented or split across reads); empty and
                       unallocated between messages */
  uint8_t *lent;    /* msg.data while on_message has it: ws_conn_send may take that buffer */
  uint32_t frags;   /* frames of the message in progress */
  ws__utf8 utf8;    /* text message validation state */
  ws__utf8 rutf8;   /* close reason validation state */
  ws__utf8 oututf8; /* text sent with ws_conn_send_fragment */
  uint8_t hdr[WS__FRAME_HDR_MAX];
  uint8_t hdr_have;
  uint8_t rx_phase;
  uint8_t msg_op; /* opcode of the message in progress, 0 if none */
  uint8_t out_msg_op; /* opcode of the fragmented message being sent, 0 if none */
  uint8_t ctl_len;
  uint8_t ctl[WS__CONTROL_MAX + 1]; /* control payload; after a close frame, its body + NUL */

  /* output */
  ws__out *head, *tail;
  ws__out *pong;      /* the newest queued automatic pong */
  uint32_t pongs;     /* automatic pongs queued and not fully written */
  size_t head_off;    /* bytes of head already written */
  size_t out_bytes;   /* bytes of the queued frames not yet written */
  uint64_t buffered;  /* application payload bytes queued, not yet written */
  uint64_t dropped;   /* application bytes refused once closing started (WHATWG) */
  uint8_t close_out[WS__CLOSE_FRAME_MAX]; /* our close frame: always the last bytes sent */
  uint8_t close_len, close_off;

  /* closing */
  const char *detail;
  int fail_err; /* the error that failed the connection */
  int end_err;  /* why it ended abnormally without failing (EOF, close timeout) */
  uint16_t code_sent, code_received; /* 1005 for a close frame without a body */
  uint8_t state;     /* ws_ready_state */
  uint8_t transport; /* ws_transport_action */
  uint8_t initiator; /* ws_closer */
  uint8_t role;
  uint8_t rsv_allowed;
  bool text_only, binary_only;
  bool close_sent, close_received, close_flushed;
  bool failed, eof, closed;
  bool ping_outstanding;
  bool code_checked;
  bool idle_closing;

  /* permessage-deflate (RFC 7692), NULL when not negotiated */
  ws__pmd *pmd;
  bool rx_pmd; /* the message being received is compressed (RSV1 on its first frame) */
  bool tx_pmd; /* the fragmented message being sent is compressed */
};

#endif
