/* wsclean CLI — a raw WebSocket client for `wsclean probe` (see rawws.h). */
#include "rawws.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <openssl/sha.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* RFC 6455 1.3: the GUID appended to the key before hashing. */
static const char WS_GUID[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

uint64_t rawws_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void random_bytes(uint8_t *out, size_t n) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = getrandom(out + got, n - got, 0);
    if (r > 0)
      got += (size_t)r;
    else if (errno != EINTR)
      abort(); /* getrandom cannot fail once the pool is ready */
  }
}

int rawws_parse_url(const char *url, rawws_url *u, char *err, size_t errlen) {
  memset(u, 0, sizeof(*u));
  const char *p;
  if (strncmp(url, "ws://", 5) == 0) {
    p = url + 5;
  } else if (strncmp(url, "wss://", 6) == 0) {
    p = url + 6;
    u->tls = true;
  } else if (strncmp(url, "http://", 7) == 0) { /* WHATWG: http is ws, https is wss */
    p = url + 7;
  } else if (strncmp(url, "https://", 8) == 0) {
    p = url + 8;
    u->tls = true;
  } else {
    snprintf(err, errlen, "the URL must start with ws:// or wss:// (got %s)", url);
    return -1;
  }
  size_t hostlen = strcspn(p, "/?#");
  const char *rest = p + hostlen;
  if (hostlen == 0 || hostlen >= sizeof(u->host)) {
    snprintf(err, errlen, "bad host in %s", url);
    return -1;
  }
  char hostport[256];
  memcpy(hostport, p, hostlen);
  hostport[hostlen] = '\0';
  char *colon = NULL;
  if (hostport[0] == '[') { /* [::1]:port */
    char *close = strchr(hostport, ']');
    if (!close) {
      snprintf(err, errlen, "bad IPv6 host in %s", url);
      return -1;
    }
    *close = '\0';
    snprintf(u->host, sizeof(u->host), "%s", hostport + 1);
    if (close[1] == ':')
      colon = close + 1;
  } else {
    colon = strrchr(hostport, ':');
    if (colon)
      *colon = '\0';
    snprintf(u->host, sizeof(u->host), "%s", hostport);
  }
  if (colon && colon[1]) {
    long port = strtol(colon + 1, NULL, 10);
    if (port <= 0 || port > 65535) {
      snprintf(err, errlen, "bad port in %s", url);
      return -1;
    }
    snprintf(u->port, sizeof(u->port), "%ld", port);
  } else {
    snprintf(u->port, sizeof(u->port), "%s", u->tls ? "443" : "80");
  }
  if (*rest == '#') {
    snprintf(err, errlen, "a URL with a fragment is a SyntaxError (WHATWG)");
    return -1;
  }
  size_t tlen = strcspn(rest, "#");
  if (tlen + 2 > sizeof(u->target)) {
    snprintf(err, errlen, "path too long");
    return -1;
  }
  if (tlen == 0 || rest[0] == '?') {
    u->target[0] = '/';
    memcpy(u->target + 1, rest, tlen);
    u->target[tlen + 1] = '\0';
  } else {
    memcpy(u->target, rest, tlen);
    u->target[tlen] = '\0';
  }
  return 0;
}

static int wait_fd(int fd, short events, uint64_t deadline_ms) {
  for (;;) {
    uint64_t now = rawws_now_ms();
    int left = now >= deadline_ms ? 0 : (int)(deadline_ms - now);
    struct pollfd pfd = {.fd = fd, .events = events};
    int r = poll(&pfd, 1, left);
    if (r < 0 && errno == EINTR)
      continue;
    return r; /* 1 ready, 0 timeout, -1 error */
  }
}

