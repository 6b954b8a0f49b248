/* Unit checks of lmdm~'s C parts without Pd, run from tests/pd/test_pd_units.py.
 *
 *   lmdm_unit selftest        rings and the audio-thread half of the link; prints "ok" or exits 1 with the check
 *   lmdm_unit encode FILE     writes every client message as length-prefixed frames (decoded by bridge/protocol.py)
 *   lmdm_unit decode FILE     reads length-prefixed frames (encoded by bridge/protocol.py), prints one line each
 *   lmdm_unit stress          two threads through the queue and a clock-addressed ring (build with TSan)
 */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "link.h"

#define CHECK(cond) do { if (!(cond)) { fprintf(stderr, "check failed: %s (line %d)\n", #cond, __LINE__); \
                                        exit(1); } } while (0)

static void test_queue(void)
{
    lmdm_queue q;
    int v, out;
    CHECK(lmdm_queue_init(&q, sizeof(int), 5) == 0 && q.cap == 8);
    for (v = 0; v < 8; v++)
        CHECK(lmdm_queue_push(&q, &v));
    CHECK(!lmdm_queue_push(&q, &v));             /* full: refused, not overwritten */
    CHECK(lmdm_queue_fill(&q) == 8);
    for (v = 0; v < 8; v++)
        CHECK(lmdm_queue_pop(&q, &out) && out == v);
    CHECK(!lmdm_queue_pop(&q, &out));
    for (v = 100; v < 120; v++) {                /* wraps around many times */
        CHECK(lmdm_queue_push(&q, &v));
        CHECK(lmdm_queue_pop(&q, &out) && out == v);
    }
    lmdm_queue_free(&q);
}

static void test_clocked(void)
{
    lmdm_clocked r;
    float src[300], dst[300];
    CHECK(lmdm_clocked_init(&r, 2, 1000) == 0 && r.cap == 1024);
    for (int i = 0; i < 300; i++)
        src[i] = (float)i;
    lmdm_clocked_write(&r, 1, 5000, src, 300);   /* 5000 & 1023 = 904: wraps after 120 frames */
    lmdm_clocked_read(&r, 1, 5000, dst, 300);
    CHECK(memcmp(src, dst, sizeof src) == 0);
    CHECK(lmdm_clocked_get(&r, 1, 5000 + 200) == 200.0f);
    CHECK(lmdm_clocked_get(&r, 0, 5000 + 200) == 0.0f);   /* the other channel untouched */
    lmdm_clocked_free(&r);
}

/* The perform side: output plays exactly at its index, missing requested frames are counted, never repeated. */
static void test_process(void)
{
    lmdm_link l;
    float in[64], out[64], *ins[1] = {in}, *outs[1] = {out};
    CHECK(lmdm_link_init(&l, 1, 1, 4096, "unit", 44100) == 0);
    for (int i = 0; i < 64; i++)
        in[i] = (float)(i + 1);
    lmdm_link_process(&l, ins, outs, 64);               /* nothing requested: silence, no underrun */
    CHECK(atomic_load(&l.clock) == 64 && atomic_load(&l.underruns) == 0 && out[0] == 0.0f);
    CHECK(lmdm_clocked_get(&l.in, 0, 10) == 11.0f);  /* input stored at its clock position */

    /* generated audio for [100, 150) arrives; [64, 200) was requested */
    for (int i = 100; i < 150; i++)
        lmdm_clocked_put(&l.out, 0, i, (float)i);
    atomic_store(&l.out_start, 100);
    atomic_store(&l.out_end, 150);
    atomic_store(&l.req_start, 64);
    atomic_store(&l.req_end, 200);
    lmdm_link_process(&l, ins, outs, 64);               /* block [64, 128) */
    for (int i = 0; i < 64; i++)
        CHECK(out[i] == (64 + i >= 100 ? (float)(64 + i) : 0.0f));
    CHECK(atomic_load(&l.underruns) == 1 && atomic_load(&l.late_frames) == 36);
    lmdm_link_process(&l, ins, outs, 64);               /* block [128, 192): 22 frames there, 42 missing */
    CHECK(out[21] == 149.0f && out[22] == 0.0f);
    CHECK(atomic_load(&l.underruns) == 2 && atomic_load(&l.late_frames) == 36 + 42);
    lmdm_link_process(&l, ins, outs, 64);               /* [192, 256): 8 requested frames missing */
    CHECK(atomic_load(&l.late_frames) == 36 + 42 + 8);
    lmdm_link_free(&l);
}

