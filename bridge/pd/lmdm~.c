/* lmdm~: Pure Data frontend of the lmdm worker (docs/pd.md, docs/protocol.md).
 *
 *   [lmdm~ <in channels> <out channels> <address> <stream> -buffer <frames> -mode <mode> -block-size long|short
 *          -noconnect -spawn
 *          -curve <server public> <client public> <client secret> | -curve-dir <client folder>]
 *
 * Signal inlets go to the worker, signal outlets play what it generated, at the sample index it stated; the last
 * outlet reports status. This file only speaks Pd: the audio path is link.c, the network thread net.c, the worker a
 * patch starts itself (-spawn, `spawn`, `spawncmd`) spawner.c. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "m_pd.h"
#include "curve.h"
#include "link.h"
#include "spawner.h"

#define DEFAULT_ADDRESS "tcp://127.0.0.1:5555"
#define DEFAULT_BUFFER 262144   /* frames per channel each way: ~6 s at 44.1 kHz, room for long model latencies */
#define DRAIN_MS 10

static t_class *lmdm_class;
static int lmdm_instances;

typedef struct {
    t_object obj;
    t_sample f;                   /* CLASS_MAINSIGNALIN scalar */
    lmdm_link link;
    int ok;
    t_clock *drain;
    t_outlet *info;
    char address[LMDM_ADDR_MAX];
    t_canvas *canvas;             /* relative -curve-dir paths start at the patch's folder */
    int curve_on;
    lmdm_msg welcome;             /* last welcome, kept for `bang` */
    int welcomed;
    t_sample **ins, **outs;
    lmdm_spawner *spawner;        /* shared with every lmdm~ spawning for the same address */
    int spawn_pending;            /* -spawn: started from the first clock tick, after loadbang's `spawncmd` */
    char spawncmd[LMDM_SPAWN_CMD_MAX];   /* `spawncmd` words separated by NULs; none = the default command */
    int spawncmd_n;
} t_lmdm;

static void out_float(t_lmdm *x, const char *sel, double v)
{
    t_atom a;
    SETFLOAT(&a, (t_float)v);
    outlet_anything(x->info, gensym(sel), 1, &a);
}

static void out_symbol(t_lmdm *x, const char *sel, const char *s)
{
    t_atom a;
    SETSYMBOL(&a, gensym(s));
    outlet_anything(x->info, gensym(sel), 1, &a);
}

static void report_welcome(t_lmdm *x)
{
    const lmdm_msg *w = &x->welcome;
    t_atom a[4];
    SETSYMBOL(&a[0], gensym(w->model.name[0] ? w->model.name : "?"));
    SETSYMBOL(&a[1], gensym(w->model.kind[0] ? w->model.kind : "?"));
    SETFLOAT(&a[2], (t_float)w->model.sample_rate);
    SETFLOAT(&a[3], (t_float)w->model.channels);
    outlet_anything(x->info, gensym("model"), 4, a);
    out_symbol(x, "mode", w->mode[0] ? w->mode : "?");
    out_symbol(x, "block_size", w->block_size[0] ? w->block_size : "?");
    out_float(x, "latency", (double)w->latency);
    out_float(x, "block", (double)w->block);
}

