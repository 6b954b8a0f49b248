/* The network thread of lmdm~: owns the ZeroMQ DEALER and speaks docs/protocol.md.
 *
 * Loop: apply commands from the main thread, poll the socket for 2 ms, handle what arrived, then send the input the
 * audio thread has written since last time and request output one latency + a chunk ahead of the clock. Sessions are
 * re-opened with a fresh socket when the worker stops answering pings, says `no_session` or `bye`. With CURVE keys the
 * DEALER gets them before connect, and a monitor socket reports refused handshakes (docs/security.md). Nothing here
 * calls the Pd API: news goes to the main thread through the event queue. */
#include "link.h"
#include "curve.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#define POLL_MS 2                   /* socket poll while connected: input leaves within ~2 ms of perform */
#define IDLE_MS 20                  /* no socket: only commands to watch for */
#define REQUEST_CHUNK 2048          /* frames requested beyond clock + latency */
#define SEND_MAX 4096               /* input frames per audio message */
#define HELLO_HEARTBEAT_MS 1000     /* before a welcome tells us the worker's heartbeat */
#define ERRORS_PER_SECOND 10
#define MAX_PARAMS 24               /* parameters remembered and re-sent to every new session */
#define HANDSHAKE_EVENTS (ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL \
                          | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)

typedef enum { NET_IDLE, NET_CONNECTING, NET_LIVE } net_state;

typedef struct {
    lmdm_link *l;
    void *ctx, *sock;
    void *mon;                       /* PAIR receiving the DEALER's handshake failures */
    int mon_seq;
    net_state state;
    char address[LMDM_ADDR_MAX];
    char mode[64];
    char block_size[16];             /* "" = the worker's default */
    char block_size_live[16];        /* the one of the session a re-hello would replace, to go back to if refused */
    int rehello;                     /* a hello is out on a live session: a refusal leaves that session streaming */
    int hello_refused;               /* idle since the worker refused our hello: a new block_size tries again */
    int session_rate;
    int64_t latency, block, max_frames, heartbeat_ms;
    double hello_at, last_rx, last_ping;
    int outage_reported, capacity_reported;
    int errors_this_second, errors_suppressed;
    double error_second;
    float *scratch;                  /* in_ch planes of SEND_MAX frames */
    lmdm_cmd params[MAX_PARAMS];     /* the last value of each parameter set, in first-set order */
    int nparams;
    lmdm_curve curve;
    int curve_on, handshake_reported;
    msgpack_sbuffer sbuf;
    msgpack_packer pk;
    msgpack_unpacked unp;
} net;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void emit(net *n, lmdm_event_kind kind, const lmdm_msg *msg, const char *fmt, ...)
{
    lmdm_event ev;
    va_list ap;
    memset(&ev, 0, sizeof ev);
    ev.kind = kind;
    if (msg) {
        ev.msg = *msg;
        ev.msg.data = NULL;
    }
    if (fmt) {
        va_start(ap, fmt);
        vsnprintf(ev.text, sizeof ev.text, fmt, ap);
        va_end(ap);
    }
    lmdm_queue_push(&n->l->events, &ev);   /* a full queue drops news, never blocks */
}

/* Errors caused by what the worker sends are rate-limited so a babbling peer cannot flood Pd's console. */
static void emit_error_limited(net *n, const char *text)
{
    double t = now_s();
    if (t - n->error_second >= 1.0) {
        if (n->errors_suppressed)
            emit(n, LMDM_EV_ERROR, NULL, "%d more errors like the above were not shown", n->errors_suppressed);
        n->error_second = t;
        n->errors_this_second = 0;
        n->errors_suppressed = 0;
    }
    if (n->errors_this_second++ < ERRORS_PER_SECOND)
        emit(n, LMDM_EV_ERROR, NULL, "%s", text);
    else
        n->errors_suppressed++;
}