static void put_frame(FILE *f, msgpack_sbuffer *sb)
{
    uint32_t n = (uint32_t)sb->size;
    fwrite(&n, 4, 1, f);
    fwrite(sb->data, 1, sb->size, f);
    msgpack_sbuffer_clear(sb);
}

static int encode(const char *path)
{
    FILE *f = fopen(path, "wb");
    msgpack_sbuffer sb;
    msgpack_packer pk;
    float planar[2 * 3] = {0.5f, -0.25f, 1.0f, /* ch 1: */ 2.0f, 3.0f, -4.0f};
    lmdm_hello h = {"pd-1", 48000, 2, 2, "lmdm~ unit", "jam", "short"};
    lmdm_hello plain = {"pd-2", 44100, 1, 1, "lmdm~ unit", NULL, NULL};   /* both optional fields left out */
    if (!f)
        return 1;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    lmdm_pack_hello(&pk, &h);
    put_frame(f, &sb);
    lmdm_pack_hello(&pk, &plain);
    put_frame(f, &sb);
    lmdm_pack_audio(&pk, 123456789012LL, 3, 2, 48000, planar, 3, 123456700000LL);
    put_frame(f, &sb);
    lmdm_pack_request(&pk, 4096, 2048, 1024);
    put_frame(f, &sb);
    lmdm_pack_param_str(&pk, "prompt", "warm pads");
    put_frame(f, &sb);
    lmdm_pack_param_float(&pk, "cfg", 2.5);
    put_frame(f, &sb);
    lmdm_pack_param_int(&pk, "steps", 8);
    put_frame(f, &sb);
    lmdm_pack_simple(&pk, "reset");
    put_frame(f, &sb);
    lmdm_pack_simple(&pk, "status");
    put_frame(f, &sb);
    lmdm_pack_ping(&pk, 1.5);
    put_frame(f, &sb);
    lmdm_pack_simple(&pk, "bye");
    put_frame(f, &sb);
    msgpack_sbuffer_destroy(&sb);
    fclose(f);
    return 0;
}

static void print_msg(const lmdm_msg *m)
{
    switch (m->type) {
    case LMDM_MSG_WELCOME:
        printf("welcome stream=%s rate=%lld channels=%lld out_channels=%lld block=%lld latency=%lld max_frames=%lld "
               "heartbeat_ms=%lld model=%s/%s/%lld/%lld block_sizes=%s modes=%s mode=%s block_size=%s\n", m->stream,
               (long long)m->rate, (long long)m->channels, (long long)m->out_channels, (long long)m->block, (long long)m->latency,
               (long long)m->max_frames, (long long)m->heartbeat_ms, m->model.name, m->model.kind,
               (long long)m->model.sample_rate, (long long)m->model.channels, m->model.block_sizes, m->modes, m->mode,
               m->block_size);
        break;
    case LMDM_MSG_GENERATED:
        printf("generated index=%lld frames=%lld channels=%lld rate=%lld samples=", (long long)m->index,
               (long long)m->frames, (long long)m->channels, (long long)m->rate);
        for (int64_t i = 0; i < m->frames; i++)
            for (int c = 0; c < m->channels; c++)
                printf("%s%g", i || c ? "," : "", lmdm_sample_at(m->data, (int)m->channels, i, c));
        printf("\n");
        break;
    case LMDM_MSG_STATUS:
        printf("status compute_ms=%g compute_ms_avg=%g queue=%lld underruns=%lld gaps=%lld blocks=%lld latency=%lld "
               "late_frames=%lld recoveries=%lld clipped=%lld\n",
               m->compute_ms, m->compute_ms_avg, (long long)m->queue, (long long)m->underruns, (long long)m->gaps,
               (long long)m->blocks, (long long)m->latency, (long long)m->late_frames, (long long)m->recoveries,
               (long long)m->clipped);
        break;
    case LMDM_MSG_ACK:
        printf("ack name=%s value=%s num=%d\n", m->name, m->value, m->value_is_num);
        break;
    case LMDM_MSG_ERROR:
        printf("error code=%s text=%s ref=%s\n", m->code, m->text, m->ref);
        break;
    case LMDM_MSG_PONG:
        printf("pong t=%g\n", m->t);
        break;
    case LMDM_MSG_BYE:
        printf("bye reason=%s\n", m->reason);
        break;
    default:
        printf("unknown\n");
    }
}