static int connect_tcp(const rawws_url *u, uint64_t deadline, char *err, size_t errlen) {
  struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
  struct addrinfo *res = NULL;
  int gai = getaddrinfo(u->host, u->port, &hints, &res);
  if (gai != 0) {
    snprintf(err, errlen, "cannot resolve %s: %s", u->host, gai_strerror(gai));
    return -1;
  }
  int fd = -1;
  int last = 0;
  for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
    fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0)
      continue;
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 || errno == EINPROGRESS) {
      if (wait_fd(fd, POLLOUT, deadline) == 1) {
        int soerr = 0;
        socklen_t sl = sizeof(soerr);
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
        if (soerr == 0) {
          /* Hand-built frames go out in two writes (header, payload): without this, Nagle and
           * delayed ACKs add ~40 ms to every check and blur the timings we report. */
          int one = 1;
          setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
          break;
        }
        last = soerr;
      } else {
        last = ETIMEDOUT;
      }
    } else {
      last = errno;
    }
    close(fd);
    fd = -1;
  }
  freeaddrinfo(res);
  if (fd < 0)
    snprintf(err, errlen, "cannot connect to %s:%s: %s", u->host, u->port, strerror(last));
  return fd;
}

/* One read or write on the transport. Returns bytes moved, 0 at EOF (reads), or -1 with
 * *want set to the poll events to wait for (POLLIN/POLLOUT) when it would block, or to 0 when
 * the transport failed. TLS may need to read to write and the reverse: *want says which. */
static ssize_t io_read(rawws *w, void *buf, size_t n, short *want) {
  if (w->ssl) {
    int r = SSL_read(w->ssl, buf, n > INT32_MAX ? INT32_MAX : (int)n);
    if (r > 0)
      return r;
    int e = SSL_get_error(w->ssl, r);
    if (e == SSL_ERROR_ZERO_RETURN)
      return 0;
    *want = e == SSL_ERROR_WANT_READ ? POLLIN : e == SSL_ERROR_WANT_WRITE ? POLLOUT : 0;
    if (e == SSL_ERROR_SYSCALL && errno == 0)
      return 0; /* EOF without close_notify */
    return -1;
  }
  ssize_t r = recv(w->fd, buf, n, 0);
  if (r >= 0)
    return r;
  *want = errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? POLLIN : 0;
  return -1;
}

static ssize_t io_write(rawws *w, const void *buf, size_t n, short *want) {
  if (w->ssl) {
    int r = SSL_write(w->ssl, buf, n > INT32_MAX ? INT32_MAX : (int)n);
    if (r > 0)
      return r;
    int e = SSL_get_error(w->ssl, r);
    *want = e == SSL_ERROR_WANT_READ ? POLLIN : e == SSL_ERROR_WANT_WRITE ? POLLOUT : 0;
    return -1;
  }
  ssize_t r = send(w->fd, buf, n, MSG_NOSIGNAL);
  if (r >= 0)
    return r;
  *want = errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? POLLOUT : 0;
  return -1;
}

static int send_all(rawws *w, const uint8_t *p, size_t n) {
  uint64_t deadline = rawws_now_ms() + 5000;
  while (n > 0) {
    short want = 0;
    ssize_t r = io_write(w, p, n, &want);
    if (r > 0) {
      p += r;
      n -= (size_t)r;
    } else if (want == 0 || wait_fd(w->fd, want, deadline) != 1) {
      return -1;
    }
  }
  return 0;
}

/* TLS over the connected socket, verifying the server unless insecure (RFC 6455 4.1 asks the
 * client to use TLS for wss:// and to check the server's certificate as usual). */