static void on_event(t_lmdm *x, const lmdm_event *ev)
{
    const lmdm_msg *m = &ev->msg;
    t_atom a[8];
    switch (ev->kind) {
    case LMDM_EV_POST:
        post("lmdm~: %s", ev->text);
        break;
    case LMDM_EV_ERROR:
        pd_error(x, "lmdm~: %s", ev->text);
        break;
    case LMDM_EV_WELCOME:
        x->welcome = *m;
        x->welcomed = 1;
        post("lmdm~: connected to %s as '%s': model %s, latency %lld samples, block %lld, block_size %s (model "
             "streams %s)", x->address, m->stream, m->model.name, (long long)m->latency, (long long)m->block,
             m->block_size[0] ? m->block_size : "?", m->model.block_sizes[0] ? m->model.block_sizes : "?");
        report_welcome(x);
        break;
    case LMDM_EV_CONNECTED:
        out_float(x, "connected", ev->state);
        break;
    case LMDM_EV_STATUS:
        SETFLOAT(&a[0], (t_float)m->compute_ms);
        SETFLOAT(&a[1], (t_float)m->compute_ms_avg);
        SETFLOAT(&a[2], (t_float)m->queue);
        SETFLOAT(&a[3], (t_float)m->underruns);
        SETFLOAT(&a[4], (t_float)m->gaps);
        SETFLOAT(&a[5], (t_float)m->blocks);
        SETFLOAT(&a[6], (t_float)m->latency);
        outlet_anything(x->info, gensym("worker"), 7, a);
        SETFLOAT(&a[0], (t_float)m->late_frames);   /* as OSC's /lmdm/health */
        SETFLOAT(&a[1], (t_float)m->recoveries);
        SETFLOAT(&a[2], (t_float)m->clipped);
        outlet_anything(x->info, gensym("health"), 3, a);
        break;
    case LMDM_EV_ACK: {
        char *end;
        double v = strtod(m->value, &end);
        SETSYMBOL(&a[0], gensym(m->name));
        if (m->value[0] && !*end)   /* numbers stay numbers, for number boxes and [route] */
            SETFLOAT(&a[1], (t_float)v);
        else
            SETSYMBOL(&a[1], gensym(m->value));
        outlet_anything(x->info, gensym("ack"), 2, a);
        break;
    }
    case LMDM_EV_WORKER_ERROR:
        SETSYMBOL(&a[0], gensym(m->code));
        SETSYMBOL(&a[1], gensym(m->text));
        outlet_anything(x->info, gensym("error"), 2, a);
        break;
    }
}

/* --- the worker the patch starts (spawner.h, docs/pd.md "The patch starts the worker") --------------------------- */

static char lmdm_dir[MAXPDSTRING];   /* the folder lmdm~ was loaded from */

static int executable(const char *path)
{
    return access(path, X_OK) == 0;
}

/* The default worker command's program: the checkout's own `lmdm` (../../.venv/bin/lmdm from bridge/pd), else `lmdm`
 * on PATH, else ~/.local/bin/lmdm (pip --user; a Pd started from a desktop menu may lack it on PATH), else plain
 * `lmdm`, whose failure to start is then posted. */
static void default_program(char *dst, size_t cap)
{
    const char *path = getenv("PATH"), *home = getenv("HOME");
    char venv[MAXPDSTRING], real[PATH_MAX];
    snprintf(venv, sizeof venv, "%s/../../.venv/bin/lmdm", lmdm_dir);
    if (lmdm_dir[0] && executable(venv)) {
#ifdef _WIN32
        snprintf(dst, cap, "%s", venv);   /* (spawning refuses on Windows anyway: spawner.c) */
        (void)real;
#else
        snprintf(dst, cap, "%s", realpath(venv, real) ? real : venv);   /* posted: without the ../.. */
#endif
        return;
    }
    while (path && *path) {
        size_t n = strcspn(path, ":");
        snprintf(dst, cap, "%.*s/lmdm", (int)n, path);
        if (n && executable(dst))
            return;
        path += n + (path[n] == ':');
    }
    snprintf(dst, cap, "%s/.local/bin/lmdm", home ? home : "");
    if (home && executable(dst))
        return;
    snprintf(dst, cap, "lmdm");
}

/* The object's command as words: its `spawncmd`, or the default `<lmdm> serve`. */
static int spawn_words(t_lmdm *x, const char **words, char *program, size_t cap)
{
    if (x->spawncmd_n) {
        const char *w = x->spawncmd;
        for (int i = 0; i < x->spawncmd_n; w += strlen(w) + 1)
            words[i++] = w;
        return x->spawncmd_n;
    }
    default_program(program, cap);
    words[0] = program;
    words[1] = "serve";
    return 2;
}

static void spawn_start(t_lmdm *x)
{
    const char *words[LMDM_SPAWN_WORDS];
    char program[MAXPDSTRING], err[320];
    int n;
    x->spawn_pending = 0;
    if (x->spawner) {
        int pid = lmdm_spawner_pid(x->spawner);
        if (pid)
            post("lmdm~: spawn: worker pid %d runs for %s", pid, x->address);
        else
            lmdm_spawner_kick(x->spawner);   /* waiting out a restart backoff: start now */
        return;
    }
    n = spawn_words(x, words, program, sizeof program);
    x->spawner = lmdm_spawner_acquire(x->address, n, words, err, sizeof err);
    if (!x->spawner)
        pd_error(x, "lmdm~: %s", err);
}

