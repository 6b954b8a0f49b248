/* CURVE keys for lmdm~ (docs/security.md): Z85 strings checked with libzmq, or read from a client folder made by
 * `lmdm keys new DIR --client NAME` (server.key, client.key_secret in zmq.auth's certificate format). */
#ifndef LMDM_CURVE_H
#define LMDM_CURVE_H

#include <stddef.h>

#define LMDM_Z85_KEY 40

typedef struct {
    char server[LMDM_Z85_KEY + 1];   /* the worker's public key */
    char public_key[LMDM_Z85_KEY + 1];
    char secret_key[LMDM_Z85_KEY + 1];
} lmdm_curve;

/* 1 when this libzmq was built with CURVE (zmq_has("curve")). */
int lmdm_curve_available(void);
/* Fill `k` from three Z85 strings; -1 with a reason in `err` when one is not a 40-character Z85 key. */
int lmdm_curve_from_keys(lmdm_curve *k, const char *server, const char *public_key, const char *secret_key,
                         char *err, size_t errlen);
/* Fill `k` from DIR/server.key and DIR/client.key_secret; -1 with a reason in `err`. */
int lmdm_curve_from_dir(lmdm_curve *k, const char *dir, char *err, size_t errlen);

#endif