static int start_tls(rawws *w, const rawws_url *u, uint64_t deadline, char *err, size_t errlen) {
  SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
  if (!ctx) {
    snprintf(err, errlen, "TLS: out of memory");
    return -1;
  }
  bool insecure = w->tls && w->tls->insecure;
  const char *ca = w->tls ? w->tls->ca_file : NULL;
  SSL_CTX_set_verify(ctx, insecure ? SSL_VERIFY_NONE : SSL_VERIFY_PEER, NULL);
  if (!insecure && (ca ? SSL_CTX_load_verify_locations(ctx, ca, NULL)
                       : SSL_CTX_set_default_verify_paths(ctx)) != 1) {
    snprintf(err, errlen, "TLS: cannot load the CA %s", ca ? ca : "store");
    SSL_CTX_free(ctx);
    return -1;
  }
  SSL *ssl = SSL_new(ctx);
  SSL_CTX_free(ctx); /* the SSL keeps its own reference */
  if (!ssl) {
    snprintf(err, errlen, "TLS: out of memory");
    return -1;
  }
  SSL_set_fd(ssl, w->fd);
  X509_VERIFY_PARAM *param = SSL_get0_param(ssl);
  unsigned char ip[16];
  if (inet_pton(AF_INET, u->host, ip) == 1 || inet_pton(AF_INET6, u->host, ip) == 1) {
    X509_VERIFY_PARAM_set1_ip_asc(param, u->host);
  } else {
    SSL_set_tlsext_host_name(ssl, u->host);
    X509_VERIFY_PARAM_set1_host(param, u->host, 0);
  }
  w->ssl = ssl;
  for (;;) {
    int r = SSL_connect(ssl);
    if (r == 1)
      return 0;
    int e = SSL_get_error(ssl, r);
    short want = e == SSL_ERROR_WANT_READ ? POLLIN : e == SSL_ERROR_WANT_WRITE ? POLLOUT : 0;
    if (want == 0 || wait_fd(w->fd, want, deadline) != 1) {
      long vr = SSL_get_verify_result(ssl);
      unsigned long ossl = ERR_get_error();
      snprintf(err, errlen, "TLS handshake failed: %s",
               vr != X509_V_OK ? X509_verify_cert_error_string(vr)
               : ossl          ? ERR_reason_error_string(ossl)
               : want          ? "timeout"
                               : "connection closed");
      ERR_clear_error();
      return -1;
    }
  }
}

/* Case-insensitive search for "\r\nName:" in a response head; returns the trimmed value. */
static const char *find_header(const char *head, const char *name, size_t *vlen) {
  size_t nlen = strlen(name);
  for (const char *p = strstr(head, "\r\n"); p; p = strstr(p + 2, "\r\n")) {
    const char *line = p + 2;
    if (strncasecmp(line, name, nlen) == 0 && line[nlen] == ':') {
      const char *v = line + nlen + 1;
      while (*v == ' ' || *v == '\t')
        v++;
      const char *e = strstr(v, "\r\n");
      size_t l = e ? (size_t)(e - v) : strlen(v);
      while (l > 0 && (v[l - 1] == ' ' || v[l - 1] == '\t'))
        l--;
      *vlen = l;
      return v;
    }
  }
  return NULL;
}

