/* Shared state setup and the audio thread's half of the link (see link.h). */
#include "link.h"

#include <stdio.h>
#include <string.h>

int lmdm_link_init(lmdm_link *l, int in_ch, int out_ch, size_t buffer_frames, const char *stream, int rate)
{
    memset(l, 0, sizeof *l);
    l->in_ch = in_ch;
    l->out_ch = out_ch;
    snprintf(l->stream, sizeof l->stream, "%s", stream);
    snprintf(l->client, sizeof l->client, "lmdm~ (Pd) 0.1");
    atomic_init(&l->rate, rate);
    atomic_init(&l->out_start, 0);
    atomic_init(&l->out_end, 0);
    atomic_init(&l->req_start, 0);
    atomic_init(&l->req_end, 0);
    if (lmdm_clocked_init(&l->in, in_ch, buffer_frames) || lmdm_clocked_init(&l->out, out_ch, buffer_frames)
        || lmdm_queue_init(&l->cmds, sizeof(lmdm_cmd), 64) || lmdm_queue_init(&l->events, sizeof(lmdm_event), 64))
        return -1;
    return 0;
}

void lmdm_link_free(lmdm_link *l)
{
    atomic_store(&l->quit, 1);
    if (l->thread_started)
        pthread_join(l->thread, NULL);
    l->thread_started = 0;
    lmdm_clocked_free(&l->in);
    lmdm_clocked_free(&l->out);
    lmdm_queue_free(&l->cmds);
    lmdm_queue_free(&l->events);
}

int lmdm_link_command(lmdm_link *l, const lmdm_cmd *c)
{
    return lmdm_queue_push(&l->cmds, c);
}

static int64_t overlap(int64_t a0, int64_t a1, int64_t b0, int64_t b1)
{
    int64_t lo = a0 > b0 ? a0 : b0, hi = a1 < b1 ? a1 : b1;
    return hi > lo ? hi - lo : 0;
}

void lmdm_link_process(lmdm_link *l, float **ins, float **outs, int n)
{
    int64_t p0 = atomic_load_explicit(&l->clock, memory_order_relaxed), p1 = p0 + n;
    int64_t end = atomic_load_explicit(&l->out_end, memory_order_acquire);
    int64_t start = atomic_load_explicit(&l->out_start, memory_order_acquire);
    int64_t rs = atomic_load_explicit(&l->req_start, memory_order_acquire);
    int64_t re = atomic_load_explicit(&l->req_end, memory_order_acquire);
    int64_t v0 = start > p0 ? start : p0, v1 = end < p1 ? end : p1, missing;

    /* Inputs first: Pd may hand the same vector to an inlet and an outlet. */
    for (int c = 0; c < l->in_ch; c++)
        lmdm_clocked_write(&l->in, c, p0, ins[c], (size_t)n);
    for (int c = 0; c < l->out_ch; c++) {
        float *o = outs[c];
        if (v1 <= v0) {
            memset(o, 0, sizeof(float) * (size_t)n);
            continue;
        }
        memset(o, 0, sizeof(float) * (size_t)(v0 - p0));
        lmdm_clocked_read(&l->out, c, v0, o + (v0 - p0), (size_t)(v1 - v0));
        memset(o + (v1 - p0), 0, sizeof(float) * (size_t)(p1 - v1));
    }
    missing = overlap(p0, p1, rs, re) - (v1 > v0 ? overlap(v0, v1, rs, re) : 0);
    if (missing > 0) {
        atomic_fetch_add_explicit(&l->underruns, 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&l->late_frames, missing, memory_order_relaxed);
    }
    atomic_store_explicit(&l->clock, p1, memory_order_release);
}
