/* OpenSSL contexts for wss:// clients and TLS servers, and error text for diagnostics. */
#include "loop/sock.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>

static void queue_text(const char *what, char *out, size_t n) {
  unsigned long e = ERR_get_error();
  char buf[200];
  if (e)
    ERR_error_string_n(e, buf, sizeof buf);
  else
    snprintf(buf, sizeof buf, "no OpenSSL error recorded");
  snprintf(out, n, "%s: %s", what, buf);
  ERR_clear_error();
}

SSL_CTX *ws__tls_client_ctx(const char *ca_file, bool insecure, char *detail, size_t n) {
  ERR_clear_error();
  SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
  if (!ctx) {
    queue_text("SSL_CTX_new", detail, n);
    return NULL;
  }
  /* TLS 1.2 is the oldest version a browser still speaks; older ones are refused. */
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  if (insecure) {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    return ctx;
  }
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
  int ok = ca_file ? SSL_CTX_load_verify_locations(ctx, ca_file, NULL)
                   : SSL_CTX_set_default_verify_paths(ctx);
  if (ok != 1) {
    queue_text(ca_file ? "loading the CA file" : "loading the system CA store", detail, n);
    SSL_CTX_free(ctx);
    return NULL;
  }
  return ctx;
}

SSL_CTX *ws__tls_server_ctx(const char *cert_file, const char *key_file, char *detail, size_t n) {
  ERR_clear_error();
  SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
  if (!ctx) {
    queue_text("SSL_CTX_new", detail, n);
    return NULL;
  }
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  if (SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1) {
    queue_text("loading the certificate", detail, n);
    SSL_CTX_free(ctx);
    return NULL;
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, key_file, SSL_FILETYPE_PEM) != 1 ||
      SSL_CTX_check_private_key(ctx) != 1) {
    queue_text("loading the private key", detail, n);
    SSL_CTX_free(ctx);
    return NULL;
  }
  return ctx;
}

void ws__tls_ctx_free(SSL_CTX *ctx) { SSL_CTX_free(ctx); }

void ws__tls_error_text(SSL *ssl, char *out, size_t n) {
  long v = ssl ? SSL_get_verify_result(ssl) : X509_V_OK;
  unsigned long e = ERR_peek_error();
  char buf[200] = "";
  if (e)
    ERR_error_string_n(e, buf, sizeof buf);
  if (v != X509_V_OK)
    snprintf(out, n, "certificate verify failed: %s (%s)", X509_verify_cert_error_string(v), buf);
  else if (e)
    snprintf(out, n, "%s", buf);
  else
    snprintf(out, n, "TLS connection closed by the peer during the handshake");
  ERR_clear_error();
}
