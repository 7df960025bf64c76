/* Internal: the descriptions of the close-code rows (close_codes_text.c), kept apart from the
 * table so that translators touch one file. Each entry is keyed by its row's first and last code;
 * tests/unit/test_close_codes.c checks that every row has exactly one entry. */
#ifndef WS_BASE_CLOSE_CODES_TEXT_H
#define WS_BASE_CLOSE_CODES_TEXT_H

#include "wsclean/close_codes.h"

typedef struct ws__close_text {
  uint16_t lo, hi;
  const char *text[WS_LANG_COUNT]; /* UTF-8, indexed by ws_close_lang */
} ws__close_text;

extern const ws__close_text ws__close_texts[];
extern const size_t ws__close_texts_count;

#endif
