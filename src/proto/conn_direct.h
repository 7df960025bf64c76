/* Reading a large message's payload straight into the connection's message buffer (issue 8):
 * without it every byte of a message that spans reads is copied from the transport's read
 * buffer into the message buffer. For the transport layer (src/api, src/loop), which asks
 * before each read:
 *
 *   size_t room;
 *   uint8_t *p = ws__conn_recv_direct(c, WS__DIRECT_MIN, &room);
 *   if (p) { n = recv(fd, p, room); if (n > 0) ws__conn_recv_commit(c, n); }
 *   else   { n = recv(fd, rbuf, cap); if (n > 0) ws_conn_recv(c, rbuf, n); }
 *
 * Only plain payload of a data frame in progress qualifies: never a header (so a read never
 * spans a frame boundary), a control frame or a compressed message (which is inflated). */
#ifndef WS_PROTO_CONN_DIRECT_H
#define WS_PROTO_CONN_DIRECT_H

#include "wsclean/conn.h"

/* Below this many outstanding payload bytes a direct read is not worth a system call of its
 * own (the next header would wait for another read). */
#define WS__DIRECT_MIN 16384

/* Where the next payload bytes of the frame being received can be read: a pointer into the
 * message buffer with room for *len bytes (at most the frame's remaining payload), or NULL (and
 * *len = 0) when the next input is not plain payload of a data frame, fewer than min payload
 * bytes remain, the connection reads nothing more, or memory is short (the ordinary read path
 * then reports that). The buffer grows as ws_conn_recv would grow it (at most doubling what the
 * message holds, 64 KiB at least), so a peer that announces a big frame and trickles it pins no
 * more memory than with ws_conn_recv. Valid until the next call on c. */
uint8_t *ws__conn_recv_direct(ws_conn *c, size_t min, size_t *len);

/* n bytes were read into the pointer ws__conn_recv_direct returned (n <= its *len): unmask,
 * validate and account them as ws_conn_recv would, delivering the message if they finish it.
 * Returns the bytes consumed (n, or fewer when they fail the connection: up to and including
 * the bad byte), WS_ERR_INVAL when there was no such pointer or n is larger than its room. */
long ws__conn_recv_commit(ws_conn *c, size_t n);

/* ws_conn_send for a caller that has already validated a TEXT payload as UTF-8 (the API's
 * ws_send_text must, to answer WS_ERR_SYNTAX first): the same, without validating twice. */
int ws__conn_send_checked(ws_conn *c, ws_opcode op, const void *data, size_t len);

/* A shared frame's bytes as they go on the wire (header, then payload): a broadcast writes them
 * straight to a parked connection's socket when nothing else is queued there. */
const uint8_t *ws__frame_shared_wire(const ws_frame_shared *f, size_t *len);

#endif
