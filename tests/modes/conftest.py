"""Fixtures of the mode tests: real `lmdm serve` workers over a model with every conditioning input.

`tiny_conditioned` is the tiny preset with "stem" and "curves" input-add groups (untrained, seeded): it exercises the
whole path of every mode (routing, timing, mixing, seams) in seconds. Quality checks (instrument classifier, loudness
correlation, chroma) need the trained embedded model in lmdm_core/weights/ and skip, naming it, while it is missing.
"""
from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from bridge.client import Client
from bridge.protocol import Generated
from tests.bridge.conftest import WorkerProc

ROOT = Path(__file__).resolve().parents[2]
WEIGHTS = ROOT / "lmdm_core" / "weights"


@pytest.fixture(scope="session")
def corpus_midi(tmp_path_factory):
    """slug -> path of that work's cleaned MIDI, exported from the music21 corpus exactly as `lmdm data build` does
    (data/works is a git-ignored build product, absent from a fresh checkout)."""
    from lmdm_core.data.corpus import export_work, select_works

    out = tmp_path_factory.mktemp("works")

    def get(slug: str) -> Path:
        path = out / f"{slug}.mid"
        if not path.is_file():
            work = next(w for w in select_works([slug.split("-", 1)[0]]) if w.slug == slug)
            info = export_work(work, out)
            assert info.status == "ok", f"{slug}: {info.error}"
        return path

    return get


def tiny_conditioned_configs() -> dict:
    from lmdm_core.pipeline import default_configs

    cfg = default_configs()
    dit = cfg["dit"]
    cfg["dit"] = dataclasses.replace(dit, input_adds={"context": dit.io_channels + 1, "stem": dit.io_channels,
                                                      "curves": 3})
    return cfg


@pytest.fixture(scope="session")
def tiny_conditioned(tmp_path_factory) -> Path:
    """A checkpoint directory of the tiny model with stem + curves inputs (random weights, seed 0)."""
    from lmdm_core.pipeline import build_model

    path = tmp_path_factory.mktemp("tiny-conditioned")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        m = build_model(tiny_conditioned_configs(), "tiny conditioned (untrained)", {"trained": False})
    m.save(path)
    return path


@pytest.fixture(scope="module")
def worker(tiny_conditioned):
    """One worker per module over the tiny conditioned model (a fixed margin: no start-up measurement)."""
    w = WorkerProc("--model", str(tiny_conditioned), "--margin-ms", "20", "--client-timeout", "30")
    yield w
    w.stop()


def trained_weights() -> Path:
    """The trained model with stem and curves inputs: $LMDM_MODES_MODEL, else lmdm_core/weights/; skip without."""
    path = Path(os.environ.get("LMDM_MODES_MODEL", WEIGHTS))
    if not (path / "config.json").is_file():
        pytest.skip(f"needs the trained embedded model in {path}/ (config.json + weights): not there yet")
    from lmdm_core.checkpoint import read_checkpoint

    ckpt = read_checkpoint(path)
    groups = ckpt.configs["dit"].input_adds
    if not {"stem", "curves"} <= set(groups):
        pytest.skip(f"the model in {path} lacks stem/curves inputs (has {sorted(groups)})")
    if ckpt.meta.get("trained", True) is False and "LMDM_MODES_MODEL" not in os.environ:
        pytest.skip(f"the model in {path} is marked untrained")
    return path


@pytest.fixture(scope="module")
def trained_worker():
    w = WorkerProc("--model", str(trained_weights()), "--margin-ms", "20", "--client-timeout", "60")
    yield w
    w.stop()


def first_difference(a: np.ndarray, b: np.ndarray) -> int:
    """Index of the first frame where a and b differ (len(a) when none)."""
    d = np.flatnonzero(np.any(a != b, axis=1))
    return int(d[0]) if d.size else len(a)


def tone(rate: int, seconds: float, freq: float = 220.0, channels: int = 2, env: np.ndarray | None = None,
         seed: int = 0) -> np.ndarray:
    """A harmonic tone (frames, channels) with a little noise, shaped by `env` (per-sample gain) if given."""
    t = np.arange(int(rate * seconds)) / rate
    x = sum(0.3 / k * np.sin(2 * np.pi * freq * k * t) for k in (1, 2, 3))
    x = x + 0.01 * np.random.default_rng(seed).standard_normal(len(t))
    if env is not None:
        x = x * env[: len(t)]
    return np.repeat(x[:, None], channels, axis=1).astype(np.float32)


def pull(c: Client, start: int, frames: int, chunk: int, changes: dict | None = None) -> np.ndarray:
    """Text mode (no input): request [start, start + frames) chunk by chunk, applying `changes` {offset: [(name,
    value), ...]} (offsets are multiples of chunk) before requesting the chunk at that offset; the output played."""
    out = np.zeros((frames, c.welcome.out_channels), np.float32)
    for off in range(0, frames, chunk):
        for name, value in (changes or {}).get(off, []):
            c.set(name, value)
        n = min(chunk, frames - off)
        c.request(start + off, n)
        got = 0
        while got < n:
            msg = c.recv(timeout=120)
            assert isinstance(msg, Generated), msg
            i = msg.index - start
            out[i:i + msg.frames] = msg.data
            got += msg.frames
    return out
