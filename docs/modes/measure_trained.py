"""The trained-model figures of docs/modes.md for any checkpoint, through a real worker and the Python client.

    PYTHONPATH=. .venv/bin/python docs/modes/measure_trained.py sketch lmdm_core/weights
    PYTHONPATH=. .venv/bin/python docs/modes/measure_trained.py jam runs/fa --voice 0 --seeds 1,2

sketch: pooled Pearson r of output vs input level per model block (the test's stepped tone, seeds 1-3).
jam: chroma agreement of the output with the stem, with the stem's 2-s segments rotated by 3 (same output), and of
the output made from the rotated stem with the original and with the rotated stem, per chorale and seed.
"""
from __future__ import annotations

import click
import numpy as np

from tests.modes.conftest import WorkerProc
from tests.modes.test_jam import HELD_OUT, agreement, chorale_voice, jam_output, rotated
from tests.modes.test_sketch import block_levels

RATE = 22050


def sketch(address: str) -> dict:
    ins, outs = block_levels(address, RATE)
    return {"pooled_r": float(np.corrcoef(np.concatenate(ins), np.concatenate(outs))[0, 1]),
            "per_seed": [float(np.corrcoef(a, b)[0, 1]) for a, b in zip(ins, outs)]}


def jam(address: str, voice: int, seeds: list[int]) -> list[dict]:
    from pathlib import Path

    rows = []
    for slug in HELD_OUT:
        x = chorale_voice(RATE, Path(f"data/works/{slug}.mid"), "string quartet", 40.0, voice=voice)
        rot = rotated(x, RATE)
        for seed in seeds:
            out = jam_output(address, x, f"a{slug}{seed}", RATE, seed)
            out_rot = jam_output(address, rot, f"b{slug}{seed}", RATE, seed)
            stem = x[: len(out)]
            rows.append({"work": slug, "seed": seed, "aligned": agreement(out, stem, RATE),
                         "rotated_stem": agreement(out, rotated(stem, RATE), RATE),
                         "from_rotated_vs_stem": agreement(out_rot, x, RATE),
                         "from_rotated_vs_rotated": agreement(out_rot, rot, RATE)})
    return rows


@click.command(help=__doc__.split("\n\n")[0])
@click.argument("what", type=click.Choice(["sketch", "jam"]))
@click.argument("model")
@click.option("--voice", type=int, default=-1, help="jam: stem voice (0 = soprano, -1 = bass)")
@click.option("--seeds", default="1")
def main(what: str, model: str, voice: int, seeds: str) -> None:
    w = WorkerProc("--model", model, "--margin-ms", "20", "--client-timeout", "60")
    try:
        if what == "sketch":
            print(sketch(w.address))
        else:
            rows = jam(w.address, voice, [int(s) for s in seeds.split(",")])
            for r in rows:
                print(r)
            keys = [k for k in rows[0] if k not in ("work", "seed")]
            print("mean", {k: round(float(np.mean([r[k] for r in rows])), 3) for k in keys},
                  "aligned wins", sum(r["aligned"] > r["rotated_stem"] for r in rows), "of", len(rows))
    finally:
        w.stop()


if __name__ == "__main__":
    main()
