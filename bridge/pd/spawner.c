/* The worker a patch starts itself (spawner.h): probe, posix_spawn, read its output, restart, stop. POSIX (Linux,
 * macOS); on Windows every call refuses (see the end of the file). */
#define _GNU_SOURCE
#include "spawner.h"

#include <stdio.h>

#ifndef _WIN32

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "rings.h"

#ifdef __APPLE__
#include <crt_externs.h>
#define environ (*_NSGetEnviron())   /* a bundle (Pd external) cannot link `environ` itself */
#else
extern char **environ;
#endif

#define LINES_CAP 256
#define TICK_MS 50
#define TERM_GRACE_S 3.0     /* SIGTERM, then SIGKILL of the group after this long */
#define BACKOFF_FIRST_S 0.5
#define BACKOFF_MAX_S 8.0
#define STEADY_S 10.0        /* a child that lived this long restarts after the first backoff again */
#define PROBE_MS 300

struct lmdm_spawner {
    char address[256], host[256], port[8];
    pthread_mutex_t lock;            /* guards cmd: main writes, the thread copies at each start */
    char cmd[LMDM_SPAWN_CMD_MAX];    /* words separated by NULs */
    int nwords;
    int refs;                        /* main thread only */
    _Atomic int quit, kick, pid, starts;
    lmdm_queue lines;                /* thread -> main */
    lmdm_spawner *next;              /* the registry, main thread only */
};

static lmdm_spawner *registry;

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void say(lmdm_spawner *s, int error, const char *fmt, ...)
{
    lmdm_spawn_line line = {.error = error};
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line.text, sizeof line.text, fmt, ap);
    va_end(ap);
    lmdm_queue_push(&s->lines, &line);   /* a full queue drops the line: the console is not worth blocking for */
}

/* --- the address -------------------------------------------------------------------------------------------------- */

static int split_address(const char *address, char *host, size_t hcap, char *port, size_t pcap)
{
    const char *rest, *colon;
    size_t n;
    if (strncmp(address, "tcp://", 6))
        return -1;
    rest = address + 6;
    if (rest[0] == '[') {
        const char *end = strchr(rest, ']');
        if (!end || end[1] != ':')
            return -1;
        n = (size_t)(end - rest - 1);
        rest++;
        colon = end + 1;
    } else {
        colon = strrchr(rest, ':');
        if (!colon)
            return -1;
        n = (size_t)(colon - rest);
    }
    if (n == 0 || n >= hcap || strlen(colon + 1) >= pcap)
        return -1;
    memcpy(host, rest, n);
    host[n] = 0;
    snprintf(port, pcap, "%s", colon + 1);
    return 0;
}

static int loopback_host(const char *host)
{
    struct in_addr a4;
    struct in6_addr a6;
    if (!strcmp(host, "localhost"))
        return 1;
    if (inet_pton(AF_INET, host, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, host, &a6) == 1)
        return IN6_IS_ADDR_LOOPBACK(&a6) || (IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127);
    return 0;
}

int lmdm_spawn_local(const char *address, char *err, size_t cap)
{
    char host[256], port[8];
    long p;
    char *end;
    if (split_address(address, host, sizeof host, port, sizeof port)) {
        snprintf(err, cap, "spawn: '%s' is not tcp://HOST:PORT (a worker the patch starts listens on tcp)", address);
        return -1;
    }
    p = strtol(port, &end, 10);
    if (*end || p < 1 || p > 65535) {
        snprintf(err, cap, "spawn: '%s' needs a fixed port 1..65535", address);
        return -1;
    }
    if (!loopback_host(host)) {
        snprintf(err, cap, "spawn: %s is not a loopback address (127.0.0.0/8, ::1, localhost): a remote worker is "
                           "started on its own machine (lmdm serve), never from the patch", address);
        return -1;
    }
    return 0;
}

/* Does anything accept connections there? Then it is used, and no worker is started. */
static int answers(const lmdm_spawner *s)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res, *ai;
    int found = 0;
    if (getaddrinfo(s->host, s->port, &hints, &res))
        return 0;
    for (ai = res; ai && !found; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        if (fd < 0)
            continue;
        fcntl(fd, F_SETFD, FD_CLOEXEC);
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
            found = 1;
        else if (errno == EINPROGRESS) {
            struct pollfd pf = {.fd = fd, .events = POLLOUT};
            int e = 0;
            socklen_t len = sizeof e;
            if (poll(&pf, 1, PROBE_MS) == 1 && !getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len) && e == 0)
                found = 1;
        }
        close(fd);
    }
    freeaddrinfo(res);
    return found;
}