static void spawn_stop(t_lmdm *x)
{
    if (x->spawner)
        lmdm_spawner_release(x->spawner);
    x->spawner = NULL;
}

/* [spawn( : start the worker for this object's address now (or say that it runs). */
static void lmdm_spawn(t_lmdm *x)
{
    spawn_start(x);
}

/* [spawncmd /path/to/lmdm serve --model loopback( : the command of the next start; `--zmq ADDRESS
 * --exit-with-parent` are appended. [spawncmd( alone: back to the default. */
static void lmdm_spawncmd(t_lmdm *x, t_symbol *s, int argc, t_atom *argv)
{
    size_t at = 0;
    (void)s;
    if (argc > LMDM_SPAWN_WORDS) {
        pd_error(x, "lmdm~: spawncmd takes at most %d words", LMDM_SPAWN_WORDS);
        return;
    }
    for (int i = 0; i < argc; i++) {
        char word[MAXPDSTRING];
        size_t n;
        atom_string(argv + i, word, sizeof word);
        n = strlen(word) + 1;
        if (at + n > sizeof x->spawncmd) {
            pd_error(x, "lmdm~: spawncmd is over %d bytes", LMDM_SPAWN_CMD_MAX);
            return;
        }
        memcpy(x->spawncmd + at, word, n);
        at += n;
    }
    x->spawncmd_n = argc;
    if (x->spawner) {
        const char *words[LMDM_SPAWN_WORDS];
        char program[MAXPDSTRING];
        lmdm_spawner_set_command(x->spawner, spawn_words(x, words, program, sizeof program), words);
        post("lmdm~: spawncmd: the next start of the worker for %s uses it", x->address);
    }
}

static void drain_spawner(t_lmdm *x)
{
    lmdm_spawn_line line;
    if (x->spawn_pending)
        spawn_start(x);
    while (x->spawner && lmdm_spawner_pop(x->spawner, &line)) {
        if (line.error)
            pd_error(x, "lmdm~: %s", line.text);
        else
            post("lmdm~: %s", line.text);
    }
}

static void lmdm_drain(t_lmdm *x)
{
    lmdm_event ev;
    drain_spawner(x);
    while (lmdm_queue_pop(&x->link.events, &ev))
        on_event(x, &ev);
    clock_delay(x->drain, DRAIN_MS);
}

static void command(t_lmdm *x, lmdm_cmd *c)
{
    if (!x->ok)
        return;
    if (!lmdm_link_command(&x->link, c))
        pd_error(x, "lmdm~: command queue full, message dropped");
}

static void lmdm_bang(t_lmdm *x)
{
    lmdm_link *l = &x->link;
    int64_t clock = atomic_load(&l->clock);
    t_atom a[2];
    lmdm_cmd c = {.kind = LMDM_CMD_STATUS};
    out_float(x, "connected", atomic_load(&l->connected));
    out_symbol(x, "address", x->address);
    out_symbol(x, "stream", l->stream);
    out_float(x, "curve", x->curve_on);
    if (x->spawner) {   /* spawn <pid, 0 while none runs> <starts so far> */
        t_atom p[2];
        SETFLOAT(&p[0], (t_float)lmdm_spawner_pid(x->spawner));
        SETFLOAT(&p[1], (t_float)lmdm_spawner_starts(x->spawner));
        outlet_anything(x->info, gensym("spawn"), 2, p);
    }
    if (x->welcomed)
        report_welcome(x);
    out_float(x, "underruns", (double)atomic_load(&l->underruns));
    out_float(x, "late", (double)atomic_load(&l->late_frames));
    /* queue: input frames not yet sent, generated frames buffered ahead of the clock */
    SETFLOAT(&a[0], (t_float)(clock - atomic_load(&l->in_sent)));
    {
        int64_t ahead = atomic_load(&l->out_end) - clock;
        SETFLOAT(&a[1], (t_float)(ahead > 0 ? ahead : 0));
    }
    outlet_anything(x->info, gensym("queue"), 2, a);
    out_float(x, "clock", (double)clock);
    {
        /* how far ahead of its play position generated audio arrived, in samples: min avg max count */
        int64_t count = atomic_load(&l->lead_count);
        t_atom b[4];
        SETFLOAT(&b[0], (t_float)(count ? atomic_load(&l->lead_min) : 0));
        SETFLOAT(&b[1], (t_float)(count ? (double)atomic_load(&l->lead_sum) / (double)count : 0));
        SETFLOAT(&b[2], (t_float)(count ? atomic_load(&l->lead_max) : 0));
        SETFLOAT(&b[3], (t_float)count);
        outlet_anything(x->info, gensym("lead"), 4, b);
        atomic_store(&l->lead_reset, 1);
    }
    if (atomic_load(&l->connected))
        command(x, &c);   /* the worker's own figures follow as `worker ...` */
}

