/* Non-blocking TCP sockets (IPv4/IPv6) with optional TLS on the fd. See sock.h. */
#include "loop/sock.h"

#include "base/alloc.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#define WS__MAX_IOV    64
#define WS__TLS_GATHER (16u * 1024u) /* one TLS record's worth of small slices */

static void sock_io(ws__io *io, uint32_t ev);

void ws__sock_init(ws__sock *s, ws_loop *loop, const ws__sock_handler *h) {
  memset(s, 0, sizeof *s);
  s->loop = loop;
  s->h = h;
  s->io.fd = -1;
}

struct ws__sock_aux {
  struct addrinfo *ai; /* connect candidates not tried yet, in order */
  char detail[WS__DETAIL_MAX];
};

static struct ws__sock_aux *aux_of(ws__sock *s) {
  if (!s->aux && (s->aux = ws__malloc(ws__loop_alloc(s->loop), sizeof *s->aux)) != NULL) {
    s->aux->ai = NULL;
    s->aux->detail[0] = '\0';
  }
  return s->aux;
}

char *ws__sock_detail_buf(ws__sock *s) {
  struct ws__sock_aux *a = aux_of(s);
  if (!a)
    return NULL;
  a->detail[0] = '\0';
  return a->detail;
}

const char *ws__sock_detail(const ws__sock *s) {
  /* No block after a failure whose text could not be stored (no memory for it). */
  return s->aux ? s->aux->detail : "(no error text: out of memory)";
}

static void free_candidates(ws__sock *s) {
  if (s->aux && s->aux->ai) {
    freeaddrinfo(s->aux->ai);
    s->aux->ai = NULL;
  }
}

static void set_detail_errno(ws__sock *s, const char *what, int err) {
  char *d = ws__sock_detail_buf(s);
  if (d)
    snprintf(d, WS__DETAIL_MAX, "%s: %s", what, strerror(err));
}

static void set_detail_tls(ws__sock *s) {
  char *d = ws__sock_detail_buf(s);
  if (d)
    ws__tls_error_text(s->ssl, d, WS__DETAIL_MAX);
}

static void update_interest(ws__sock *s) {
  if (s->io.fd < 0 || s->state == WS__SOCK_CLOSED)
    return;
  uint32_t want = 0;
  if (s->state == WS__SOCK_CONNECTING)
    want = WS__IO_WRITE;
  else {
    if (!s->rd_eof && !s->rd_paused)
      want |= WS__IO_READ;
    if (s->write_blocked)
      want |= WS__IO_WRITE;
  }
  if (want == 0 && s->rd_paused) {
    ws__io_stop(s->loop, &s->io); /* see ws__sock_pause_read: no EPOLLHUP spinning */
    return;
  }
  if (!s->io.registered)
    (void)ws__io_start(s->loop, &s->io, s->io.fd, sock_io, want);
  else
    (void)ws__io_set(s->loop, &s->io, want);
}

