/* wsclean CLI — a raw WebSocket client for `wsclean probe` (see rawws.h). */
#include "rawws.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
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
  } else if (strncmp(url, "http://", 7) == 0) { /* WHATWG: http is ws */
    p = url + 7;
  } else {
    snprintf(err, errlen, "only ws:// URLs can be probed (got %s)", url);
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
    snprintf(u->port, sizeof(u->port), "80");
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

static int send_all(int fd, const uint8_t *p, size_t n) {
  while (n > 0) {
    ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
    if (w > 0) {
      p += w;
      n -= (size_t)w;
    } else if (w < 0 && errno == EINTR) {
      continue;
    } else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (wait_fd(fd, POLLOUT, rawws_now_ms() + 5000) != 1)
        return -1;
    } else {
      return -1;
    }
  }
  return 0;
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
  w->fd = connect_tcp(u, deadline, err, errlen);
  if (w->fd < 0)
    return -1;

  uint8_t nonce[16];
  random_bytes(nonce, sizeof(nonce));
  char key[32];
  EVP_EncodeBlock((unsigned char *)key, nonce, sizeof(nonce));
  char req[2048];
  int hostport_default = strcmp(u->port, "80") == 0;
  int n =
      snprintf(req, sizeof(req),
               "GET %s HTTP/1.1\r\nHost: %s%s%s%s%s\r\nUpgrade: websocket\r\n"
               "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n"
               "%s%s%s\r\n",
               u->target, strchr(u->host, ':') ? "[" : "", u->host, strchr(u->host, ':') ? "]" : "",
               hostport_default ? "" : ":", hostport_default ? "" : u->port, key,
               origin ? "Origin: " : "", origin ? origin : "", origin ? "\r\n" : "");
  if (n < 0 || (size_t)n >= sizeof(req) || send_all(w->fd, (const uint8_t *)req, (size_t)n) != 0) {
    snprintf(err, errlen, "cannot send the opening handshake");
    rawws_close(w);
    return -1;
  }
  /* Read the response head (at most 8 KiB); bytes after it are the first frames. */
  char head[8193];
  size_t hl = 0;
  char *end = NULL;
  while (!end) {
    if (hl == sizeof(head) - 1 || wait_fd(w->fd, POLLIN, deadline) != 1) {
      snprintf(err, errlen, hl ? "incomplete handshake response" : "no handshake response in %d ms",
               timeout_ms);
      rawws_close(w);
      return -1;
    }
    ssize_t r = recv(w->fd, head + hl, sizeof(head) - 1 - hl, 0);
    if (r <= 0) {
      if (r < 0 && (errno == EINTR || errno == EAGAIN))
        continue;
      snprintf(err, errlen, "connection closed during the opening handshake");
      rawws_close(w);
      return -1;
    }
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
  char cat[64];
  snprintf(cat, sizeof(cat), "%s%s", key, WS_GUID);
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1((const unsigned char *)cat, strlen(cat), digest);
  char want[32];
  EVP_EncodeBlock((unsigned char *)want, digest, SHA_DIGEST_LENGTH);
  size_t al = 0;
  const char *acc = find_header(head, "Sec-WebSocket-Accept", &al);
  if (!acc || al != strlen(want) || memcmp(acc, want, al) != 0) {
    snprintf(err, errlen, "bad or missing Sec-WebSocket-Accept (RFC 6455 4.1)");
    rawws_close(w);
    return -1;
  }
  w->in_len = hl - head_len;
  memcpy(w->in, head + head_len, w->in_len);
  return 0;
}

int rawws_send_raw(rawws *w, const void *bytes, size_t len) { return send_all(w->fd, bytes, len); }

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
  if (send_all(w->fd, hdr, h) != 0)
    return -1;
  const uint8_t *p = payload;
  uint8_t chunk[4096];
  for (size_t off = 0; off < len;) {
    size_t n = len - off < sizeof(chunk) ? len - off : sizeof(chunk);
    for (size_t i = 0; i < n; i++)
      chunk[i] = (uint8_t)(p[off + i] ^ (mask ? key[(off + i) & 3] : 0));
    if (send_all(w->fd, chunk, n) != 0)
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
    int r = wait_fd(w->fd, POLLIN, deadline_ms);
    if (r == 0)
      return RAWWS_TIMEOUT;
    if (r < 0)
      return RAWWS_RESET;
    ssize_t got = recv(w->fd, w->in + w->in_len, sizeof(w->in) - w->in_len, 0);
    if (got == 0)
      return RAWWS_EOF;
    if (got < 0) {
      if (errno == EINTR || errno == EAGAIN)
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
  if (w->fd >= 0)
    close(w->fd);
  w->fd = -1;
}