static void lmdm_connect(t_lmdm *x, t_symbol *s, int argc, t_atom *argv)
{
    lmdm_cmd c = {.kind = LMDM_CMD_CONNECT};
    (void)s;
    if (argc > 0 && argv[0].a_type == A_SYMBOL && strcmp(x->address, atom_getsymbol(argv)->s_name)) {
        snprintf(x->address, sizeof x->address, "%s", atom_getsymbol(argv)->s_name);
        if (x->spawner) {   /* the worker it started belongs to the old address; one is started for the new */
            spawn_stop(x);
            spawn_start(x);
        }
    }
    snprintf(c.text, sizeof c.text, "%s", x->address);
    command(x, &c);
}

static void lmdm_disconnect(t_lmdm *x)
{
    lmdm_cmd c = {.kind = LMDM_CMD_DISCONNECT};
    command(x, &c);
}

static void lmdm_reset(t_lmdm *x)
{
    lmdm_cmd c = {.kind = LMDM_CMD_RESET};
    command(x, &c);
}

/* CURVE keys from three Z85 atoms or a client folder (relative to the patch); 0 atoms turn CURVE off. On success
 * `c` is the network thread's CURVE command; on failure the reason is posted and nothing changes. */
static int curve_command(t_lmdm *x, int argc, t_atom *argv, lmdm_cmd *c)
{
    lmdm_curve k;
    char err[200], dir[MAXPDSTRING];
    memset(c, 0, sizeof *c);
    c->kind = LMDM_CMD_CURVE;
    for (int i = 0; i < argc; i++)
        if (argv[i].a_type != A_SYMBOL) {
            pd_error(x, "lmdm~: curve takes symbols: three Z85 keys or a folder (a key that Pd reads as a number "
                        "or that holds $: use the folder from `lmdm keys new DIR --client NAME`)");
            return -1;
        }
    if (argc == 0)
        return 0;
    if (!lmdm_curve_available()) {
        pd_error(x, "lmdm~: this libzmq has no CURVE support (zmq_has(\"curve\") is 0)");
        return -1;
    }
    if (argc == 1) {
        const char *d = atom_getsymbol(argv)->s_name;
        if (d[0] == '/' || !x->canvas)
            snprintf(dir, sizeof dir, "%s", d);
        else
            snprintf(dir, sizeof dir, "%s/%s", canvas_getdir(x->canvas)->s_name, d);
        if (lmdm_curve_from_dir(&k, dir, err, sizeof err)) {
            pd_error(x, "lmdm~: %s", err);
            return -1;
        }
    } else if (argc != 3 || lmdm_curve_from_keys(&k, atom_getsymbol(argv)->s_name, atom_getsymbol(argv + 1)->s_name,
                                                 atom_getsymbol(argv + 2)->s_name, err, sizeof err)) {
        pd_error(x, "lmdm~: %s", argc != 3 ? "usage: curve <server public> <client public> <client secret>, "
                                             "curve <folder>, or curve (off)" : err);
        return -1;
    }
    snprintf(c->text, sizeof c->text, "%s %s %s", k.server, k.public_key, k.secret_key);
    return 0;
}

/* [curve S P SEC( / [curve keys/clients/studio( / [curve( (off): reconnects with the new keys if connected */
static void lmdm_curve_msg(t_lmdm *x, t_symbol *s, int argc, t_atom *argv)
{
    lmdm_cmd c;
    (void)s;
    if (curve_command(x, argc, argv, &c))
        return;
    x->curve_on = c.text[0] != 0;
    command(x, &c);
}

