/* Encoding and decoding of the lmdm wire protocol (docs/protocol.md) with msgpack-c. */
#include "protocol.h"

#include <stdio.h>
#include <string.h>

const char *const lmdm_error_codes[] = {"bad_msgpack", "version",    "unknown_type", "bad_field",
                                        "too_large",   "bad_audio",  "rate",         "no_session",
                                        "bad_request", "bad_param",  "taken_over",   "internal",
                                        NULL};

static void pack_cstr(msgpack_packer *pk, const char *s)
{
    size_t n = strlen(s);
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, s, n);
}

static void pack_header(msgpack_packer *pk, size_t nfields, const char *type)
{
    msgpack_pack_map(pk, nfields + 2);
    pack_cstr(pk, "v");
    msgpack_pack_int(pk, LMDM_PROTOCOL_VERSION);
    pack_cstr(pk, "type");
    pack_cstr(pk, type);
}

static void pack_kv_int(msgpack_packer *pk, const char *key, int64_t v)
{
    pack_cstr(pk, key);
    msgpack_pack_int64(pk, v);
}

static void pack_kv_str(msgpack_packer *pk, const char *key, const char *v)
{
    pack_cstr(pk, key);
    pack_cstr(pk, v);
}

void lmdm_pack_hello(msgpack_packer *pk, const lmdm_hello *h)
{
    pack_header(pk, 5 + (h->mode != NULL) + (h->block_size != NULL), "hello");
    pack_kv_str(pk, "stream", h->stream);
    pack_kv_int(pk, "rate", h->rate);
    pack_kv_int(pk, "channels", h->channels);
    pack_kv_int(pk, "out_channels", h->out_channels);
    pack_kv_str(pk, "client", h->client);
    if (h->mode)
        pack_kv_str(pk, "mode", h->mode);
    if (h->block_size)
        pack_kv_str(pk, "block_size", h->block_size);
}

static void store_le_float(char *dst, float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    dst[0] = (char)(u & 0xff);
    dst[1] = (char)((u >> 8) & 0xff);
    dst[2] = (char)((u >> 16) & 0xff);
    dst[3] = (char)((u >> 24) & 0xff);
}

void lmdm_pack_audio(msgpack_packer *pk, int64_t index, int frames, int channels, int rate,
                     const float *planar, size_t stride, int64_t play)
{
    size_t nbytes = (size_t)frames * (size_t)channels * 4;
    char quad[4];
    pack_header(pk, play >= 0 ? 6 : 5, "audio");
    if (play >= 0)
        pack_kv_int(pk, "play", play);
    pack_kv_int(pk, "index", index);
    pack_kv_int(pk, "frames", frames);
    pack_kv_int(pk, "channels", channels);
    pack_kv_int(pk, "rate", rate);
    pack_cstr(pk, "data");
    msgpack_pack_bin(pk, nbytes);
    for (int i = 0; i < frames; i++)
        for (int c = 0; c < channels; c++) {
            store_le_float(quad, planar[(size_t)c * stride + (size_t)i]);
            msgpack_pack_bin_body(pk, quad, 4);
        }
}

void lmdm_pack_request(msgpack_packer *pk, int64_t index, int64_t frames, int64_t play)
{
    pack_header(pk, play >= 0 ? 3 : 2, "request");
    pack_kv_int(pk, "index", index);
    pack_kv_int(pk, "frames", frames);
    if (play >= 0)
        pack_kv_int(pk, "play", play);
}

void lmdm_pack_param_str(msgpack_packer *pk, const char *name, const char *value)
{
    pack_header(pk, 2, "param");
    pack_kv_str(pk, "name", name);
    pack_kv_str(pk, "value", value);
}

void lmdm_pack_param_float(msgpack_packer *pk, const char *name, double value)
{
    pack_header(pk, 2, "param");
    pack_kv_str(pk, "name", name);
    pack_cstr(pk, "value");
    msgpack_pack_double(pk, value);
}

