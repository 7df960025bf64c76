/* The close-code registry: one read-only table for every code 0..65535.
 *
 * Sources: RFC 6455 7.4.1 (codes 1000-1011, 1015), 7.4.2 (the ranges), the IANA "WebSocket Close
 * Code Number Registry" (1012-1014 and 3000/3003/3008 were registered there after the RFC), and
 * WHATWG WebSockets close() for app_sendable. The receive-side validity rule (which codes fail the
 * connection with 1002) is not spelled out by RFC 6455; we follow the rule Autobahn 7.9 enforces
 * and browsers, ws, undici and Python websockets share (see FACTS.md).
 */
#include "base/ascii.h"
#include "base/close_codes_text.h"
#include "wsclean/close_codes.h"

#include <string.h>

typedef struct row {
  uint16_t lo, hi;
  bool assigned;
  bool on_wire;      /* RFC 6455 7.4: may be carried by a close frame */
  bool app_sendable; /* WHATWG close(): 1000 or 3000-4999, else InvalidAccessError */
  bool local;        /* RFC 6455 7.4.1: 1005/1006/1015 "MUST NOT be set" in a frame */
  ws_close_sender sender;
  const char *symbol;
  const char *name;
  const char *reference;
} row;

#define ASSIGNED(code, wire, app, loc, snd, sym, nm, ref)                                          \
  { code, code, true, wire, app, loc, snd, sym, nm, ref }
#define RANGE(lo, hi, wire, app, snd, nm, ref)                                                     \
  { lo, hi, false, wire, app, false, snd, NULL, nm, ref }

/* Display order; lookup prefers assigned rows, so 3000/3003/3008 win over the 3000-3999 range. */
static const row rows[] = {
    RANGE(0, 999, false, false, WS_SENDER_NONE, "Not used", "RFC 6455 7.4.2"),
    ASSIGNED(1000, true, true, false, WS_SENDER_EITHER, "WS_CLOSE_NORMAL", "Normal Closure",
             "RFC 6455 7.4.1"),
    ASSIGNED(1001, true, false, false, WS_SENDER_EITHER, "WS_CLOSE_GOING_AWAY", "Going Away",
             "RFC 6455 7.4.1"),
    ASSIGNED(1002, true, false, false, WS_SENDER_EITHER, "WS_CLOSE_PROTOCOL_ERROR",
             "Protocol error", "RFC 6455 7.4.1"),
    ASSIGNED(1003, true, false, false, WS_SENDER_EITHER, "WS_CLOSE_UNSUPPORTED_DATA",
             "Unsupported Data", "RFC 6455 7.4.1"),
    /* 1004 is reserved without a meaning, so a frame carrying it is invalid. */
    ASSIGNED(1004, false, false, false, WS_SENDER_NONE, "WS_CLOSE_RESERVED", "Reserved",
             "RFC 6455 7.4.1"),
    ASSIGNED(1005, false, false, true, WS_SENDER_NONE, "WS_CLOSE_NO_STATUS", "No Status Rcvd",
             "RFC 6455 7.4.1"),
    ASSIGNED(1006, false, false, true, WS_SENDER_NONE, "WS_CLOSE_ABNORMAL", "Abnormal Closure",
             "RFC 6455 7.4.1"),
    ASSIGNED(1007, true, false, false, WS_SENDER_EITHER, "WS_CLOSE_INVALID_PAYLOAD",
             "Invalid frame payload data", "RFC 6455 7.4.1"),
    ASSIGNED(1008, true, false, false, WS_SENDER_EITHER, "WS_CLOSE_POLICY_VIOLATION",
             "Policy Violation", "RFC 6455 7.4.1"),
    ASSIGNED(1009, true, false, false, WS_SENDER_EITHER, "WS_CLOSE_MESSAGE_TOO_BIG",
             "Message Too Big", "RFC 6455 7.4.1"),
    /* RFC 6455 7.4.1: 1010 is sent by a client whose required extensions the server refused. */
    ASSIGNED(1010, true, false, false, WS_SENDER_CLIENT, "WS_CLOSE_MANDATORY_EXT", "Mandatory Ext.",
             "RFC 6455 7.4.1"),
    ASSIGNED(1011, true, false, false, WS_SENDER_SERVER, "WS_CLOSE_INTERNAL_ERROR",
             "Internal Error", "RFC 6455 7.4.1"),
    ASSIGNED(1012, true, false, false, WS_SENDER_SERVER, "WS_CLOSE_SERVICE_RESTART",
             "Service Restart", "IANA registry"),
    ASSIGNED(1013, true, false, false, WS_SENDER_SERVER, "WS_CLOSE_TRY_AGAIN_LATER",
             "Try Again Later", "IANA registry"),
    ASSIGNED(1014, true, false, false, WS_SENDER_SERVER, "WS_CLOSE_BAD_GATEWAY", "Bad Gateway",
             "IANA registry"),
    ASSIGNED(1015, false, false, true, WS_SENDER_NONE, "WS_CLOSE_TLS_HANDSHAKE", "TLS handshake",
             "RFC 6455 7.4.1"),
    RANGE(1016, 1999, false, false, WS_SENDER_NONE, "Unassigned (reserved for the protocol)",
          "RFC 6455 7.4.2"),
    RANGE(2000, 2999, false, false, WS_SENDER_NONE, "Unassigned (reserved for extensions)",
          "RFC 6455 7.4.2"),
    RANGE(3000, 3999, true, true, WS_SENDER_EITHER, "Libraries and frameworks (IANA registered)",
          "RFC 6455 7.4.2"),
    ASSIGNED(3000, true, true, false, WS_SENDER_SERVER, "WS_CLOSE_UNAUTHORIZED", "Unauthorized",
             "IANA registry"),
    ASSIGNED(3003, true, true, false, WS_SENDER_SERVER, "WS_CLOSE_FORBIDDEN", "Forbidden",
             "IANA registry"),
    ASSIGNED(3008, true, true, false, WS_SENDER_EITHER, "WS_CLOSE_TIMEOUT", "Timeout",
             "IANA registry"),
    RANGE(4000, 4999, true, true, WS_SENDER_EITHER, "Private use", "RFC 6455 7.4.2"),
    RANGE(5000, 65535, false, false, WS_SENDER_NONE, "Invalid (outside every range)",
          "RFC 6455 7.4.2"),
};

