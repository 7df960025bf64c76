/* wsclean connect URL — an interactive client (like wscat) that reports the end of the
 * connection as a browser's CloseEvent, with our diagnostics beside it.
 *
 * One thread: the library's loop is embedded in a poll() over its descriptor, stdin and a
 * signalfd (ws_loop_fd + ws_loop_run_once, as wsclean.h describes), so typed lines are handled
 * in order and EOF comes after the last of them: "close on EOF" starts only once everything
 * typed has been queued. SIGINT/SIGTERM start a close(1000) the same way.
 */
#include "commands.h"

#include <errno.h>
#include <poll.h>
#include <sys/signalfd.h>
#include <openssl/evp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/ascii.h"
#include "cli_util.h"
#include "wsclean/handshake.h"
#include "wsclean/wsclean.h"

#define CONNECT_MAX_LINE  (1u << 20) /* a typed line over 1 MiB is cut (and said so) */
#define CONNECT_MAX_ITEMS 32         /* --protocol / --header occurrences */

/* Exit statuses (documented in --help and wsclean(1)). */
enum {
  EXIT_CLEAN_1000 = 0,
  EXIT_NEVER_OPENED = 1,
  EXIT_USAGE = 2,
  EXIT_CLEAN_OTHER = 3, /* clean close with a code other than 1000 (also 1005) */
  EXIT_ABNORMAL = 4     /* wasClean false: 1006, 1015, a failed connection */
};

typedef struct client {
  ws_loop *loop;
  ws_socket *ws;
  bool json, echo, close_on_eof;
  bool opened, closed, error_fired;
  int exit_code;
  ws_close_lang lang;
  const char *url;
} client;

static void connect_usage(FILE *out) {
  fputs("usage: wsclean connect [options] ws[s]://HOST[:PORT]/PATH\n"
        "\n"
        "Opens a WebSocket and sends each line typed on stdin as a text message; prints what\n"
        "arrives. Commands: /binary HEX   /ping [data]   /close [code [reason]]   //text sends\n"
        "\"/text\". /close follows the browser's close(): a code other than 1000 or 3000-4999 is\n"
        "refused (InvalidAccessError), a reason over 123 UTF-8 bytes too (SyntaxError), and the\n"
        "connection stays open. EOF on stdin closes with 1000 once everything typed was sent.\n"
        "At the end it prints the CloseEvent (code, name, reason, wasClean) and what it means.\n"
        "\n"
        "  --json              one JSON object per line for every event:\n"
        "                        {\"type\":\"open\",\"protocol\":\"\",\"extensions\":\"\"}\n"
        "                        {\"type\":\"message\",\"binary\":false,\"data\":\"...\"} (binary: "
        "base64)\n"
        "                        {\"type\":\"error\",\"message\":\"...\"}\n"
        "                        "
        "{\"type\":\"close\",\"code\":1000,\"reason\":\"\",\"wasClean\":true,\n"
        "                         \"initiator\":\"local|remote|none\",\"codeSent\":1000,\n"
        "                         "
        "\"codeReceived\":1000,\"error\":\"WS_ERR_...\"|null,\"detail\":\"\",\n"
        "                         \"durationMs\":12}\n"
        "                        "
        "{\"type\":\"exception\",\"name\":\"InvalidAccessError\",\"message\":\"...\"}\n"
        "  --echo              send every message received back (for conformance runs)\n"
        "  --protocol P        request subprotocol P (repeatable)\n"
        "  --header 'N: V'     extra request header (repeatable)\n"
        "  --origin O          Origin header\n"
        "  --ca FILE           wss://: verify the server with this PEM CA bundle\n"
        "  --insecure          wss://: do not verify the server (tests only)\n"
        "  --close-timeout MS  wait this long for the closing handshake (default 5000)\n"
        "  --max-message SIZE  largest message accepted (default 16M); over it: 1009\n"
        "  --no-close-on-eof   on EOF keep the connection open until the server closes it\n"
        "  --deflate | --no-deflate   offer permessage-deflate (RFC 7692) or not (default: offer,\n"
        "                      as browsers do); what the server accepted is the open event's\n"
        "                      extensions\n"
        "\n"
        "Exit status: 0 closed cleanly with 1000; 1 the connection never opened; 2 usage;\n"
        "3 closed cleanly with another code (or none: 1005); 4 closed abnormally (wasClean\n"
        "false: 1006, 1015, a failed connection).\n",
        out);
}

/* ---- output ---------------------------------------------------------------------------------- */

