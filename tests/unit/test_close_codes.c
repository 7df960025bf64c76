/* src/base/close_codes.c: the registry, checked code by code (all 65536) against an expectation
 * written here from RFC 6455 7.4, the IANA registry and WHATWG close(), not derived from the
 * table under test. */
#include "base/close_codes_text.h"
#include "wsclean/close_codes.h"
#include "wstest.h"

#include <stdbool.h>

/* ---- the independent expectation ------------------------------------------------------------ */

/* Receivers accept 1000-1003, 1007-1014, 3000-4999 and fail with 1002 on everything else
 * (Autobahn 7.9; ws, undici, Python websockets; FACTS.md). */
static bool want_on_wire(unsigned c) {
  return (c >= 1000 && c <= 1003) || (c >= 1007 && c <= 1014) || (c >= 3000 && c <= 4999);
}
/* WHATWG close(): "If code is present, but is neither an integer equal to 1000 nor an integer in
 * the range 3000 to 4999, inclusive, throw an InvalidAccessError". */
static bool want_app_sendable(unsigned c) { return c == 1000 || (c >= 3000 && c <= 4999); }
/* RFC 6455 7.4.1: 1005, 1006, 1015 MUST NOT be set in a close frame; they are reported. */
static bool want_local(unsigned c) { return c == 1005 || c == 1006 || c == 1015; }
static bool want_assigned(unsigned c) {
  return (c >= 1000 && c <= 1015) || c == 3000 || c == 3003 || c == 3008;
}
static ws_close_sender want_sender(unsigned c) {
  if (!want_on_wire(c))
    return WS_SENDER_NONE;
  if (c == 1010) /* RFC 6455 7.4.1: "the client is terminating the connection" */
    return WS_SENDER_CLIENT;
  if ((c >= 1011 && c <= 1014) || c == 3000 || c == 3003)
    return WS_SENDER_SERVER;
  return WS_SENDER_EITHER;
}
static void want_range(unsigned c, unsigned *lo, unsigned *hi) {
  if (want_assigned(c)) {
    *lo = *hi = c;
    return;
  }
  static const unsigned bounds[][2] = {{0, 999},     {1016, 1999}, {2000, 2999},
                                       {3000, 3999}, {4000, 4999}, {5000, 65535}};
  for (size_t i = 0; i < sizeof bounds / sizeof bounds[0]; i++)
    if (c >= bounds[i][0] && c <= bounds[i][1]) {
      *lo = bounds[i][0];
      *hi = bounds[i][1];
      return;
    }
  *lo = *hi = 99999; /* unreachable */
}

WS_TEST(every_code_is_classified_as_the_rfc_iana_and_whatwg_say) {
  unsigned bad = 0;
  for (unsigned c = 0; c <= 65535; c++) {
    uint16_t code = (uint16_t)c;
    ws_close_code_info i;
    memset(&i, 0xAB, sizeof i);
    ws_close_code_info_get(code, &i);
    unsigned lo, hi;
    want_range(c, &lo, &hi);
    bool ok = i.code == c && i.range_lo == lo && i.range_hi == hi &&
              i.assigned == want_assigned(c) && (i.symbol != NULL) == want_assigned(c) && i.name &&
              i.name[0] && i.reference && i.reference[0] && i.on_wire == want_on_wire(c) &&
              i.app_sendable == want_app_sendable(c) && i.reported_locally == want_local(c) &&
              i.sender == want_sender(c) && ws_close_code_on_wire(code) == want_on_wire(c) &&
              ws_close_code_app_sendable(code) == want_app_sendable(c) &&
              ws_close_code_sender(code) == want_sender(c) &&
              strcmp(ws_close_code_name(code), i.name) == 0;
    if (!ok && bad++ < 20) /* report the first 20, not 65536 lines */
      WS_CHECK_MSG(ok, "code %u: got row %u-%u assigned=%d wire=%d app=%d local=%d sender=%d", c,
                   i.range_lo, i.range_hi, i.assigned, i.on_wire, i.app_sendable,
                   i.reported_locally, (int)i.sender);
  }
  WS_CHECK_EQ_INT(bad, 0);
}

