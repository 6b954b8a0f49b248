"""The compute margin of a model engine: measured on several warm blocks, cached per model, device and threads.

A model stream's latency is one block plus this margin (docs/protocol.md), so the margin decides what every session
plans with. One timed block at start-up made it depend on the machine's load at that moment (a loaded start gave
seconds where the steady state needs a fraction). Here the margin comes from the median of several warm blocks, and
the first calibration on a machine is kept in a JSON cache (`~/.cache/lmdm/margin.json`, or `$LMDM_CACHE_DIR`),
keyed by the model's content hash, the torch device and torch's thread count: later starts read it and every start
announces the same latency. `lmdm doctor` measures again and shows both; `lmdm doctor --calibrate` rewrites it.
"""
from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import statistics
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from lmdm_core.pipeline import AudioStream

log = logging.getLogger("lmdm.engine")

WARM_UP = 1        # blocks run before timing (allocations, kernels, caches)
TIMED = 5          # blocks timed; the median of them is the figure
FACTOR = 1.5       # margin = FACTOR x the median block compute
FLOOR_MS = 50.0


@dataclass
class Calibration:
    margin_ms: float
    block_ms: float         # median compute of one block
    blocks_ms: list         # every timed block, for the record
    audio_ms: float         # how long one block plays
    key: str = ""
    measured_at: str = ""

    @property
    def real_time(self) -> bool:
        return self.block_ms <= self.audio_ms


def margin_from(times_ms: list[float], audio_ms: float) -> float:
    """FACTOR x the median block compute, in 10 ms steps, at least FLOOR_MS, at most one block's duration (past
    that the model cannot keep up at all, and a longer margin would only delay the first underrun)."""
    med = statistics.median(times_ms)
    return float(min(max(FLOOR_MS, math.ceil(FACTOR * med / 10) * 10), math.ceil(audio_ms)))


def measure(probe: AudioStream, timed: int = TIMED) -> Calibration:
    """Time `timed` warm blocks of `probe` (an lmdm_core AudioStream; its state is reset afterwards)."""
    x = np.zeros((probe.channels, probe.block_samples), np.float32)
    for _ in range(WARM_UP):
        probe.process(x)
    times = []
    for _ in range(timed):
        t0 = time.perf_counter()
        probe.process(x)
        times.append((time.perf_counter() - t0) * 1e3)
    probe.reset()
    audio_ms = 1e3 * probe.block_samples / probe.sample_rate
    return Calibration(margin_ms=margin_from(times, audio_ms), block_ms=round(statistics.median(times), 2),
                       blocks_ms=[round(t, 2) for t in times], audio_ms=round(audio_ms, 2),
                       measured_at=time.strftime("%Y-%m-%dT%H:%M:%S%z"))


def cache_path() -> Path:
    root = os.environ.get("LMDM_CACHE_DIR") or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "lmdm"
    return Path(root) / "margin.json"


def model_key(source: str, device: str) -> str:
    """Content hash of the checkpoint (every file, sorted by name) + device + torch threads."""
    import torch

    h = hashlib.sha256()
    p = Path(source)
    files = sorted(f for f in p.rglob("*") if f.is_file()) if p.is_dir() else [p] if p.is_file() else []
    if not files:
        h.update(source.encode())  # the embedded model: built from code and a fixed seed
    for f in files:
        h.update(f.name.encode())
        with open(f, "rb") as fh:
            h.update(hashlib.file_digest(fh, "sha256").digest())
    return f"{h.hexdigest()[:16]}|{device}|threads={torch.get_num_threads()}"


def _load() -> dict:
    try:
        return json.loads(cache_path().read_text())
    except (OSError, ValueError):
        return {}


def cached(key: str) -> Calibration | None:
    entry = _load().get(key)
    try:
        return Calibration(**entry) if entry else None
    except TypeError:  # an entry of another version: measure again
        return None


def store(cal: Calibration) -> None:
    """Write one entry; atomically, since several workers may start at once."""
    path = cache_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        data = _load()
        data[cal.key] = asdict(cal)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
        os.replace(tmp, path)
    except OSError as exc:
        log.warning("cannot write the margin cache %s: %s (the margin is measured again next start)", path, exc)


def calibrated(probe: AudioStream, key: str) -> Calibration:
    """The cached calibration for `key`, or a new one (measured now, then cached)."""
    cal = cached(key)
    if cal is not None:
        log.info("compute margin %.0f ms from %s (one block %.0f ms, measured %s; `lmdm doctor --calibrate` "
                 "measures again)", cal.margin_ms, cache_path(), cal.block_ms, cal.measured_at)
        return cal
    cal = measure(probe)
    cal.key = key
    store(cal)
    if not cal.real_time:
        log.warning("one block takes %.0f ms here (median of %d) but plays for %.0f ms: this model cannot keep up in "
                    "real time on this device; expect underruns (try --device cuda or a smaller model)",
                    cal.block_ms, len(cal.blocks_ms), cal.audio_ms)
    log.info("one block takes %.0f ms here (median of %d): compute margin %.0f ms, cached in %s (set --margin-ms "
             "to override)", cal.block_ms, len(cal.blocks_ms), cal.margin_ms, cache_path())
    return cal