static void print_base64(FILE *out, const uint8_t *p, size_t n) {
  unsigned char chunk[4 * 768 / 3 + 4];
  while (n > 0) {
    size_t take = n > 768 ? 768 : n;
    int w = EVP_EncodeBlock(chunk, p, (int)take);
    fwrite(chunk, 1, (size_t)w, out);
    p += take;
    n -= take;
  }
}

static void print_hex(FILE *out, const uint8_t *p, size_t n) {
  size_t shown = n > 64 ? 64 : n;
  for (size_t i = 0; i < shown; i++)
    fprintf(out, "%s%02x", i ? " " : "", p[i]);
  if (shown < n)
    fputs(" ...", out);
}

static void exception(client *c, int err, const char *what) {
  const char *name = err == WS_ERR_INVALID_ACCESS ? "InvalidAccessError"
                     : err == WS_ERR_SYNTAX       ? "SyntaxError"
                     : err == WS_ERR_STATE        ? "InvalidStateError"
                                                  : ws_errname(err);
  if (c->json) {
    printf("{\"type\":\"exception\",\"name\":\"%s\",\"message\":", name);
    char msg[256];
    snprintf(msg, sizeof(msg), "%s: %s", what, ws_strerror(err));
    wscli_json_str(stdout, msg, strlen(msg));
    printf("}\n");
    fflush(stdout);
  }
  fprintf(stderr, "wsclean connect: %s refused: %s: %s (the connection stays open)\n", what, name,
          ws_strerror(err));
}

/* ---- events ---------------------------------------------------------------------------------- */

static void on_open(const ws_event *ev, void *ud) {
  (void)ev;
  client *c = ud;
  c->opened = true;
  const char *proto = ws_protocol(c->ws), *ext = ws_extensions(c->ws);
  if (c->json) {
    printf("{\"type\":\"open\",\"protocol\":");
    wscli_json_str(stdout, proto, strlen(proto));
    printf(",\"extensions\":");
    wscli_json_str(stdout, ext, strlen(ext));
    printf("}\n");
    fflush(stdout);
  } else {
    fprintf(stderr, "connected to %s%s%s (type to send; /close [code [reason]], Ctrl-D to end)\n",
            c->url, proto[0] ? ", protocol " : "", proto);
  }
}

static void on_message(const ws_event *ev, void *ud) {
  client *c = ud;
  const ws_message_event *m = ws_event_as_message(ev);
  size_t len = 0;
  const uint8_t *data = ws_message_event_data(m, &len);
  bool binary = ws_message_event_is_binary(m);
  if (c->json) {
    printf("{\"type\":\"message\",\"binary\":%s,\"data\":", binary ? "true" : "false");
    if (binary) {
      putchar('"');
      print_base64(stdout, data, len);
      putchar('"');
    } else {
      wscli_json_str(stdout, (const char *)data, len);
    }
    printf("}\n");
  } else if (binary) {
    printf("< [binary, %zu bytes] ", len);
    print_hex(stdout, data, len);
    printf("\n");
  } else {
    printf("< %.*s\n", (int)(len > INT32_MAX ? INT32_MAX : len), (const char *)data);
  }
  fflush(stdout);
  if (c->echo) {
    int rc =
        binary ? ws_send_binary(c->ws, data, len) : ws_send_text(c->ws, (const char *)data, len);
    if (rc != WS_OK) {
      /* Never drop an echo silently: the conformance peer would wait forever. */
      fprintf(stderr, "wsclean connect: echo failed: %s\n", ws_strerror(rc));
      ws_close_with(c->ws, WS_CLOSE_INTERNAL_ERROR, "echo failed: send queue full");
    }
  }
}

static void on_error(const ws_event *ev, void *ud) {
  (void)ev;
  client *c = ud;
  c->error_fired = true; /* printed with the close event, which carries the diagnostics */
}