/* --- the child ---------------------------------------------------------------------------------------------------- */

static int looks_like_error(const char *line)
{
    return strcasestr(line, "error") || strstr(line, "Traceback") || strstr(line, "Exception")
           || strstr(line, "WARNING");
}

typedef struct {
    char buf[2048];
    size_t have;
    int seen;          /* lines of this start */
} lines_in;

static void take_line(lmdm_spawner *s, lines_in *in, const char *line)
{
    int err = looks_like_error(line);
    if (in->seen++ < LMDM_SPAWN_FIRST_LINES || err)
        say(s, err && !strstr(line, "WARNING"), "worker: %s", line);
}

/* Split what was read into lines; a line longer than the buffer comes in pieces. */
static void take_bytes(lmdm_spawner *s, lines_in *in, const char *data, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = data[i];
        if (c == '\n' || in->have == sizeof in->buf - 1) {
            in->buf[in->have] = 0;
            if (in->have && in->buf[in->have - 1] == '\r')
                in->buf[--in->have] = 0;
            if (in->have)
                take_line(s, in, in->buf);
            in->have = 0;
            if (c == '\n')
                continue;
        }
        in->buf[in->have++] = c;
    }
}

/* Read whatever the pipe holds now; 1 at end of file. */
static int drain_pipe(lmdm_spawner *s, lines_in *in, int fd)
{
    char chunk[4096];
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof chunk);
        if (n > 0)
            take_bytes(s, in, chunk, (size_t)n);
        else if (n == 0)
            return 1;
        else
            return errno != EAGAIN && errno != EINTR;
    }
}

/* posix_spawnp of the command + `--zmq ADDRESS --exit-with-parent`, in its own process group, stdout and stderr into
 * one pipe, signals back to their defaults (Pd's ignored ones would be inherited), Python unbuffered so lines come as
 * they are written. Returns the pid, or -1 with the reason posted. */
static pid_t start_child(lmdm_spawner *s, int *fd_out)
{
    char cmd[LMDM_SPAWN_CMD_MAX], shown[LMDM_SPAWN_CMD_MAX + 300];
    char *argv[LMDM_SPAWN_WORDS + 4];
    char **envp;
    int argc = 0, nwords, nenv = 0, p[2], rc;
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    sigset_t none, all;
    pid_t pid = -1;

    pthread_mutex_lock(&s->lock);
    memcpy(cmd, s->cmd, sizeof cmd);
    nwords = s->nwords;
    pthread_mutex_unlock(&s->lock);
    for (char *w = cmd; argc < nwords; w += strlen(w) + 1)
        argv[argc++] = w;
    argv[argc++] = "--zmq";
    argv[argc++] = s->address;
    argv[argc++] = "--exit-with-parent";
    argv[argc] = NULL;
    shown[0] = 0;
    for (int i = 0; i < argc; i++)
        snprintf(shown + strlen(shown), sizeof shown - strlen(shown), "%s%s", i ? " " : "", argv[i]);

    while (environ[nenv])
        nenv++;
    envp = calloc((size_t)nenv + 2, sizeof *envp);
    if (!envp || pipe(p)) {
        free(envp);
        say(s, 1, "spawn: cannot start %s: %s", argv[0], strerror(errno));
        return -1;
    }
    /* close-on-exec, so no other child keeps the pipe open (the child's copies are the dup2'ed 1 and 2) */
    fcntl(p[0], F_SETFD, FD_CLOEXEC);
    fcntl(p[1], F_SETFD, FD_CLOEXEC);
    memcpy(envp, environ, sizeof *envp * (size_t)nenv);
    envp[nenv] = "PYTHONUNBUFFERED=1";

    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, p[1], 1);
    posix_spawn_file_actions_adddup2(&fa, p[1], 2);
    posix_spawnattr_init(&attr);
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    posix_spawnattr_setpgroup(&attr, 0);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &all);
    rc = posix_spawnp(&pid, argv[0], &fa, &attr, argv, envp);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    free(envp);
    close(p[1]);
    if (rc) {
        close(p[0]);
        say(s, 1, "spawn: cannot start %s: %s (set the command with `spawncmd`)", argv[0], strerror(rc));
        return -1;
    }
    fcntl(p[0], F_SETFL, fcntl(p[0], F_GETFL) | O_NONBLOCK);
    *fd_out = p[0];
    atomic_store(&s->pid, (int)pid);
    atomic_fetch_add(&s->starts, 1);
    say(s, 0, "spawn: started worker pid %d: %s", (int)pid, shown);
    return pid;
}

