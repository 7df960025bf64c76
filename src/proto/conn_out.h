/* The output side of a ws_conn (conn_out.c), used by conn.c. */
#ifndef WS_PROTO_CONN_OUT_H
#define WS_PROTO_CONN_OUT_H

#include "proto/conn_internal.h"

/* Free every queued frame (the transport is gone). */
void ws__out_clear(ws_conn *c);
/* Drop the frames not yet started (a failing connection sends only its close frame). */
/* Write our close frame (code 0: empty body) into the inline slot; it is sent after every
 * queued frame. Never allocates, so a connection can always say why it ends. */
void ws__out_close(ws_conn *c, uint16_t code, const char *reason, size_t reason_len);
/* Queue a control frame (ping/pong) from the core itself, not counted against the send limit.
 * replace: a pong that may overwrite the queued pong not yet started. WS_ERR_NOMEM. */
int ws__out_control(ws_conn *c, uint8_t op, const uint8_t *p, size_t n, bool replace);

#endif
