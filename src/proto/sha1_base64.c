/* Sec-WebSocket-Key / Sec-WebSocket-Accept (RFC 6455 4.1, 4.2.2): SHA-1 and base64 come from
 * OpenSSL's libcrypto, which the TLS layer links anyway; only the key check is ours. */
/* SHA1_Init/Update/Final are deprecated in OpenSSL 3 in favour of EVP_Digest*, which fetch the
 * algorithm and allocate behind our allocator's back; the low-level calls are allocation-free
 * and still shipped, so we keep them and silence the deprecation for this file only. */
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include "proto/http.h"

#include <openssl/evp.h>
#include <openssl/sha.h>

/* RFC 6455 1.3: the GUID appended to the key before hashing. */
static const char ws_guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

int ws__accept_key(const char *key, size_t key_len, char out[29]) {
  SHA_CTX ctx;
  uint8_t digest[SHA_DIGEST_LENGTH];
  if (!key || !out)
    return WS_ERR_INVAL;
  SHA1_Init(&ctx);
  SHA1_Update(&ctx, key, key_len);
  SHA1_Update(&ctx, ws_guid, sizeof ws_guid - 1);
  SHA1_Final(digest, &ctx);
  /* 20 bytes -> 28 base64 characters + NUL. */
  EVP_EncodeBlock((unsigned char *)out, digest, SHA_DIGEST_LENGTH);
  return WS_OK;
}

int ws_handshake_accept_key(const char *key, size_t key_len, char out[29]) {
  return ws__accept_key(key, key_len, out);
}

void ws__base64_16(const uint8_t in[16], char out[25]) {
  EVP_EncodeBlock((unsigned char *)out, in, 16);
}

static bool is_b64(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
         c == '/';
}

bool ws__is_key16(const char *s, size_t n) {
  /* 16 bytes encode to 22 characters and "==" (RFC 4648 4). Non-zero padding bits in the 22nd
   * character are tolerated, as Python's base64 decoder and Node do: the value is hashed as
   * sent, never decoded. */
  if (n != 24 || s[22] != '=' || s[23] != '=')
    return false;
  for (size_t i = 0; i < 22; i++)
    if (!is_b64(s[i]))
      return false;
  return true;
}
