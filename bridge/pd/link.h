/* State shared between lmdm~'s three threads, and the network thread that owns the ZeroMQ socket.
 *
 * Audio thread (perform): writes input at the sample clock into `in`, reads output for the clock from `out`, bumps
 * `clock`. It touches only atomics and preallocated planes. Network thread: owns the DEALER, sends hello/audio/
 * request/ping, writes generated frames into `out` at the index the worker stated; its CURVE keys and the socket's
 * handshake monitor are its own too. Pd's main thread: pushes commands
 * into `cmds` and drains `events` from a clock; only it calls the Pd API. */
#ifndef LMDM_LINK_H
#define LMDM_LINK_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "protocol.h"
#include "rings.h"

#define LMDM_ADDR_MAX 256
#define LMDM_TEXT_MAX 1024
#define LMDM_MAX_PD_BLOCK 8192   /* largest Pd block the output headroom allows for */

typedef enum {
    LMDM_CMD_CONNECT,      /* text: address ("" = keep) */
    LMDM_CMD_DISCONNECT,
    LMDM_CMD_PARAM_STR,    /* name, text */
    LMDM_CMD_PARAM_NUM,    /* name, num */
    LMDM_CMD_MODE,         /* text: mode, remembered for later hellos too */
    LMDM_CMD_RESET,
    LMDM_CMD_STATUS,
    LMDM_CMD_CURVE,        /* text: "SERVERPUB PUBLIC SECRET" (Z85, checked), "" = off; reconnects if connected */
    LMDM_CMD_BLOCK_SIZE    /* text: "long" | "short" (checked), kept for later hellos; a session says hello again */
} lmdm_cmd_kind;

typedef struct {
    lmdm_cmd_kind kind;
    char name[64];
    double num;
    char text[LMDM_TEXT_MAX];
} lmdm_cmd;

typedef enum {
    LMDM_EV_POST,          /* text */
    LMDM_EV_ERROR,         /* text */
    LMDM_EV_WELCOME,       /* msg */
    LMDM_EV_STATUS,        /* msg */
    LMDM_EV_ACK,           /* msg */
    LMDM_EV_WORKER_ERROR,  /* msg */
    LMDM_EV_CONNECTED,     /* state: 1 connected, 0 lost */
} lmdm_event_kind;

typedef struct {
    lmdm_event_kind kind;
    int state;
    char text[320];
    lmdm_msg msg;          /* data pointer cleared */
} lmdm_event;

typedef struct {
    /* fixed at creation */
    int in_ch, out_ch;
    char stream[LMDM_STREAM_MAX + 1];
    char client[64];
    lmdm_clocked in, out;
    lmdm_queue cmds, events;
    /* written by perform */
    _Atomic int64_t clock;           /* frames processed since creation: the patch's sample clock */
    _Atomic int64_t underruns;       /* Pd blocks with requested output missing */
    _Atomic int64_t late_frames;     /* requested output frames that were not there in time */
    _Atomic int rate;                /* Pd's sample rate, set in dsp */
    /* written by the network thread */
    _Atomic int64_t out_start, out_end;  /* contiguous span of `out` holding generated audio */
    _Atomic int64_t req_start, req_end;  /* span requested in the current session */
    _Atomic int64_t in_sent;             /* input frames sent (or dropped) so far */
    _Atomic int64_t latency, block;
    _Atomic int connected;
    _Atomic int quit;
    /* lead of generated audio (its index minus the clock when it arrived), since the last `bang` */
    _Atomic int64_t lead_min, lead_max, lead_sum, lead_count;
    _Atomic int lead_reset;              /* set by main, cleared by the network thread */
    pthread_t thread;
    int thread_started;
} lmdm_link;

int lmdm_link_init(lmdm_link *l, int in_ch, int out_ch, size_t buffer_frames, const char *stream, int rate);
void lmdm_link_free(lmdm_link *l);                /* stops and joins the thread first */
/* mode, block_size: what the hellos carry until a command changes them; NULL leaves the field to the worker. */
int lmdm_link_start(lmdm_link *l, const char *address, const char *mode, const char *block_size, int autoconnect);
int lmdm_link_command(lmdm_link *l, const lmdm_cmd *c);

/* The audio side, called from perform: never blocks, never allocates. */
void lmdm_link_process(lmdm_link *l, float **ins, float **outs, int n);

#endif
