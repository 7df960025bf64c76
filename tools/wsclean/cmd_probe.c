/* wsclean probe URL — a battery of close-behaviour checks against any WebSocket server.
 *
 * Each check opens its own connection, sends hand-built frames (rawws.c: the probe must be able
 * to send what a correct client never would) and watches what comes back: the close frame's
 * code and reason, how long it took, whether the server closed TCP first (RFC 6455 7.1.1), and
 * whether anything followed the server's close frame. The expectations are RFC 6455's, with the
 * received-code rule every mature peer enforces (Autobahn 7.9): fail with 1002 on a code that
 * must not be on the wire.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/alloc.h"
#include "cli_util.h"
#include "commands.h"
#include "rawws.h"
#include "wsclean/close_codes.h"

#define FIN      0x80
#define OP_CONT  0x0
#define OP_TEXT  0x1
#define OP_BIN   0x2
#define OP_CLOSE 0x8
#define OP_PING  0x9
#define OP_PONG  0xA

typedef enum verdict { V_PASS = 0, V_WARN, V_FAIL, V_INFO, V_SKIP } verdict;
static const char *const VERDICT[] = {"pass", "warn", "fail", "info", "skip"};

/* What the server did after our frames. */
typedef struct observed {
  bool got_close;
  bool close_empty;
  bool close_bad; /* a 1-byte body or over 125 bytes */
  uint16_t code;
  char reason[126];
  size_t reason_len;
  uint64_t close_ms; /* from our last send to the server's close frame */
  int data_before, pongs_before;
  int frames_after; /* any frame after the server's close frame */
  bool eof;
  uint64_t eof_ms; /* from the server's close frame (or our send) to its FIN */
  bool reset, timeout, bad, masked;
  char first_text[64];
  size_t first_text_len;
} observed;

typedef struct probe {
  rawws_url url;
  const char *origin;
  int timeout_ms;
  bool json;
  bool color; /* a terminal and no NO_COLOR (no-color.org) */
  rawws_tls tls;
  rawws *w; /* one connection at a time; ~2 MiB of buffers, allocated once */
  int counts[5];
  int n;
} probe;

static void report(probe *p, const char *id, const char *title, verdict v, const char *expected,
                   const char *got) {
  p->counts[v]++;
  if (p->json) {
    printf("%s{\"id\":", p->n++ ? ",\n  " : "  ");
    wscli_json_str(stdout, id, strlen(id));
    printf(",\"title\":");
    wscli_json_str(stdout, title, strlen(title));
    printf(",\"result\":\"%s\",\"expected\":", VERDICT[v]);
    wscli_json_str(stdout, expected, strlen(expected));
    printf(",\"got\":");
    wscli_json_str(stdout, got, strlen(got));
    printf("}");
  } else {
    static const char *const TAG[] = {"PASS", "WARN", "FAIL", "info", "skip"};
    static const char *const COLOR[] = {"\033[32m", "\033[33m", "\033[1;31m", "\033[2m", "\033[2m"};
    printf("  %s%s%s  %-26s %s\n", p->color ? COLOR[v] : "", TAG[v], p->color ? "\033[0m" : "", id,
           title);
    if (v == V_FAIL || v == V_WARN)
      printf("        %-26s expected %s\n", "", expected);
    printf("        %-26s got %s\n", "", got);
  }
}

/* --timeout is how long a check waits for the server's reaction to what it sent; connecting
 * (TCP, TLS, the upgrade) is not what is being judged, so it gets at least 5 s: a short
 * --timeout on a busy machine must not turn every check into a connection failure. */
#define PROBE_CONNECT_FLOOR_MS 5000

static int open_conn(probe *p, char *err, size_t errlen) {
  int t = p->timeout_ms > PROBE_CONNECT_FLOOR_MS ? p->timeout_ms : PROBE_CONNECT_FLOOR_MS;
  return rawws_open(p->w, &p->url, p->origin, t, err, errlen);
}