WS_TEST(boundaries_of_every_rule) {
  static const struct {
    uint16_t code;
    bool wire, app, local;
  } rows[] = {
      {0, false, false, false},     {999, false, false, false}, {1000, true, true, false},
      {1001, true, false, false},   {1003, true, false, false}, {1004, false, false, false},
      {1005, false, false, true},   {1006, false, false, true}, {1007, true, false, false},
      {1014, true, false, false},   {1015, false, false, true}, {1016, false, false, false},
      {2999, false, false, false},  {3000, true, true, false},  {3999, true, true, false},
      {4000, true, true, false},    {4999, true, true, false},  {5000, false, false, false},
      {65535, false, false, false},
  };
  for (size_t k = 0; k < sizeof rows / sizeof rows[0]; k++) {
    WS_CHECK_MSG(ws_close_code_on_wire(rows[k].code) == rows[k].wire, "on_wire(%u)", rows[k].code);
    WS_CHECK_MSG(ws_close_code_app_sendable(rows[k].code) == rows[k].app, "app(%u)", rows[k].code);
    ws_close_code_info i;
    ws_close_code_info_get(rows[k].code, &i);
    WS_CHECK_MSG(i.reported_locally == rows[k].local, "local(%u)", rows[k].code);
  }
}

WS_TEST(assigned_codes_have_their_iana_names_and_symbols) {
  static const struct {
    uint16_t code;
    int constant;
    const char *symbol, *name;
  } rows[] = {
      {1000, WS_CLOSE_NORMAL, "WS_CLOSE_NORMAL", "Normal Closure"},
      {1001, WS_CLOSE_GOING_AWAY, "WS_CLOSE_GOING_AWAY", "Going Away"},
      {1002, WS_CLOSE_PROTOCOL_ERROR, "WS_CLOSE_PROTOCOL_ERROR", "Protocol error"},
      {1003, WS_CLOSE_UNSUPPORTED_DATA, "WS_CLOSE_UNSUPPORTED_DATA", "Unsupported Data"},
      {1004, WS_CLOSE_RESERVED, "WS_CLOSE_RESERVED", "Reserved"},
      {1005, WS_CLOSE_NO_STATUS, "WS_CLOSE_NO_STATUS", "No Status Rcvd"},
      {1006, WS_CLOSE_ABNORMAL, "WS_CLOSE_ABNORMAL", "Abnormal Closure"},
      {1007, WS_CLOSE_INVALID_PAYLOAD, "WS_CLOSE_INVALID_PAYLOAD", "Invalid frame payload data"},
      {1008, WS_CLOSE_POLICY_VIOLATION, "WS_CLOSE_POLICY_VIOLATION", "Policy Violation"},
      {1009, WS_CLOSE_MESSAGE_TOO_BIG, "WS_CLOSE_MESSAGE_TOO_BIG", "Message Too Big"},
      {1010, WS_CLOSE_MANDATORY_EXT, "WS_CLOSE_MANDATORY_EXT", "Mandatory Ext."},
      {1011, WS_CLOSE_INTERNAL_ERROR, "WS_CLOSE_INTERNAL_ERROR", "Internal Error"},
      {1012, WS_CLOSE_SERVICE_RESTART, "WS_CLOSE_SERVICE_RESTART", "Service Restart"},
      {1013, WS_CLOSE_TRY_AGAIN_LATER, "WS_CLOSE_TRY_AGAIN_LATER", "Try Again Later"},
      {1014, WS_CLOSE_BAD_GATEWAY, "WS_CLOSE_BAD_GATEWAY", "Bad Gateway"},
      {1015, WS_CLOSE_TLS_HANDSHAKE, "WS_CLOSE_TLS_HANDSHAKE", "TLS handshake"},
      {3000, WS_CLOSE_UNAUTHORIZED, "WS_CLOSE_UNAUTHORIZED", "Unauthorized"},
      {3003, WS_CLOSE_FORBIDDEN, "WS_CLOSE_FORBIDDEN", "Forbidden"},
      {3008, WS_CLOSE_TIMEOUT, "WS_CLOSE_TIMEOUT", "Timeout"},
  };
  for (size_t k = 0; k < sizeof rows / sizeof rows[0]; k++) {
    ws_close_code_info i;
    ws_close_code_info_get(rows[k].code, &i);
    WS_CHECK_EQ_INT(rows[k].constant, rows[k].code);
    WS_CHECK_EQ_STR(i.symbol, rows[k].symbol);
    WS_CHECK_EQ_STR(i.name, rows[k].name);
    WS_CHECK_EQ_STR(ws_close_code_name(rows[k].code), rows[k].name);
    WS_CHECK(i.assigned);
  }
  /* Range rows have labels, not symbols. */
  WS_CHECK_EQ_STR(ws_close_code_name(4500), "Private use");
  WS_CHECK_EQ_STR(ws_close_code_name(3001), "Libraries and frameworks (IANA registered)");
}

/* ---- the rows and their four languages ------------------------------------------------------ */

/* RFC 3629: shortest form, no surrogates, at most U+10FFFF. Written here, independent of
 * src/proto/utf8.c. */
