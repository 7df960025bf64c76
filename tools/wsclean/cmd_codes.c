/* wsclean codes [CODE|all] [--lang en|es|pt|fr] [--json|--markdown]
 *
 * Explains close codes from the library's one registry (include/wsclean/close_codes.h); this file
 * holds no fact about any code, only the wording of the labels around them. */
#include "commands.h"

#include "wsclean/close_codes.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

enum format { FMT_TEXT, FMT_JSON, FMT_MARKDOWN };

#define WRAP_COLUMNS 78

static void codes_usage(FILE *out) {
  fputs("usage: wsclean codes [CODE|all] [--lang en|es|pt|fr] [--json|--markdown]\n"
        "\n"
        "Explain a WebSocket close code (RFC 6455 7.4, IANA registry): its name, the range it\n"
        "falls in, what it means, who sends it, whether it may appear in a close frame, and\n"
        "whether the browser's close() accepts it. CODE is a decimal number 0..65535; `all`\n"
        "(the default) prints every row of the table: each assigned code and each range.\n"
        "\n"
        "options:\n"
        "  --lang L     language of the descriptions: en, es, pt or fr (also locale names such\n"
        "               as es_ES.UTF-8). Default: from LC_ALL, LC_MESSAGES or LANG, else en.\n"
        "  --json       machine-readable output (UTF-8 JSON, stable field names)\n"
        "  --markdown   the table as Markdown (docs/close-codes.md is this output, in English)\n"
        "  -h, --help   this help\n"
        "\n"
        "exit status: 0 success, 2 bad usage (unknown language, not a code 0..65535).\n",
        out);
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("wsclean codes: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputs(" (see wsclean codes --help)\n", stderr);
  va_end(ap);
  return WS_EXIT_USAGE;
}

/* Strict decimal 0..65535: no sign, no spaces, no hex; "0009" is 9. */
static bool parse_code(const char *s, uint16_t *out) {
  if (!*s)
    return false;
  unsigned long v = 0;
  for (const char *p = s; *p; p++) {
    if (*p < '0' || *p > '9')
      return false;
    v = v * 10 + (unsigned long)(*p - '0');
    if (v > 65535)
      return false;
  }
  *out = (uint16_t)v;
  return true;
}

static bool all_digits(const char *s) {
  if (!*s)
    return false;
  for (; *s; s++)
    if (*s < '0' || *s > '9')
      return false;
  return true;
}

/* POSIX: LC_ALL overrides LC_MESSAGES, which overrides LANG; an empty variable counts as unset.
 * A locale we have no text for (de_DE, ...) falls back to English rather than failing. */
static ws_close_lang lang_from_env(void) {
  static const char *const vars[] = {"LC_ALL", "LC_MESSAGES", "LANG"};
  for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
    const char *v = getenv(vars[i]);
    if (v && *v) {
      int l = ws_close_lang_parse(v);
      return l < 0 ? WS_LANG_EN : (ws_close_lang)l;
    }
  }
  return WS_LANG_EN;
}

/* ---- text ----------------------------------------------------------------------------------- */

/* Columns a UTF-8 string takes, counting one per code point (our texts have no wide glyphs). */
static size_t columns(const char *s, size_t n) {
  size_t c = 0;
  for (size_t i = 0; i < n; i++)
    if (((unsigned char)s[i] & 0xC0) != 0x80)
      c++;
  return c;
}

/* Word-wrap text to WRAP_COLUMNS with every line but the first indented by `indent` spaces; the
 * first line continues at column `col` (where the caller left the cursor). */
