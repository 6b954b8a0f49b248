"""`lmdm bench serve`: N real-time clients over real ZeroMQ against one real `lmdm serve` started here.

Each client (a thread with its own DEALER socket) plays a clock of `frames`-sample callbacks paced by the wall clock:
at callback j (time t0 + j·F/rate) it sends its input for [j·F, (j+1)·F) (delay mode; text mode needs none) and
requests the output it will play one latency later, [j·F + L, j·F + L + F), stating play = (j+1)·F. Definitions:

- **late request (underrun)**: a request whose last frame arrives after its play time t0 + (j·F + L)/rate, or never;
  the worker's own count (`status.underruns`, judged against the stated play position) is reported beside it.
- **answer latency**: from sending a request to its last frame arriving (p50/p99 over all requests of a trial).
- **compute ms per block**: the worker's `status.compute_ms_avg` (with batching: the batch's model time plus the
  stream's own encoding and decoding), and `status.batch`, the streams that shared its last model batch.

A search doubles N from 1 while a trial of `seconds` has no late request, then bisects between the last good and the
first bad N: `max_clients` is the largest N with zero underruns. The clients are threads of `procs` processes (default
one, this one), so at large N (hundreds, a GPU worker) the bench itself can become the limit; its own callback lag is
reported (`lag_p99_ms`) so such a trial shows it.

`engine_sweep` (`lmdm bench serve --engine N,...`) times the worker's engine in this process, no sockets: N model-rate
streams stepped together as the engine thread steps them, split into model time (host clock, GPU synchronised: the
slot bookkeeping and the graphs' replay), the graphs' own GPU time (CUDA events around the replays), the batched
decode, and the whole step (plus preparing each input and completing each output), so a serve figure can be told
apart from what the engine alone could do.
"""
from __future__ import annotations

import multiprocessing
import os
import re
import statistics
import subprocess
import sys
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass
from typing import Callable

import numpy as np

from bridge import protocol as W
from bridge.client import Client


@dataclass
class ServeBenchConfig:
    model: str | None = None      # None: the embedded model
    device: str = "cpu"
    batch: int | None = None      # `lmdm serve --batch` (None: its default)
    mode: str = "text"            # "text" (no input) or "delay" (noise input, encoded each block)
    rate: int = 48000
    frames: int = 2048            # callback size
    seconds: float = 10.0         # per trial
    max_clients: int = 4          # the search stops here
    clients: tuple[int, ...] = ()  # fixed list of N instead of the search
    steps: int | None = None      # sampler steps set on every stream (None: the model's)
    margin_ms: float | None = None  # `lmdm serve --margin-ms` (None: measured or cached)
    graphs: bool | None = None    # `lmdm serve --graphs/--no-graphs` (None: its default, on for cuda)
    dtype: str = "fp32"           # `lmdm serve --dtype`
    noise: str = "host"           # `lmdm serve --noise`
    slots: int | None = None      # `lmdm serve --slots` (None: max_clients, or the largest of `clients`)
    batch_decoder: bool | None = None   # `lmdm serve --batch-decoder/--no-batch-decoder` (None: its default)
    pooled: bool = False          # engine sweep: the slot engine without graphs (bridge.engines.Speed.pooled)
    procs: int = 1                # client processes (threads spread over them)
    log: str | None = None        # the worker's stderr goes here (None: dropped)

    def serve_args(self) -> list[str]:
        """The `lmdm serve` options this bench's worker runs with."""
        args = ["--device", self.device, "--client-timeout", "60", "--dtype", self.dtype, "--noise", self.noise,
                "--slots", str(self.slots or max(self.clients or (self.max_clients,)))]
        args += ["--model", self.model] if self.model else []
        args += ["--batch", str(self.batch)] if self.batch else []
        args += ["--margin-ms", str(self.margin_ms)] if self.margin_ms is not None else []
        args += [] if self.graphs is None else ["--graphs" if self.graphs else "--no-graphs"]
        args += [] if self.batch_decoder is None else ["--batch-decoder" if self.batch_decoder else "--no-batch-decoder"]
        return args


