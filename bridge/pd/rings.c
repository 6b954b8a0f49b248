/* SPSC record queue and clock-addressed sample planes (see rings.h). */
#include "rings.h"

#include <stdlib.h>
#include <string.h>

size_t lmdm_pow2_at_least(size_t n)
{
    size_t p = 1;
    while (p < n)
        p <<= 1;
    return p;
}

int lmdm_queue_init(lmdm_queue *q, size_t elem, size_t cap)
{
    q->elem = elem;
    q->cap = lmdm_pow2_at_least(cap);
    q->buf = calloc(q->cap, elem);
    atomic_init(&q->head, 0);
    atomic_init(&q->tail, 0);
    return q->buf ? 0 : -1;
}

void lmdm_queue_free(lmdm_queue *q)
{
    free(q->buf);
    q->buf = NULL;
}

int lmdm_queue_push(lmdm_queue *q, const void *rec)
{
    size_t head = atomic_load_explicit(&q->head, memory_order_relaxed);
    size_t tail = atomic_load_explicit(&q->tail, memory_order_acquire);
    if (head - tail >= q->cap)
        return 0;
    memcpy(q->buf + (head & (q->cap - 1)) * q->elem, rec, q->elem);
    atomic_store_explicit(&q->head, head + 1, memory_order_release);
    return 1;
}

int lmdm_queue_pop(lmdm_queue *q, void *rec)
{
    size_t tail = atomic_load_explicit(&q->tail, memory_order_relaxed);
    size_t head = atomic_load_explicit(&q->head, memory_order_acquire);
    if (head == tail)
        return 0;
    memcpy(rec, q->buf + (tail & (q->cap - 1)) * q->elem, q->elem);
    atomic_store_explicit(&q->tail, tail + 1, memory_order_release);
    return 1;
}

size_t lmdm_queue_fill(lmdm_queue *q)
{
    return atomic_load_explicit(&q->head, memory_order_acquire) - atomic_load_explicit(&q->tail, memory_order_acquire);
}

int lmdm_clocked_init(lmdm_clocked *r, int channels, size_t min_frames)
{
    r->channels = channels;
    r->cap = lmdm_pow2_at_least(min_frames);
    r->mask = r->cap - 1;
    r->buf = calloc((size_t)channels * r->cap, sizeof(_Atomic float));   /* all-zero bits = 0.0f */
    return r->buf ? 0 : -1;
}

void lmdm_clocked_free(lmdm_clocked *r)
{
    free((void *)r->buf);
    r->buf = NULL;
}

void lmdm_clocked_write(lmdm_clocked *r, int c, int64_t pos, const float *src, size_t n)
{
    _Atomic float *plane = r->buf + (size_t)c * r->cap;
    for (size_t i = 0; i < n; i++)
        atomic_store_explicit(plane + (((size_t)pos + i) & r->mask), src[i], memory_order_relaxed);
}

void lmdm_clocked_read(const lmdm_clocked *r, int c, int64_t pos, float *dst, size_t n)
{
    const _Atomic float *plane = r->buf + (size_t)c * r->cap;
    for (size_t i = 0; i < n; i++)
        dst[i] = atomic_load_explicit(plane + (((size_t)pos + i) & r->mask), memory_order_relaxed);
}