static void set_nodelay(int fd) {
  /* Frames are written whole, once per turn: Nagle would only add latency (RFC-free choice). */
  int one = 1;
  (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

/* ---- a BIO that never raises SIGPIPE -----------------------------------------------------
 * OpenSSL's socket BIO writes with write(2), which kills the process with SIGPIPE when the peer
 * has reset the connection. A library must not change the process's signal disposition, so TLS
 * goes through send(MSG_NOSIGNAL) here. */
static int bio_write(BIO *b, const char *buf, int len) {
  int fd = (int)(intptr_t)BIO_get_data(b);
  BIO_clear_retry_flags(b);
  ssize_t n = send(fd, buf, (size_t)len, MSG_NOSIGNAL);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
    BIO_set_retry_write(b);
  return (int)n;
}

static int bio_read(BIO *b, char *buf, int len) {
  int fd = (int)(intptr_t)BIO_get_data(b);
  BIO_clear_retry_flags(b);
  ssize_t n = recv(fd, buf, (size_t)len, 0);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
    BIO_set_retry_read(b);
  return (int)n;
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr) {
  (void)b;
  (void)num;
  (void)ptr;
  return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

static int bio_create(BIO *b) {
  BIO_set_init(b, 1);
  return 1;
}

static BIO_METHOD *bio_method_new(void) {
  BIO_METHOD *m = BIO_meth_new(BIO_TYPE_SOURCE_SINK | BIO_get_new_index(), "wsclean-socket");
  if (!m)
    return NULL;
  BIO_meth_set_write(m, bio_write);
  BIO_meth_set_read(m, bio_read);
  BIO_meth_set_ctrl(m, bio_ctrl);
  BIO_meth_set_create(m, bio_create);
  return m;
}

/* Each SSL gets its own BIO_METHOD (no process-wide state), kept in the SSL's app data and freed
 * after the SSL in ws__sock_close. */
static int tls_attach(ws__sock *s, SSL_CTX *tls, bool server, const char *host) {
  s->ssl = SSL_new(tls);
  BIO_METHOD *m = bio_method_new();
  BIO *b = m ? BIO_new(m) : NULL;
  if (!s->ssl || !b) {
    if (b)
      BIO_free(b);
    BIO_meth_free(m);
    SSL_free(s->ssl);
    s->ssl = NULL;
    char *d = ws__sock_detail_buf(s);
    if (d)
      snprintf(d, WS__DETAIL_MAX, "TLS: out of memory");
    return WS_ERR_NOMEM;
  }
  BIO_set_data(b, (void *)(intptr_t)s->io.fd);
  SSL_set_bio(s->ssl, b, b);
  SSL_set_app_data(s->ssl, m); /* freed with the SSL in ws__sock_close */
  SSL_set_mode(s->ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  s->tls_server = server;
  if (server) {
    SSL_set_accept_state(s->ssl);
  } else {
    SSL_set_connect_state(s->ssl);
    struct in6_addr a6;
    struct in_addr a4;
    bool is_ip = inet_pton(AF_INET, host, &a4) == 1 || inet_pton(AF_INET6, host, &a6) == 1;
    /* RFC 6066 3: SNI carries host names only, never IP literals. */
    if (!is_ip)
      SSL_set_tlsext_host_name(s->ssl, host);
    if (SSL_get_verify_mode(s->ssl) != SSL_VERIFY_NONE) {
      X509_VERIFY_PARAM *vp = SSL_get0_param(s->ssl);
      if (is_ip)
        X509_VERIFY_PARAM_set1_ip_asc(vp, host);
      else
        SSL_set1_host(s->ssl, host);
    }
  }
  return WS_OK;
}

static void tls_handshake(ws__sock *s) {
  ERR_clear_error();
  int r = SSL_do_handshake(s->ssl);
  if (r == 1) {
    s->state = WS__SOCK_OPEN;
    update_interest(s);
    s->h->on_open(s, WS_OK, "");
    return;
  }
  int e = SSL_get_error(s->ssl, r);
  if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
    s->write_blocked = e == SSL_ERROR_WANT_WRITE;
    update_interest(s);
    return;
  }
  set_detail_tls(s);
  SSL_set_quiet_shutdown(s->ssl, 1); /* no close_notify after a failed handshake */
  ws__sock_close(s);
  s->h->on_open(s, WS_ERR_TLS_HANDSHAKE, ws__sock_detail(s));
}

static void connected(ws__sock *s) {
  set_nodelay(s->io.fd);
  /* Connected: the candidates left and an earlier candidate's failure text are of no more use. */
  free_candidates(s);
  ws__free(ws__loop_alloc(s->loop), s->aux);
  s->aux = NULL;
  if (s->ssl) {
    s->state = WS__SOCK_TLS_HANDSHAKE;
    tls_handshake(s);
    return;
  }
  s->state = WS__SOCK_OPEN;
  update_interest(s);
  s->h->on_open(s, WS_OK, "");
}

/* Start connecting to the next resolved address. Returns false when none is left (detail set). */
static bool connect_next(ws__sock *s) {
  int last_err = ECONNREFUSED;
  if (s->io.fd >= 0) {
    ws__io_stop(s->loop, &s->io);
    close(s->io.fd);
    s->io.fd = -1;
  }
  while (s->aux && s->aux->ai) {
    /* Take the first candidate off the list (POSIX: freeaddrinfo frees any sublist): only the
     * untried ones are kept, so one pointer does. */
    struct addrinfo *ai = s->aux->ai;
    s->aux->ai = ai->ai_next;
    ai->ai_next = NULL;
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      last_err = errno;
      freeaddrinfo(ai);
      continue;
    }
    int crc = connect(fd, ai->ai_addr, ai->ai_addrlen); /* the kernel copied the address */
    int cerr = errno;
    freeaddrinfo(ai);
    if (crc != 0 && cerr != EINPROGRESS) {
      last_err = cerr;
      close(fd);
      continue;
    }
    s->io.fd = fd;
    if (s->ssl)
      BIO_set_data(SSL_get_rbio(s->ssl), (void *)(intptr_t)fd);
    s->state = WS__SOCK_CONNECTING;
    update_interest(s);
    return true;
  }
  set_detail_errno(s, "connect", last_err);
  return false;
}

int ws__sock_connect(ws__sock *s, const char *host, const char *port, SSL_CTX *tls) {
  struct addrinfo hints;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  struct ws__sock_aux *a = aux_of(s);
  if (!a)
    return WS_ERR_NOMEM;
  int rc = getaddrinfo(host, port, &hints, &a->ai);
  if (rc != 0) {
    a->ai = NULL;
    snprintf(a->detail, WS__DETAIL_MAX, "getaddrinfo %s: %s", host, gai_strerror(rc));
    return WS_ERR_RESOLVE;
  }
  if (tls && tls_attach(s, tls, false, host) != WS_OK) {
    ws__sock_close(s);
    return WS_ERR_NOMEM;
  }
  if (!connect_next(s)) {
    ws__sock_close(s);
    return WS_ERR_CONNECT;
  }
  return WS_OK;
}

int ws__sock_accept(ws__sock *s, int fd, SSL_CTX *tls) {
  /* accept4(SOCK_NONBLOCK) made it non-blocking: two fcntl calls per connection less (churn). */
  assert(fcntl(fd, F_GETFL) & O_NONBLOCK);
  set_nodelay(fd);
  s->io.fd = fd;
  if (tls) {
    if (tls_attach(s, tls, true, NULL) != WS_OK) {
      ws__sock_close(s);
      return WS_ERR_NOMEM;
    }
    s->state = WS__SOCK_TLS_HANDSHAKE;
    update_interest(s);
    return WS_OK;
  }
  s->state = WS__SOCK_OPEN;
  update_interest(s);
  return WS_OK;
}

static void check_connect(ws__sock *s) {
  int err = 0;
  socklen_t len = sizeof err;
  if (getsockopt(s->io.fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
    err = errno;
  if (err == 0) {
    connected(s);
    return;
  }
  if (connect_next(s))
    return;
  set_detail_errno(s, "connect", err);
  ws__sock_close(s);
  s->h->on_open(s, WS_ERR_CONNECT, ws__sock_detail(s));
}

/* The peer finished writing. Read interest goes after the owner has seen it, unless the owner
 * closed the socket meanwhile (the usual end of a closing handshake): one epoll_ctl per
 * connection less (churn). */
static void eof_seen(ws__sock *s) {
  s->rd_eof = true;
  s->h->on_eof(s);
  if (s->state != WS__SOCK_CLOSED)
    update_interest(s);
}

static void read_plain(ws__sock *s) {
  size_t cap = 0;
  uint8_t *direct = s->h->read_target ? s->h->read_target(s, &cap) : NULL;
  uint8_t *buf = direct ? direct : ws__loop_rbuf(s->loop, &cap);
  ssize_t n = recv(s->io.fd, buf, cap, 0);
  if (n > 0) {
    if (direct)
      s->h->on_read_direct(s, (size_t)n);
    else
      s->h->on_read(s, buf, (size_t)n);
    return;
  }
  if (n == 0) {
    eof_seen(s);
    return;
  }
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
    return;
  int e = errno;
  set_detail_errno(s, "recv", e);
  s->h->on_error(s, e == ECONNRESET ? WS_ERR_RESET : WS_ERR_IO, ws__sock_detail(s));
}

static void read_tls(ws__sock *s) {
  size_t cap, got = 0;
  uint8_t *buf = ws__loop_rbuf(s->loop, &cap);
  int err = WS_OK;
  bool eof = false;
  while (got < cap) {
    ERR_clear_error();
    errno = 0;
    int want = cap - got > 0x7fffffff ? 0x7fffffff : (int)(cap - got);
    int r = SSL_read(s->ssl, buf + got, want);
    if (r > 0) {
      got += (size_t)r;
      continue;
    }
    int e = SSL_get_error(s->ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
      break;
    if (e == SSL_ERROR_ZERO_RETURN) {
      eof = true; /* close_notify: the peer's clean end of the TLS stream */
    } else if (e == SSL_ERROR_SYSCALL && errno != 0 && errno != EPIPE) {
      err = errno == ECONNRESET ? WS_ERR_RESET : WS_ERR_IO;
      set_detail_errno(s, "recv", errno);
    } else if (e == SSL_ERROR_SYSCALL ||
               ERR_GET_REASON(ERR_peek_error()) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
      /* FIN without close_notify: many peers do it; the WebSocket layer judges cleanliness */
      eof = true;
    } else {
      err = WS_ERR_TLS;
      set_detail_tls(s);
      SSL_set_quiet_shutdown(s->ssl, 1);
    }
    break;
  }
  if (got > 0) {
    s->h->on_read(s, buf, got);
    if (s->state != WS__SOCK_OPEN)
      return;
    if (got == cap && SSL_pending(s->ssl) > 0)
      ws__again_mark(s->loop, &s->io);
  }
  if (eof) {
    eof_seen(s);
  } else if (err != WS_OK) {
    s->h->on_error(s, err, ws__sock_detail(s));
  }
}

static void sock_io(ws__io *io, uint32_t ev) {
  ws__sock *s = (ws__sock *)((char *)io - offsetof(ws__sock, io));
  switch (s->state) {
  case WS__SOCK_CONNECTING:
    check_connect(s);
    return;
  case WS__SOCK_TLS_HANDSHAKE:
    tls_handshake(s);
    return;
  case WS__SOCK_OPEN:
    if ((ev & WS__IO_WRITE) && s->write_blocked) {
      s->write_blocked = false;
      update_interest(s);
      s->h->on_writable(s);
    }
    if (s->state == WS__SOCK_OPEN && !s->rd_eof && !s->rd_paused &&
        (ev & (WS__IO_READ | WS__IO_HUP))) {
      if (s->ssl)
        read_tls(s);
      else
        read_plain(s);
    }
    return;
  default:
    return;
  }
}

static long write_tls(ws__sock *s, const ws_slice *sl, int n) {
  long total = 0;
  uint8_t gather[WS__TLS_GATHER];
  int i = 0;
  size_t off = 0; /* into sl[i] */
  while (i < n) {
    const uint8_t *p;
    size_t len;
    if (sl[i].len - off >= WS__TLS_GATHER) {
      p = sl[i].data + off;
      len = sl[i].len - off;
      if (len > 0x7fffffff)
        len = 0x7fffffff;
    } else {
      /* Small slices (frame headers, short messages) share one TLS record. */
      len = 0;
      int j = i;
      size_t o = off;
      while (j < n && len < WS__TLS_GATHER) {
        size_t take = sl[j].len - o;
        if (take > WS__TLS_GATHER - len)
          take = WS__TLS_GATHER - len;
        memcpy(gather + len, sl[j].data + o, take);
        len += take;
        o += take;
        if (o == sl[j].len) {
          j++;
          o = 0;
        }
      }
      p = gather;
    }
    if (len == 0) {
      i++;
      off = 0;
      continue;
    }
    ERR_clear_error();
    errno = 0;
    int r = SSL_write(s->ssl, p, (int)len);
    if (r <= 0) {
      int e = SSL_get_error(s->ssl, r);
      if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) {
        s->write_blocked = true;
        update_interest(s);
        return total;
      }
      SSL_set_quiet_shutdown(s->ssl, 1);
      int se = errno; /* before set_detail_errno, which may allocate its text block */
      if (e == SSL_ERROR_SYSCALL && se != 0) {
        set_detail_errno(s, "send", se);
        return se == ECONNRESET || se == EPIPE ? WS_ERR_RESET : WS_ERR_IO;
      }
      set_detail_tls(s);
      return WS_ERR_TLS;
    }
    total += r;
    /* advance (i, off) by r bytes */
    size_t adv = (size_t)r;
    while (adv > 0 && i < n) {
      size_t left = sl[i].len - off;
      if (adv < left) {
        off += adv;
        adv = 0;
      } else {
        adv -= left;
        i++;
        off = 0;
      }
    }
    if ((size_t)r < len) {
      s->write_blocked = true;
      update_interest(s);
      return total;
    }
  }
  return total;
}

long ws__sock_write(ws__sock *s, const ws_slice *sl, int n) {
  if (s->state != WS__SOCK_OPEN || s->wr_shut)
    return WS_ERR_CLOSED;
  if (s->write_blocked)
    return 0;
  if (s->ssl)
    return write_tls(s, sl, n);
  struct iovec iov[WS__MAX_IOV];
  int k = n < WS__MAX_IOV ? n : WS__MAX_IOV;
  size_t want = 0;
  for (int i = 0; i < k; i++) {
    iov[i].iov_base = (void *)sl[i].data;
    iov[i].iov_len = sl[i].len;
    want += sl[i].len;
  }
  struct msghdr mh;
  memset(&mh, 0, sizeof mh);
  mh.msg_iov = iov;
  mh.msg_iovlen = (size_t)k;
  /* sendmsg, not writev: MSG_NOSIGNAL turns a write to a reset peer into EPIPE, not SIGPIPE. */
  ssize_t w = sendmsg(s->io.fd, &mh, MSG_NOSIGNAL);
  if (w < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
      s->write_blocked = true;
      update_interest(s);
      return 0;
    }
    int e = errno;
    set_detail_errno(s, "send", e);
    return e == ECONNRESET || e == EPIPE ? WS_ERR_RESET : WS_ERR_IO;
  }
  if ((size_t)w < want) {
    s->write_blocked = true;
    update_interest(s);
  }
  return (long)w;
}

void ws__sock_shutdown_write(ws__sock *s) {
  if (s->state != WS__SOCK_OPEN || s->wr_shut)
    return;
  s->wr_shut = true;
  if (s->ssl) {
    ERR_clear_error();
    (void)SSL_shutdown(s->ssl); /* our close_notify; the peer's comes with its FIN */
  }
  (void)shutdown(s->io.fd, SHUT_WR);
}

void ws__sock_pause_read(ws__sock *s, bool paused) {
  if (s->rd_paused == paused)
    return;
  s->rd_paused = paused;
  if (s->state != WS__SOCK_OPEN)
    return;
  update_interest(s);
  /* Input may already be waiting: TLS records decrypted but not handed over (SSL_pending), or
   * bytes that arrived while epoll was not watching. One read attempt next turn finds both
   * (a plain recv that finds nothing just returns EAGAIN). */
  if (!paused && !s->rd_eof)
    ws__again_mark(s->loop, &s->io);
}

void ws__sock_close(ws__sock *s) {
  if (s->ssl) {
    if (s->state == WS__SOCK_OPEN && !s->wr_shut) {
      ERR_clear_error();
      (void)SSL_shutdown(s->ssl); /* best effort, non-blocking: a clean TLS end when possible */
    }
    BIO_METHOD *m = SSL_get_app_data(s->ssl);
    SSL_free(s->ssl);
    BIO_meth_free(m);
    s->ssl = NULL;
  }
  if (s->io.fd >= 0) {
    ws__io_stop(s->loop, &s->io);
    close(s->io.fd);
    s->io.fd = -1;
  }
  free_candidates(s);
  s->state = WS__SOCK_CLOSED;
}

void ws__sock_fini(ws__sock *s) {
  ws__sock_close(s);
  ws__free(ws__loop_alloc(s->loop), s->aux);
  s->aux = NULL;
}

/* ---- listening --------------------------------------------------------------------------- */
int ws__listen(const char *host, uint16_t port, bool reuse_port, int backlog, uint16_t *bound_port,
               char *detail, size_t n) {
  struct addrinfo hints, *res = NULL;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  char ps[8];
  snprintf(ps, sizeof ps, "%u", (unsigned)port);
  if (host && !*host)
    host = NULL;
  int rc = getaddrinfo(host ? host : "::", ps, &hints, &res);
  if (rc != 0 && !host)
    rc = getaddrinfo("0.0.0.0", ps, &hints, &res); /* no IPv6 on this machine */
  if (rc != 0) {
    snprintf(detail, n, "getaddrinfo %s: %s", host ? host : "::", gai_strerror(rc));
    return WS_ERR_RESOLVE;
  }
  int last = 0, fd = -1;
  for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
    fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      last = errno;
      continue;
    }
    int one = 1, zero = 0;
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (reuse_port)
      (void)setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    if (ai->ai_family == AF_INET6 && !host) /* "all addresses" means IPv4 too */
      (void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, backlog) == 0)
      break;
    last = errno;
    close(fd);
    fd = -1;
  }
  freeaddrinfo(res);
  if (fd < 0) {
    snprintf(detail, n, "listen %s:%u: %s", host ? host : "*", (unsigned)port, strerror(last));
    return WS_ERR_LISTEN;
  }
  struct sockaddr_storage ss;
  socklen_t sl = sizeof ss;
  if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
    if (ss.ss_family == AF_INET)
      *bound_port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    else
      *bound_port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
  }
  return fd;
}
