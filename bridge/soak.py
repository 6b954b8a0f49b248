"""`lmdm bench soak`: N real-time clients against one real `lmdm serve` for minutes, one worker restart half way.

The coordinator starts the worker (ZeroMQ and OSC on free loopback ports), one process per client
(bridge/soak_client.py: paced by the wall clock like an audio callback, random parameter changes over ZeroMQ and OSC),
samples the worker's RSS, open files, threads and CPU every `every_s`, and half way SIGKILLs the worker and starts it
again at the same addresses; the clients find it again on their own (`no_session` or silence: hello again).
What each figure means: docs/bench/soak.md.
"""
from __future__ import annotations

import multiprocessing as mp
import os
import queue
import signal
import sys
import threading
import time
from dataclasses import asdict, dataclass
from typing import Any, Callable

import numpy as np

from bridge.bench import _Worker, process_sample
from bridge.soak_client import ClientPlan, main as client_main

FRAMES = (512, 1024, 2048, 4096)
RATES = (48000, 44100)
RESTART = ("restart", "kill", "none")  # kill: SIGKILL and never start again (to see the books show the loss)


@dataclass
class SoakConfig:
    minutes: float = 2.0
    clients: int = 4
    model: str | None = "loopback"   # None: the embedded model
    block: int = 4096                # loopback block (latency), at least the largest callback
    device: str = "cpu"
    every_s: float = 5.0
    restart: str = "restart"
    restart_at: float = 0.5          # share of the run
    seed: int = 0
    pace: float = 1.0                # < 1: every client's callbacks run this much slower than real time (broken)
    param_every_s: float = 2.0


