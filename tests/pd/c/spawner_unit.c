/* Checks of bridge/pd/spawner.c without Pd, run from tests/pd/test_pd_units.py (under ASan+UBSan and TSan).
 *
 *   spawner_unit all     every check below; prints "ok" or exits 1 naming the check
 *
 * The "worker" is /bin/sh running a script: it gets `--zmq ADDRESS --exit-with-parent` appended like lmdm serve. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "spawner.h"

#define CHECK(cond) do { if (!(cond)) { fprintf(stderr, "check failed: %s (line %d)\n", #cond, __LINE__); \
                                        exit(1); } } while (0)

static const char *SCRIPT =
    "echo \"hello $1 $2 $3\"; echo 'error: something went wrong' >&2; "
    "i=0; while [ $i -lt 40 ]; do echo \"line $i\"; i=$((i+1)); done; echo 'Traceback (late)'; exec sleep 60";

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* A loopback port nothing listens on, or (listening) one something does; the socket's fd in *fd. */
static int port_on_loopback(int listening, int *fd)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    *fd = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(*fd >= 0 && bind(*fd, (struct sockaddr *)&a, sizeof a) == 0);
    CHECK(getsockname(*fd, (struct sockaddr *)&a, &len) == 0);
    if (listening)
        CHECK(listen(*fd, 4) == 0);
    else
        close(*fd);
    return ntohs(a.sin_port);
}

typedef struct {
    int lines, errors, hello, late_line, traceback, stopped_by_9, busy, cannot;
} seen;

/* Pop lines for up to `seconds` or until `done` holds. */
static void collect(lmdm_spawner *s, seen *v, double seconds, int (*done)(lmdm_spawner *, const seen *))
{
    double until = now_s() + seconds;
    while (now_s() < until && !(done && done(s, v))) {
        lmdm_spawn_line line;
        while (lmdm_spawner_pop(s, &line)) {
            v->lines++;
            v->errors += line.error;
            v->hello += strstr(line.text, "worker: hello --zmq tcp://127.0.0.1:") && strstr(line.text, "--exit-with-parent");
            v->late_line += strstr(line.text, "worker: line 30") != NULL;
            v->traceback += strstr(line.text, "worker: Traceback (late)") && line.error;
            v->stopped_by_9 += strstr(line.text, "stopped (killed by signal 9") && line.error;
            v->busy += strstr(line.text, "already answers") != NULL;
            v->cannot += strstr(line.text, "cannot start /nonexistent/lmdm") && line.error;
        }
        poll(NULL, 0, 20);
    }
}

static int got_traceback(lmdm_spawner *s, const seen *v) { (void)s; return v->traceback > 0; }
static int restarted(lmdm_spawner *s, const seen *v) { return v->stopped_by_9 && lmdm_spawner_starts(s) == 2 && lmdm_spawner_pid(s) > 0; }
static int got_busy(lmdm_spawner *s, const seen *v) { (void)s; return v->busy > 0; }
static int got_cannot(lmdm_spawner *s, const seen *v) { (void)s; return v->cannot > 0; }

static int gone(pid_t pid, double seconds)
{
    double until = now_s() + seconds;
    while (now_s() < until) {
        if (kill(pid, 0) == -1 && errno == ESRCH)   /* reaped by the spawner thread: not even a zombie */
            return 1;
        poll(NULL, 0, 20);
    }
    return 0;
}

static void test_local(void)
{
    char err[320];
    const char *good[] = {"tcp://127.0.0.1:5555", "tcp://127.1.2.3:1", "tcp://localhost:65535", "tcp://[::1]:5555"};
    const char *bad[] = {"tcp://192.168.1.2:5555", "tcp://0.0.0.0:5555", "tcp://*:5555", "tcp://example.org:5555",
                         "tcp://127.0.0.1:0", "tcp://127.0.0.1:99999", "tcp://127.0.0.1", "ipc:///tmp/lmdm",
                         "tcp://[::2]:5555", "tcp://[::1]5555", ""};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        CHECK(lmdm_spawn_local(good[i], err, sizeof err) == 0);
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        CHECK(lmdm_spawn_local(bad[i], err, sizeof err) == -1 && strncmp(err, "spawn: ", 7) == 0);
    CHECK(lmdm_spawn_local("tcp://10.1.1.1:5555", err, sizeof err) == -1 && strstr(err, "not a loopback address"));
    CHECK(lmdm_spawner_acquire("tcp://10.1.1.1:5555", 1, (const char *[]){"/bin/true"}, err, sizeof err) == NULL);
}

