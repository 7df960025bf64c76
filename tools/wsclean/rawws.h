/* wsclean CLI — a raw WebSocket client for `wsclean probe`.
 *
 * The library's own client refuses to send what a probe must send (close code 1005, a 1-byte
 * close body, an unmasked frame, invalid UTF-8...), so the probe speaks RFC 6455 itself over a
 * blocking TCP socket: one opening handshake, then hand-built frames out and parsed frames in,
 * every wait bounded by a deadline. ws:// over TCP, wss:// over TLS (OpenSSL, verified against
 * the system store or a CA file unless told not to).
 */
#ifndef WSCLEAN_TOOLS_RAWWS_H
#define WSCLEAN_TOOLS_RAWWS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RAWWS_MAX_PAYLOAD (1u << 20) /* frames the probe reads: at most 1 MiB each */

typedef struct rawws_url {
  bool tls; /* wss:// (or https://) */
  char host[256];
  char port[8];
  char target[1024]; /* path + query, at least "/" */
} rawws_url;

/* TLS settings for wss:// (ignored for ws://). */
typedef struct rawws_tls {
  const char *ca_file; /* NULL: the system's default store */
  bool insecure;       /* skip certificate and name verification */
} rawws_tls;

typedef struct rawws {
  int fd;
  void *ssl;  /* SSL * for wss://, else NULL */
  short want; /* what the last TLS read waited for (POLLIN, or POLLOUT during renegotiation) */
  const rawws_tls *tls;
  uint8_t in[RAWWS_MAX_PAYLOAD + 16];
  uint8_t frame[RAWWS_MAX_PAYLOAD]; /* payload of the last frame read */
  size_t in_len;
} rawws;

typedef enum rawws_read_result {
  RAWWS_FRAME = 0,   /* a frame was read into *f */
  RAWWS_EOF = 1,     /* the peer closed TCP (read returned 0) */
  RAWWS_TIMEOUT = 2, /* nothing complete before the deadline */
  RAWWS_RESET = 3,   /* ECONNRESET or another read error */
  RAWWS_BAD = 4      /* the bytes are not a frame a server may send (or too big) */
} rawws_read_result;

typedef struct rawws_frame {
  bool fin;
  uint8_t rsv; /* the three RSV bits, as bits 6..4 of the first byte >> 4 */
  uint8_t opcode;
  bool masked;            /* a server must not mask (RFC 6455 5.1): reported, not refused */
  const uint8_t *payload; /* valid until the next read */
  size_t len;
} rawws_frame;

/* ws[s]://host[:port][/path][?query] (http/https too). Returns 0, or -1 with a message in err. */
int rawws_parse_url(const char *url, rawws_url *u, char *err, size_t errlen);
/* Connect (TCP, then TLS for wss:// with w->tls) and complete the opening handshake within
 * timeout_ms. origin may be NULL.
 * Returns 0, or -1 with a message in err (refused, timeout, status not 101, bad accept key). */
int rawws_open(rawws *w, const rawws_url *u, const char *origin, int timeout_ms, char *err,
               size_t errlen);
/* Send one frame as given (masked with a random key when mask is true). first_byte is
 * FIN|RSV|opcode. Returns 0, or -1 if the peer is gone (EPIPE/ECONNRESET). */
int rawws_send(rawws *w, uint8_t first_byte, bool mask, const void *payload, size_t len);
/* Send raw bytes (no framing). */
int rawws_send_raw(rawws *w, const void *bytes, size_t len);
/* Read the next frame, waiting until deadline_ms on the CLOCK_MONOTONIC ms clock. */
rawws_read_result rawws_read(rawws *w, uint64_t deadline_ms, rawws_frame *f);
/* Half-close (FIN) our side. */
void rawws_shutdown(rawws *w);
void rawws_close(rawws *w);
uint64_t rawws_now_ms(void);

#endif