static int send_close(probe *p, bool with_code, uint16_t code, const void *reason, size_t rlen) {
  uint8_t body[256];
  size_t n = 0;
  if (with_code) {
    body[n++] = (uint8_t)(code >> 8);
    body[n++] = (uint8_t)code;
  }
  if (rlen > sizeof(body) - n)
    rlen = sizeof(body) - n;
  /* n is 0 or 2 and rlen was clamped to the room left. */
  // cppcheck-suppress pointerOutOfBoundsCond
  memcpy(body + n, reason, rlen);
  n += rlen;
  return rawws_send(p->w, FIN | OP_CLOSE, true, body, n);
}

/* Read until the server closed TCP or the timeout. Echo the server's close frame if it
 * started the closing handshake (as a browser would), so that what we measure next is the
 * server's own TCP close. */
static void observe(probe *p, observed *o, bool we_sent_close) {
  memset(o, 0, sizeof(*o));
  uint64_t start = rawws_now_ms();
  uint64_t deadline = start + (uint64_t)p->timeout_ms;
  uint64_t close_at = 0;
  for (;;) {
    rawws_frame f;
    rawws_read_result r = rawws_read(p->w, deadline, &f);
    uint64_t now = rawws_now_ms();
    if (r == RAWWS_EOF || r == RAWWS_RESET) {
      o->eof = r == RAWWS_EOF;
      o->reset = r == RAWWS_RESET;
      o->eof_ms = now - (close_at ? close_at : start);
      break;
    }
    if (r == RAWWS_TIMEOUT) {
      o->timeout = true;
      break;
    }
    if (r == RAWWS_BAD) {
      o->bad = true;
      break;
    }
    if (f.masked)
      o->masked = true;
    if (o->got_close) {
      o->frames_after++;
      continue;
    }
    if (f.opcode == OP_CLOSE) {
      o->got_close = true;
      close_at = now;
      o->close_ms = now - start;
      if (f.len == 0) {
        o->close_empty = true;
        o->code = WS_CLOSE_NO_STATUS;
      } else if (f.len == 1 || f.len > 125) {
        o->close_bad = true;
      } else {
        o->code = (uint16_t)(f.payload[0] << 8 | f.payload[1]);
        o->reason_len = f.len - 2;
        memcpy(o->reason, f.payload + 2, o->reason_len);
      }
      if (!we_sent_close) {
        /* RFC 6455 5.5.1: answer with a close frame, echoing the code when it may be sent. */
        if (o->close_empty || !ws_close_code_on_wire(o->code))
          send_close(p, false, 0, "", 0);
        else
          send_close(p, true, o->code, "", 0);
      }
      /* The server closes TCP first; give it the rest of the timeout. */
      continue;
    }
    if (f.opcode == OP_TEXT || f.opcode == OP_BIN || f.opcode == OP_CONT) {
      if (o->data_before == 0 && f.opcode == OP_TEXT) {
        o->first_text_len = f.len < sizeof(o->first_text) ? f.len : sizeof(o->first_text);
        memcpy(o->first_text, f.payload, o->first_text_len);
      }
      o->data_before++;
    } else if (f.opcode == OP_PONG) {
      o->pongs_before++;
    }
  }
  rawws_close(p->w);
}

static void describe(const observed *o, char *out, size_t n) {
  int w;
  if (o->got_close) {
    if (o->close_bad)
      w = snprintf(out, n, "a malformed close frame");
    else if (o->close_empty)
      w = snprintf(out, n, "an empty close frame (1005)");
    else
      w = snprintf(out, n, "close %u %s \"%.*s\" after %llu ms", o->code,
                   ws_close_code_name(o->code), (int)(o->reason_len > 40 ? 40 : o->reason_len),
                   o->reason, (unsigned long long)o->close_ms);
  } else {
    w = snprintf(out, n, "no close frame");
  }
  if (w < 0 || (size_t)w >= n)
    return;
  const char *tcp = o->eof     ? "; then TCP closed by the server"
                    : o->reset ? "; then TCP reset"
                    : o->bad   ? "; then bytes that are not a frame"
                               : "; TCP still open at the timeout";
  int w2 = snprintf(out + w, n - (size_t)w, "%s", tcp);
  if (w2 < 0 || (size_t)(w + w2) >= n)
    return;
  if (o->eof && o->got_close)
    snprintf(out + w + w2, n - (size_t)(w + w2), " %llu ms later", (unsigned long long)o->eof_ms);
  if (o->frames_after) {
    size_t l = strlen(out);
    snprintf(out + l, n - l, "; %d frame(s) after its close frame", o->frames_after);
  }
}