/* Relay the child's output until it exits; on quit, SIGTERM the group, SIGKILL it after the grace time. Returns the
 * wait status. */
static int supervise(lmdm_spawner *s, pid_t pid, int fd)
{
    lines_in in = {.have = 0, .seen = 0};
    double term_at = -1;
    int status = 0, killed = 0;
    for (;;) {
        if (atomic_load(&s->quit) && term_at < 0) {
            kill(-pid, SIGTERM);
            term_at = now_s();
        }
        if (term_at >= 0 && !killed && now_s() - term_at > TERM_GRACE_S) {
            kill(-pid, SIGKILL);
            killed = 1;
        }
        if (fd >= 0) {
            struct pollfd pf = {.fd = fd, .events = POLLIN};
            if (poll(&pf, 1, TICK_MS) > 0 && drain_pipe(s, &in, fd)) {
                close(fd);
                fd = -1;
            }
        } else {
            poll(NULL, 0, TICK_MS);
        }
        if (waitpid(pid, &status, WNOHANG) == pid)
            break;
    }
    if (fd >= 0) {
        drain_pipe(s, &in, fd);   /* what it wrote before it went */
        close(fd);
    }
    if (in.have)
        take_bytes(s, &in, "\n", 1);
    if (term_at >= 0)
        kill(-pid, SIGKILL);      /* anything it left in its group */
    atomic_store(&s->pid, 0);
    return status;
}

static void describe(int status, char *dst, size_t cap)
{
    if (WIFEXITED(status))
        snprintf(dst, cap, "exit status %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(dst, cap, "killed by signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
    else
        snprintf(dst, cap, "status %d", status);
}

/* Sleep `seconds` in ticks, cut short by quit or kick. */
static void wait_out(lmdm_spawner *s, double seconds)
{
    double until = now_s() + seconds;
    while (now_s() < until && !atomic_load(&s->quit) && !atomic_exchange(&s->kick, 0))
        poll(NULL, 0, TICK_MS);
}

static void *run(void *arg)
{
    lmdm_spawner *s = arg;
    double backoff = 0;
    int told_busy = 0;
    while (!atomic_load(&s->quit)) {
        double started;
        int fd = -1, status;
        char how[96];
        pid_t pid;
        if (backoff > 0)
            wait_out(s, backoff);
        if (atomic_load(&s->quit))
            break;
        if (answers(s)) {
            if (!told_busy)
                say(s, 0, "spawn: something already answers at %s: using it, no worker started (one is when it "
                          "stops answering)", s->address);
            told_busy = 1;
            backoff = 1.0;
            continue;
        }
        told_busy = 0;
        started = now_s();
        pid = start_child(s, &fd);
        if (pid < 0) {
            backoff = backoff < BACKOFF_FIRST_S ? BACKOFF_FIRST_S : backoff * 2;
            backoff = backoff > BACKOFF_MAX_S ? BACKOFF_MAX_S : backoff;
            continue;
        }
        status = supervise(s, pid, fd);
        if (atomic_load(&s->quit))
            break;
        if (now_s() - started >= STEADY_S || backoff < BACKOFF_FIRST_S)
            backoff = BACKOFF_FIRST_S;
        else
            backoff = backoff * 2 > BACKOFF_MAX_S ? BACKOFF_MAX_S : backoff * 2;
        describe(status, how, sizeof how);
        say(s, 1, "spawn: worker pid %d stopped (%s) after %.1f s; starting it again in %.1f s", (int)pid, how,
            now_s() - started, backoff);
    }
    /* released: nobody reads the queue any more */
    lmdm_queue_free(&s->lines);
    pthread_mutex_destroy(&s->lock);
    free(s);
    return NULL;
}

/* --- the registry (main thread) ----------------------------------------------------------------------------------- */

/* Pd quitting without freeing its objects: the children go with it (the worker's --exit-with-parent covers a kill). */
static void stop_all_at_exit(void)
{
    for (lmdm_spawner *s = registry; s; s = s->next) {
        int pid = atomic_load(&s->pid);
        atomic_store(&s->quit, 1);
        if (pid > 0)
            kill(-pid, SIGTERM);
    }
}

int lmdm_spawner_set_command(lmdm_spawner *s, int argc, const char *const *words)
{
    char cmd[LMDM_SPAWN_CMD_MAX];
    size_t at = 0;
    if (argc < 1 || argc > LMDM_SPAWN_WORDS)
        return -1;
    for (int i = 0; i < argc; i++) {
        size_t n = strlen(words[i]) + 1;
        if (n == 1 || at + n > sizeof cmd)
            return -1;
        memcpy(cmd + at, words[i], n);
        at += n;
    }
    pthread_mutex_lock(&s->lock);
    memcpy(s->cmd, cmd, at);
    s->nwords = argc;
    pthread_mutex_unlock(&s->lock);
    return 0;
}

lmdm_spawner *lmdm_spawner_acquire(const char *address, int argc, const char *const *words, char *err, size_t cap)
{
    static int hooked;
    lmdm_spawner *s;
    pthread_t thread;
    pthread_attr_t attr;
    if (lmdm_spawn_local(address, err, cap))
        return NULL;
    for (s = registry; s; s = s->next)
        if (!strcmp(s->address, address)) {
            s->refs++;
            return s;
        }
    s = calloc(1, sizeof *s);
    if (!s || lmdm_queue_init(&s->lines, sizeof(lmdm_spawn_line), LINES_CAP)) {
        free(s);
        snprintf(err, cap, "spawn: out of memory");
        return NULL;
    }
    snprintf(s->address, sizeof s->address, "%s", address);
    split_address(address, s->host, sizeof s->host, s->port, sizeof s->port);
    pthread_mutex_init(&s->lock, NULL);
    if (lmdm_spawner_set_command(s, argc, words)) {
        snprintf(err, cap, "spawn: the command needs 1..%d words, %d bytes in all", LMDM_SPAWN_WORDS,
                 LMDM_SPAWN_CMD_MAX);
        goto fail;
    }
    /* Detached: the last release must not wait for a worker's shutdown on Pd's main thread (it runs the DSP). */
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&thread, &attr, run, s)) {
        pthread_attr_destroy(&attr);
        snprintf(err, cap, "spawn: cannot start the spawner thread");
        goto fail;
    }
    pthread_attr_destroy(&attr);
    if (!hooked)
        hooked = !atexit(stop_all_at_exit);
    s->refs = 1;
    s->next = registry;
    registry = s;
    return s;