static void set_connected(net *n, int on)
{
    lmdm_event ev;
    if (atomic_load(&n->l->connected) == on)
        return;
    atomic_store(&n->l->connected, on);
    memset(&ev, 0, sizeof ev);
    ev.kind = LMDM_EV_CONNECTED;
    ev.state = on;
    lmdm_queue_push(&n->l->events, &ev);
}

static int send_packed(net *n)
{
    int rc = zmq_send(n->sock, n->sbuf.data, n->sbuf.size, ZMQ_DONTWAIT);
    msgpack_sbuffer_clear(&n->sbuf);
    return rc < 0 ? -1 : 0;
}

static void close_socket(net *n)
{
    if (n->sock) {
        if (n->mon)
            zmq_socket_monitor(n->sock, NULL, 0);
        zmq_close(n->sock);
    }
    if (n->mon)
        zmq_close(n->mon);
    n->sock = n->mon = NULL;
}

/* Keys before connect (libzmq reads them at the handshake); the monitor is attached first so no failure is missed. */
static void secure_and_monitor(net *n)
{
    char endpoint[96];
    int zero = 0;
    if (n->curve_on) {
        zmq_setsockopt(n->sock, ZMQ_CURVE_SERVERKEY, n->curve.server, LMDM_Z85_KEY + 1);
        zmq_setsockopt(n->sock, ZMQ_CURVE_PUBLICKEY, n->curve.public_key, LMDM_Z85_KEY + 1);
        zmq_setsockopt(n->sock, ZMQ_CURVE_SECRETKEY, n->curve.secret_key, LMDM_Z85_KEY + 1);
    }
    snprintf(endpoint, sizeof endpoint, "inproc://lmdm-monitor-%p-%d", (void *)n, ++n->mon_seq);
    if (zmq_socket_monitor(n->sock, endpoint, HANDSHAKE_EVENTS) != 0)
        return;   /* no reports of refused handshakes, the session still works */
    n->mon = zmq_socket(n->ctx, ZMQ_PAIR);
    zmq_setsockopt(n->mon, ZMQ_LINGER, &zero, sizeof zero);
    if (zmq_connect(n->mon, endpoint) != 0) {
        zmq_close(n->mon);
        n->mon = NULL;
    }
}

/* Say bye and close, giving ZeroMQ's I/O thread up to 100 ms to deliver it (zmq_close itself returns at once). */
static void say_bye(net *n)
{
    int linger = 100;
    lmdm_pack_simple(&n->pk, "bye");
    send_packed(n);
    zmq_setsockopt(n->sock, ZMQ_LINGER, &linger, sizeof linger);
    close_socket(n);
}

/* Hello with the current rate, mode and block size; until the answer the session is not live (no audio or requests
 * go out, so nothing sent for the old session lands in the new one). */
static void send_hello(net *n)
{
    lmdm_hello h;
    n->session_rate = atomic_load(&n->l->rate);
    h.stream = n->l->stream;
    h.rate = n->session_rate;
    h.channels = n->l->in_ch;
    h.out_channels = n->l->out_ch;
    h.client = n->l->client;
    h.mode = n->mode[0] ? n->mode : NULL;
    h.block_size = n->block_size[0] ? n->block_size : NULL;
    lmdm_pack_hello(&n->pk, &h);
    send_packed(n);
    n->state = NET_CONNECTING;
    n->hello_at = now_s();
}

/* Fresh DEALER, connect, hello. A socket is never reused across sessions so nothing queued for a dead worker
 * reaches the next one. */
static void open_session(net *n)
{
    int zero = 0;
    close_socket(n);
    n->rehello = n->hello_refused = 0;
    n->sock = zmq_socket(n->ctx, ZMQ_DEALER);
    zmq_setsockopt(n->sock, ZMQ_LINGER, &zero, sizeof zero);
    secure_and_monitor(n);
    if (zmq_connect(n->sock, n->address) != 0) {
        emit(n, LMDM_EV_ERROR, NULL, "cannot connect to '%s': %s (expected e.g. tcp://127.0.0.1:5555)",
             n->address, zmq_strerror(errno));
        close_socket(n);
        n->state = NET_IDLE;
        return;
    }
    send_hello(n);
}