static void on_close(const ws_event *ev, void *ud) {
  client *c = ud;
  const ws_close_event *ce = ws_event_as_close(ev);
  uint16_t code = ws_close_event_code(ce);
  size_t rlen = 0;
  const char *reason = ws_close_event_reason(ce, &rlen);
  bool clean = ws_close_event_was_clean(ce);
  const ws_close_diag *d = ws_close_event_diag(ce);
  static const char *const WHO[] = {"none", "local", "remote"};
  const char *who = d && d->initiator <= WS_CLOSER_REMOTE ? WHO[d->initiator] : "none";
  const char *detail = d && d->detail ? d->detail : "";
  if (c->json) {
    if (c->error_fired) {
      char msg[512];
      snprintf(msg, sizeof(msg), "%s%s%s",
               d && d->error ? ws_strerror(d->error) : "connection failed", detail[0] ? ": " : "",
               detail);
      printf("{\"type\":\"error\",\"message\":");
      wscli_json_str(stdout, msg, strlen(msg));
      printf("}\n");
    }
    printf("{\"type\":\"close\",\"code\":%u,\"reason\":", code);
    wscli_json_str(stdout, reason, rlen);
    printf(",\"wasClean\":%s,\"initiator\":\"%s\",\"codeSent\":%u,\"codeReceived\":%u,\"error\":",
           clean ? "true" : "false", who, d ? (unsigned)d->code_sent : 0u,
           d ? (unsigned)d->code_received : 0u);
    if (d && d->error)
      printf("\"%s\"", ws_errname(d->error));
    else
      printf("null");
    printf(",\"detail\":");
    wscli_json_str(stdout, detail, strlen(detail));
    printf(",\"durationMs\":%llu}\n", d ? (unsigned long long)d->duration_ms : 0ull);
  } else {
    if (c->error_fired)
      fprintf(stderr, "error: %s%s%s\n",
              d && d->error ? ws_strerror(d->error) : "connection failed", detail[0] ? ": " : "",
              detail);
    printf("closed: code %u %s, reason ", code, ws_close_code_name(code));
    wscli_json_str(stdout, reason, rlen);
    printf(", wasClean %s\n", clean ? "true" : "false");
    printf("  %s\n", ws_close_code_describe(code, c->lang));
    if (d)
      printf("  closed by: %s; code sent: %u; code received: %u%s%s; %llu ms\n", who, d->code_sent,
             d->code_received, d->error ? "; why: " : "", d->error ? ws_strerror(d->error) : "",
             (unsigned long long)d->duration_ms);
  }
  fflush(stdout);
  c->closed = true;
  c->ws = NULL; /* freed by the library after this returns */
  if (!c->opened)
    c->exit_code = EXIT_NEVER_OPENED;
  else if (!clean)
    c->exit_code = EXIT_ABNORMAL;
  else
    c->exit_code = code == WS_CLOSE_NORMAL ? EXIT_CLEAN_1000 : EXIT_CLEAN_OTHER;
}

/* ---- input (on the loop's thread) ------------------------------------------------------------ */

static void do_close(client *c, const char *args) {
  while (*args == ' ')
    args++;
  uint16_t code = 0;
  const char *reason = NULL;
  if (*args) {
    char *end;
    unsigned long v = strtoul(args, &end, 10);
    if (end == args || (*end && *end != ' ')) {
      fprintf(stderr, "wsclean connect: /close wants a number, then an optional reason\n");
      return;
    }
    /* [Clamp] unsigned short, as WebIDL does for close(code): larger numbers become 65535. */
    code = v > 65535 ? 65535 : (uint16_t)v;
    if (code == 0)
      code = 0xFFFF; /* 0 would mean "no code" here; 0 is invalid in a browser too */
    while (*end == ' ')
      end++;
    if (*end)
      reason = end;
  }
  int rc = ws_close(c->ws, code, reason);
  if (rc != WS_OK)
    exception(c, rc, "close()");
}

/* One typed line (NUL-terminated, without its newline). */
static void handle_line(client *c, const char *t) {
  if (c->closed || !c->ws)
    return;
  int rc = WS_OK;
  if (strncmp(t, "/binary", 7) == 0 && (t[7] == ' ' || t[7] == '\0')) {
    size_t n = 0, len = strlen(t);
    uint8_t *buf = ws__malloc(NULL, len / 2 + 1);
    if (!buf)
      return;
    int hi = -1;
    bool ok = true;
    for (const char *p = t + 7; *p; p++) {
      if (*p == ' ' || *p == ':' || *p == ',')
        continue;
      int v = ws__hexval(*p);
      if (v < 0) {
        ok = false;
        break;
      }
      if (hi < 0) {
        hi = v;
      } else {
        buf[n++] = (uint8_t)(hi * 16 + v);
        hi = -1;
      }
    }
    if (!ok || hi >= 0)
      fprintf(stderr, "wsclean connect: /binary wants hex bytes, e.g. /binary de ad be ef\n");
    else
      rc = ws_send_binary(c->ws, buf, n);
    ws__free(NULL, buf);
  } else if (strncmp(t, "/ping", 5) == 0 && (t[5] == ' ' || t[5] == '\0')) {
    const char *d = t[5] ? t + 6 : "";
    rc = ws_ping(c->ws, d, strlen(d));
  } else if (strncmp(t, "/close", 6) == 0 && (t[6] == ' ' || t[6] == '\0')) {
    do_close(c, t + 6);
  } else {
    if (t[0] == '/' && t[1] == '/')
      t++; /* "//x" sends "/x" */
    rc = ws_send_text(c->ws, t, strlen(t));
  }
  if (rc != WS_OK)
    exception(c, rc, "send");
}