#define ROW_COUNT (sizeof rows / sizeof rows[0])

static const row *find_row(uint16_t code) {
  for (size_t i = 0; i < ROW_COUNT; i++)
    if (rows[i].assigned && rows[i].lo == code)
      return &rows[i];
  for (size_t i = 0; i < ROW_COUNT; i++)
    if (!rows[i].assigned && rows[i].lo <= code && code <= rows[i].hi)
      return &rows[i];
  return &rows[ROW_COUNT - 1]; /* unreachable: the ranges cover 0..65535 (tested) */
}

static void fill(const row *r, uint16_t code, ws_close_code_info *out) {
  out->code = code;
  out->range_lo = r->lo;
  out->range_hi = r->hi;
  out->assigned = r->assigned;
  out->symbol = r->symbol;
  out->name = r->name;
  out->on_wire = r->on_wire;
  out->app_sendable = r->app_sendable;
  out->reported_locally = r->local;
  out->sender = r->sender;
  out->reference = r->reference;
}

void ws_close_code_info_get(uint16_t code, ws_close_code_info *out) {
  if (out)
    fill(find_row(code), code, out);
}

size_t ws_close_code_row_count(void) { return ROW_COUNT; }

bool ws_close_code_row_get(size_t i, ws_close_code_info *out) {
  if (i >= ROW_COUNT || !out)
    return false;
  fill(&rows[i], rows[i].lo, out);
  return true;
}

const char *ws_close_code_name(uint16_t code) { return find_row(code)->name; }

static const char *row_text(const row *r, ws_close_lang lang) {
  int l = (int)lang;
  if (l < 0 || l >= WS_LANG_COUNT)
    l = WS_LANG_EN;
  for (size_t i = 0; i < ws__close_texts_count; i++)
    if (ws__close_texts[i].lo == r->lo && ws__close_texts[i].hi == r->hi)
      return ws__close_texts[i].text[l];
  return r->name; /* unreachable: every row has a text (tested) */
}

const char *ws_close_code_describe(uint16_t code, ws_close_lang lang) {
  return row_text(find_row(code), lang);
}

const char *ws_close_code_row_describe(size_t i, ws_close_lang lang) {
  return i < ROW_COUNT ? row_text(&rows[i], lang) : "";
}

bool ws_close_code_on_wire(uint16_t code) { return find_row(code)->on_wire; }
bool ws_close_code_app_sendable(uint16_t code) { return find_row(code)->app_sendable; }
ws_close_sender ws_close_code_sender(uint16_t code) { return find_row(code)->sender; }

/* ---- languages ------------------------------------------------------------------------------ */

static const char *const lang_names[WS_LANG_COUNT] = {"en", "es", "pt", "fr"};


/* Does name[0..n) equal word (ASCII, case-insensitive)? */
static bool word_is(const char *name, size_t n, const char *word) {
  if (strlen(word) != n)
    return false;
  for (size_t i = 0; i < n; i++)
    if (ws__ascii_lower(name[i]) != word[i])
      return false;
  return true;
}

int ws_close_lang_parse(const char *name) {
  if (!name)
    return -1;
  /* POSIX locale names are language[_territory][.codeset][@modifier]; BCP 47 tags use '-'. The
   * language is what comes before the first of those separators. */
  size_t n = strcspn(name, "_-.@");
  if (n == 0)
    return -1;
  /* The C/POSIX locale means "no localisation": its messages are English. */
  if (word_is(name, n, "c") || word_is(name, n, "posix"))
    return WS_LANG_EN;
  for (int l = 0; l < WS_LANG_COUNT; l++)
    if (word_is(name, n, lang_names[l]))
      return l;
  return -1;
}

const char *ws_close_lang_name(ws_close_lang lang) {
  int l = (int)lang;
  return (l >= 0 && l < WS_LANG_COUNT) ? lang_names[l] : lang_names[WS_LANG_EN];
}