static void lose_session(net *n, const char *why)
{
    if (n->state == NET_LIVE || !n->outage_reported)
        emit(n, LMDM_EV_ERROR, NULL, "%s; retrying %s", why, n->address);
    n->outage_reported = 1;
    set_connected(n, 0);
    open_session(n);
}

/* Start a new stretch of input and requests at the current clock: input from here on, output from clock + L. */
static void anchor(net *n)
{
    int64_t clock = atomic_load_explicit(&n->l->clock, memory_order_acquire);
    atomic_store(&n->l->in_sent, clock);
    atomic_store(&n->l->req_start, clock + n->latency);
    atomic_store(&n->l->req_end, clock + n->latency);
}

/* Requests the worker will never answer because we left on purpose are not underruns. */
static void forget_requests(net *n)
{
    int64_t end = atomic_load(&n->l->out_end), clock = atomic_load(&n->l->clock);
    int64_t at = end > clock ? end : clock;
    atomic_store(&n->l->req_start, at);
    atomic_store(&n->l->req_end, at);
}

static void send_param(net *n, const lmdm_cmd *c)
{
    if (c->kind == LMDM_CMD_PARAM_STR || c->kind == LMDM_CMD_MODE)
        lmdm_pack_param_str(&n->pk, c->kind == LMDM_CMD_MODE ? "mode" : c->name, c->text);
    else if (c->num == (double)(int64_t)c->num)
        lmdm_pack_param_int(&n->pk, c->name, (int64_t)c->num);
    else
        lmdm_pack_param_float(&n->pk, c->name, c->num);
    send_packed(n);
}

/* Keep the last value of each parameter (acked by the worker, or set while no worker answered) so that a new session,
 * after a worker restart for instance, sounds like the old one. */
static void remember(net *n, const lmdm_cmd *c)
{
    int i;
    for (i = 0; i < n->nparams; i++)
        if (!strcmp(n->params[i].name, c->name))
            break;
    if (i == MAX_PARAMS) {
        emit(n, LMDM_EV_ERROR, NULL, "more than %d parameters: '%s' will not be re-sent after a reconnect",
             MAX_PARAMS, c->name);
        return;
    }
    n->params[i] = *c;
    if (i == n->nparams)
        n->nparams++;
}

static void replay_params(net *n)
{
    for (int i = 0; i < n->nparams; i++)
        send_param(n, &n->params[i]);
}

static void on_welcome(net *n, const lmdm_msg *m)
{
    if (m->rate != n->session_rate || m->channels != n->l->in_ch || m->out_channels != n->l->out_ch) {
        emit(n, LMDM_EV_ERROR, NULL,
             "worker welcomed rate %lld, %lld in / %lld out channels; this lmdm~ has %d, %d / %d: closing",
             (long long)m->rate, (long long)m->channels, (long long)m->out_channels, n->session_rate,
             n->l->in_ch, n->l->out_ch);
        close_socket(n);
        n->state = NET_IDLE;
        return;
    }
    n->latency = m->latency;
    n->block = m->block;
    n->max_frames = m->max_frames;
    n->heartbeat_ms = m->heartbeat_ms;
    atomic_store(&n->l->latency, m->latency);
    atomic_store(&n->l->block, m->block);
    if ((size_t)(m->latency + REQUEST_CHUNK + LMDM_MAX_PD_BLOCK) > n->l->out.cap && !n->capacity_reported) {
        emit(n, LMDM_EV_ERROR, NULL, "worker latency %lld needs a larger buffer: create lmdm~ with -buffer %lld",
             (long long)m->latency, (long long)(2 * (m->latency + REQUEST_CHUNK + LMDM_MAX_PD_BLOCK)));
        n->capacity_reported = 1;
    }
    anchor(n);
    n->state = NET_LIVE;
    n->rehello = 0;
    snprintf(n->block_size_live, sizeof n->block_size_live, "%s", m->block_size[0] ? m->block_size : n->block_size);
    n->outage_reported = 0;
    n->handshake_reported = 0;
    n->last_rx = n->last_ping = now_s();
    emit(n, LMDM_EV_WELCOME, m, NULL);
    set_connected(n, 1);
    replay_params(n);
}

