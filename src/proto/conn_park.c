/* Parking: an idle OPEN connection reduced to the few numbers that still mean something
 * (include/wsclean/conn.h). Everything else in a ws_conn is then at its initial value, which is
 * what makes the round trip exact: ws_conn_unpark is ws_conn_new plus those numbers. */
#include <string.h>

#include "proto/conn_internal.h"
#include "wsclean/deflate.h"

static bool idle(const ws_conn *c) {
  return c->state == WS_OPEN && c->transport == WS_TRANSPORT_KEEP && !c->close_sent &&
         !c->close_received && !c->failed && !c->eof && !c->closed && !c->idle_closing &&
         c->close_deadline == 0 && c->rx_phase == WS__RX_HDR && c->hdr_have == 0 &&
         c->msg_op == 0 && c->frags == 0 && c->msg.data == NULL && c->ctl_len == 0 &&
         c->out_msg_op == 0 && c->head == NULL && c->close_len == 0 && c->out_bytes == 0 &&
         c->buffered == 0 && c->dropped == 0 && !c->ping_outstanding && c->pmd == NULL;
}

bool ws_conn_park(ws_conn *c, ws_conn_parked *out) {
  if (!c || !out || !idle(c))
    return false;
  memset(out, 0, sizeof *out);
  out->opened_at = c->opened_at;
  out->last_rx = c->last_rx;
  out->deadline = ws_conn_next_deadline(c);
  out->rsv_allowed = c->rsv_allowed;
  ws_conn_free(c);
  return true;
}

ws_conn *ws_conn_unpark(const ws_conn_parked *p, const ws_conn_options *opts,
                        const ws_conn_callbacks *cb, void *ud, uint64_t now_ms) {
  if (!p || !opts || (opts->deflate && opts->deflate->enabled))
    return NULL;
  ws_conn *c = ws_conn_new(opts, cb, ud, now_ms);
  if (!c)
    return NULL;
  c->opened_at = p->opened_at;
  c->last_rx = p->last_rx;
  c->rsv_allowed = p->rsv_allowed;
  return c;
}

uint64_t ws_conn_parked_deadline(const ws_conn_parked *p) { return p ? p->deadline : UINT64_MAX; }