/* Reads what stdin has, handles every complete line. Returns false at EOF (or a read error).
 * A line longer than CONNECT_MAX_LINE is cut there (and said so). */
static bool read_stdin(client *c, char *buf, size_t *used) {
  ssize_t n = read(STDIN_FILENO, buf + *used, CONNECT_MAX_LINE - *used);
  if (n < 0 && (errno == EINTR || errno == EAGAIN))
    return true;
  bool eof = n <= 0;
  if (n > 0)
    *used += (size_t)n;
  size_t start = 0;
  for (size_t i = 0; i < *used; i++) {
    if (buf[i] != '\n')
      continue;
    size_t end = i;
    if (end > start && buf[end - 1] == '\r')
      end--;
    buf[end] = '\0';
    handle_line(c, buf + start);
    start = i + 1;
  }
  memmove(buf, buf + start, *used - start);
  *used -= start;
  if (*used == CONNECT_MAX_LINE ||
      (eof && *used > 0)) { /* a full buffer, or a last line without \n */
    if (*used == CONNECT_MAX_LINE)
      fprintf(stderr, "wsclean connect: line over %u bytes cut\n", CONNECT_MAX_LINE);
    buf[*used] = '\0';
    handle_line(c, buf);
    *used = 0;
  }
  return !eof;
}

/* ---- main ------------------------------------------------------------------------------------ */