static void note_lead(lmdm_link *l, int64_t lead)
{
    if (atomic_exchange(&l->lead_reset, 0) || atomic_load(&l->lead_count) == 0) {
        atomic_store(&l->lead_min, lead);
        atomic_store(&l->lead_max, lead);
        atomic_store(&l->lead_sum, 0);
        atomic_store(&l->lead_count, 0);
    }
    if (lead < atomic_load(&l->lead_min))
        atomic_store(&l->lead_min, lead);
    if (lead > atomic_load(&l->lead_max))
        atomic_store(&l->lead_max, lead);
    atomic_fetch_add(&l->lead_sum, lead);
    atomic_fetch_add(&l->lead_count, 1);
}

/* By the bits, since pd-lib-builder compiles with -ffast-math, under which isfinite() is always true. */
static int finite_bits(float v)
{
    uint32_t u;
    memcpy(&u, &v, 4);
    return (u & 0x7f800000u) != 0x7f800000u;
}

/* Place generated frames at their index. Only positions the audio thread has not reached yet are written beyond
 * out_end, and requests never reach further than the buffer ahead of the clock, so writer and reader never meet. */
static void on_generated(net *n, const lmdm_msg *m)
{
    lmdm_link *l = n->l;
    int64_t end = atomic_load(&l->out_end), clock = atomic_load_explicit(&l->clock, memory_order_acquire);
    int64_t skip = 0, frames = m->frames, bad = 0;
    char text[200];
    if (m->channels != l->out_ch || m->rate != n->session_rate) {
        snprintf(text, sizeof text, "generated audio has %lld channels at %lld Hz, expected %d at %d: dropped",
                 (long long)m->channels, (long long)m->rate, l->out_ch, n->session_rate);
        emit_error_limited(n, text);
        return;
    }
    if (m->index + frames > clock + (int64_t)l->out.cap - LMDM_MAX_PD_BLOCK) {
        snprintf(text, sizeof text, "generated audio at %lld is further ahead than the buffer holds: dropped",
                 (long long)m->index);
        emit_error_limited(n, text);
        return;
    }
    note_lead(l, m->index - clock);
    if (m->index > end)       /* a new stretch: nothing before it is valid */
        atomic_store_explicit(&l->out_start, m->index, memory_order_release);
    else if (m->index < end)  /* overlap with what we hold: keep the first copy */
        skip = end - m->index;
    if (skip >= frames)
        return;
    for (int c = 0; c < l->out_ch; c++)
        for (int64_t i = skip; i < frames; i++) {
            float v = lmdm_sample_at(m->data, l->out_ch, i, c);
            if (!finite_bits(v)) {   /* one NaN would stay in every Pd filter downstream for good */
                v = 0.0f;
                bad++;
            }
            lmdm_clocked_put(&l->out, c, m->index + i, v);
        }
    atomic_store_explicit(&l->out_end, m->index + frames, memory_order_release);
    if (bad) {
        snprintf(text, sizeof text, "generated audio at %lld held %lld NaN/Inf samples: played as silence",
                 (long long)m->index, (long long)bad);
        emit_error_limited(n, text);
    }
}

/* A refused hello changes nothing on the worker (docs/protocol.md, Sessions). After a re-hello on a live session
 * that session is still streaming: go on with it and its block size. With no session, a retry would be refused
 * again: stop until the patch changes something. */