static int decode(const char *path)
{
    FILE *f = fopen(path, "rb");
    uint32_t n;
    msgpack_unpacked u;
    if (!f)
        return 1;
    msgpack_unpacked_init(&u);
    while (fread(&n, 4, 1, f) == 1) {
        char *buf = malloc(n ? n : 1), err[200];
        lmdm_msg m;
        if (fread(buf, 1, n, f) != n) {
            free(buf);
            break;
        }
        if (lmdm_decode(&u, buf, n, &m, err, sizeof err))
            printf("refused: %s\n", err);
        else
            print_msg(&m);
        free(buf);
    }
    msgpack_unpacked_destroy(&u);
    fclose(f);
    return 0;
}

/* ---- two threads, as the audio and network threads use them ---- */

#define STRESS_N 200000
static lmdm_queue sq;
static lmdm_clocked sr;
static _Atomic int64_t sclock;

static void *stress_producer(void *arg)
{
    float block[64];
    (void)arg;
    for (int v = 0; v < STRESS_N; v++)
        while (!lmdm_queue_push(&sq, &v))
            sched_yield();
    for (int64_t pos = 0; pos < STRESS_N; pos += 64) {   /* the "audio thread": write, then publish the clock */
        for (int i = 0; i < 64; i++)
            block[i] = (float)((pos + i) % 1000003);
        lmdm_clocked_write(&sr, 0, pos, block, 64);
        atomic_store_explicit(&sclock, pos + 64, memory_order_release);
    }
    return NULL;
}

static int stress(void)
{
    pthread_t t;
    int64_t read = 0, laps = 0;
    float buf[256];
    CHECK(lmdm_queue_init(&sq, sizeof(int), 64) == 0 && lmdm_clocked_init(&sr, 1, 4096) == 0);
    pthread_create(&t, NULL, stress_producer, NULL);
    for (int want = 0, v; want < STRESS_N;) {
        if (!lmdm_queue_pop(&sq, &v)) {
            sched_yield();
            continue;
        }
        CHECK(v == want);
        want++;
    }
    while (read < STRESS_N) {   /* the "network thread": read up to the clock, skip what was lapped */
        int64_t clock = atomic_load_explicit(&sclock, memory_order_acquire), n = clock - read;
        if (read < clock - (int64_t)sr.cap + 256) {
            read = clock - (int64_t)sr.cap + 256;
            laps++;
            continue;
        }
        if (n <= 0)
            continue;
        n = n > 256 ? 256 : n;
        lmdm_clocked_read(&sr, 0, read, buf, (size_t)n);
        atomic_thread_fence(memory_order_acquire);
        if (read < atomic_load_explicit(&sclock, memory_order_relaxed) - (int64_t)sr.cap + 256)
            continue;   /* lapped while copying: the copy may be torn, discard it */
        for (int64_t i = 0; i < n; i++)
            CHECK(buf[i] == (float)((read + i) % 1000003));
        read += n;
    }
    pthread_join(t, NULL);
    printf("ok laps=%lld\n", (long long)laps);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "stress"))
        return stress();
    if (argc >= 2 && !strcmp(argv[1], "selftest")) {
        test_queue();
        test_clocked();
        test_process();
        printf("ok\n");
        return 0;
    }
    if (argc >= 2 && !strcmp(argv[1], "codes")) {
        for (const char *const *c = lmdm_error_codes; *c; c++)
            printf("%s\n", *c);
        return 0;
    }
    if (argc >= 3 && !strcmp(argv[1], "encode"))
        return encode(argv[2]);
    if (argc >= 3 && !strcmp(argv[1], "decode"))
        return decode(argv[2]);
    fprintf(stderr, "usage: lmdm_unit selftest | codes | encode FILE | decode FILE\n");
    return 2;
}