/* Atoms joined with spaces, as a prompt or a string parameter. */
static void join_atoms(int argc, t_atom *argv, char *dst, size_t cap)
{
    dst[0] = 0;
    for (int i = 0; i < argc; i++) {
        char word[MAXPDSTRING];
        atom_string(argv + i, word, sizeof word);
        if (i)
            strncat(dst, " ", cap - strlen(dst) - 1);
        strncat(dst, word, cap - strlen(dst) - 1);
    }
}

static void send_param(t_lmdm *x, const char *name, int argc, t_atom *argv)
{
    lmdm_cmd c;
    memset(&c, 0, sizeof c);
    snprintf(c.name, sizeof c.name, "%s", name);
    if (argc == 1 && argv[0].a_type == A_FLOAT) {
        c.kind = LMDM_CMD_PARAM_NUM;
        c.num = atom_getfloat(argv);
    } else if (argc >= 1) {
        c.kind = LMDM_CMD_PARAM_STR;
        join_atoms(argc, argv, c.text, sizeof c.text);
    } else {
        pd_error(x, "lmdm~: '%s' needs a value", name);
        return;
    }
    command(x, &c);
}

static void lmdm_prompt(t_lmdm *x, t_symbol *s, int argc, t_atom *argv)
{
    lmdm_cmd c = {.kind = LMDM_CMD_PARAM_STR};
    (void)s;
    snprintf(c.name, sizeof c.name, "prompt");
    join_atoms(argc, argv, c.text, sizeof c.text);
    command(x, &c);
}

static void lmdm_mode(t_lmdm *x, t_symbol *s)
{
    lmdm_cmd c = {.kind = LMDM_CMD_MODE};
    snprintf(c.text, sizeof c.text, "%s", s->s_name);
    command(x, &c);
}

static int valid_block_size(t_lmdm *x, const char *s)
{
    if (!strcmp(s, "long") || !strcmp(s, "short"))
        return 1;
    pd_error(x, "lmdm~: block_size is long or short (short: lower latency, for a model trained for it), not '%s'", s);
    return 0;
}

/* A new hello for the session: the worker takes the block size only there. */
static void lmdm_block_size(t_lmdm *x, t_symbol *s)
{
    lmdm_cmd c = {.kind = LMDM_CMD_BLOCK_SIZE};
    if (!valid_block_size(x, s->s_name))
        return;
    snprintf(c.text, sizeof c.text, "%s", s->s_name);
    command(x, &c);
}

/* `param name value...`, and any other selector as a parameter name: [cfg 3( [steps 8( [mix 0.5( */
static void lmdm_param(t_lmdm *x, t_symbol *s, int argc, t_atom *argv)
{
    (void)s;
    if (argc < 2 || argv[0].a_type != A_SYMBOL) {
        pd_error(x, "lmdm~: usage: param <name> <value>");
        return;
    }
    send_param(x, atom_getsymbol(argv)->s_name, argc - 1, argv + 1);
}

static void lmdm_anything(t_lmdm *x, t_symbol *s, int argc, t_atom *argv)
{
    send_param(x, s->s_name, argc, argv);
}

static t_int *lmdm_perform(t_int *w)
{
    t_lmdm *x = (t_lmdm *)w[1];
    int n = (int)w[2];
    lmdm_link_process(&x->link, x->ins, x->outs, n);
    return w + 3;
}

/* Used when the link could not start or the block is too large: silence out, nothing else. */
static t_int *lmdm_perform_silent(t_int *w)
{
    t_lmdm *x = (t_lmdm *)w[1];
    int n = (int)w[2];
    for (int c = 0; c < x->link.out_ch; c++)
        memset(x->outs[c], 0, sizeof(t_sample) * (size_t)n);
    return w + 3;
}

static void lmdm_dsp(t_lmdm *x, t_signal **sp)
{
    int n = sp[0]->s_n;
    for (int c = 0; c < x->link.in_ch; c++)
        x->ins[c] = sp[c]->s_vec;
    for (int c = 0; c < x->link.out_ch; c++)
        x->outs[c] = sp[x->link.in_ch + c]->s_vec;
    if (!x->ok || n > LMDM_MAX_PD_BLOCK) {
        if (x->ok)
            pd_error(x, "lmdm~: Pd blocks of %d samples are over the %d this object handles: silent", n,
                     LMDM_MAX_PD_BLOCK);
        dsp_add(lmdm_perform_silent, 2, x, (t_int)n);
        return;
    }
    atomic_store(&x->link.rate, (int)sp[0]->s_sr);
    dsp_add(lmdm_perform, 2, x, (t_int)n);
}