static void on_hello_refused(net *n)
{
    if (n->rehello || n->state == NET_LIVE) {
        snprintf(n->block_size, sizeof n->block_size, "%s", n->block_size_live);
        n->rehello = 0;
        n->state = NET_LIVE;
        emit(n, LMDM_EV_ERROR, NULL, "the stream goes on as it was (block_size %s)",
             n->block_size[0] ? n->block_size : "default");
        return;
    }
    close_socket(n);
    n->state = NET_IDLE;
    n->hello_refused = 1;
    forget_requests(n);
    set_connected(n, 0);
    emit(n, LMDM_EV_ERROR, NULL, "not connected: send `block_size long`, another `mode` and `connect`, or `connect`");
}

static void on_worker_error(net *n, const lmdm_msg *m)
{
    char text[400];
    if (!strcmp(m->code, "no_session")) {
        lose_session(n, "the worker has no session for this stream (restarted?)");
        return;
    }
    if (!strcmp(m->code, "taken_over")) {   /* another lmdm~ (or client) said hello with our stream id: let it have
                                              * it, or the two would take it from each other for ever */
        emit(n, LMDM_EV_ERROR, NULL, "stream '%s' was taken over by another connection (two objects with one "
             "stream id?); send `connect` to take it back", n->l->stream);
        emit(n, LMDM_EV_WORKER_ERROR, m, NULL);
        close_socket(n);
        n->state = NET_IDLE;
        forget_requests(n);
        set_connected(n, 0);
        return;
    }
    snprintf(text, sizeof text, "worker error %s: %s%s%s", m->code, m->text, m->ref[0] ? " (in reply to " : "",
             m->ref[0] ? m->ref : "");
    if (m->ref[0])
        strncat(text, ")", sizeof text - strlen(text) - 1);
    emit_error_limited(n, text);
    emit(n, LMDM_EV_WORKER_ERROR, m, NULL);
    if (!strcmp(m->ref, "hello"))
        on_hello_refused(n);
}

/* An applied parameter is remembered as applied (after clamping) and re-sent to the next session. */
static void on_ack(net *n, const lmdm_msg *m)
{
    lmdm_cmd c;
    emit(n, LMDM_EV_ACK, m, NULL);
    if (!m->name[0] || !strcmp(m->name, "reset") || !strcmp(m->name, "mode"))   /* mode goes in the hello */
        return;
    memset(&c, 0, sizeof c);
    snprintf(c.name, sizeof c.name, "%s", m->name);
    c.kind = m->value_is_num ? LMDM_CMD_PARAM_NUM : LMDM_CMD_PARAM_STR;
    c.num = m->value_num;
    snprintf(c.text, sizeof c.text, "%s", m->value);
    remember(n, &c);
}

static void handle(net *n, const char *buf, size_t len)
{
    lmdm_msg m;
    char err[200], text[260];
    if (lmdm_decode(&n->unp, buf, len, &m, err, sizeof err)) {
        snprintf(text, sizeof text, "bad message from worker (%zu bytes): %s", len, err);
        emit_error_limited(n, text);
        return;
    }
    n->last_rx = now_s();
    if (n->state == NET_CONNECTING && m.type != LMDM_MSG_WELCOME && m.type != LMDM_MSG_ERROR)
        return;   /* leftovers of an old session */
    switch (m.type) {
    case LMDM_MSG_WELCOME: on_welcome(n, &m); break;
    case LMDM_MSG_GENERATED: if (n->state == NET_LIVE) on_generated(n, &m); break;
    case LMDM_MSG_STATUS: emit(n, LMDM_EV_STATUS, &m, NULL); break;
    case LMDM_MSG_ACK: on_ack(n, &m); break;
    case LMDM_MSG_ERROR: on_worker_error(n, &m); break;
    case LMDM_MSG_PONG: break;
    case LMDM_MSG_BYE: lose_session(n, "the worker closed the session"); break;
    default: break;
    }
}

