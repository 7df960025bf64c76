/* wsclean — the close-code registry: one table for every code 0..65535.
 *
 * The rows follow the IANA "WebSocket Close Code Number Registry" and RFC 6455 section 7.4.
 * A code is either an assigned code (1000..1015, 3000, 3003, 3008) or falls into a range
 * (0-999, 1016-1999, 2000-2999, 3000-3999, 4000-4999, 5000-65535). Descriptions exist in
 * English, Spanish, Portuguese and French.
 *
 * The three questions every part of wsclean asks of a code are answered here and nowhere else:
 *   ws_close_code_on_wire()      may it appear in a close frame? (receiving one that may not
 *                                fails the connection with 1002)
 *   ws_close_code_app_sendable() may the browser-shaped ws_close() take it? (1000, 3000-4999)
 *   ws_close_code_sender()       who sends it: client, server, either, or nobody (the library
 *                                reports it locally: 1005, 1006, 1015)
 */
#ifndef WSCLEAN_CLOSE_CODES_H
#define WSCLEAN_CLOSE_CODES_H

#include "wsclean/common.h"

WS_BEGIN_DECLS

enum {
  WS_CLOSE_NORMAL = 1000,             /* Normal Closure */
  WS_CLOSE_GOING_AWAY = 1001,         /* Going Away */
  WS_CLOSE_PROTOCOL_ERROR = 1002,     /* Protocol error */
  WS_CLOSE_UNSUPPORTED_DATA = 1003,   /* Unsupported Data */
  WS_CLOSE_RESERVED = 1004,           /* Reserved */
  WS_CLOSE_NO_STATUS = 1005,          /* No Status Rcvd: never sent, reported locally */
  WS_CLOSE_ABNORMAL = 1006,           /* Abnormal Closure: never sent, reported locally */
  WS_CLOSE_INVALID_PAYLOAD = 1007,    /* Invalid frame payload data */
  WS_CLOSE_POLICY_VIOLATION = 1008,   /* Policy Violation */
  WS_CLOSE_MESSAGE_TOO_BIG = 1009,    /* Message Too Big */
  WS_CLOSE_MANDATORY_EXT = 1010,      /* Mandatory Ext. */
  WS_CLOSE_INTERNAL_ERROR = 1011,     /* Internal Error */
  WS_CLOSE_SERVICE_RESTART = 1012,    /* Service Restart */
  WS_CLOSE_TRY_AGAIN_LATER = 1013,    /* Try Again Later */
  WS_CLOSE_BAD_GATEWAY = 1014,        /* Bad Gateway */
  WS_CLOSE_TLS_HANDSHAKE = 1015,      /* TLS handshake: never sent, reported locally */
  WS_CLOSE_UNAUTHORIZED = 3000,       /* Unauthorized (IANA, first come first served) */
  WS_CLOSE_FORBIDDEN = 3003,          /* Forbidden */
  WS_CLOSE_TIMEOUT = 3008             /* Timeout */
};

typedef enum ws_close_lang {
  WS_LANG_EN = 0,
  WS_LANG_ES,
  WS_LANG_PT,
  WS_LANG_FR,
  WS_LANG_COUNT
} ws_close_lang;

/* Who sends a code on the wire. */
typedef enum ws_close_sender {
  WS_SENDER_NONE = 0,    /* never sent: 0-999, 1004, 1016-2999, >4999 are invalid on the wire;
                            1005/1006/1015 are reported by the library itself */
  WS_SENDER_EITHER,      /* client or server */
  WS_SENDER_SERVER,      /* typically the server (1011-1014) */
  WS_SENDER_CLIENT       /* typically the client (1010) */
} ws_close_sender;

/* What the registry knows of one code (or of the range the code falls in). Strings are static. */
typedef struct ws_close_code_info {
  uint16_t code;            /* the code asked about */
  uint16_t range_lo;        /* the row's first code (== range_hi for an assigned code) */
  uint16_t range_hi;        /* the row's last code */
  bool assigned;            /* a single registered code, not a range */
  const char *symbol;       /* "WS_CLOSE_NORMAL", or NULL for a range */
  const char *name;         /* IANA name, e.g. "Normal Closure"; for ranges a short label */
  bool on_wire;             /* may appear in a close frame (sent or received) */
  bool app_sendable;        /* accepted by the browser-shaped close(): 1000, 3000-4999 */
  bool reported_locally;    /* 1005, 1006, 1015: synthesized by the receiver, never sent */
  ws_close_sender sender;
  const char *reference;    /* "RFC 6455 7.4.1", "IANA", ... */
} ws_close_code_info;

/* Fill *out for any code 0..65535. Never fails. */
WS_API void ws_close_code_info_get(uint16_t code, ws_close_code_info *out);
/* The IANA name of an assigned code, or the range label ("Private use", ...). Never NULL. */
WS_API const char *ws_close_code_name(uint16_t code);
/* A one-paragraph description of the code's row in lang (UTF-8). Never NULL. */
WS_API const char *ws_close_code_describe(uint16_t code, ws_close_lang lang);
/* Predicates; see the file comment. */
WS_API bool ws_close_code_on_wire(uint16_t code);
WS_API bool ws_close_code_app_sendable(uint16_t code);
WS_API ws_close_sender ws_close_code_sender(uint16_t code);
/* The table itself, in display order (0-999, 1000..1015, 1016-1999, 2000-2999, 3000-3999,
 * 3000, 3003, 3008, 4000-4999, 5000-65535): 25 rows. ws_close_code_row_get() fills *out for row
 * i (its `code` is the row's first code) and returns false when i >= ws_close_code_row_count().
 * For `wsclean codes all` and the docs, so they never keep a copy of the table. */
WS_API size_t ws_close_code_row_count(void);
WS_API bool ws_close_code_row_get(size_t i, ws_close_code_info *out);
/* The description of row i in lang ("" when i is past the end). Not the same as
 * ws_close_code_describe(row's first code): the 3000-3999 row starts with the assigned 3000. */
WS_API const char *ws_close_code_row_describe(size_t i, ws_close_lang lang);
/* A language name -> lang, or -1 if unknown (NULL and "" are unknown). Accepts, case-insensitively,
 * "en", "es", "pt", "fr", the same with a territory, codeset or modifier in locale or BCP 47 form
 * ("es_ES.UTF-8", "pt_BR", "fr_FR@euro", "pt-BR"), and "C"/"POSIX" (also "C.UTF-8"), which mean
 * English. */
WS_API int ws_close_lang_parse(const char *name);
/* "en", "es", "pt", "fr"; "en" for a value out of range. */
WS_API const char *ws_close_lang_name(ws_close_lang lang);

WS_END_DECLS
#endif