/* The verdict for "the server must answer/fail with `want`". */
static verdict judge(const observed *o, uint16_t want, char *why, size_t n) {
  describe(o, why, n);
  if (!o->got_close || o->close_bad || o->code != want)
    return V_FAIL;
  if (o->frames_after)
    return V_WARN;
  if (!o->eof && !o->reset)
    return V_WARN; /* RFC 6455 7.1.1: the server closes TCP first */
  return V_PASS;
}

/* One check: open, run `send`, observe, judge against `want`. */
typedef void (*send_fn)(probe *p, const void *arg);

static void run(probe *p, const char *id, const char *title, uint16_t want, const char *expected,
                send_fn send, const void *arg, bool sends_close) {
  char err[256], got[512];
  if (open_conn(p, err, sizeof(err)) != 0) {
    report(p, id, title, V_FAIL, expected, err);
    return;
  }
  send(p, arg);
  observed o;
  observe(p, &o, sends_close);
  verdict v = judge(&o, want, got, sizeof(got));
  report(p, id, title, v, expected, got);
}

typedef struct close_arg {
  bool with_code;
  uint16_t code;
  const char *reason;
  size_t reason_len;
} close_arg;

static void send_close_arg(probe *p, const void *arg) {
  const close_arg *a = arg;
  send_close(p, a->with_code, a->code, a->reason, a->reason_len);
}

static void send_raw_frame(probe *p, const void *arg) {
  const uint8_t *spec = arg; /* first byte, mask flag, len, payload... */
  rawws_send(p->w, spec[0], spec[1] != 0, spec + 3, spec[2]);
}

static void send_bad_text(probe *p, const void *arg) {
  (void)arg;
  static const uint8_t bad[] = {'o', 'k', 0xC3, 0x28}; /* 0xC3 must be followed by 0x80..0xBF */
  rawws_send(p->w, FIN | OP_TEXT, true, bad, sizeof(bad));
}

static void send_fragmented_close(probe *p, const void *arg) {
  (void)arg;
  static const uint8_t body[] = {0x03, 0xE8};
  rawws_send(p->w, OP_CLOSE, true, body, sizeof(body)); /* FIN clear: RFC 6455 5.5 */
}

static void send_ping_close_ping(probe *p, const void *arg) {
  (void)arg;
  rawws_send(p->w, FIN | OP_PING, true, "before", 6);
  send_close(p, true, 1000, "", 0);
  rawws_send(p->w, FIN | OP_PING, true, "during", 6);
}

static void send_close_then_data(probe *p, const void *arg) {
  (void)arg;
  send_close(p, true, 1000, "", 0);
  rawws_send(p->w, FIN | OP_TEXT, true, "after close", 11);
}

/* A close frame fed one byte at a time, 20 ms apart: the server's parser must wait for the
 * rest rather than fail on a partial header. */