static int valid_stream(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > LMDM_STREAM_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9')
              || s[i] == '_' || s[i] == '-'))
            return 0;
    return 1;
}

typedef struct {
    int in_ch, out_ch, autoconnect, spawn;
    long buffer;
    const char *address, *stream, *mode, *block_size;
    int curve_at, curve_n;   /* the -curve / -curve-dir atoms in argv */
} lmdm_args;

static int parse_args(t_lmdm *x, int argc, t_atom *argv, lmdm_args *a)
{
    int nfloat = 0, nsym = 0;
    *a = (lmdm_args){2, 2, 1, 0, DEFAULT_BUFFER, DEFAULT_ADDRESS, NULL, NULL, NULL, 0, 0};
    for (int i = 0; i < argc; i++) {
        const char *s = argv[i].a_type == A_SYMBOL ? atom_getsymbol(argv + i)->s_name : NULL;
        if (s && !strcmp(s, "-noconnect"))
            a->autoconnect = 0;
        else if (s && !strcmp(s, "-spawn"))
            a->spawn = 1;
        else if (s && !strcmp(s, "-buffer") && i + 1 < argc)
            a->buffer = (long)atom_getfloat(argv + ++i);
        else if (s && !strcmp(s, "-mode") && i + 1 < argc)
            a->mode = atom_getsymbol(argv + ++i)->s_name;
        else if (s && !strcmp(s, "-block-size") && i + 1 < argc) {
            a->block_size = atom_getsymbol(argv + ++i)->s_name;
            if (!valid_block_size(x, a->block_size))
                return -1;
        }
        else if (s && (!strcmp(s, "-curve") || !strcmp(s, "-curve-dir"))) {
            a->curve_at = i + 1;
            a->curve_n = !strcmp(s, "-curve") ? 3 : 1;
            if (i + a->curve_n >= argc) {
                pd_error(x, "lmdm~: %s", a->curve_n == 3 ? "-curve takes <server public> <client public> <client "
                                                           "secret>" : "-curve-dir takes a folder");
                return -1;
            }
            i += a->curve_n;
        } else if (s && s[0] == '-') {
            pd_error(x, "lmdm~: unknown flag %s (flags: -buffer <frames>, -mode <mode>, -block-size long|short, "
                        "-noconnect, -spawn, -curve <3 keys>, -curve-dir <folder>)", s);
            return -1;
        } else if (!s && nfloat == 0)
            a->in_ch = (int)atom_getfloat(argv + i), nfloat++;
        else if (!s && nfloat == 1)
            a->out_ch = (int)atom_getfloat(argv + i), nfloat++;
        else if (s && nsym == 0)
            a->address = s, nsym++;
        else if (s && nsym == 1)
            a->stream = s, nsym++;
        else {
            pd_error(x, "lmdm~: too many arguments; usage: lmdm~ <in> <out> <address> <stream>");
            return -1;
        }
    }
    if (a->in_ch < 1 || a->in_ch > LMDM_MAX_CHANNELS || a->out_ch < 1 || a->out_ch > LMDM_MAX_CHANNELS) {
        pd_error(x, "lmdm~: channels must be 1..%d in and out", LMDM_MAX_CHANNELS);
        return -1;
    }
    if (a->stream && !valid_stream(a->stream)) {
        pd_error(x, "lmdm~: stream id '%s' must be 1..64 characters of A-Z a-z 0-9 _ -", a->stream);
        return -1;
    }
    if (a->buffer < 4 * LMDM_MAX_PD_BLOCK || a->buffer > (1L << 24)) {
        pd_error(x, "lmdm~: -buffer must be %d..%ld frames", 4 * LMDM_MAX_PD_BLOCK, 1L << 24);
        return -1;
    }
    return 0;
}