static void test_lifecycle(void)
{
    char address[64], err[320];
    const char *words[] = {"/bin/sh", "-c", SCRIPT, "sh"};
    lmdm_spawner *a, *b;
    seen v = {0};
    int fd;
    pid_t first, second;
    snprintf(address, sizeof address, "tcp://127.0.0.1:%d", port_on_loopback(0, &fd));
    a = lmdm_spawner_acquire(address, 4, words, err, sizeof err);
    CHECK(a != NULL);
    b = lmdm_spawner_acquire(address, 1, (const char *[]){"/bin/false"}, err, sizeof err);
    CHECK(b == a);                                      /* shared, and the first command stays */
    collect(a, &v, 20, got_traceback);
    CHECK(v.hello == 1);                                /* the appended options reached the child */
    CHECK(v.errors >= 2);                               /* its error line and the late traceback */
    CHECK(v.late_line == 0);                            /* past the first lines only errors are posted */
    CHECK(v.traceback == 1);
    first = lmdm_spawner_pid(a);
    CHECK(first > 0 && lmdm_spawner_starts(a) == 1);
    CHECK(kill(first, SIGKILL) == 0);
    collect(a, &v, 20, restarted);
    second = lmdm_spawner_pid(a);
    CHECK(v.stopped_by_9 == 1 && lmdm_spawner_starts(a) == 2 && second > 0 && second != first);
    CHECK(gone(first, 5));
    lmdm_spawner_release(b);
    poll(NULL, 0, 300);
    CHECK(kill(second, 0) == 0);                        /* one user left: still running */
    lmdm_spawner_release(a);
    CHECK(gone(second, 6));                             /* the last one stops it */
}

static void test_busy_and_bad_command(void)
{
    char address[64], err[320];
    lmdm_spawner *s;
    seen v = {0};
    int fd;
    snprintf(address, sizeof address, "tcp://127.0.0.1:%d", port_on_loopback(1, &fd));
    s = lmdm_spawner_acquire(address, 1, (const char *[]){"/bin/sleep"}, err, sizeof err);
    CHECK(s != NULL);
    collect(s, &v, 10, got_busy);
    CHECK(v.busy == 1 && lmdm_spawner_pid(s) == 0 && lmdm_spawner_starts(s) == 0);
    lmdm_spawner_release(s);
    close(fd);

    memset(&v, 0, sizeof v);
    snprintf(address, sizeof address, "tcp://127.0.0.1:%d", port_on_loopback(0, &fd));
    s = lmdm_spawner_acquire(address, 1, (const char *[]){"/nonexistent/lmdm"}, err, sizeof err);
    CHECK(s != NULL);
    collect(s, &v, 10, got_cannot);
    CHECK(v.cannot == 1 && lmdm_spawner_starts(s) == 0);
    CHECK(lmdm_spawner_set_command(s, 0, NULL) == -1);
    CHECK(lmdm_spawner_set_command(s, 1, (const char *[]){""}) == -1);
    CHECK(lmdm_spawner_set_command(s, 1, (const char *[]){"/bin/true"}) == 0);
    lmdm_spawner_release(s);
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "all")) {
        fprintf(stderr, "usage: spawner_unit all\n");
        return 2;
    }
    test_local();
    test_lifecycle();
    test_busy_and_bad_command();
    poll(NULL, 0, 500);   /* the released spawners' threads finish and free themselves */
    printf("ok\n");
    return 0;
}