int rawws_open(rawws *w, const rawws_url *u, const char *origin, int timeout_ms, char *err,
               size_t errlen) {
  w->in_len = 0;
  uint64_t deadline = rawws_now_ms() + (uint64_t)timeout_ms;
  w->ssl = NULL;
  w->fd = connect_tcp(u, deadline, err, errlen);
  if (w->fd < 0)
    return -1;
  if (u->tls && start_tls(w, u, deadline, err, errlen) != 0) {
    rawws_close(w);
    return -1;
  }

  uint8_t nonce[16];
  random_bytes(nonce, sizeof(nonce));
  char key[32];
  EVP_EncodeBlock((unsigned char *)key, nonce, sizeof(nonce));
  char req[2048];
  int hostport_default = strcmp(u->port, u->tls ? "443" : "80") == 0;
  int n =
      snprintf(req, sizeof(req),
               "GET %s HTTP/1.1\r\nHost: %s%s%s%s%s\r\nUpgrade: websocket\r\n"
               "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n"
               "%s%s%s\r\n",
               u->target, strchr(u->host, ':') ? "[" : "", u->host, strchr(u->host, ':') ? "]" : "",
               hostport_default ? "" : ":", hostport_default ? "" : u->port, key,
               origin ? "Origin: " : "", origin ? origin : "", origin ? "\r\n" : "");
  if (n < 0 || (size_t)n >= sizeof(req) || send_all(w, (const uint8_t *)req, (size_t)n) != 0) {
    snprintf(err, errlen, "cannot send the opening handshake");
    rawws_close(w);
    return -1;
  }
  /* Read the response head (at most 8 KiB); bytes after it are the first frames. */
  char head[8193];
  size_t hl = 0;
  char *end = NULL;
  short want = POLLIN;
  while (!end) {
    bool buffered = w->ssl && SSL_pending(w->ssl) > 0;
    if (hl == sizeof(head) - 1 || (!buffered && wait_fd(w->fd, want, deadline) != 1)) {
      snprintf(err, errlen, hl ? "incomplete handshake response" : "no handshake response in %d ms",
               timeout_ms);
      rawws_close(w);
      return -1;
    }
    want = 0;
    ssize_t r = io_read(w, head + hl, sizeof(head) - 1 - hl, &want);
    if (r <= 0) {
      if (r < 0 && want != 0)
        continue;
      snprintf(err, errlen, "connection closed during the opening handshake");
      rawws_close(w);
      return -1;
    }
    want = POLLIN;
    hl += (size_t)r;
    head[hl] = '\0';
    end = strstr(head, "\r\n\r\n");
  }
  size_t head_len = (size_t)(end - head) + 4;
  int status = 0;
  if (sscanf(head, "HTTP/1.1 %d", &status) != 1 || status != 101) {
    const char *eol = strstr(head, "\r\n");
    snprintf(err, errlen, "handshake refused: %.*s", (int)(eol ? eol - head : 60), head);
    rawws_close(w);
    return -1;
  }
  /* RFC 6455 4.2.2: accept = base64(SHA-1(key + GUID)). */
  char cat[sizeof(WS_GUID) + 32]; /* the key is 24 base64 characters */
  snprintf(cat, sizeof(cat), "%s%s", key, WS_GUID);
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1((const unsigned char *)cat, strlen(cat), digest);
  char want_key[32];
  EVP_EncodeBlock((unsigned char *)want_key, digest, SHA_DIGEST_LENGTH);
  size_t al = 0;
  const char *acc = find_header(head, "Sec-WebSocket-Accept", &al);
  if (!acc || al != strlen(want_key) || memcmp(acc, want_key, al) != 0) {
    snprintf(err, errlen, "bad or missing Sec-WebSocket-Accept (RFC 6455 4.1)");
    rawws_close(w);
    return -1;
  }
  w->in_len = hl - head_len;
  memcpy(w->in, head + head_len, w->in_len);
  return 0;
}

int rawws_send_raw(rawws *w, const void *bytes, size_t len) { return send_all(w, bytes, len); }

int rawws_send(rawws *w, uint8_t first_byte, bool mask, const void *payload, size_t len) {
  uint8_t hdr[14];
  size_t h = 0;
  hdr[h++] = first_byte;
  uint8_t m = mask ? 0x80 : 0;
  if (len < 126) {
    hdr[h++] = (uint8_t)(m | len);
  } else if (len <= 0xFFFF) {
    hdr[h++] = (uint8_t)(m | 126);
    hdr[h++] = (uint8_t)(len >> 8);
    hdr[h++] = (uint8_t)len;
  } else {
    hdr[h++] = (uint8_t)(m | 127);
    for (int i = 7; i >= 0; i--)
      hdr[h++] = (uint8_t)((uint64_t)len >> (8 * i));
  }
  uint8_t key[4] = {0};
  if (mask) {
    random_bytes(key, 4);
    memcpy(hdr + h, key, 4);
    h += 4;
  }
  if (send_all(w, hdr, h) != 0)
    return -1;
  const uint8_t *p = payload;
  uint8_t chunk[4096];
  for (size_t off = 0; off < len;) {
    size_t n = len - off < sizeof(chunk) ? len - off : sizeof(chunk);
    for (size_t i = 0; i < n; i++)
      chunk[i] = (uint8_t)(p[off + i] ^ (mask ? key[(off + i) & 3] : 0));
    if (send_all(w, chunk, n) != 0)
      return -1;
    off += n;
  }
  return 0;
}