/* Why the worker refused the handshake, once until the next welcome or key change; also `error auth ...` on the
 * info outlet. */
static void on_handshake_failed(net *n, int event, int value)
{
    lmdm_msg m;
    const char *why;
    if (!n->curve_on)   /* without keys, any refusal means the worker wants them */
        why = "the worker requires CURVE keys (lmdm serve --curve-keys?): give lmdm~ -curve-dir <client folder>";
    else if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
        why = "the worker refused this lmdm~'s CURVE key: it is not on the worker's allow-list (lmdm keys add)";
    else if (event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL)
        why = "the worker does not use CURVE (started without --curve-keys?)";
    else
        why = "CURVE handshake failed: is the server key the worker's (server.key)?";
    if (n->handshake_reported)
        return;
    n->handshake_reported = 1;
    n->outage_reported = 1;   /* this says more than "no worker answers" */
    emit(n, LMDM_EV_ERROR, NULL, "%s (%s, status %d)", why, n->address, value);
    memset(&m, 0, sizeof m);
    snprintf(m.code, sizeof m.code, "auth");
    snprintf(m.text, sizeof m.text, "%s", why);
    emit(n, LMDM_EV_WORKER_ERROR, &m, NULL);
}

static void receive_monitor(net *n)
{
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    while (n->mon && zmq_msg_recv(&msg, n->mon, ZMQ_DONTWAIT) >= 0) {
        uint16_t event = 0;
        uint32_t value = 0;
        if (zmq_msg_size(&msg) == 6) {
            memcpy(&event, zmq_msg_data(&msg), 2);
            memcpy(&value, (char *)zmq_msg_data(&msg) + 2, 4);
        }
        while (zmq_msg_more(&msg) && zmq_msg_recv(&msg, n->mon, ZMQ_DONTWAIT) >= 0)
            ;   /* the endpoint frame */
        if (event & HANDSHAKE_EVENTS)
            on_handshake_failed(n, event, (int)value);
    }
    zmq_msg_close(&msg);
}

static void receive_all(net *n)
{
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    while (n->sock && zmq_msg_recv(&msg, n->sock, ZMQ_DONTWAIT) >= 0) {
        if (zmq_msg_more(&msg)) {   /* the protocol has single frames; read the rest and refuse it */
            while (zmq_msg_more(&msg) && zmq_msg_recv(&msg, n->sock, ZMQ_DONTWAIT) >= 0)
                ;
            emit_error_limited(n, "bad message from worker: multipart frames are not part of the protocol");
            continue;
        }
        handle(n, zmq_msg_data(&msg), zmq_msg_size(&msg));
    }
    zmq_msg_close(&msg);
}

/* Send the input written since last time. If the audio thread has lapped us, the overwritten part is skipped
 * (the worker fills the gap with silence and counts it). */
static void pump_audio(net *n)
{
    lmdm_link *l = n->l;
    int64_t sent = atomic_load(&l->in_sent);
    for (;;) {
        int64_t clock = atomic_load_explicit(&l->clock, memory_order_acquire);
        int64_t lap = clock - (int64_t)l->in.cap + LMDM_MAX_PD_BLOCK, frames;
        if (sent < lap)
            sent = lap;
        frames = clock - sent;
        if (frames > SEND_MAX)
            frames = SEND_MAX;
        if (frames > n->max_frames)
            frames = n->max_frames;
        if (frames <= 0)
            break;
        for (int c = 0; c < l->in_ch; c++)
            lmdm_clocked_read(&l->in, c, sent, n->scratch + (size_t)c * SEND_MAX, (size_t)frames);
        /* Check again after copying (seqlock style: the fence keeps the copy before the re-read of the clock): if
         * the clock moved past the lap point meanwhile, the copy may be torn. */
        atomic_thread_fence(memory_order_acquire);
        if (sent < atomic_load_explicit(&l->clock, memory_order_relaxed) - (int64_t)l->in.cap + LMDM_MAX_PD_BLOCK)
            continue;
        lmdm_pack_audio(&n->pk, sent, (int)frames, l->in_ch, n->session_rate, n->scratch, SEND_MAX,
                        atomic_load_explicit(&l->clock, memory_order_acquire));
        send_packed(n);
        sent += frames;
    }
    atomic_store(&l->in_sent, sent);
}

