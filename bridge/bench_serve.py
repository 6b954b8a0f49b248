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
first bad N: `max_clients` is the largest N with zero underruns. The clients share this process's interpreter, so at
large N (hundreds, a GPU worker) the bench itself can become the limit; its own callback lag is reported
(`lag_p99_ms`) so such a trial shows it.
"""
from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import asdict, dataclass
from typing import Callable

import numpy as np

from bridge import protocol as W
from bridge.bench import _Worker
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


def trial(address: str, cfg: ServeBenchConfig, n: int, tag: str) -> dict:
    """N clients at once for cfg.seconds; their books and the trial's totals."""
    out: dict = {}
    t0 = time.monotonic() + 1.0 + 0.05 * n      # every client connected before the clocks start
    threads = [threading.Thread(target=_client, args=(address, cfg, f"{tag}-{i}", t0, out), daemon=True)
               for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=cfg.seconds + 300)
    streams = [out.get(f"{tag}-{i}", {"stream": f"{tag}-{i}", "error": "the client did not finish"})
               for i in range(n)]
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
    args = ["--device", cfg.device, "--client-timeout", "60"]
    args += ["--model", cfg.model] if cfg.model else []
    args += ["--batch", str(cfg.batch)] if cfg.batch else []
    args += ["--margin-ms", str(cfg.margin_ms)] if cfg.margin_ms is not None else []
    trials: list[dict] = []

    def run(n: int) -> bool:
        t = trial(w.address, cfg, n, f"n{n}t{len(trials)}")
        trials.append(t)
        if report:
            report(t)
        return t["ok"]

    with _Worker(*args) as w:
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