static void print_wrapped_at(FILE *out, const char *text, size_t indent, size_t col) {
  const char *p = text;
  bool line_has_word = false;
  if (col < indent) {
    fprintf(out, "%*s", (int)(indent - col), "");
    col = indent;
  }
  while (*p) {
    while (*p == ' ')
      p++;
    size_t n = strcspn(p, " ");
    if (n == 0)
      break;
    size_t w = columns(p, n);
    if (line_has_word && col + 1 + w > WRAP_COLUMNS) {
      fprintf(out, "\n%*s", (int)indent, "");
      col = indent;
      line_has_word = false;
    }
    if (line_has_word) {
      fputc(' ', out);
      col++;
    }
    fwrite(p, 1, n, out);
    col += w;
    p += n;
    line_has_word = true;
  }
  fputc('\n', out);
}

static void print_wrapped(FILE *out, const char *text, size_t indent) {
  print_wrapped_at(out, text, indent, 0);
}

/* "  label:      value", the value wrapped under itself. */
static void print_field(FILE *out, const char *label, const char *value) {
  int n = fprintf(out, "  %s:", label);
  print_wrapped_at(out, value, 16, n > 0 ? (size_t)n : 0);
}

static void print_codes(FILE *out, const ws_close_code_info *i) {
  if (i->range_lo == i->range_hi)
    fprintf(out, "%u", (unsigned)i->range_lo);
  else
    fprintf(out, "%u-%u", (unsigned)i->range_lo, (unsigned)i->range_hi);
}

static const char *sender_text(const ws_close_code_info *i) {
  switch (i->sender) {
  case WS_SENDER_EITHER:
    return "client or server";
  case WS_SENDER_SERVER:
    return "usually the server";
  case WS_SENDER_CLIENT:
    return "the client";
  case WS_SENDER_NONE:
    break;
  }
  return i->reported_locally ? "nobody: the receiving endpoint reports it locally"
                             : "nobody: no endpoint may send it";
}

static const char *sender_word(ws_close_sender s) {
  switch (s) {
  case WS_SENDER_EITHER:
    return "either";
  case WS_SENDER_SERVER:
    return "server";
  case WS_SENDER_CLIENT:
    return "client";
  case WS_SENDER_NONE:
    break;
  }
  return "none";
}

static const char *wire_text(const ws_close_code_info *i) {
  if (i->on_wire)
    return "yes: valid in a close frame";
  if (i->reported_locally)
    return "no: must never be sent (RFC 6455 7.4.1); a close frame carrying it fails the "
           "connection with 1002";
  return "no: a close frame carrying it fails the connection with 1002";
}

static const char *close_text(const ws_close_code_info *i) {
  if (i->app_sendable)
    return "yes";
  if (i->on_wire)
    return "no: InvalidAccessError (close() takes only 1000 and 3000-4999); a server may still "
           "send it";
  return "no: InvalidAccessError (close() takes only 1000 and 3000-4999)";
}

static void text_one(FILE *out, uint16_t code, ws_close_lang lang) {
  ws_close_code_info i;
  ws_close_code_info_get(code, &i);
  fprintf(out, "%u  %s", (unsigned)code, i.name);
  if (i.symbol)
    fprintf(out, "  (%s)", i.symbol);
  fputc('\n', out);
  fputs("  range:        ", out);
  print_codes(out, &i);
  fprintf(out, i.assigned ? " (an assigned code; %s)\n" : " (%s)\n", i.reference);
  print_field(out, "meaning", ws_close_code_describe(code, lang));
  print_field(out, "sent by", sender_text(&i));
  print_field(out, "on the wire", wire_text(&i));
  print_field(out, "close()", close_text(&i));
}

static void text_all(FILE *out, ws_close_lang lang) {
  fprintf(out, "%-12s %-42s %-5s %-8s %s\n", "CODE", "NAME", "WIRE", "CLOSE()", "SENT BY");
  ws_close_code_info i;
  for (size_t r = 0; ws_close_code_row_get(r, &i); r++) {
    char codes[16];
    if (i.range_lo == i.range_hi)
      snprintf(codes, sizeof codes, "%u", (unsigned)i.range_lo);
    else
      snprintf(codes, sizeof codes, "%u-%u", (unsigned)i.range_lo, (unsigned)i.range_hi);
    const char *sender = i.reported_locally ? "local" : sender_word(i.sender);
    fprintf(out, "%-12s %-42s %-5s %-8s %s\n", codes, i.name, i.on_wire ? "yes" : "no",
            i.app_sendable ? "yes" : "no", sender);
    print_wrapped(out, ws_close_code_row_describe(r, lang), 13);
  }
}