class _Serve:
    """`lmdm serve` as a subprocess of this interpreter (where no `lmdm` script is installed, e.g. the GPU machine
    with PYTHONPATH=.); `address` from its first stdout line; stderr to `log`."""

    def __init__(self, args: list[str], log: str | None):
        self.err = open(log, "w") if log else subprocess.DEVNULL
        code = "from bridge.commands import serve; serve(prog_name='lmdm serve')"
        if os.environ.get("LMDM_BENCH_STACKS"):   # a stuck worker: every thread's stack into its log each 40 s
            code = "import faulthandler; faulthandler.dump_traceback_later(40, repeat=True); " + code
        self.proc = subprocess.Popen([sys.executable, "-c", code, "--zmq", "tcp://127.0.0.1:0", "--osc", "none",
                                      "--osc-reply", "none", *args], stdout=subprocess.PIPE, stderr=self.err,
                                     text=True)
        m = re.search(r"zmq (\S+)", self.proc.stdout.readline())
        if not m:
            self.proc.kill()
            raise RuntimeError("the worker did not start" + (f" (its log: {log})" if log else ""))
        self.address = m.group(1)

    def __enter__(self) -> "_Serve":
        return self

    def __exit__(self, *exc) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        if self.err is not subprocess.DEVNULL:
            self.err.close()


@dataclass
class _Req:
    start: int
    sent: float
    due: float
    got: int = 0


def _client(address: str, cfg: ServeBenchConfig, name: str, t0: float, out: dict) -> None:
    """One real-time client; its books land in out[name]."""
    F, rate = cfg.frames, cfg.rate
    try:
        with Client(address, stream=name, rate=rate, channels=2, mode=cfg.mode, timeout=120) as c:
            if cfg.steps is not None:
                c.set("steps", cfg.steps)
            L = c.welcome.latency
            noise = np.random.default_rng(len(name)).uniform(-0.3, 0.3, (F, 2)).astype(np.float32)
            pending: deque[_Req] = deque()
            lat, lags, late, requests, frames_in, errors = [], [], 0, 0, 0, []
            while time.monotonic() < t0:
                time.sleep(0.001)
            j, stop = 0, t0 + cfg.seconds
            give_up = stop + L / rate + 5.0
            while True:
                now = time.monotonic()
                due = t0 + j * F / rate
                if due < stop and now >= due:
                    lags.append(now - due)
                    if cfg.mode != "text":
                        c.send_audio(j * F, noise, play=(j + 1) * F)
                    c.request(j * F + L, F, play=(j + 1) * F)
                    pending.append(_Req(j * F + L, now, t0 + (j * F + L) / rate))
                    requests += 1
                    j += 1
                    continue
                if (due >= stop and not pending) or now > give_up:
                    break
                msg = c.recv(timeout=max(0.0, min(due, give_up) - now) if due < stop else give_up - now)
                if isinstance(msg, W.Error):
                    errors.append(f"{msg.code}: {msg.text}")
                if isinstance(msg, W.Generated) and pending:
                    arrived = time.monotonic()
                    frames_in += msg.frames
                    req = pending[0]
                    req.got += msg.frames
                    if req.got >= F:
                        pending.popleft()
                        lat.append(arrived - req.sent)
                        late += arrived > req.due
            late += len(pending)               # never answered
            st = c.status()
        if errors:
            raise RuntimeError(f"{len(errors)} error replies, the first: {errors[0]}")
        out[name] = {"stream": name, "latency": L, "requests": requests, "late_requests": late,
                     "lost_requests": len(pending), "frames_received": frames_in,
                     "latency_p50_ms": _pct(lat, 50), "latency_p99_ms": _pct(lat, 99),
                     "lag_p99_ms": _pct(lags, 99), "worker_underruns": st.underruns,
                     "worker_late_frames": st.late_frames, "blocks": st.blocks,
                     "compute_ms_avg": st.compute_ms_avg, "batch": st.batch, "_lat": lat}
    except Exception as exc:  # reported as the trial's failure, never hidden
        out[name] = {"stream": name, "error": f"{type(exc).__name__}: {exc}"}


def _pct(values: list[float], q: float) -> float | None:
    return round(float(np.percentile(values, q)) * 1e3, 3) if values else None


