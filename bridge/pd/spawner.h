/* The worker a patch starts itself: `[lmdm~ -spawn]`, the `spawn` message (docs/pd.md "The patch starts the worker").
 *
 * One spawner per address, shared by every lmdm~ that spawns for it and counted: the last one released stops the
 * worker. Its own thread (never the audio thread, never Pd's main thread) probes the address, starts the command in
 * its own process group with `--zmq ADDRESS --exit-with-parent` appended, reads the child's stdout and stderr, restarts
 * it with a backoff when it dies, and SIGTERMs (then SIGKILLs) the group when released. Lines for the Pd console go
 * through a queue the main thread drains; this file calls no Pd API, so the unit tests build it without Pd.
 *
 * Only loopback tcp:// addresses (127.0.0.0/8, ::1, localhost): a worker at a remote address runs on that machine. */
#ifndef LMDM_SPAWNER_H
#define LMDM_SPAWNER_H

#include <stddef.h>

#define LMDM_SPAWN_WORDS 32        /* words of the command, before the two options the spawner appends */
#define LMDM_SPAWN_CMD_MAX 2048    /* bytes of the command, all words together */
#define LMDM_SPAWN_FIRST_LINES 20  /* lines of each start posted as they come; later ones only when they read as errors */

typedef struct {
    int error;                     /* 1: post as an error */
    char text[320];
} lmdm_spawn_line;

typedef struct lmdm_spawner lmdm_spawner;

/* 0 when `address` is tcp://HOST:PORT with a loopback HOST; else -1 and the reason in `err`. */
int lmdm_spawn_local(const char *address, char *err, size_t cap);

/* Main thread. The spawner of `address`: a new one (started at once, with `words` as its command) or the one that
 * already runs for it (its count goes up, its command stays). NULL and the reason in `err` when refused. */
lmdm_spawner *lmdm_spawner_acquire(const char *address, int argc, const char *const *words, char *err, size_t cap);
/* Main thread. One user fewer; the last one stops the worker (SIGTERM now, SIGKILL 3 s later) without waiting. */
void lmdm_spawner_release(lmdm_spawner *s);
/* The command of the next start (a running worker keeps running). -1 when empty or over the limits. */
int lmdm_spawner_set_command(lmdm_spawner *s, int argc, const char *const *words);
/* Start now when waiting out a restart backoff. */
void lmdm_spawner_kick(lmdm_spawner *s);
/* The running child's pid, 0 when none. */
int lmdm_spawner_pid(lmdm_spawner *s);
/* How many times a child was started. */
int lmdm_spawner_starts(lmdm_spawner *s);
/* Main thread: the next line for the console; 1 popped, 0 none. */
int lmdm_spawner_pop(lmdm_spawner *s, lmdm_spawn_line *line);
const char *lmdm_spawner_address(const lmdm_spawner *s);

#endif
