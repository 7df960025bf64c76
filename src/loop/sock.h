/* src/loop — a non-blocking TCP socket, optionally wrapped in TLS (OpenSSL on the fd).
 *
 * The owner (src/api) embeds a ws__sock and gets callbacks; it writes with ws__sock_write from
 * its end-of-turn flush. The socket never frees itself: the owner closes it with
 * ws__sock_close and frees its own memory from a deferred callback, so a pointer held by a
 * callback further up the stack stays valid until the end of the turn.
 */
#ifndef WS_LOOP_SOCK_H
#define WS_LOOP_SOCK_H

#include "loop/loop.h"

typedef struct ssl_st SSL;
typedef struct ssl_ctx_st SSL_CTX;

typedef struct ws__sock ws__sock;

typedef struct ws__sock_handler {
  /* TCP connected and, with TLS, the TLS handshake done (err WS_OK), or it failed
   * (WS_ERR_RESOLVE, WS_ERR_CONNECT, WS_ERR_TLS_HANDSHAKE, WS_ERR_IO) with a text in detail. */
  void (*on_open)(ws__sock *s, int err, const char *detail);
  /* Bytes read, in the loop's shared buffer (valid during the call; may be modified). */
  void (*on_read)(ws__sock *s, uint8_t *data, size_t len);
  /* The peer finished writing: FIN, or a TLS close_notify. */
  void (*on_eof)(ws__sock *s);
  /* The transport broke after open: WS_ERR_RESET, WS_ERR_IO, WS_ERR_TLS. */
  void (*on_error)(ws__sock *s, int err, const char *detail);
  /* A write that could not complete can go on now. */
  void (*on_writable)(ws__sock *s);
  /* Optional (plain TCP only): where the owner wants the next bytes read, when they are the
   * payload of a large frame that can go straight into its message buffer (*len bytes of
   * room), or NULL for the shared read buffer. on_read_direct(s, n) then says n bytes landed
   * there. Saves copying every byte of a large message once (issue 8). */
  uint8_t *(*read_target)(ws__sock *s, size_t *len);
  void (*on_read_direct)(ws__sock *s, size_t n);
} ws__sock_handler;

typedef enum ws__sock_state {
  WS__SOCK_IDLE = 0,
  WS__SOCK_CONNECTING,
  WS__SOCK_TLS_HANDSHAKE,
  WS__SOCK_OPEN,
  WS__SOCK_CLOSED
} ws__sock_state;

#define WS__DETAIL_MAX 256

struct ws__sock {
  ws_loop *loop;
  ws__io io;
  const ws__sock_handler *h; /* the owner embeds the ws__sock: container_of finds it */
  SSL *ssl;
  uint8_t state;      /* ws__sock_state, in a byte: the struct is 64 bytes (per idle connection) */
  bool write_blocked; /* the last write stopped short: waiting for EPOLLOUT */
  bool wr_shut;       /* FIN (and close_notify) sent */
  bool rd_eof;        /* the peer's FIN or close_notify seen */
  bool tls_server;
  bool rd_paused;                     /* ws__sock_pause_read: no read interest, no on_read */
  /* Connect candidates not tried yet and the text of the last failure (also the owner's), one
   * block made by a connect or by the first failure: an accepted, working connection carries
   * neither (memory per idle connection). */
  struct ws__sock_aux *aux;
};

void ws__sock_init(ws__sock *s, ws_loop *loop, const ws__sock_handler *h);
/* Release what the socket still holds once its owner is done with it (after ws__sock_close
 * and after the last use of its detail text). */
void ws__sock_fini(ws__sock *s);
/* The detail buffer (WS__DETAIL_MAX bytes, emptied), allocated on first use; NULL if that
 * allocation failed. */
char *ws__sock_detail_buf(ws__sock *s);
/* The text of the last failure, never NULL. */
const char *ws__sock_detail(const ws__sock *s);
/* Resolve host (getaddrinfo, synchronous: use numeric addresses or local names) and start a
 * non-blocking connect, trying each address in turn. tls: a client SSL_CTX or NULL (the SSL
 * takes its own reference). Returns WS_OK (on_open follows), or WS_ERR_RESOLVE/WS_ERR_CONNECT/
 * WS_ERR_NOMEM with s->detail set (the socket is then closed; no callback follows). */
int ws__sock_connect(ws__sock *s, const char *host, const char *port, SSL_CTX *tls);
/* Adopt an accepted fd, already non-blocking (accept4 with SOCK_NONBLOCK); with tls (a server
 * SSL_CTX) the TLS handshake runs first. on_open follows. */
int ws__sock_accept(ws__sock *s, int fd, SSL_CTX *tls);
/* Write as much of the slices as the socket takes now. Returns the bytes written (maybe 0:
 * then on_writable fires later) or a negative ws_err (the socket is broken; on_error is not
 * called for it). */
long ws__sock_write(ws__sock *s, const ws_slice *sl, int n);
/* Send FIN (after a TLS close_notify); reading goes on until EOF. */
void ws__sock_shutdown_write(ws__sock *s);
/* Stop (paused true) or restart reading. While paused nothing is read, so neither on_read nor
 * on_eof fires (the peer's bytes, FIN or RST wait in the kernel); writing goes on. With no write
 * pending, the fd is taken out of epoll altogether, since a level-triggered EPOLLHUP/EPOLLERR
 * would otherwise wake the loop at every turn until the pause ends. */
void ws__sock_pause_read(ws__sock *s, bool paused);
/* Close now (TLS: a best-effort close_notify first). Idempotent. No callback follows. */
void ws__sock_close(ws__sock *s);

/* ---- TLS contexts (tls.c) ---------------------------------------------------------------- */
/* Client: verify the peer against ca_file (PEM), or the system store when ca_file is NULL;
 * insecure skips verification. Returns NULL with a text in detail. */
SSL_CTX *ws__tls_client_ctx(const char *ca_file, bool insecure, char *detail, size_t n);
SSL_CTX *ws__tls_server_ctx(const char *cert_file, const char *key_file, char *detail, size_t n);
void ws__tls_ctx_free(SSL_CTX *ctx);
/* The most useful text about the last TLS failure on ssl (verify result, then the error queue). */
void ws__tls_error_text(SSL *ssl, char *out, size_t n);

/* ---- listening (sock.c) ------------------------------------------------------------------ */
/* Bind and listen on host:port (host NULL or "" = all addresses, IPv6 dual-stack when
 * available). port 0 picks a free port; *bound_port gets the port. Returns the fd or a negative
 * ws_err with a text in detail. */
int ws__listen(const char *host, uint16_t port, bool reuse_port, int backlog, uint16_t *bound_port,
               char *detail, size_t n);

#endif
