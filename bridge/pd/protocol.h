/* The lmdm wire protocol, version 1, in C (docs/protocol.md): one msgpack map per ZeroMQ frame.
 *
 * Encoders write into a msgpack_sbuffer; the decoder fills one flat lmdm_msg from one frame. Field names are those of
 * docs/protocol.md. Nothing here is Pd-specific, so the unit test links it on its own. */
#ifndef LMDM_PROTOCOL_H
#define LMDM_PROTOCOL_H

#include <stddef.h>
#include <stdint.h>
#include <msgpack.h>

#define LMDM_PROTOCOL_VERSION 1
#define LMDM_MAX_PAYLOAD (4 * 1024 * 1024)
#define LMDM_MAX_FRAMES 65536
#define LMDM_MAX_CHANNELS 8
#define LMDM_STREAM_MAX 64

/* The `code` of an `error` message (docs/protocol.md); NULL-terminated, in the order of bridge/protocol.py. */
extern const char *const lmdm_error_codes[];

typedef enum {
    LMDM_MSG_UNKNOWN = 0,
    LMDM_MSG_WELCOME,
    LMDM_MSG_GENERATED,
    LMDM_MSG_STATUS,
    LMDM_MSG_ACK,
    LMDM_MSG_ERROR,
    LMDM_MSG_PONG,
    LMDM_MSG_BYE
} lmdm_msg_type;

/* Client -> worker. */
typedef struct {
    const char *stream;
    int rate;
    int channels;      /* input channels */
    int out_channels;
    const char *client;
    const char *mode;  /* NULL: the worker's default */
    const char *block_size;  /* "long" | "short"; NULL: the worker's default (lmdm serve --block-size) */
} lmdm_hello;

typedef struct {
    char name[64];
    char kind[64];
    int64_t sample_rate;
    int64_t channels;
    char block_sizes[64];   /* space-separated: the block sizes the model streams ("long short") */
} lmdm_model_info;

/* Worker -> client: one flat record; `type` says which fields were filled. Strings are truncated to fit. */
typedef struct {
    lmdm_msg_type type;
    char type_name[32];
    /* welcome */
    char stream[LMDM_STREAM_MAX + 1];
    int64_t rate, channels, out_channels, block, latency, max_frames, heartbeat_ms;
    lmdm_model_info model;
    char modes[256];   /* space-separated */
    char mode[64];
    char block_size[16];   /* the block size applied ("long" | "short"); "" from workers that do not say */
    /* generated (index, frames, channels, rate); `data` points into the unpacked frame, valid until it is freed */
    int64_t index, frames;
    const char *data;
    size_t data_len;
    /* status (lmdm~ asks its own stream's; the worker-wide one, stream "*" with uptime_s, rss_mib, streams,
       sessions and osc_map, is for `lmdm monitor` and health checks: docs/protocol.md) */
    double compute_ms, compute_ms_avg;
    int64_t queue, underruns, gaps, blocks;
    int64_t late_frames, recoveries, clipped;   /* 0 from workers that do not send them */
    /* ack */
    char name[64];
    char value[256];   /* the applied value, rendered as text */
    int value_is_num;  /* 1: value was a number (value_num), 0: a string or anything else */
    double value_num;
    /* error */
    char code[32];
    char text[256];
    char ref[32];
    /* pong */
    double t;
    /* bye */
    char reason[128];
} lmdm_msg;

void lmdm_pack_hello(msgpack_packer *pk, const lmdm_hello *h);
/* `planar` holds `channels` planes of `frames` floats each, plane c at planar[c * stride]; the bin is interleaved
 * little-endian float32 as the protocol wants. `play`: the clock position the client plays now (the worker judges
 * lateness by it); negative leaves the field out. */
void lmdm_pack_audio(msgpack_packer *pk, int64_t index, int frames, int channels, int rate,
                     const float *planar, size_t stride, int64_t play);
void lmdm_pack_request(msgpack_packer *pk, int64_t index, int64_t frames, int64_t play);
void lmdm_pack_param_str(msgpack_packer *pk, const char *name, const char *value);
void lmdm_pack_param_float(msgpack_packer *pk, const char *name, double value);
void lmdm_pack_param_int(msgpack_packer *pk, const char *name, int64_t value);
void lmdm_pack_simple(msgpack_packer *pk, const char *type);   /* reset, status, bye */
void lmdm_pack_ping(msgpack_packer *pk, double t);

/* Decode one frame. Returns 0 and fills `out`, or -1 with a one-sentence reason in `err`. `u` must have been
 * initialised with msgpack_unpacked_init and stays owned by the caller (out->data points into it). */
int lmdm_decode(msgpack_unpacked *u, const char *buf, size_t len, lmdm_msg *out, char *err, size_t errlen);

/* Read sample i of channel c from a generated bin (interleaved little-endian float32). */
float lmdm_sample_at(const char *data, int channels, int64_t frame, int c);

#endif