/* ---- JSON ----------------------------------------------------------------------------------- */

/* RFC 8259 7: escape '"', '\\' and the C0 controls; UTF-8 passes through (our text is UTF-8). */
static void json_string(FILE *out, const char *s) {
  if (!s) {
    fputs("null", out);
    return;
  }
  fputc('"', out);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == '"' || *p == '\\')
      fprintf(out, "\\%c", *p);
    else if (*p == '\n')
      fputs("\\n", out);
    else if (*p < 0x20 || *p == 0x7F)
      fprintf(out, "\\u%04x", *p);
    else
      fputc(*p, out);
  }
  fputc('"', out);
}

/* description: the row's text (rows and single codes differ for 3000: see row_describe). */
static void json_row_fields(FILE *out, const ws_close_code_info *i, const char *description) {
  fprintf(out, "\"range_lo\": %u, \"range_hi\": %u, \"assigned\": %s, \"symbol\": ",
          (unsigned)i->range_lo, (unsigned)i->range_hi, i->assigned ? "true" : "false");
  json_string(out, i->symbol);
  fputs(", \"name\": ", out);
  json_string(out, i->name);
  fprintf(out, ", \"on_wire\": %s, \"app_sendable\": %s, \"reported_locally\": %s, \"sender\": ",
          i->on_wire ? "true" : "false", i->app_sendable ? "true" : "false",
          i->reported_locally ? "true" : "false");
  json_string(out, sender_word(i->sender));
  fputs(", \"reference\": ", out);
  json_string(out, i->reference);
  fputs(", \"description\": ", out);
  json_string(out, description);
}

static void json_one(FILE *out, uint16_t code, ws_close_lang lang) {
  ws_close_code_info i;
  ws_close_code_info_get(code, &i);
  fprintf(out, "{\"code\": %u, \"lang\": ", (unsigned)code);
  json_string(out, ws_close_lang_name(lang));
  fputs(", ", out);
  json_row_fields(out, &i, ws_close_code_describe(code, lang));
  fputs("}\n", out);
}

/* Also what `wsclean serve` answers GET /codes.json?lang= with (commands.h). */
void ws_cli_codes_json(FILE *out, ws_close_lang lang) {
  fputs("{\"lang\": ", out);
  json_string(out, ws_close_lang_name(lang));
  fputs(", \"rows\": [\n", out);
  ws_close_code_info i;
  for (size_t r = 0; ws_close_code_row_get(r, &i); r++) {
    fputs(r ? ",\n  {" : "  {", out);
    json_row_fields(out, &i, ws_close_code_row_describe(r, lang));
    fputc('}', out);
  }
  fputs("\n]}\n", out);
}

/* ---- Markdown ------------------------------------------------------------------------------- */

static void md_cell(FILE *out, const char *s) {
  for (; *s; s++) {
    if (*s == '|')
      fputc('\\', out);
    fputc(*s, out);
  }
}