def _clients(address: str, cfg: ServeBenchConfig, names: list[str], t0: float, out: dict | None = None,
             queue=None) -> dict:
    """Clients `names` as threads of this process; their books (into `queue` too, from a client process)."""
    out = {} if out is None else out
    threads = [threading.Thread(target=_client, args=(address, cfg, name, t0, out), daemon=True) for name in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=cfg.seconds + 300)
    if queue is not None:
        queue.put(dict(out))
    return out


def trial(address: str, cfg: ServeBenchConfig, n: int, tag: str) -> dict:
    """N clients at once for cfg.seconds; their books and the trial's totals."""
    names = [f"{tag}-{i}" for i in range(n)]
    procs = max(1, min(cfg.procs, n))
    # every client connected (and, with processes, started) before the clocks start
    t0 = time.monotonic() + 1.0 + 0.05 * n / procs + (3.0 if procs > 1 else 0.0)
    if procs == 1:
        out = _clients(address, cfg, names, t0)
    else:
        ctx = multiprocessing.get_context("spawn")
        q = ctx.Queue()
        ps = [ctx.Process(target=_clients, args=(address, cfg, names[i::procs], t0, None, q), daemon=True)
              for i in range(procs)]
        for p in ps:
            p.start()
        out = {}
        for _ in ps:
            try:
                out.update(q.get(timeout=cfg.seconds + t0 - time.monotonic() + 330))
            except Exception:   # a process that died: its clients are reported as not finished
                break
        for p in ps:
            p.join(timeout=10)
    streams = [out.get(name, {"stream": name, "error": "the client did not finish"}) for name in names]
    good = [s for s in streams if "error" not in s]
    lat = [x for s in good for x in s.pop("_lat")]
    errors = [f"{s['stream']}: {s['error']}" for s in streams if "error" in s]
    underruns = sum(s["late_requests"] for s in good)
    return {"clients": n, "underruns": underruns, "worker_underruns": sum(s["worker_underruns"] for s in good),
            "requests": sum(s["requests"] for s in good), "latency_p50_ms": _pct(lat, 50),
            "latency_p99_ms": _pct(lat, 99),
            "compute_ms_avg": round(float(np.mean([s["compute_ms_avg"] for s in good])), 3) if good else None,
            "batch_max": max((s["batch"] for s in good), default=0), "errors": errors,
            "ok": not errors and underruns == 0 and all(s["frames_received"] > 0 for s in good), "streams": streams}


def search(cfg: ServeBenchConfig, report: Callable[[dict], None] | None = None) -> dict:
    """Start the worker, run the trials (cfg.clients, or the doubling-then-bisecting search), stop the worker."""
    trials: list[dict] = []

    def run(n: int) -> bool:
        t = trial(w.address, cfg, n, f"n{n}t{len(trials)}")
        trials.append(t)
        if report:
            report(t)
        return t["ok"]

    with _Serve(cfg.serve_args(), cfg.log) as w:
        if cfg.clients:
            for n in cfg.clients:
                run(n)
        else:
            good, bad, n = 0, None, 1
            while n <= cfg.max_clients:
                if not run(n):
                    bad = n
                    break
                good, n = n, 2 * n
            while bad is not None and bad - good > 1:
                mid = (good + bad) // 2
                good, bad = (mid, bad) if run(mid) else (good, mid)
    ok = [t["clients"] for t in trials if t["ok"]]
    return {"config": asdict(cfg), "trials": trials, "max_clients": max(ok, default=0),
            "searched_up_to": cfg.max_clients if not cfg.clients else max(cfg.clients)}