static void pump_requests(net *n)
{
    lmdm_link *l = n->l;
    int64_t clock = atomic_load_explicit(&l->clock, memory_order_acquire);
    int64_t end = atomic_load(&l->req_end);
    int64_t want = clock + n->latency + REQUEST_CHUNK;
    int64_t limit = clock + (int64_t)l->out.cap - LMDM_MAX_PD_BLOCK;
    if (want > limit)
        want = limit;
    if (end < clock) {   /* fell behind (DSP ran while requests could not be sent): skip ahead */
        end = clock;
        atomic_store(&l->req_start, clock);
    }
    while (want - end >= REQUEST_CHUNK / 2) {
        int64_t frames = want - end > LMDM_MAX_FRAMES ? LMDM_MAX_FRAMES : want - end;
        lmdm_pack_request(&n->pk, end, frames, clock);   /* clock: what perform plays now */
        if (send_packed(n))
            break;
        end += frames;
        atomic_store_explicit(&l->req_end, end, memory_order_release);
    }
}

static void heartbeat(net *n)
{
    double t = now_s();
    if (n->state == NET_CONNECTING && t - n->hello_at > 3 * HELLO_HEARTBEAT_MS / 1000.0) {
        lose_session(n, "no worker answers (is `lmdm serve` running?)");
    } else if (n->state == NET_LIVE) {
        if (t - n->last_rx > 3 * n->heartbeat_ms / 1000.0) {
            lose_session(n, "the worker stopped answering");
            return;
        }
        if (t - n->last_ping >= n->heartbeat_ms / 1000.0) {
            lmdm_pack_ping(&n->pk, t);
            send_packed(n);
            n->last_ping = t;
        }
        if (atomic_load(&n->l->rate) != n->session_rate) {
            emit(n, LMDM_EV_POST, NULL, "Pd's sample rate is now %d Hz: opening a new session",
                 atomic_load(&n->l->rate));
            set_connected(n, 0);
            open_session(n);
        }
    }
}

static void apply(net *n, const lmdm_cmd *c)
{
    int live = n->state == NET_LIVE;
    switch (c->kind) {
    case LMDM_CMD_CONNECT:
        if (c->text[0])
            snprintf(n->address, sizeof n->address, "%s", c->text);
        n->outage_reported = 0;
        open_session(n);
        break;
    case LMDM_CMD_DISCONNECT:
        if (live)
            say_bye(n);
        close_socket(n);
        n->state = NET_IDLE;
        forget_requests(n);
        set_connected(n, 0);
        break;
    case LMDM_CMD_MODE:   /* goes into every later hello, and to this session now */
        snprintf(n->mode, sizeof n->mode, "%s", c->text);
        if (live)
            send_param(n, c);
        break;
    case LMDM_CMD_BLOCK_SIZE:   /* the worker takes it in hello only: a session says hello again, and the new
                                 * welcome's latency and block apply as after a reconnect */
        snprintf(n->block_size, sizeof n->block_size, "%s", c->text);
        n->rehello = n->rehello || live;
        if (n->sock)
            send_hello(n);
        else if (n->hello_refused)
            open_session(n);
        else
            emit(n, LMDM_EV_POST, NULL, "not connected: block_size %s goes into the next hello", c->text);
        break;
    case LMDM_CMD_PARAM_STR:
    case LMDM_CMD_PARAM_NUM:
        if (live) {
            send_param(n, c);   /* remembered when the worker acks it */
        } else {
            remember(n, c);
            emit(n, LMDM_EV_POST, NULL, "not connected yet: %s will be sent when a worker answers", c->name);
        }
        break;
    case LMDM_CMD_RESET:
        if (!live) {
            emit(n, LMDM_EV_ERROR, NULL, "not connected to a worker: reset not sent");
            break;
        }
        lmdm_pack_simple(&n->pk, "reset");
        send_packed(n);
        anchor(n);   /* the worker forgets its clocks: start a new stretch here */
        break;
    case LMDM_CMD_STATUS:
        if (live) {
            lmdm_pack_simple(&n->pk, "status");
            send_packed(n);
        }
        break;
    case LMDM_CMD_CURVE:   /* checked by the main thread; a connection in use starts over with the new keys */
        n->curve_on = sscanf(c->text, "%40s %40s %40s", n->curve.server, n->curve.public_key,
                             n->curve.secret_key) == 3;
        n->handshake_reported = 0;
        if (n->sock) {
            if (live)
                say_bye(n);
            set_connected(n, 0);
            n->outage_reported = 0;
            open_session(n);
        }
        break;
    }
}

