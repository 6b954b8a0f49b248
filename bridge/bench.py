"""`lmdm bench bridge`: frame round trip on loopback, blocks served per second, worker memory over time.

Each figure comes from a real `lmdm serve` subprocess and a real client over ZeroMQ on 127.0.0.1.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from bridge import protocol as W
from bridge.client import Client


def process_sample(pid: int) -> dict:
    """RSS (MiB), open files, threads and CPU seconds used so far, read from /proc/PID (Linux)."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    stat = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return {"rss_mib": int(fields["VmRSS"].split()[0]) / 1024, "threads": int(fields["Threads"]),
            "open_files": len(os.listdir(f"/proc/{pid}/fd")),
            "cpu_s": (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")}


class _Worker:
    """`lmdm serve` as a subprocess; `address` (and `osc_port` when OSC is on) from its first stdout line."""

    def __init__(self, *args: str, zmq: str = "tcp://127.0.0.1:0", osc: str = "none"):
        exe = str(Path(sys.executable).with_name("lmdm"))
        self.proc = subprocess.Popen([exe, "serve", "--zmq", zmq, "--osc", osc, "--osc-reply", "none", *args],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        m = re.search(r"zmq (\S+) osc (\S+)", self.proc.stdout.readline())
        if not m:
            self.proc.kill()
            raise RuntimeError("the worker did not start")
        self.address = m.group(1)
        self.osc_port = int(m.group(2).rpartition(":")[2]) if m.group(2) != "none" else None

    def rss_mib(self) -> float:
        return process_sample(self.proc.pid)["rss_mib"]

    def __enter__(self) -> "_Worker":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def round_trip(frames: int = 256, rate: int = 48000, channels: int = 2, count: int = 5000) -> dict:
    """Audio frame out -> the generated frame it releases back, on the loopback with block = frames (no model)."""
    with _Worker("--model", "loopback", "--block", str(frames)) as w, \
            Client(w.address, stream="rt", rate=rate, channels=channels) as c:
        x = np.random.default_rng(0).uniform(-1, 1, (frames, channels)).astype(np.float32)
        times = np.zeros(count)
        for i in range(count + 200):
            c.request((i + 1) * frames, frames)  # needs exactly the input sent next
            t0 = time.perf_counter()
            c.send_audio(i * frames, x)
            msg = c.recv(timeout=5)
            if not isinstance(msg, W.Generated) or msg.frames != frames:
                raise RuntimeError(f"unexpected answer {msg}")
            if i >= 200:  # warm-up excluded
                times[i - 200] = time.perf_counter() - t0
    ms = times * 1e3
    return {"frames": frames, "rate": rate, "channels": channels, "count": count,
            "p50_ms": float(np.percentile(ms, 50)), "p99_ms": float(np.percentile(ms, 99)),
            "max_ms": float(ms.max()), "samples_ms": ms.round(4).tolist()}


def plot(results: dict, path: str) -> None:
    """Round-trip histogram (and the memory curve when measured) as one PNG."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    mem = results.get("memory")
    fig, axes = plt.subplots(1, 2 if mem else 1, figsize=(11 if mem else 6, 4), squeeze=False)
    rt = results["round_trip"]
    ax = axes[0][0]
    ax.hist(rt["samples_ms"], bins=200, log=True)
    for q, style in (("p50_ms", "--"), ("p99_ms", ":")):
        ax.axvline(rt[q], color="k", linestyle=style, label=f"{q[:3]} {rt[q]:.3f} ms")
    ax.set(xlabel="round trip (ms)", ylabel="messages", title=f"loopback, {rt['frames']} frames, {rt['count']} msgs")
    ax.legend()
    if mem:
        ax = axes[0][1]
        ax.plot([r["t_s"] / 60 for r in mem], [r["rss_mib"] for r in mem], marker="o")
        ax.set(xlabel="minutes of streaming", ylabel="worker RSS (MiB)", title="worker memory", ylim=(0, None))
    fig.tight_layout()
    fig.savefig(path, dpi=100)


ECHO = """
import sys, zmq
ctx = zmq.Context(); r = ctx.socket(zmq.ROUTER); r.bind("tcp://127.0.0.1:0")
print(r.getsockopt(zmq.LAST_ENDPOINT).decode(), flush=True)
while True:
    r.send_multipart(r.recv_multipart())
"""


def echo_baseline(frames: int = 256, channels: int = 2, count: int = 5000) -> dict:
    """The same exchange against a bare pyzmq ROUTER echo in its own process: what the OS and ZeroMQ cost alone,
    so a loaded machine shows up here as much as in round_trip()."""
    import zmq

    proc = subprocess.Popen([sys.executable, "-c", ECHO], stdout=subprocess.PIPE, text=True)
    try:
        sock = zmq.Context.instance().socket(zmq.DEALER)
        sock.connect(proc.stdout.readline().strip())
        payload = W.encode(W.Audio(index=0, rate=48000, data=np.zeros((frames, channels), np.float32)))
        ms = np.zeros(count)
        for i in range(count + 200):
            t0 = time.perf_counter()
            sock.send(payload)
            sock.recv()
            if i >= 200:
                ms[i - 200] = (time.perf_counter() - t0) * 1e3
        sock.close(linger=0)
    finally:
        proc.kill()
    return {"p50_ms": float(np.percentile(ms, 50)), "p99_ms": float(np.percentile(ms, 99)), "max_ms": float(ms.max())}


def blocks_per_second(seconds: float = 20.0, rate: int = 44100, model: str | None = None,
                      device: str = "cpu") -> dict:
    """Stream as fast as the model goes for `seconds` of wall time; blocks/s and real-time factor."""
    args = ["--model", model] if model else []
    with _Worker(*args, "--device", device, "--client-timeout", "60") as w, \
            Client(w.address, stream="bps", rate=rate, channels=2, timeout=120) as c:
        x = np.random.default_rng(0).uniform(-0.5, 0.5, (rate * 3600, 2)).astype(np.float32)
        chunk = 4096
        sent = asked = got = 0
        L = c.welcome.latency
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            c.heartbeat()
            if sent - got < 4 * L:
                c.send_audio(sent, x[sent:sent + chunk])
                sent += chunk
                while asked + chunk - L <= sent:
                    c.request(asked, chunk)
                    asked += chunk
                continue
            msg = c.recv(timeout=1.0)
            if isinstance(msg, W.Generated):
                got += msg.frames
        wall = time.perf_counter() - t0
        st = c.status()
    return {"model": model or "embedded", "device": device, "rate": rate, "wall_s": wall, "blocks": st.blocks,
            "blocks_per_s": st.blocks / wall, "audio_s_per_s": got / rate / wall,
            "compute_ms_avg": st.compute_ms_avg}


def memory(minutes: float = 10.0, rate: int = 48000, frames: int = 256, model: str = "loopback",
           every_s: float = 60.0) -> Iterator[dict]:
    """Stream in real time (frames per callback at `rate`) and yield the worker's RSS every `every_s` seconds."""
    args = ["--model", model] if model else []
    with _Worker(*args) as w, Client(w.address, stream="mem", rate=rate, channels=2) as c:
        L = c.welcome.latency
        x = np.random.default_rng(0).uniform(-1, 1, (frames, 2)).astype(np.float32)
        t0 = time.perf_counter()
        next_report = every_s
        i = 0
        yield {"t_s": 0.0, "rss_mib": w.rss_mib()}
        while True:
            now = time.perf_counter() - t0
            if now >= minutes * 60:
                break
            if now >= next_report:
                yield {"t_s": round(now, 1), "rss_mib": w.rss_mib(), "status": vars(c.status())}
                next_report += every_s
            c.heartbeat()
            c.send_audio(i * frames, x)
            c.request(i * frames + L, frames)  # what the patch will play one latency from now
            i += 1
            while c.sock.poll(0):
                c.recv(timeout=0)
            wait = t0 + i * frames / rate - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
        yield {"t_s": round(time.perf_counter() - t0, 1), "rss_mib": w.rss_mib(), "status": vars(c.status())}