static void *lmdm_new(t_symbol *s, int argc, t_atom *argv)
{
    t_lmdm *x = (t_lmdm *)pd_new(lmdm_class);
    lmdm_args a;
    lmdm_cmd curve = {.kind = LMDM_CMD_CURVE};
    char stream[LMDM_STREAM_MAX + 1];
    (void)s;
    x->canvas = canvas_getcurrent();
    if (parse_args(x, argc, argv, &a) || (a.curve_n && curve_command(x, a.curve_n, argv + a.curve_at, &curve))) {
        pd_free(&x->obj.ob_pd);
        return NULL;
    }
    if (a.stream)
        snprintf(stream, sizeof stream, "%s", a.stream);
    else
        snprintf(stream, sizeof stream, "pd-%d-%d", (int)getpid(), ++lmdm_instances);
    snprintf(x->address, sizeof x->address, "%s", a.address);
    for (int c = 1; c < a.in_ch; c++)
        inlet_new(&x->obj, &x->obj.ob_pd, &s_signal, &s_signal);
    for (int c = 0; c < a.out_ch; c++)
        outlet_new(&x->obj, &s_signal);
    x->info = outlet_new(&x->obj, 0);
    x->ins = getbytes(sizeof(t_sample *) * (size_t)a.in_ch);
    x->outs = getbytes(sizeof(t_sample *) * (size_t)a.out_ch);
    x->drain = clock_new(x, (t_method)lmdm_drain);
    x->curve_on = curve.text[0] != 0;
    if (lmdm_link_init(&x->link, a.in_ch, a.out_ch, (size_t)a.buffer, stream, (int)sys_getsr())
        || !lmdm_link_command(&x->link, &curve)   /* queued before the first connect */
        || lmdm_link_start(&x->link, x->address, a.mode, a.block_size, a.autoconnect)) {
        pd_error(x, "lmdm~: out of memory or cannot start the network thread");
        return x;   /* stays in the patch, silent, so the patch still opens */
    }
    x->ok = 1;
    x->spawn_pending = a.spawn;
    clock_delay(x->drain, DRAIN_MS);
    return x;
}

static void lmdm_free(t_lmdm *x)
{
    if (x->drain)
        clock_free(x->drain);
    spawn_stop(x);   /* the last lmdm~ of an address stops its worker */
    if (x->ins) {
        lmdm_link_free(&x->link);   /* joins the network thread: here only, never in perform or dsp */
        freebytes(x->ins, sizeof(t_sample *) * (size_t)x->link.in_ch);
        freebytes(x->outs, sizeof(t_sample *) * (size_t)x->link.out_ch);
    }
}

void lmdm_tilde_setup(void)
{
    lmdm_class = class_new(gensym("lmdm~"), (t_newmethod)lmdm_new, (t_method)lmdm_free, sizeof(t_lmdm),
                           CLASS_DEFAULT, A_GIMME, 0);
    CLASS_MAINSIGNALIN(lmdm_class, t_lmdm, f);
    class_addmethod(lmdm_class, (t_method)lmdm_dsp, gensym("dsp"), A_CANT, 0);
    class_addbang(lmdm_class, lmdm_bang);
    class_addmethod(lmdm_class, (t_method)lmdm_connect, gensym("connect"), A_GIMME, 0);
    class_addmethod(lmdm_class, (t_method)lmdm_disconnect, gensym("disconnect"), 0);
    class_addmethod(lmdm_class, (t_method)lmdm_reset, gensym("reset"), 0);
    class_addmethod(lmdm_class, (t_method)lmdm_prompt, gensym("prompt"), A_GIMME, 0);
    class_addmethod(lmdm_class, (t_method)lmdm_mode, gensym("mode"), A_SYMBOL, 0);
    class_addmethod(lmdm_class, (t_method)lmdm_block_size, gensym("block_size"), A_SYMBOL, 0);
    class_addmethod(lmdm_class, (t_method)lmdm_param, gensym("param"), A_GIMME, 0);
    class_addmethod(lmdm_class, (t_method)lmdm_curve_msg, gensym("curve"), A_GIMME, 0);
    class_addmethod(lmdm_class, (t_method)lmdm_spawn, gensym("spawn"), 0);
    class_addmethod(lmdm_class, (t_method)lmdm_spawncmd, gensym("spawncmd"), A_GIMME, 0);
    snprintf(lmdm_dir, sizeof lmdm_dir, "%s", class_gethelpdir(lmdm_class));
    class_addanything(lmdm_class, lmdm_anything);
    post("lmdm~ 0.1: Live Music Diffusion Models for Pd (protocol v%d)", LMDM_PROTOCOL_VERSION);
}