static void markdown_all(FILE *out, ws_close_lang lang) {
  fputs(
      "# WebSocket close codes\n"
      "\n"
      "<!-- Generated by `wsclean codes all --markdown --lang en > docs/close-codes.md` from the\n"
      "     registry in src/base/close_codes.c and close_codes_text.c. Do not edit by hand:\n"
      "     change the registry and regenerate (the cli.codes.docs test checks they match). -->\n"
      "\n"
      "Every code 0..65535 belongs to exactly one row: an assigned code if it has one, else\n"
      "its range. **Wire**: may appear in a close frame; a received close frame with a code\n"
      "that may not fails the connection with 1002. **close()**: accepted by the\n"
      "browser-shaped `ws_close()` (WHATWG: 1000 and 3000-4999, else InvalidAccessError).\n"
      "**Sent by**: who sends it; *local* means never sent, reported by the receiving\n"
      "endpoint itself (1005, 1006, 1015). The same table, in Spanish, Portuguese or French:\n"
      "`wsclean codes all --lang es|pt|fr`; one code: `wsclean codes 1006`.\n"
      "\n"
      "| Code | Name | Symbol | Wire | close() | Sent by | Meaning |\n"
      "|---|---|---|---|---|---|---|\n",
      out);
  ws_close_code_info i;
  for (size_t r = 0; ws_close_code_row_get(r, &i); r++) {
    fputs("| ", out);
    print_codes(out, &i);
    fputs(" | ", out);
    md_cell(out, i.name);
    fputs(" | ", out);
    if (i.symbol)
      fprintf(out, "`%s`", i.symbol);
    fprintf(out, " | %s | %s | %s | ", i.on_wire ? "yes" : "no", i.app_sendable ? "yes" : "no",
            i.reported_locally ? "local" : sender_word(i.sender));
    md_cell(out, ws_close_code_row_describe(r, lang));
    fputs(" |\n", out);
  }
}

/* ---- entry ---------------------------------------------------------------------------------- */

int ws_cmd_codes(int argc, char **argv) {
  const char *what = NULL, *lang_arg = NULL;
  enum format fmt = FMT_TEXT;
  for (int a = 1; a < argc; a++) {
    const char *s = argv[a];
    if (strcmp(s, "-h") == 0 || strcmp(s, "--help") == 0) {
      codes_usage(stdout);
      return WS_EXIT_OK;
    } else if (strcmp(s, "--json") == 0) {
      fmt = FMT_JSON;
    } else if (strcmp(s, "--markdown") == 0) {
      fmt = FMT_MARKDOWN;
    } else if (strcmp(s, "--lang") == 0) {
      if (a + 1 >= argc)
        return usage_error("%s needs a value: en, es, pt or fr", s);
      lang_arg = argv[++a];
    } else if (strncmp(s, "--lang=", 7) == 0) {
      lang_arg = s + 7;
    } else if (s[0] == '-' && s[1] != '\0' && !all_digits(s + 1)) {
      return usage_error("unknown option '%s'", s);
    } else if (what) {
      return usage_error("one code at a time ('%s' is one too many)", s);
    } else {
      what = s; /* a code, "all", or a negative number rejected below */
    }
  }

  ws_close_lang lang;
  if (lang_arg) {
    int l = ws_close_lang_parse(lang_arg);
    if (l < 0)
      return usage_error("unknown language '%s': choose en, es, pt or fr", lang_arg);
    lang = (ws_close_lang)l;
  } else {
    lang = lang_from_env();
  }

  if (!what || strcmp(what, "all") == 0) {
    if (fmt == FMT_JSON)
      ws_cli_codes_json(stdout, lang);
    else if (fmt == FMT_MARKDOWN)
      markdown_all(stdout, lang);
    else
      text_all(stdout, lang);
    return WS_EXIT_OK;
  }
  uint16_t code;
  if (!parse_code(what, &code)) {
    if (what[0] == '-' || all_digits(what))
      return usage_error("'%s' is outside 0..65535: close codes are 16-bit unsigned numbers", what);
    return usage_error("'%s' is not a close code: give a decimal number 0..65535 or `all`", what);
  }
  if (fmt == FMT_JSON)
    json_one(stdout, code, lang);
  else if (fmt == FMT_MARKDOWN)
    return usage_error("%s works with `all` only", "--markdown");
  else
    text_one(stdout, code, lang);
  return WS_EXIT_OK;
}