void lmdm_pack_param_int(msgpack_packer *pk, const char *name, int64_t value)
{
    pack_header(pk, 2, "param");
    pack_kv_str(pk, "name", name);
    pack_kv_int(pk, "value", value);
}

void lmdm_pack_simple(msgpack_packer *pk, const char *type)
{
    pack_header(pk, 0, type);
}

void lmdm_pack_ping(msgpack_packer *pk, double t)
{
    pack_header(pk, 1, "ping");
    pack_cstr(pk, "t");
    msgpack_pack_double(pk, t);
}

float lmdm_sample_at(const char *data, int channels, int64_t frame, int c)
{
    const unsigned char *p = (const unsigned char *)data + ((size_t)frame * (size_t)channels + (size_t)c) * 4;
    uint32_t u = (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* ---- decoding ---- */

static int key_is(const msgpack_object *k, const char *name)
{
    size_t n = strlen(name);
    return k->type == MSGPACK_OBJECT_STR && k->via.str.size == n && memcmp(k->via.str.ptr, name, n) == 0;
}

static const msgpack_object *find(const msgpack_object *map, const char *name)
{
    for (uint32_t i = 0; i < map->via.map.size; i++)
        if (key_is(&map->via.map.ptr[i].key, name))
            return &map->via.map.ptr[i].val;
    return NULL;
}

static void copy_str(char *dst, size_t cap, const msgpack_object *o)
{
    size_t n = o->via.str.size < cap - 1 ? o->via.str.size : cap - 1;
    memcpy(dst, o->via.str.ptr, n);
    dst[n] = 0;
}

/* Each getter returns 0 on success and -1 (with err filled) when the field is missing or has the wrong type. */
static int get_int(const msgpack_object *map, const char *name, int64_t *out, char *err, size_t errlen)
{
    const msgpack_object *o = find(map, name);
    if (o && o->type == MSGPACK_OBJECT_POSITIVE_INTEGER && o->via.u64 <= (uint64_t)INT64_MAX) {
        *out = (int64_t)o->via.u64;
        return 0;
    }
    if (o && o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
        *out = o->via.i64;
        return 0;
    }
    snprintf(err, errlen, "field '%s' is missing or not an integer", name);
    return -1;
}

static int get_float(const msgpack_object *map, const char *name, double *out, char *err, size_t errlen)
{
    const msgpack_object *o = find(map, name);
    if (o && (o->type == MSGPACK_OBJECT_FLOAT64 || o->type == MSGPACK_OBJECT_FLOAT32)) {
        *out = o->via.f64;
        return 0;
    }
    if (o && o->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
        *out = (double)o->via.u64;
        return 0;
    }
    if (o && o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
        *out = (double)o->via.i64;
        return 0;
    }
    snprintf(err, errlen, "field '%s' is missing or not a number", name);
    return -1;
}

static int get_str(const msgpack_object *map, const char *name, char *dst, size_t cap, char *err, size_t errlen)
{
    const msgpack_object *o = find(map, name);
    if (o && o->type == MSGPACK_OBJECT_STR) {
        copy_str(dst, cap, o);
        return 0;
    }
    snprintf(err, errlen, "field '%s' is missing or not a string", name);
    return -1;
}

/* Optional integer: absent or not an integer leaves 0. */
static void opt_int(const msgpack_object *map, const char *name, int64_t *out)
{
    char ignored[8];
    if (get_int(map, name, out, ignored, sizeof ignored))
        *out = 0;
}

/* Optional string: absent or nil gives "". */
static void opt_str(const msgpack_object *map, const char *name, char *dst, size_t cap)
{
    const msgpack_object *o = find(map, name);
    if (o && o->type == MSGPACK_OBJECT_STR)
        copy_str(dst, cap, o);
    else
        dst[0] = 0;
}

static void render_value(const msgpack_object *o, char *dst, size_t cap)
{
    if (!o) {
        snprintf(dst, cap, "nil");
        return;
    }
    switch (o->type) {
    case MSGPACK_OBJECT_STR:
        copy_str(dst, cap, o);
        break;
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        snprintf(dst, cap, "%llu", (unsigned long long)o->via.u64);
        break;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        snprintf(dst, cap, "%lld", (long long)o->via.i64);
        break;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        snprintf(dst, cap, "%g", o->via.f64);
        break;
    case MSGPACK_OBJECT_BOOLEAN:
        snprintf(dst, cap, "%d", o->via.boolean ? 1 : 0);
        break;
    default:
        snprintf(dst, cap, "nil");
    }
}

/* A list of strings as one space-separated string; anything else (or absent) gives "". */
static void join_strs(const msgpack_object *list, char *dst, size_t cap)
{
    dst[0] = 0;
    if (!list || list->type != MSGPACK_OBJECT_ARRAY)
        return;
    for (uint32_t i = 0; i < list->via.array.size; i++) {
        const msgpack_object *s = &list->via.array.ptr[i];
        size_t used = strlen(dst);
        if (s->type != MSGPACK_OBJECT_STR || used + s->via.str.size + 2 >= cap)
            continue;
        if (used)
            dst[used++] = ' ';
        copy_str(dst + used, cap - used, s);
    }
}

static int decode_welcome(const msgpack_object *m, lmdm_msg *out, char *err, size_t errlen)
{
    const msgpack_object *model;
    if (get_str(m, "stream", out->stream, sizeof out->stream, err, errlen)
        || get_int(m, "rate", &out->rate, err, errlen)
        || get_int(m, "channels", &out->channels, err, errlen)
        || get_int(m, "out_channels", &out->out_channels, err, errlen)
        || get_int(m, "block", &out->block, err, errlen)
        || get_int(m, "latency", &out->latency, err, errlen)
        || get_int(m, "max_frames", &out->max_frames, err, errlen)
        || get_int(m, "heartbeat_ms", &out->heartbeat_ms, err, errlen))
        return -1;
    if (out->block < 1 || out->latency < 0 || out->max_frames < 1 || out->heartbeat_ms < 1) {
        snprintf(err, errlen, "welcome has a block, latency, max_frames or heartbeat_ms out of range");
        return -1;
    }
    opt_str(m, "mode", out->mode, sizeof out->mode);
    model = find(m, "model");
    if (model && model->type == MSGPACK_OBJECT_MAP) {
        opt_str(model, "name", out->model.name, sizeof out->model.name);
        opt_str(model, "kind", out->model.kind, sizeof out->model.kind);
        if (get_int(model, "sample_rate", &out->model.sample_rate, err, errlen))
            out->model.sample_rate = 0;
        if (get_int(model, "channels", &out->model.channels, err, errlen))
            out->model.channels = 0;
        join_strs(find(model, "block_sizes"), out->model.block_sizes, sizeof out->model.block_sizes);
    }
    opt_str(m, "block_size", out->block_size, sizeof out->block_size);
    join_strs(find(m, "modes"), out->modes, sizeof out->modes);
    return 0;
}

static int decode_generated(const msgpack_object *m, lmdm_msg *out, char *err, size_t errlen)
{
    const msgpack_object *data;
    if (get_int(m, "index", &out->index, err, errlen)
        || get_int(m, "frames", &out->frames, err, errlen)
        || get_int(m, "channels", &out->channels, err, errlen)
        || get_int(m, "rate", &out->rate, err, errlen))
        return -1;
    data = find(m, "data");
    if (!data || data->type != MSGPACK_OBJECT_BIN) {
        snprintf(err, errlen, "field 'data' is missing or not binary");
        return -1;
    }
    if (out->index < 0 || out->frames < 0 || out->frames > LMDM_MAX_FRAMES || out->channels < 1
        || out->channels > LMDM_MAX_CHANNELS) {
        snprintf(err, errlen, "generated has an index, frames or channels out of range");
        return -1;
    }
    if ((uint64_t)data->via.bin.size != (uint64_t)out->frames * (uint64_t)out->channels * 4) {
        snprintf(err, errlen, "generated data holds %u bytes, expected frames*channels*4 = %lld",
                 data->via.bin.size, (long long)(out->frames * out->channels * 4));
        return -1;
    }
    out->data = data->via.bin.ptr;
    out->data_len = data->via.bin.size;
    return 0;
}

static int decode_status(const msgpack_object *m, lmdm_msg *out, char *err, size_t errlen)
{
    opt_str(m, "stream", out->stream, sizeof out->stream);
    if (get_float(m, "compute_ms", &out->compute_ms, err, errlen)
        || get_float(m, "compute_ms_avg", &out->compute_ms_avg, err, errlen)
        || get_int(m, "queue", &out->queue, err, errlen)
        || get_int(m, "underruns", &out->underruns, err, errlen)
        || get_int(m, "gaps", &out->gaps, err, errlen)
        || get_int(m, "blocks", &out->blocks, err, errlen)
        || get_int(m, "latency", &out->latency, err, errlen))
        return -1;
    opt_int(m, "late_frames", &out->late_frames);
    opt_int(m, "recoveries", &out->recoveries);
    opt_int(m, "clipped", &out->clipped);
    return 0;
}

static int decode_body(const msgpack_object *m, lmdm_msg *out, char *err, size_t errlen)
{
    switch (out->type) {
    case LMDM_MSG_WELCOME:
        return decode_welcome(m, out, err, errlen);
    case LMDM_MSG_GENERATED:
        return decode_generated(m, out, err, errlen);
    case LMDM_MSG_STATUS:
        return decode_status(m, out, err, errlen);
    case LMDM_MSG_ACK:
        opt_str(m, "name", out->name, sizeof out->name);
        render_value(find(m, "value"), out->value, sizeof out->value);
        return get_float(m, "value", &out->value_num, err, errlen) ? 0 : (out->value_is_num = 1, 0);
    case LMDM_MSG_ERROR:
        if (get_str(m, "code", out->code, sizeof out->code, err, errlen))
            return -1;
        opt_str(m, "text", out->text, sizeof out->text);
        opt_str(m, "ref", out->ref, sizeof out->ref);
        return 0;
    case LMDM_MSG_PONG:
        return get_float(m, "t", &out->t, err, errlen);
    case LMDM_MSG_BYE:
        opt_str(m, "reason", out->reason, sizeof out->reason);
        return 0;
    default:
        snprintf(err, errlen, "unknown message type '%s'", out->type_name);
        return -1;
    }
}

static lmdm_msg_type type_from_name(const char *s)
{
    static const struct { const char *name; lmdm_msg_type type; } table[] = {
        {"welcome", LMDM_MSG_WELCOME}, {"generated", LMDM_MSG_GENERATED}, {"status", LMDM_MSG_STATUS},
        {"ack", LMDM_MSG_ACK}, {"error", LMDM_MSG_ERROR}, {"pong", LMDM_MSG_PONG}, {"bye", LMDM_MSG_BYE},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (!strcmp(s, table[i].name))
            return table[i].type;
    return LMDM_MSG_UNKNOWN;
}

int lmdm_decode(msgpack_unpacked *u, const char *buf, size_t len, lmdm_msg *out, char *err, size_t errlen)
{
    size_t off = 0;
    int64_t v;
    const msgpack_object *m;
    memset(out, 0, sizeof *out);
    if (len > LMDM_MAX_PAYLOAD + 1024) {
        snprintf(err, errlen, "message of %zu bytes is over the 4 MiB limit", len);
        return -1;
    }
    if (msgpack_unpack_next(u, buf, len, &off) != MSGPACK_UNPACK_SUCCESS || u->data.type != MSGPACK_OBJECT_MAP) {
        snprintf(err, errlen, "the frame is not a msgpack map");
        return -1;
    }
    m = &u->data;
    if (get_int(m, "v", &v, err, errlen) || v != LMDM_PROTOCOL_VERSION) {
        snprintf(err, errlen, "protocol version 'v' is missing or not %d", LMDM_PROTOCOL_VERSION);
        return -1;
    }
    if (get_str(m, "type", out->type_name, sizeof out->type_name, err, errlen))
        return -1;
    out->type = type_from_name(out->type_name);
    return decode_body(m, out, err, errlen);
}
