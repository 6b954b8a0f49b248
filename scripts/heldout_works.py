"""A works folder of held-out works only, for evaluating models trained on the v2 build (docs/evaluation.md,
"v2 stage 1 vs v1"): the corpus works of WORKS (data/works) and the generated seeds 0..N-1 whose split (the same hash
every build uses, corpus.split_of at the build's held-out share) is "heldout", `--per-style` of each generated style
and of the Bach chorales, one of every other corpus style; then render it with `lmdm data build --works OUT`.

    PYTHONPATH=. python scripts/heldout_works.py --out /tmp/evalv3/works
"""
from __future__ import annotations

import shutil
from collections import defaultdict
from pathlib import Path

import click


@click.command()
@click.option("--works", default="data/works", show_default=True, help="the exported corpus works (works.jsonl)")
@click.option("--generated", type=int, default=800, show_default=True, help="generated seeds of the build")
@click.option("--heldout", type=float, default=0.1, show_default=True, help="the build's held-out share")
@click.option("--per-style", type=int, default=2, show_default=True)
@click.option("--out", required=True, help="new works folder")
def main(works: str, generated: int, heldout: float, per_style: int, out: str) -> None:
    from lmdm_core.data import corpus, generator

    dest = Path(out)
    dest.mkdir(parents=True, exist_ok=True)
    by_style: dict[str, list] = defaultdict(list)
    for w in corpus.read_works(Path(works)):
        if w.status == "ok" and corpus.split_of(w.split_key, heldout) == "heldout":
            by_style[w.style].append(w)
    for style, ws in sorted(by_style.items()):
        for w in ws[: per_style if style == "Bach chorale" else 1]:
            w.split = "heldout"
            shutil.copy(Path(works) / f"{w.slug}.mid", dest)
            corpus.append_work(dest, w)
    taken: dict[str, int] = defaultdict(int)
    for seed in range(generated):
        if corpus.split_of(f"generated:{seed}", heldout) != "heldout":
            continue
        style = generator.generate(seed).style
        if taken[style] < per_style:
            info = generator.export(seed, dest, heldout)
            corpus.append_work(dest, info)
            taken[style] += 1
    click.echo(f"{len(corpus.read_works(dest))} held-out works in {dest}")


if __name__ == "__main__":
    main()