static void send_close_bytewise(probe *p, const void *arg) {
  (void)arg;
  static const uint8_t key[4] = {0x12, 0x34, 0x56, 0x78};
  const uint8_t frame[8] = {
      FIN | OP_CLOSE,          0x80 | 2, key[0], key[1], key[2], key[3], (uint8_t)(0x03 ^ key[0]),
      (uint8_t)(0xE8 ^ key[1])};
  for (size_t i = 0; i < sizeof(frame); i++) {
    rawws_send_raw(p->w, frame + i, 1);
    struct timespec ts = {0, 20 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
}

/* RFC 6455 5.4: control frames may come between the fragments of a message. */
static void send_close_mid_message(probe *p, const void *arg) {
  (void)arg;
  rawws_send(p->w, OP_TEXT, true, "half a mess", 11); /* FIN clear: more fragments follow */
  send_close(p, true, 1000, "", 0);
}

static void checks(probe *p) {
  char err[256], got[512], exp[160];

  /* 1. The opening handshake, and whether the server echoes (informational). */
  uint64_t t0 = rawws_now_ms();
  if (open_conn(p, err, sizeof(err)) != 0) {
    report(p, "handshake", "opening handshake (101, valid Sec-WebSocket-Accept)", V_FAIL,
           "HTTP 101 with a valid Sec-WebSocket-Accept", err);
    return;
  }
  snprintf(got, sizeof(got), "101 Switching Protocols in %llu ms",
           (unsigned long long)(rawws_now_ms() - t0));
  report(p, "handshake", "opening handshake (101, valid Sec-WebSocket-Accept)", V_PASS,
         "HTTP 101 with a valid Sec-WebSocket-Accept", got);
  rawws_send(p->w, FIN | OP_TEXT, true, "wsclean probe", 13);
  rawws_frame f;
  bool echo = rawws_read(p->w, rawws_now_ms() + (uint64_t)p->timeout_ms, &f) == RAWWS_FRAME &&
              f.opcode == OP_TEXT && f.len == 13 && memcmp(f.payload, "wsclean probe", 13) == 0;
  send_close(p, true, 1000, "probe", 5);
  observed o;
  observe(p, &o, true);
  report(p, "echo", "echoes a text message (informational)", V_INFO, "-", echo ? "yes" : "no");

  /* 2. Answering a close: code echoed, in time, TCP closed by the server. */
  static const close_arg c1000 = {true, 1000, "probe", 5};
  run(p, "close.1000", "answers close 1000 with 1000 and closes TCP first", 1000,
      "close 1000 within the timeout, then the server's FIN", send_close_arg, &c1000, true);
  static const close_arg c4000 = {true, 4000, "app", 3};
  run(p, "close.4000", "echoes a private-use code (4000)", 4000, "close 4000", send_close_arg,
      &c4000, true);
  static const close_arg c3000 = {true, 3000, "", 0};
  run(p, "close.3000", "echoes a registered library code (3000)", 3000, "close 3000",
      send_close_arg, &c3000, true);
  static const uint16_t server_codes[] = {1001, 1012, 1013, 1014};
  for (size_t i = 0; i < sizeof(server_codes) / sizeof(server_codes[0]); i++) {
    close_arg a = {true, server_codes[i], "", 0};
    char id[32], title[96];
    snprintf(id, sizeof(id), "close.%u", server_codes[i]);
    snprintf(title, sizeof(title), "accepts %u %s", server_codes[i],
             ws_close_code_name(server_codes[i]));
    snprintf(exp, sizeof(exp), "close %u (it is valid on the wire; some servers wrongly say 1002)",
             server_codes[i]);
    run(p, id, title, server_codes[i], exp, send_close_arg, &a, true);
  }

  /* An empty close: the server reports 1005 and answers; echoing nothing or 1000 are both fine. */
  if (open_conn(p, err, sizeof(err)) == 0) {
    send_close(p, false, 0, "", 0);
    observe(p, &o, true);
    describe(&o, got, sizeof(got));
    verdict v = o.got_close && !o.close_bad && (o.close_empty || o.code == 1000) ? V_PASS : V_FAIL;
    if (v == V_PASS && !o.eof && !o.reset)
      v = V_WARN;
    report(p, "close.empty", "answers an empty close frame", v, "an empty close frame or 1000",
           got);
  } else {
    report(p, "close.empty", "answers an empty close frame", V_FAIL, "connection", err);
  }

  /* 3. A 123-byte reason is the maximum (125-byte control payload, RFC 6455 5.5). */
  char r123[124];
  memset(r123, 'r', 123);
  const close_arg c123 = {true, 1000, r123, 123};
  run(p, "reason.123", "accepts a 123-byte reason", 1000, "close 1000", send_close_arg, &c123,
      true);

  /* 4. Codes that must not be on the wire: fail with 1002. */
  static const uint16_t bad_codes[] = {0,    999,  1004, 1005, 1006, 1015,
                                       1016, 1100, 2000, 2999, 5000, 65535};
  for (size_t i = 0; i < sizeof(bad_codes) / sizeof(bad_codes[0]); i++) {
    close_arg bad = {true, bad_codes[i], "", 0};
    char id[32], title[96];
    snprintf(id, sizeof(id), "invalid.%u", bad_codes[i]);
    snprintf(title, sizeof(title), "rejects close code %u with 1002", bad_codes[i]);
    run(p, id, title, 1002, "close 1002 Protocol error (Autobahn 7.9, RFC 6455 7.4)",
        send_close_arg, &bad, true);
  }

  /* 5. Malformed close frames and payloads. */
  static const uint8_t one_byte[] = {FIN | OP_CLOSE, 1, 1, 0x03};
  run(p, "close.1byte", "rejects a 1-byte close payload with 1002", 1002,
      "close 1002 (RFC 6455 5.5.1: the body is empty or starts with a 2-byte code)", send_raw_frame,
      one_byte, true);
  uint8_t too_long[3 + 126];
  too_long[0] = FIN | OP_CLOSE;
  too_long[1] = 1;
  too_long[2] = 126;
  too_long[3] = 0x03;
  too_long[4] = 0xE8;
  memset(too_long + 5, 'x', 124);
  run(p, "close.126", "rejects a 126-byte close payload with 1002", 1002,
      "close 1002 (RFC 6455 5.5: control frames carry at most 125 bytes)", send_raw_frame, too_long,
      true);
  static const close_arg badutf8 = {true, 1000, "\xC3\x28", 2};
  run(p, "reason.utf8", "rejects a close reason that is not UTF-8 with 1007", 1007,
      "close 1007 Invalid frame payload data (RFC 6455 5.5.1, 8.1)", send_close_arg, &badutf8,
      true);
  run(p, "close.fragmented", "rejects a fragmented close frame with 1002", 1002,
      "close 1002 (RFC 6455 5.5: control frames must not be fragmented)", send_fragmented_close,
      NULL, true);

  /* 6. Failures that end in a server-initiated close. */
  run(p, "text.utf8", "fails a text message that is not UTF-8 with 1007", 1007,
      "close 1007 (RFC 6455 8.1)", send_bad_text, NULL, false);
  static const uint8_t unmasked[] = {FIN | OP_TEXT, 0, 2, 'h', 'i'};
  run(p, "frame.unmasked", "fails an unmasked client frame with 1002", 1002,
      "close 1002 (RFC 6455 5.1)", send_raw_frame, unmasked, false);
  static const uint8_t opcode3[] = {FIN | 0x3, 1, 2, 'h', 'i'};
  run(p, "frame.opcode", "fails a reserved opcode (0x3) with 1002", 1002,
      "close 1002 (RFC 6455 5.2)", send_raw_frame, opcode3, false);
  static const uint8_t rsv1[] = {FIN | 0x40 | OP_TEXT, 1, 2, 'h', 'i'};
  run(p, "frame.rsv1", "fails RSV1 without a negotiated extension with 1002", 1002,
      "close 1002 (RFC 6455 5.2)", send_raw_frame, rsv1, false);

  /* 7. Closing with traffic around it. */
  if (open_conn(p, err, sizeof(err)) == 0) {
    send_ping_close_ping(p, NULL);
    observe(p, &o, true);
    verdict v = judge(&o, 1000, got, sizeof(got));
    size_t l = strlen(got);
    snprintf(got + l, sizeof(got) - l, "; %d pong(s) before its close", o.pongs_before);
    report(p, "closing.ping", "ping, close, ping: answers the close, nothing after it", v,
           "a pong, close 1000, then nothing but the server's FIN", got);
  }
  run(p, "closing.data", "ignores a data frame after the close frame", 1000,
      "close 1000 and no echo of the late message", send_close_then_data, NULL, true);
  run(p, "closing.bytewise", "a close frame sent one byte at a time", 1000,
      "close 1000 (the parser waits for the rest of the frame)", send_close_bytewise, NULL, true);
  run(p, "closing.mid-message", "a close between the fragments of a message", 1000,
      "close 1000 (RFC 6455 5.4: control frames may be interleaved)", send_close_mid_message, NULL,
      true);
}

static void usage(FILE *out) {
  fputs("usage: wsclean probe [--json] [--timeout MS] [--origin O] [--ca F | --insecure] "
        "ws[s]://HOST[:PORT]/PATH\n"
        "\n"
        "Runs a battery of close-behaviour checks against any WebSocket server, one connection\n"
        "per check, and prints a report card: does it echo the close code, answer a close in\n"
        "time and close TCP first, reject codes that must not be on the wire (0, 999, 1004-1006,\n"
        "1015, 1016-2999, 5000+) and malformed close frames with 1002, an invalid UTF-8 reason\n"
        "or text with 1007, accept a 123-byte reason and 1012-1014, and stay quiet after its\n"
        "close frame.\n"
        "\n"
        "  --json          one JSON document: "
        "{\"url\",\"timeout_ms\",\"checks\":[{\"id\",\"title\",\n"
        "                  \"result\":\"pass|warn|fail|info\",\"expected\",\"got\"}],\"summary\"}\n"
        "  --timeout MS    how long each check waits for the server (default 2000; connecting\n    "
        "              gets at least 5000)\n"
        "  --origin ORIGIN send this Origin header\n"
        "  --ca FILE       wss://: verify the server with this PEM CA bundle (default: system)\n"
        "  --insecure      wss://: do not verify the server's certificate\n"
        "\n"
        "Exit status: 0 no check failed (warnings allowed), 1 a check failed, 2 usage error or\n"
        "the server could not be reached.\n",
        out);
}

int ws_cmd_probe(int argc, char **argv) {
  probe p;
  memset(&p, 0, sizeof(p));
  p.timeout_ms = 2000;
  const char *url = NULL;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      usage(stdout);
      return 0;
    } else if (strcmp(a, "--json") == 0) {
      p.json = true;
    } else if (strcmp(a, "--timeout") == 0 && i + 1 < argc) {
      uint64_t v;
      if (!wscli_parse_u64(argv[++i], 1, 600000, &v)) {
        fprintf(stderr, "wsclean probe: --timeout wants milliseconds (1..600000)\n");
        return 2;
      }
      p.timeout_ms = (int)v;
    } else if (strcmp(a, "--origin") == 0 && i + 1 < argc) {
      p.origin = argv[++i];
    } else if (strcmp(a, "--ca") == 0 && i + 1 < argc) {
      p.tls.ca_file = argv[++i];
    } else if (strcmp(a, "--insecure") == 0) {
      p.tls.insecure = true;
    } else if (a[0] == '-') {
      fprintf(stderr, "wsclean probe: unknown option %s\n", a);
      usage(stderr);
      return 2;
    } else if (!url) {
      url = a;
    } else {
      fprintf(stderr, "wsclean probe: one URL only\n");
      return 2;
    }
  }
  if (!url) {
    usage(stderr);
    return 2;
  }
  char err[256];
  if (rawws_parse_url(url, &p.url, err, sizeof(err)) != 0) {
    fprintf(stderr, "wsclean probe: %s\n", err);
    return 2;
  }
  p.w = ws__malloc(NULL, sizeof(*p.w));
  if (!p.w) {
    fprintf(stderr, "wsclean probe: out of memory\n");
    return 2;
  }
  p.color = !p.json && isatty(STDOUT_FILENO) && !(getenv("NO_COLOR") && *getenv("NO_COLOR"));
  p.w->fd = -1;
  p.w->ssl = NULL;
  p.w->tls = &p.tls;
  if (p.json) {
    printf("{\"url\":");
    wscli_json_str(stdout, url, strlen(url));
    printf(",\"timeout_ms\":%d,\"checks\":[\n", p.timeout_ms);
  } else {
    printf("wsclean probe %s (each check waits up to %d ms)\n\n", url, p.timeout_ms);
  }
  checks(&p);
  int total = p.counts[V_PASS] + p.counts[V_WARN] + p.counts[V_FAIL];
  if (p.json) {
    printf("\n],\"summary\":{\"pass\":%d,\"warn\":%d,\"fail\":%d,\"info\":%d}}\n", p.counts[V_PASS],
           p.counts[V_WARN], p.counts[V_FAIL], p.counts[V_INFO]);
  } else {
    printf("\n%d/%d checks passed, %d warning(s), %d failed\n", p.counts[V_PASS], total,
           p.counts[V_WARN], p.counts[V_FAIL]);
  }
  bool unreachable = total == 1 && p.counts[V_FAIL] == 1; /* the handshake itself failed */
  ws__free(NULL, p.w);
  if (unreachable)
    return 2;
  return p.counts[V_FAIL] ? 1 : 0;
}
