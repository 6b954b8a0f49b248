/* Lock-free structures shared by the audio thread, the network thread and Pd's main thread.
 *
 * lmdm_queue: a single-producer single-consumer queue of fixed-size records (commands main -> net, events
 * net -> main). lmdm_clocked: planar sample planes addressed by sample-clock position modulo a power-of-two capacity,
 * so the writer and reader never exchange indices: the position *is* the address. All memory is allocated in the
 * init functions, never on the audio thread. */
#ifndef LMDM_RINGS_H
#define LMDM_RINGS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    char *buf;
    size_t elem, cap;                 /* cap is a power of two */
    _Atomic size_t head, tail;        /* head: next write (producer), tail: next read (consumer) */
} lmdm_queue;

int lmdm_queue_init(lmdm_queue *q, size_t elem, size_t cap);
void lmdm_queue_free(lmdm_queue *q);
int lmdm_queue_push(lmdm_queue *q, const void *rec);  /* 1 pushed, 0 full (record dropped) */
int lmdm_queue_pop(lmdm_queue *q, void *rec);         /* 1 popped, 0 empty */
size_t lmdm_queue_fill(lmdm_queue *q);

/* Samples are relaxed atomics: plain loads and stores on x86 and ARM, yet a reader that races a lapping writer (the
 * network thread falling a whole ring behind the audio thread) is well defined and merely detected afterwards. */
typedef struct {
    _Atomic float *buf;               /* channels planes of cap floats */
    int channels;
    size_t cap, mask;
} lmdm_clocked;

size_t lmdm_pow2_at_least(size_t n);
int lmdm_clocked_init(lmdm_clocked *r, int channels, size_t min_frames);
void lmdm_clocked_free(lmdm_clocked *r);
/* Copy n frames of channel c between the plane and a linear buffer, starting at clock position pos (wraps). */
void lmdm_clocked_write(lmdm_clocked *r, int c, int64_t pos, const float *src, size_t n);
void lmdm_clocked_read(const lmdm_clocked *r, int c, int64_t pos, float *dst, size_t n);
static inline void lmdm_clocked_put(lmdm_clocked *r, int c, int64_t pos, float v)
{
    atomic_store_explicit(r->buf + (size_t)c * r->cap + ((size_t)pos & r->mask), v, memory_order_relaxed);
}
static inline float lmdm_clocked_get(const lmdm_clocked *r, int c, int64_t pos)
{
    return atomic_load_explicit(r->buf + (size_t)c * r->cap + ((size_t)pos & r->mask), memory_order_relaxed);
}

#endif