static void *net_main(void *arg)
{
    net *n = arg;
    lmdm_cmd c;
    while (!atomic_load(&n->l->quit)) {
        while (lmdm_queue_pop(&n->l->cmds, &c))
            apply(n, &c);
        if (n->sock) {
            zmq_pollitem_t items[2] = {{n->sock, 0, ZMQ_POLLIN, 0}, {n->mon, 0, ZMQ_POLLIN, 0}};
            zmq_poll(items, n->mon ? 2 : 1, POLL_MS);
            receive_monitor(n);
            receive_all(n);
        } else {
            struct timespec ts = {0, IDLE_MS * 1000000L};
            nanosleep(&ts, NULL);
        }
        if (n->state == NET_LIVE) {
            pump_audio(n);
            pump_requests(n);
        } else {
            atomic_store(&n->l->in_sent, atomic_load(&n->l->clock));
        }
        if (n->sock)
            heartbeat(n);
    }
    if (n->state == NET_LIVE)
        say_bye(n);
    close_socket(n);
    zmq_ctx_term(n->ctx);   /* waits for the bye at most its linger */
    msgpack_unpacked_destroy(&n->unp);
    msgpack_sbuffer_destroy(&n->sbuf);
    free(n->scratch);
    free(n);
    return NULL;
}

int lmdm_link_start(lmdm_link *l, const char *address, const char *mode, const char *block_size, int autoconnect)
{
    net *n = calloc(1, sizeof *n);
    if (!n)
        return -1;
    n->l = l;
    n->scratch = calloc((size_t)l->in_ch * SEND_MAX, sizeof(float));
    n->ctx = zmq_ctx_new();
    n->max_frames = SEND_MAX;
    n->heartbeat_ms = HELLO_HEARTBEAT_MS;
    snprintf(n->address, sizeof n->address, "%s", address);
    snprintf(n->mode, sizeof n->mode, "%s", mode ? mode : "");
    snprintf(n->block_size, sizeof n->block_size, "%s", block_size ? block_size : "");
    msgpack_sbuffer_init(&n->sbuf);
    msgpack_packer_init(&n->pk, &n->sbuf, msgpack_sbuffer_write);
    msgpack_unpacked_init(&n->unp);
    if (!n->scratch || !n->ctx) {
        free(n->scratch);
        free(n);
        return -1;
    }
    if (autoconnect) {
        lmdm_cmd c = {.kind = LMDM_CMD_CONNECT};
        lmdm_queue_push(&l->cmds, &c);
    }
    if (pthread_create(&l->thread, NULL, net_main, n)) {
        zmq_ctx_term(n->ctx);
        free(n->scratch);
        free(n);
        return -1;
    }
    l->thread_started = 1;
    return 0;
}