def plot(results: dict, path: str) -> None:
    """Late requests and answer latency (p50/p99) against N, one point per trial."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ts = sorted(results["trials"], key=lambda t: t["clients"])
    n = [t["clients"] for t in ts]
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4))
    a.bar([str(x) for x in n], [t["underruns"] for t in ts], color=["tab:green" if t["ok"] else "tab:red" for t in ts])
    for i, t in enumerate(ts):
        a.annotate(str(t["underruns"]), (i, t["underruns"]), ha="center", va="bottom")
    a.set(xlabel="concurrent real-time clients", ylabel="late requests (underruns)",
          ylim=(0, 1.15 * max([1] + [t["underruns"] for t in ts])),
          title=f"largest N without underruns: {results['max_clients']}")
    b.plot(n, [t["latency_p50_ms"] for t in ts], marker="o", label="p50")
    b.plot(n, [t["latency_p99_ms"] for t in ts], marker="o", label="p99")
    b.plot(n, [t["compute_ms_avg"] for t in ts], marker="s", label="compute per block (worker)")
    c = results["config"]
    b.set(xlabel="concurrent real-time clients", ylabel="ms", title=f"{c['model'] or 'embedded'} on {c['device']}, "
          f"{c['mode']} mode, {c['seconds']:g} s per trial")
    b.set_xticks(n)
    b.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def engine_sweep(cfg: ServeBenchConfig, ns: list[int], blocks: int = 3) -> dict:
    """The worker's engine alone (no sockets), N streams at the model's rate stepped together per block: median
    model ms (GPU synchronised), median whole step (plus preparing, decoding, output), and the real-time streams each
    would carry. The first two blocks (bootstrap, first steady block) are not timed."""
    import gc

    from bridge.engines import ModelEngine, Speed

    speed = Speed(graphs=cfg.graphs, dtype=cfg.dtype, noise=cfg.noise, slots=cfg.slots or max(ns),
                  batch_decoder=cfg.batch_decoder, pooled=cfg.pooled)
    eng = ModelEngine(cfg.model, device=cfg.device, margin_ms=0.0, speed=speed)
    t_prep = time.perf_counter()
    eng.prepare(max(ns))          # the long blocks the streams below open
    prep_s = time.perf_counter() - t_prep
    block_s = eng.open_audio().block_samples / eng.sample_rate
    rows = []
    for n in ns:
        streams = [eng.open(eng.sample_rate, eng.channels, eng.channels, seed=k) for k in range(n)]
        for s in streams:
            s.set_param("mode", cfg.mode)
            if cfg.steps is not None:
                s.set_param("steps", cfg.steps)
        x = np.random.default_rng(0).uniform(-0.3, 0.3, (streams[0].bm, eng.channels)).astype(np.float32)
        model, whole, decode, gpu = [], [], [], []
        for b in range(blocks + 2):
            for s in streams:
                s.feed(x)
            t0 = time.perf_counter()
            eng.step_together(streams)
            for s in streams:
                s.step()
            if b >= 2:
                whole.append((time.perf_counter() - t0) * 1e3)
                model.append(eng.last_model_ms)
                decode.append(eng.last_decode_ms)
                if eng.last_gpu_ms is not None:
                    gpu.append(eng.last_gpu_ms)
        m, w = statistics.median(model), statistics.median(whole)
        # host: the step less the model and the batched decode (preparing, per-stream work, checks, copies)
        host = statistics.median(a - b - c for a, b, c in zip(whole, model, decode))
        rows.append({"streams": n, "model_ms": round(m, 2), "step_ms": round(w, 2), "rest_ms": round(w - m, 2),
                     "rest_ms_per_stream": round((w - m) / n, 3), "host_ms_per_stream": round(host / n, 3),
                     "model_ms_per_stream": round(m / n, 3), "batch": max(s.batch for s in streams),
                     "batched_decode_ms": round(statistics.median(decode), 2),
                     "graph_gpu_ms": round(statistics.median(gpu), 3) if gpu else None,
                     "realtime_streams_model": round(n * block_s * 1e3 / m, 1),
                     "realtime_streams_step": round(n * block_s * 1e3 / w, 1), "model_all": [round(v, 2) for v in model],
                     "step_all": [round(v, 2) for v in whole]})
        del streams
        gc.collect()
    out = {"config": asdict(cfg), "engine": eng.name, "graphed": eng.graphed, "block_s": round(block_s, 4),
           "prepare_s": round(prep_s, 1), "rows": rows}
    if cfg.device.startswith("cuda"):
        import torch
        out["gpu"] = torch.cuda.get_device_name()
        out["max_mem_GB"] = round(torch.cuda.max_memory_allocated() / 2**30, 2)
    return out
