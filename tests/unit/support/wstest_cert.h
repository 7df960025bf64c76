/* A throwaway self-signed P-256 certificate for localhost and 127.0.0.1 (its own CA), written
 * with OpenSSL's API into a fresh temporary directory, for the TLS tests. */
#ifndef WSTEST_CERT_H
#define WSTEST_CERT_H

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct wstest_cert {
  char dir[256], cert[300], key[300]; /* cert[0] == '\0': not made */
} wstest_cert;

/* Make it (false if OpenSSL or the file system refuse); wstest_cert_remove deletes it. */
static inline bool wstest_cert_make(wstest_cert *c) {
  const char *tmp = getenv("TMPDIR");
  snprintf(c->dir, sizeof c->dir, "%s/wsclean-tls-XXXXXX", tmp && *tmp ? tmp : "/tmp");
  c->cert[0] = c->key[0] = '\0';
  if (!mkdtemp(c->dir))
    return false;
  char cert[300], key[300];
  snprintf(cert, sizeof cert, "%s/cert.pem", c->dir);
  snprintf(key, sizeof key, "%s/key.pem", c->dir);
  EVP_PKEY *pkey = EVP_EC_gen("P-256");
  X509 *x = X509_new();
  if (!pkey || !x) {
    X509_free(x);
    EVP_PKEY_free(pkey);
    return false;
  }
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
  X509_gmtime_adj(X509_getm_notBefore(x), -60);
  X509_gmtime_adj(X509_getm_notAfter(x), 3600);
  X509_set_pubkey(x, pkey);
  X509_NAME *name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"localhost", -1, -1,
                             0);
  X509_set_issuer_name(x, name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
  X509_EXTENSION *san =
      X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1");
  X509_EXTENSION *bc = X509V3_EXT_conf_nid(NULL, &ctx, NID_basic_constraints, "critical,CA:TRUE");
  X509_add_ext(x, san, -1);
  X509_add_ext(x, bc, -1);
  X509_EXTENSION_free(san);
  X509_EXTENSION_free(bc);
  X509_sign(x, pkey, EVP_sha256());
  FILE *f = fopen(cert, "w");
  FILE *k = fopen(key, "w");
  bool ok =
      f && k && PEM_write_X509(f, x) && PEM_write_PrivateKey(k, pkey, NULL, NULL, 0, NULL, NULL);
  if (f)
    fclose(f);
  if (k)
    fclose(k);
  X509_free(x);
  EVP_PKEY_free(pkey);
  if (ok) {
    memcpy(c->cert, cert, sizeof cert);
    memcpy(c->key, key, sizeof key);
  }
  return ok;
}

static inline void wstest_cert_remove(wstest_cert *c) {
  if (c->dir[0]) {
    char p[300];
    snprintf(p, sizeof p, "%s/cert.pem", c->dir);
    unlink(p);
    snprintf(p, sizeof p, "%s/key.pem", c->dir);
    unlink(p);
    rmdir(c->dir);
  }
  c->dir[0] = c->cert[0] = c->key[0] = '\0';
}

#endif