fail:
    pthread_mutex_destroy(&s->lock);
    lmdm_queue_free(&s->lines);
    free(s);
    return NULL;
}

void lmdm_spawner_release(lmdm_spawner *s)
{
    int pid;
    if (--s->refs > 0)
        return;
    for (lmdm_spawner **p = &registry; *p; p = &(*p)->next)
        if (*p == s) {
            *p = s->next;
            break;
        }
    /* SIGTERM now, so a Pd that quits right after leaves nothing; the thread reaps, SIGKILLs if need be, frees. */
    pid = atomic_load(&s->pid);
    atomic_store(&s->quit, 1);
    if (pid > 0)
        kill(-pid, SIGTERM);
}

void lmdm_spawner_kick(lmdm_spawner *s)
{
    atomic_store(&s->kick, 1);
}

int lmdm_spawner_pid(lmdm_spawner *s)
{
    return atomic_load(&s->pid);
}

int lmdm_spawner_starts(lmdm_spawner *s)
{
    return atomic_load(&s->starts);
}

int lmdm_spawner_pop(lmdm_spawner *s, lmdm_spawn_line *line)
{
    return lmdm_queue_pop(&s->lines, line);
}

const char *lmdm_spawner_address(const lmdm_spawner *s)
{
    return s->address;
}

#else /* _WIN32: no process groups or posix_spawn; the worker is started by hand (or as a service) there */

static const char *no_windows = "spawn: not available on Windows yet: start `lmdm serve` yourself";

int lmdm_spawn_local(const char *address, char *err, size_t cap)
{
    (void)address;
    snprintf(err, cap, "%s", no_windows);
    return -1;
}

lmdm_spawner *lmdm_spawner_acquire(const char *address, int argc, const char *const *words, char *err, size_t cap)
{
    (void)argc, (void)words;
    lmdm_spawn_local(address, err, cap);
    return NULL;
}

void lmdm_spawner_release(lmdm_spawner *s) { (void)s; }
int lmdm_spawner_set_command(lmdm_spawner *s, int argc, const char *const *words) { (void)s, (void)argc, (void)words; return -1; }
void lmdm_spawner_kick(lmdm_spawner *s) { (void)s; }
int lmdm_spawner_pid(lmdm_spawner *s) { (void)s; return 0; }
int lmdm_spawner_starts(lmdm_spawner *s) { (void)s; return 0; }
int lmdm_spawner_pop(lmdm_spawner *s, lmdm_spawn_line *line) { (void)s, (void)line; return 0; }
const char *lmdm_spawner_address(const lmdm_spawner *s) { (void)s; return ""; }

#endif