def plans(cfg: SoakConfig, address: str, osc_port: int | None, latency_s: float) -> list[ClientPlan]:
    """Client i: callback of FRAMES[i % 4] samples at RATES alternating (512 @ 48k, 1024 @ 44.1k, ...)."""
    seconds = cfg.minutes * 60
    return [ClientPlan(index=i, stream=f"soak{i}", rate=RATES[(i + i // 4) % 2], frames=FRAMES[i % 4],
                       seconds=seconds, drain_s=2 * latency_s + 10, every_s=cfg.every_s, seed=cfg.seed * 1000 + i,
                       exact=cfg.model == "loopback", pace=cfg.pace, param_every_s=cfg.param_every_s,
                       address=address, osc_port=osc_port) for i in range(cfg.clients)]


class _Fleet:
    """The worker (restartable at the same addresses) and its /proc samples."""

    def __init__(self, cfg: SoakConfig):
        self.args = ["--device", cfg.device, "--block", str(cfg.block), "--client-timeout", "10"]
        if cfg.model:
            self.args += ["--model", cfg.model]
        self.w = _Worker(*self.args, osc="127.0.0.1:0")
        self.samples: list[dict] = []
        self._last_cpu: tuple[float, float] | None = None
        self.thread: threading.Thread | None = None
        self.down = False  # killed and not yet up again: a dying process's /proc shows its memory half freed

    def restart_soon(self, again: bool, into: list) -> None:
        """SIGKILL now, start again in a thread: a model worker takes seconds to start, and the books and samples
        go on meanwhile."""
        self.thread = threading.Thread(target=lambda: into.append(self.restart(again)))
        self.thread.start()

    def restart(self, again: bool) -> dict:
        t_kill = time.monotonic()
        self.down = True
        self.w.proc.kill()  # SIGKILL: no bye, no cleanup, as a crash
        self.w.proc.wait()
        self._last_cpu = None
        if not again:
            return {"t_kill": t_kill, "t_up": None}
        self.w = _Worker(*self.args, zmq=self.w.address, osc=f"127.0.0.1:{self.w.osc_port}")
        self.down = False
        return {"t_kill": t_kill, "t_up": time.monotonic()}

    def sample(self, t: float) -> None:
        if self.down:
            return
        try:
            s = process_sample(self.w.proc.pid)
        except (OSError, KeyError):  # killed a moment ago (a zombie has no VmRSS) or not yet started again
            return
        now = time.monotonic()
        cpu = None
        if self._last_cpu:
            cpu = 100 * (s["cpu_s"] - self._last_cpu[1]) / max(1e-6, now - self._last_cpu[0])
        self._last_cpu = (now, s["cpu_s"])
        self.samples.append({"t_s": round(t, 2), "pid": self.w.proc.pid, "rss_mib": round(s["rss_mib"], 2),
                             "open_files": s["open_files"], "threads": s["threads"],
                             "cpu_pct": None if cpu is None else round(cpu, 1), "load1": os.getloadavg()[0]})

    def close(self) -> None:
        if self.thread is not None:
            self.thread.join()  # a worker being started must not outlive the run
        self.w.__exit__(None, None, None)


def run(cfg: SoakConfig, progress: Callable[[float, dict], None] | None = None) -> dict:
    """The whole soak; returns the results (JSON-ready). `progress(t_s, totals)` is called about twice a second."""
    if cfg.restart not in RESTART:
        raise ValueError(f"restart must be one of {RESTART}")
    if cfg.model == "loopback" and cfg.block < max(FRAMES[:cfg.clients]):
        raise ValueError(f"--block {cfg.block} is shorter than a {max(FRAMES[:cfg.clients])}-frame callback: "
                         "every answer would be late by construction")
    ctx = mp.get_context("spawn")
    main = threading.current_thread() is threading.main_thread()
    old = signal.signal(signal.SIGTERM, lambda *_: sys.exit(143)) if main else None  # SIGTERM stops all too
    fleet = _Fleet(cfg)
    procs: list = []
    try:
        return _run(cfg, fleet, ctx, procs, progress)
    finally:
        for p in procs:
            if p.is_alive():
                p.kill()
        fleet.close()
        if main:
            signal.signal(signal.SIGTERM, old)


def _latency_s(fleet: _Fleet) -> float:
    from bridge.client import Client
    with Client(fleet.w.address, stream="probe", rate=48000, channels=2) as c:
        return c.welcome.latency / 48000


def _run(cfg: SoakConfig, fleet: _Fleet, ctx: Any, procs: list, progress: Callable | None) -> dict:
    latency_s = _latency_s(fleet)
    t0v, kill_at, go = ctx.Value("d", 0.0), ctx.Value("d", 0.0), ctx.Event()
    prog, results = ctx.Queue(), ctx.Queue()
    ps = plans(cfg, fleet.w.address, fleet.w.osc_port, latency_s)
    procs += [ctx.Process(target=client_main, args=(p, t0v, go, kill_at, prog, results), daemon=True) for p in ps]
    for p in procs:
        p.start()
    totals: dict[int, dict] = {}
    _wait_ready(prog, len(procs), results)
    t0 = t0v.value = time.monotonic() + 0.5
    go.set()
    seconds = cfg.minutes * 60
    end = t0 + seconds + ps[0].drain_s + 5
    restart_t = t0 + cfg.restart_at * seconds if cfg.restart != "none" else None
    restarts, next_sample, out = [], t0, {}
    while len(out) < len(procs) and time.monotonic() < end + 30:
        now = time.monotonic()
        if restart_t and now >= restart_t:
            kill_at.value = now
            fleet.restart_soon(cfg.restart == "restart", restarts)
            restart_t = None
        if now >= next_sample:
            fleet.sample(now - t0)
            next_sample += cfg.every_s
        _drain(prog, totals)
        try:
            r = results.get(timeout=0.5)
            out[r["index"]] = r
        except queue.Empty:
            pass
        if progress:
            progress(min(seconds, time.monotonic() - t0), _sum(totals))
    if fleet.thread:
        fleet.thread.join()
    restarts = [{k: None if v is None else round(v - t0, 3) for k, v in r.items()} for r in restarts]
    for p in procs:
        p.join(5)
    return _assemble(cfg, ps, out, fleet.samples, restarts, latency_s)


def _wait_ready(prog: Any, n: int, results: Any, timeout: float = 120.0) -> None:
    ready, deadline = set(), time.monotonic() + timeout
    while len(ready) < n:
        try:
            kind, i, _, _ = prog.get(timeout=1.0)
            ready.add(i)
        except queue.Empty:
            pass
        try:
            r = results.get_nowait()
            raise RuntimeError(f"client {r['index']} could not start: {r.get('error')}")
        except queue.Empty:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {len(ready)} of {n} clients connected")


def _drain(prog: Any, totals: dict) -> None:
    while True:
        try:
            kind, i, count, lost = prog.get_nowait()
        except queue.Empty:
            return
        if kind == "progress":
            totals[i] = {**count, "lost_all": lost}  # restart losses included: classified at the end


def _sum(totals: dict) -> dict:
    keys = ("answered", "late", "lost_all", "mismatch")
    return {k: sum(t.get(k, 0) for t in totals.values()) for k in keys}


def _assemble(cfg: SoakConfig, ps: list[ClientPlan], out: dict, samples: list, restarts: list,
              latency_s: float) -> dict:
    clients = [out.get(p.index, {"index": p.index, "error": "no result (the client process died)"}) for p in ps]
    good = [c for c in clients if "error" not in c]
    keys = ("requested", "answered", "late", "late_requests", "lost", "lost_restart", "pending_end", "mismatch", "nonfinite",
            "out_of_order", "reconnects", "zmq_params", "osc_params", "acks", "params_checked", "params_not_applied", "send_dropped", "lagging_callbacks",
            "callbacks", "worker_underruns")
    totals = {k: int(sum(c[k] for c in good)) for k in keys}
    late_w = [c["worker_late_frames"] for c in good if c["worker_late_frames"] is not None]
    totals["worker_late_frames"] = int(sum(late_w)) if late_w else None
    n = max((_used(c["series"]) for c in good), default=0)
    series: dict[str, list] = {"t_s": [round(i * cfg.every_s, 2) for i in range(n)]}
    for k in ("requested", "answered", "late", "lost", "lost_restart", "mismatch"):
        series[k] = np.sum([c["series"][k][:n] for c in good], axis=0).tolist() if good else []
    series["lag_max_ms"] = np.max([c["series"]["lag_max_ms"][:n] for c in good], axis=0).tolist() if good else []
    for r in restarts:
        backs = [c["back_after_restart_s"] for c in good]
        r["t_back"] = None if None in backs or not backs else round(r["t_kill"] + max(backs), 3)
    problems = _problems(cfg, clients, totals, restarts)
    return {"config": asdict(cfg), "latency_s_at_48k": latency_s, "restarts": restarts, "totals": totals,
            "ok": not problems, "problems": problems, "samples": samples, "series": series, "clients": clients}


def _used(series: dict) -> int:
    """Buckets up to the last one in which something was requested, answered or lost (the rest is unused drain)."""
    busy = np.flatnonzero(np.sum([series[k] for k in ("requested", "answered", "lost", "lost_restart")], axis=0))
    return int(busy[-1]) + 1 if len(busy) else 0


def _problems(cfg: SoakConfig, clients: list, totals: dict, restarts: list) -> list[str]:
    """What breaks the promises: loss outside the restart, a wrong loopback sample, a client that never came back.
    Late frames depend on the machine and are reported, not judged."""
    out = [f"client {c['index']}: {c['error']}" for c in clients if "error" in c]
    if totals["lost"]:
        out.append(f"{totals['lost']} frames lost outside the restart window")
    if totals["mismatch"]:
        out.append(f"{totals['mismatch']} loopback frames differ from the input delayed by the latency")
    if totals["nonfinite"]:
        out.append(f"{totals['nonfinite']} frames hold NaN/Inf")
    if totals["params_not_applied"]:
        first = next(c["not_applied"][0] for c in clients if c.get("not_applied"))
        out.append(f"{totals['params_not_applied']} of {totals['params_checked']} parameter values set were not in "
                   f"force at the next status (first: {first})")
    if totals["out_of_order"]:
        out.append(f"{totals['out_of_order']} answers out of order")
    if cfg.restart != "none" and (not restarts or restarts[0]["t_back"] is None):
        out.append("not every client was served again after the restart")
    if not totals["answered"]:
        out.append("nothing was answered")
    return out
