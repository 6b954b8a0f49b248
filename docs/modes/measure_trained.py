"""The trained-model figures of docs/modes.md for any checkpoint, through a real worker and the Python client.

    PYTHONPATH=. .venv/bin/python docs/modes/measure_trained.py sketch lmdm_core/weights
    PYTHONPATH=. .venv/bin/python docs/modes/measure_trained.py jam runs/fa --voice 0 --seeds 1,2

sketch: pooled Pearson r of output vs input level per model block (the test's stepped tone, seeds 1-3).
jam: chroma agreement of the output with the stem, with the stem's 2-s segments rotated by 3 (same output), and of
the output made from the rotated stem with the original and with the rotated stem, per chorale and seed.
"""
from __future__ import annotations

import argparse

import numpy as np

from bridge.client import Client
from lmdm_core.eval.metrics import chroma_agreement, prepare
from tests.modes import test_sketch as sk
from tests.modes.conftest import WorkerProc
from tests.modes.test_jam import HELD_OUT, chorale_voice

RATE = 22050


def sketch(address: str) -> dict:
    ins, outs = [], []
    for seed in sk.SEEDS:
        x, levels = sk.stepped(RATE, seed)
        with Client(address, stream=f"sk{seed}", rate=RATE, channels=2, mode="sketch", timeout=300) as c:
            c.set("prompt", "piano")
            c.set("seed", seed)
            y = c.stream_array(x, chunk=2048, request_frames=8192)[c.welcome.latency:, 0]
        n = len(y) // sk.BLOCK
        ins.append(levels[1:n])
        outs.append(sk.block_db(y, n)[1:])
    return {"pooled_r": float(np.corrcoef(np.concatenate(ins), np.concatenate(outs))[0, 1]),
            "per_seed": [float(np.corrcoef(a, b)[0, 1]) for a, b in zip(ins, outs)]}


def _jam(address: str, x: np.ndarray, name: str, seed: int) -> tuple[np.ndarray, int]:
    with Client(address, stream=name, rate=RATE, channels=2, mode="jam", timeout=300) as c:
        c.set("prompt", "Bach chorale for string quartet")
        c.set("seed", seed)
        return c.stream_array(x, chunk=2048, request_frames=8192), c.welcome.latency


def jam(address: str, voice: int, seeds: list[int]) -> list[dict]:
    from pathlib import Path

    rows = []
    for slug in HELD_OUT:
        x = chorale_voice(RATE, Path(f"data/works/{slug}.mid"), "string quartet", 40.0, voice=voice)
        seg = 2 * RATE
        k = len(x) // seg
        rot = np.concatenate([x[i * seg:(i + 1) * seg] for i in np.roll(np.arange(k), 3)])
        for seed in seeds:
            y, L = _jam(address, x, f"a{slug}{seed}", seed)
            yr, _ = _jam(address, rot, f"b{slug}{seed}", seed)
            n = k * seg - L
            part = slice(seg, n)   # the first seconds start from an empty context

            def agree(out: np.ndarray, stem: np.ndarray) -> float:
                return float(chroma_agreement(prepare(out[L:L + n][part], RATE), prepare(stem[:n][part], RATE)))

            rows.append({"work": slug, "seed": seed, "aligned": agree(y, x), "rotated_stem": agree(y, rot),
                         "from_rotated_vs_stem": agree(yr, x), "from_rotated_vs_rotated": agree(yr, rot)})
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("what", choices=["sketch", "jam"])
    p.add_argument("model")
    p.add_argument("--voice", type=int, default=-1, help="jam: stem voice (0 = soprano, -1 = bass)")
    p.add_argument("--seeds", default="1")
    a = p.parse_args()
    w = WorkerProc("--model", a.model, "--margin-ms", "20", "--client-timeout", "60")
    try:
        if a.what == "sketch":
            print(sketch(w.address))
        else:
            rows = jam(w.address, a.voice, [int(s) for s in a.seeds.split(",")])
            for r in rows:
                print(r)
            keys = [k for k in rows[0] if k not in ("work", "seed")]
            print("mean", {k: round(float(np.mean([r[k] for r in rows])), 3) for k in keys},
                  "aligned wins", sum(r["aligned"] > r["rotated_stem"] for r in rows), "of", len(rows))
    finally:
        w.stop()


if __name__ == "__main__":
    main()
