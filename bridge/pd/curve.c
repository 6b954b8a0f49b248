/* Key checks and certificate files for lmdm~'s CURVE (curve.h). Called from Pd's main thread only. */
#include "curve.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <zmq.h>

int lmdm_curve_available(void)
{
    return zmq_has("curve");
}

static int check_key(const char *what, const char *key, char *err, size_t errlen)
{
    uint8_t raw[32];
    if (strlen(key) != LMDM_Z85_KEY || !zmq_z85_decode(raw, key)) {
        snprintf(err, errlen, "%s '%.60s' is not a CURVE key (40 Z85 characters)", what, key);
        return -1;
    }
    return 0;
}

int lmdm_curve_from_keys(lmdm_curve *k, const char *server, const char *public_key, const char *secret_key,
                         char *err, size_t errlen)
{
    if (check_key("server public key", server, err, errlen) || check_key("client public key", public_key, err, errlen)
        || check_key("client secret key", secret_key, err, errlen))
        return -1;
    snprintf(k->server, sizeof k->server, "%s", server);
    snprintf(k->public_key, sizeof k->public_key, "%s", public_key);
    snprintf(k->secret_key, sizeof k->secret_key, "%s", secret_key);
    return 0;
}

/* The value of `name = "..."` in a zmq.auth certificate (lines such as `    public-key = "Z85..."`). */
static int cert_value(const char *path, const char *name, char *out, char *err, size_t errlen)
{
    char line[512], fmt[64];
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "cannot read %s (a client folder from `lmdm keys new DIR --client NAME`)", path);
        return -1;
    }
    snprintf(fmt, sizeof fmt, " %s = \"%%40[^\"]\"", name);
    out[0] = 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, fmt, out) == 1)
            break;
    fclose(f);
    if (!out[0]) {
        snprintf(err, errlen, "%s holds no %s", path, name);
        return -1;
    }
    return 0;
}

int lmdm_curve_from_dir(lmdm_curve *k, const char *dir, char *err, size_t errlen)
{
    char path[1024], server[LMDM_Z85_KEY + 1], pub[LMDM_Z85_KEY + 1], sec[LMDM_Z85_KEY + 1];
    snprintf(path, sizeof path, "%s/server.key", dir);
    if (cert_value(path, "public-key", server, err, errlen))
        return -1;
    snprintf(path, sizeof path, "%s/client.key_secret", dir);
    if (cert_value(path, "public-key", pub, err, errlen) || cert_value(path, "secret-key", sec, err, errlen))
        return -1;
    return lmdm_curve_from_keys(k, server, pub, sec, err, errlen);
}