/* Bytes of a complete frame at the start of in, 0 if incomplete, (size_t)-1 if too big. */
static size_t frame_size(const uint8_t *in, size_t n, rawws_frame *f) {
  if (n < 2)
    return 0;
  size_t h = 2;
  uint64_t len = in[1] & 0x7F;
  if (len == 126) {
    if (n < 4)
      return 0;
    len = (uint64_t)in[2] << 8 | in[3];
    h = 4;
  } else if (len == 127) {
    if (n < 10)
      return 0;
    len = 0;
    for (int i = 0; i < 8; i++)
      len = len << 8 | in[2 + i];
    h = 10;
  }
  if (len > RAWWS_MAX_PAYLOAD)
    return (size_t)-1;
  bool masked = (in[1] & 0x80) != 0;
  if (masked)
    h += 4;
  if (n < h + len)
    return 0;
  f->fin = (in[0] & 0x80) != 0;
  f->rsv = (uint8_t)((in[0] >> 4) & 0x7);
  f->opcode = in[0] & 0x0F;
  f->masked = masked;
  f->len = (size_t)len;
  f->payload = in + h;
  if (masked) { /* unmask in place so the caller sees the payload either way */
    uint8_t *p = (uint8_t *)(uintptr_t)(in + h);
    for (size_t i = 0; i < f->len; i++)
      p[i] ^= in[h - 4 + (i & 3)];
  }
  return h + (size_t)len;
}

static short want_next(const rawws *w) { return w->want ? w->want : POLLIN; }

rawws_read_result rawws_read(rawws *w, uint64_t deadline_ms, rawws_frame *f) {
  for (;;) {
    size_t sz = frame_size(w->in, w->in_len, f);
    if (sz == (size_t)-1)
      return RAWWS_BAD;
    if (sz > 0) {
      /* The payload moves to its own buffer so the input can be compacted right away. */
      memcpy(w->frame, f->payload, f->len);
      f->payload = w->frame;
      memmove(w->in, w->in + sz, w->in_len - sz);
      w->in_len -= sz;
      return RAWWS_FRAME;
    }
    if (w->in_len == sizeof(w->in))
      return RAWWS_BAD;
    /* TLS may hold decrypted bytes already: poll only when it has none. */
    if (!(w->ssl && SSL_pending(w->ssl) > 0)) {
      int r = wait_fd(w->fd, want_next(w), deadline_ms);
      if (r == 0)
        return RAWWS_TIMEOUT;
      if (r < 0)
        return RAWWS_RESET;
    }
    short want = 0;
    ssize_t got = io_read(w, w->in + w->in_len, sizeof(w->in) - w->in_len, &want);
    w->want = want ? want : POLLIN;
    if (got == 0)
      return RAWWS_EOF;
    if (got < 0) {
      if (want != 0)
        continue;
      return RAWWS_RESET;
    }
    w->in_len += (size_t)got;
  }
}

void rawws_shutdown(rawws *w) {
  if (w->fd >= 0)
    shutdown(w->fd, SHUT_WR);
}

void rawws_close(rawws *w) {
  if (w->ssl) {
    SSL_free(w->ssl); /* no close_notify: the probe watches the server's behaviour, not ours */
    w->ssl = NULL;
  }
  if (w->fd >= 0)
    close(w->fd);
  w->fd = -1;
}