static bool valid_utf8(const char *s) {
  const unsigned char *p = (const unsigned char *)s;
  while (*p) {
    unsigned c = *p++, n, min;
    uint32_t cp;
    if (c < 0x80)
      continue;
    if (c >= 0xC2 && c <= 0xDF)
      n = 1, min = 0x80, cp = c & 0x1F;
    else if (c >= 0xE0 && c <= 0xEF)
      n = 2, min = 0x800, cp = c & 0x0F;
    else if (c >= 0xF0 && c <= 0xF4)
      n = 3, min = 0x10000, cp = c & 0x07;
    else
      return false;
    for (unsigned k = 0; k < n; k++) {
      if ((*p & 0xC0) != 0x80)
        return false;
      cp = (cp << 6) | (*p++ & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
  }
  return true;
}

static bool has_non_ascii(const char *s) {
  for (; *s; s++)
    if ((unsigned char)*s >= 0x80)
      return true;
  return false;
}

WS_TEST(rows_are_listed_in_order_and_cover_every_code_once) {
  WS_CHECK_EQ_INT(ws_close_code_row_count(), 25);
  static const unsigned want[][2] = {
      {0, 999},     {1000, 1000}, {1001, 1001}, {1002, 1002}, {1003, 1003},
      {1004, 1004}, {1005, 1005}, {1006, 1006}, {1007, 1007}, {1008, 1008},
      {1009, 1009}, {1010, 1010}, {1011, 1011}, {1012, 1012}, {1013, 1013},
      {1014, 1014}, {1015, 1015}, {1016, 1999}, {2000, 2999}, {3000, 3999},
      {3000, 3000}, {3003, 3003}, {3008, 3008}, {4000, 4999}, {5000, 65535},
  };
  ws_close_code_info i;
  size_t r = 0;
  for (; ws_close_code_row_get(r, &i); r++) {
    WS_CHECK_MSG(r < 25 && i.range_lo == want[r][0] && i.range_hi == want[r][1], "row %zu is %u-%u",
                 r, i.range_lo, i.range_hi);
    WS_CHECK_EQ_INT(i.code, i.range_lo);
  }
  WS_CHECK_EQ_INT(r, 25);
  WS_CHECK(!ws_close_code_row_get(25, &i));
  WS_CHECK(!ws_close_code_row_get(0, NULL));
}

WS_TEST(every_row_has_one_text_in_all_four_languages) {
  ws_close_code_info i;
  WS_CHECK_EQ_INT(ws__close_texts_count, ws_close_code_row_count());
  for (size_t r = 0; ws_close_code_row_get(r, &i); r++) {
    size_t found = 0;
    for (size_t t = 0; t < ws__close_texts_count; t++)
      if (ws__close_texts[t].lo == i.range_lo && ws__close_texts[t].hi == i.range_hi)
        found++;
    WS_CHECK_MSG(found == 1, "row %u-%u has %zu texts", i.range_lo, i.range_hi, found);

    const char *en = ws_close_code_row_describe(r, WS_LANG_EN);
    for (int l = 0; l < WS_LANG_COUNT; l++) {
      const char *d = ws_close_code_row_describe(r, (ws_close_lang)l);
      /* The row's text is what every code of the row gets (its last code is never shadowed by
       * an assigned code). */
      WS_CHECK_MSG(d == ws_close_code_describe(i.range_hi, (ws_close_lang)l),
                   "row %u-%u lang %d: row text differs from its codes' text", i.range_lo,
                   i.range_hi, l);
      WS_CHECK_MSG(d && strlen(d) >= 40, "row %u-%u lang %d: missing or too short", i.range_lo,
                   i.range_hi, l);
      if (!d)
        continue;
      WS_CHECK_MSG(valid_utf8(d), "row %u-%u lang %d: not UTF-8", i.range_lo, i.range_hi, l);
      WS_CHECK_MSG(d[strlen(d) - 1] == '.', "row %u-%u lang %d: not a sentence", i.range_lo,
                   i.range_hi, l);
      WS_CHECK_MSG(!strstr(d, "  ") && d[0] != ' ', "row %u-%u lang %d: stray spaces", i.range_lo,
                   i.range_hi, l);
      if (l != WS_LANG_EN) {
        /* Left in English (the seed page's half-translated rows) would be equal to, or share no
         * accented letter with, the translation; es, pt and fr all need some. */
        WS_CHECK_MSG(strcmp(d, en) != 0, "row %u-%u lang %d: same as English", i.range_lo,
                     i.range_hi, l);
        WS_CHECK_MSG(has_non_ascii(d), "row %u-%u lang %d: no accented letter, untranslated?",
                     i.range_lo, i.range_hi, l);
      }
    }
  }
  /* 25 different texts per language: no row borrows another's (3000-3999 vs 3000). */
  for (int l = 0; l < WS_LANG_COUNT; l++)
    for (size_t a = 0; a < ws_close_code_row_count(); a++)
      for (size_t b = a + 1; b < ws_close_code_row_count(); b++)
        WS_CHECK_MSG(strcmp(ws_close_code_row_describe(a, (ws_close_lang)l),
                            ws_close_code_row_describe(b, (ws_close_lang)l)) != 0,
                     "rows %zu and %zu share a text in lang %d", a, b, l);
  WS_CHECK_EQ_STR(ws_close_code_row_describe(25, WS_LANG_EN), "");
  /* Codes inside a range share its text; an out-of-range language means English. */
  WS_CHECK(ws_close_code_describe(4001, WS_LANG_FR) == ws_close_code_describe(4999, WS_LANG_FR));
  WS_CHECK(ws_close_code_describe(3001, WS_LANG_ES) != ws_close_code_describe(3000, WS_LANG_ES));
  WS_CHECK(ws_close_code_describe(1000, (ws_close_lang)99) ==
           ws_close_code_describe(1000, WS_LANG_EN));
  WS_CHECK(ws_close_code_describe(1000, (ws_close_lang)-1) ==
           ws_close_code_describe(1000, WS_LANG_EN));
}

WS_TEST(texts_are_in_the_right_language) {
  /* One telltale word per language on a row every translation must render. */
  const char *es = ws_close_code_describe(1000, WS_LANG_ES);
  const char *pt = ws_close_code_describe(1000, WS_LANG_PT);
  const char *fr = ws_close_code_describe(1000, WS_LANG_FR);
  WS_CHECK(strstr(es, "Cierre normal") != NULL && strstr(es, "conexión") != NULL);
  WS_CHECK(strstr(pt, "Fechamento normal") != NULL && strstr(pt, "conexão") != NULL);
  WS_CHECK(strstr(fr, "Fermeture normale") != NULL && strstr(fr, "connexion") != NULL);
  WS_CHECK(strstr(ws_close_code_describe(1006, WS_LANG_ES), "anómalo") != NULL);
}

/* ---- languages ------------------------------------------------------------------------------ */

WS_TEST(lang_parse_accepts_codes_and_locale_names) {
  static const struct {
    const char *in;
    int want;
  } rows[] = {
      {"en", WS_LANG_EN},
      {"es", WS_LANG_ES},
      {"pt", WS_LANG_PT},
      {"fr", WS_LANG_FR},
      {"EN", WS_LANG_EN},
      {"Fr", WS_LANG_FR},
      {"es_ES.UTF-8", WS_LANG_ES},
      {"es_MX", WS_LANG_ES},
      {"pt_BR", WS_LANG_PT},
      {"pt_PT.utf8", WS_LANG_PT},
      {"fr_FR@euro", WS_LANG_FR},
      {"fr_CA.UTF-8@x", WS_LANG_FR},
      {"pt-BR", WS_LANG_PT},
      {"en_US.UTF-8", WS_LANG_EN},
      {"C", WS_LANG_EN},
      {"POSIX", WS_LANG_EN},
      {"C.UTF-8", WS_LANG_EN},
      {"c.utf8", WS_LANG_EN},
      {"de", -1},
      {"de_DE.UTF-8", -1},
      {"", -1},
      {"esp", -1},
      {"e", -1},
      {"_ES", -1},
      {".UTF-8", -1},
      {"english", -1},
      {"fra", -1},
      {"CC", -1},
      {"en ", -1},
      {"\xC3\xA9s", -1},
  };
  for (size_t k = 0; k < sizeof rows / sizeof rows[0]; k++)
    WS_CHECK_MSG(ws_close_lang_parse(rows[k].in) == rows[k].want, "parse(\"%s\") = %d, want %d",
                 rows[k].in, ws_close_lang_parse(rows[k].in), rows[k].want);
  WS_CHECK_EQ_INT(ws_close_lang_parse(NULL), -1);
}

WS_TEST(lang_names_round_trip) {
  static const char *const names[WS_LANG_COUNT] = {"en", "es", "pt", "fr"};
  for (int l = 0; l < WS_LANG_COUNT; l++) {
    WS_CHECK_EQ_STR(ws_close_lang_name((ws_close_lang)l), names[l]);
    WS_CHECK_EQ_INT(ws_close_lang_parse(names[l]), l);
  }
  WS_CHECK_EQ_STR(ws_close_lang_name((ws_close_lang)WS_LANG_COUNT), "en");
}

WS_TEST(info_get_tolerates_null) { ws_close_code_info_get(1000, NULL); }

int main(void) { return ws_test_main(); }