int ws_cmd_connect(int argc, char **argv) {
  client c;
  memset(&c, 0, sizeof(c));
  c.close_on_eof = true;
  c.exit_code = EXIT_NEVER_OPENED;
  /* The language of the explanation: LC_ALL, LC_MESSAGES, LANG (first set wins), as codes. */
  const char *env = NULL;
  static const char *const LANG_VARS[] = {"LC_ALL", "LC_MESSAGES", "LANG"};
  for (size_t i = 0; i < 3 && !env; i++)
    if (getenv(LANG_VARS[i]) && *getenv(LANG_VARS[i]))
      env = getenv(LANG_VARS[i]);
  int lang = env ? ws_close_lang_parse(env) : -1;
  c.lang = lang < 0 ? WS_LANG_EN : (ws_close_lang)lang;

  ws_open_options oo;
  ws_open_options_init(&oo);
  oo.conn.max_message_size = 16u << 20;
  oo.conn.max_frame_size = 16u << 20;
  const char *protocols[CONNECT_MAX_ITEMS];
  size_t nprot = 0;
  ws_header headers[CONNECT_MAX_ITEMS];
  size_t nhdr = 0;
  const char *url = NULL;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    uint64_t n;
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      connect_usage(stdout);
      return WS_EXIT_OK;
    } else if (!strcmp(a, "--json")) {
      c.json = true;
    } else if (!strcmp(a, "--echo")) {
      c.echo = true;
    } else if (!strcmp(a, "--insecure")) {
      oo.insecure = true;
    } else if (!strcmp(a, "--no-close-on-eof")) {
      c.close_on_eof = false;
    } else if (!strcmp(a, "--deflate")) {
      oo.deflate.enabled = true;
    } else if (!strcmp(a, "--no-deflate")) {
      oo.deflate.enabled = false;
    } else if (a[0] == '-' && a[1] == '-') {
      if (!v) {
        fprintf(stderr, "wsclean connect: %s wants a value (see --help)\n", a);
        return EXIT_USAGE;
      }
      i++;
      if (!strcmp(a, "--protocol")) {
        if (nprot == CONNECT_MAX_ITEMS)
          return EXIT_USAGE;
        protocols[nprot++] = v;
      } else if (!strcmp(a, "--header")) {
        const char *colon = strchr(v, ':');
        if (!colon || colon == v || nhdr == CONNECT_MAX_ITEMS) {
          fprintf(stderr, "wsclean connect: --header wants 'Name: value'\n");
          return EXIT_USAGE;
        }
        const char *val = colon + 1;
        while (*val == ' ')
          val++;
        headers[nhdr++] = (ws_header){v, (size_t)(colon - v), val, strlen(val)};
      } else if (!strcmp(a, "--origin")) {
        oo.origin = v;
      } else if (!strcmp(a, "--ca")) {
        oo.ca_file = v;
      } else if (!strcmp(a, "--close-timeout")) {
        if (!wscli_parse_u64(v, 1, 600000, &n)) {
          fprintf(stderr, "wsclean connect: --close-timeout wants milliseconds\n");
          return EXIT_USAGE;
        }
        oo.conn.close_timeout_ms = (uint32_t)n;
      } else if (!strcmp(a, "--max-message")) {
        if (!wscli_parse_size(v, &n) || n == 0) {
          fprintf(stderr, "wsclean connect: --max-message wants a size like 16M\n");
          return EXIT_USAGE;
        }
        oo.conn.max_message_size = n;
        oo.conn.max_frame_size = n;
      } else {
        fprintf(stderr, "wsclean connect: unknown option %s\n", a);
        return EXIT_USAGE;
      }
    } else if (!url) {
      url = a;
    } else {
      fprintf(stderr, "wsclean connect: one URL only\n");
      return EXIT_USAGE;
    }
  }
  if (!url) {
    connect_usage(stderr);
    return EXIT_USAGE;
  }
  c.url = url;
  oo.headers = nhdr ? headers : NULL;
  oo.num_headers = nhdr;

  /* Signals arrive through a signalfd in the same poll as everything else. */
  int sfd = wscli_signalfd();

  c.loop = ws_loop_new(NULL);
  char *inbuf = ws__malloc(NULL, CONNECT_MAX_LINE + 1);
  if (!c.loop || !inbuf) {
    fprintf(stderr, "wsclean connect: out of memory\n");
    ws_loop_free(c.loop);
    ws__free(NULL, inbuf);
    return EXIT_NEVER_OPENED;
  }
  int err = 0;
  if (c.echo) /* an echoing client must be able to queue the largest message it accepts */
    oo.conn.send_queue_limit =
        wscli_echo_queue_limit(oo.conn.max_message_size, oo.conn.send_queue_limit);
  c.ws = ws_open(c.loop, url, nprot ? protocols : NULL, nprot, &oo, &err);
  if (!c.ws) {
    /* What a browser throws from the constructor (SyntaxError): a bad URL or protocol list. */
    fprintf(stderr, "wsclean connect: %s: %s\n", url, ws_strerror(err));
    ws_loop_free(c.loop);
    ws__free(NULL, inbuf);
    if (sfd >= 0)
      close(sfd);
    return EXIT_USAGE;
  }
  ws_on(c.ws, "open", on_open, &c);
  ws_on(c.ws, "message", on_message, &c);
  ws_on(c.ws, "error", on_error, &c);
  ws_on(c.ws, "close", on_close, &c);

  bool stdin_open = true;
  size_t used = 0;
  for (;;) {
    struct pollfd pf[3] = {{.fd = ws_loop_fd(c.loop), .events = POLLIN},
                           {.fd = sfd, .events = POLLIN},
                           {.fd = STDIN_FILENO, .events = POLLIN}};
    /* stdin is read only once open: lines typed early wait (send() while CONNECTING throws). */
    nfds_t nfds = stdin_open && c.opened && !c.closed ? 3 : 2;
    int r = poll(pf, nfds, ws_loop_next_timeout(c.loop));
    if (r < 0 && errno != EINTR)
      break;
    if (r > 0 && (pf[1].revents & POLLIN)) {
      struct signalfd_siginfo si;
      if (read(sfd, &si, sizeof(si)) > 0 && c.ws && !c.closed)
        ws_close(c.ws, WS_CLOSE_NORMAL, NULL);
    }
    if (r > 0 && nfds == 3 && (pf[2].revents & (POLLIN | POLLHUP | POLLERR))) {
      stdin_open = read_stdin(&c, inbuf, &used);
      if (!stdin_open && c.close_on_eof && c.ws && !c.closed)
        ws_close(c.ws, WS_CLOSE_NORMAL, NULL);
    }
    if (ws_loop_run_once(c.loop, 0) <= 0)
      break;
  }
  ws_loop_free(c.loop);
  ws__free(NULL, inbuf);
  if (sfd >= 0)
    close(sfd);
  return c.exit_code;
}
