/* src/base — ASCII character helpers shared by the parsers and the CLI (no locale: the protocol
 * texts they read are ASCII by definition). */
#ifndef WS_BASE_ASCII_H
#define WS_BASE_ASCII_H

/* The value of a hexadecimal digit, -1 for any other character. */
static inline int ws__hexval(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/* A-Z to a-z, anything else unchanged. */
static inline char ws__ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c; }

#endif
