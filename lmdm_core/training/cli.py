"""`lmdm train`: run the training recipe, train autoencoder v2, draw loss curves, time the streaming paths."""
from __future__ import annotations

import json
import statistics
import time
from pathlib import Path

import click

from lmdm_core.modes import MODES


@click.group()
def train() -> None:
    """Train the embedded model (render -> autoencoder -> latents -> DiT -> export); see docs/training.md."""


@train.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.pass_context
def run(ctx: click.Context) -> None:
    """The whole recipe; options as `python -m lmdm_core.training.run --help` (e.g. --total-seconds 560).

    \b
    Example (a CPU smoke run on a few works):
      lmdm train run --works data/works --work runs/smoke --export runs/smoke/ckpt --limit 4 \\
          --ae-steps 20 --ae-batch 2 --dit-steps 20 --dit-batch 2
    """
    from lmdm_core.training.run import main
    main(list(ctx.args))


@train.command("ae-v2", context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.pass_context
def ae_v2(ctx: click.Context) -> None:
    """Autoencoder v2 (adversarial, resumable); options as `python -m lmdm_core.training.ae_gan --help`.

    \b
    Example (a CPU smoke run on a rendered folder):
      lmdm train ae-v2 --data runs/data --state runs/ae-v2/state --out runs/ae-v2/out --preset tiny \\
          --seconds 60 --set batch=2 --set segment=16384
    """
    from lmdm_core.training.ae_gan import main
    main(list(ctx.args))


@train.command("ae-cost", context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.pass_context
def ae_cost(ctx: click.Context) -> None:
    """CPU cost of the streaming encoder + decoder per 48-latent block; options as `python -m lmdm_core.ae_bench`.

    \b
    Example: lmdm train ae-cost --candidates --threads 2,1 --repeats 8
    """
    from lmdm_core.ae_bench import main
    main(list(ctx.args))


@train.command()
@click.argument("history", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="PNG to write (default: next to HISTORY, losses.png)")
def plot(history: Path, out: Path | None) -> None:
    """Loss curves (PNG) from a run's history.json ({"autoencoder": {...}, "dit": {...}} or one stage's series)."""
    from lmdm_core.training.plots import plot_losses
    doc = json.loads(history.read_text())
    stages = doc if all(isinstance(v, dict) for v in doc.values()) else {"": doc}
    series = {f"{stage} {name}".strip(): [tuple(p) for p in pts] for stage, d in stages.items()
              for name, pts in d.items() if pts and name != "loss_bidirectional"}
    path = plot_losses(series, out or history.with_name("losses.png"), title=str(history.parent.name))
    click.echo(f"wrote {path}")


@train.command()
@click.option("--model", default=None, help="checkpoint folder (default: the shipped weights)")
@click.option("--mode", type=click.Choice(list(MODES)), default="text", show_default=True)
@click.option("--blocks", type=int, default=6, show_default=True, help="timed blocks after one warm-up block")
@click.option("--steps", type=int, default=None, help="denoising steps (default: the model's)")
@click.option("--threads", type=int, default=0, help="torch CPU threads (0 = torch default)")
def rtf(model: str | None, mode: str, blocks: int, steps: int | None, threads: int) -> None:
    """Real-time factor of the full streaming path (encode where the mode needs it + DiT block + decode) on CPU."""
    import numpy as np
    import torch

    from lmdm_core.pipeline import AudioStream, load_model
    if threads:
        torch.set_num_threads(threads)
    m = load_model(model)
    s = AudioStream(m, seed=0, mode=mode)
    if steps:
        s.set_param("steps", steps)
    s.set_param("prompt", "piano playing a Bach chorale in D minor")
    rng = np.random.default_rng(0)
    x = (0.05 * rng.standard_normal((s.channels, s.block_samples))).astype(np.float32)
    times = []
    for i in range(blocks + 1):
        t0 = time.perf_counter()
        s.process(x)
        if i:
            times.append(time.perf_counter() - t0)
    block_s = s.block_samples / s.sample_rate
    ms = statistics.median(times) * 1e3
    click.echo(f"{m.source}: mode {mode}, {s.sampler.steps} steps, block {block_s:.2f} s, "
               f"{ms:.0f} ms/block (median of {blocks}), real-time factor {block_s * 1e3 / ms:.1f}")


@train.command("dit-cost")
@click.option("--only", default=None, help="comma-separated candidates (default: all of path_cost.CANDIDATES)")
@click.option("--ae", "ae_preset", default="embedded-v2", show_default=True, help="autoencoder preset")
@click.option("--blocks", default="48", show_default=True, help="block sizes in latents, e.g. 48,12")
@click.option("--modes", default="text,delay", show_default=True)
@click.option("--steps", type=int, default=8, show_default=True)
@click.option("--threads", type=int, default=2, show_default=True, help="torch CPU threads")
@click.option("--repeats", type=int, default=6, show_default=True, help="timed blocks after two warm-up blocks")
@click.option("--json", "json_out", type=click.Path(dir_okay=False, path_type=Path), default=None)
def dit_cost(only: str | None, ae_preset: str, blocks: str, modes: str, steps: int, threads: int, repeats: int,
             json_out: Path | None) -> None:
    """CPU cost of the whole streaming path (DiT + decoder, + encoder in delay mode) for candidate DiT sizes.

    \b
    Example: lmdm train dit-cost --only d256x6,d384x8 --blocks 48,12 --threads 2
    """
    import os

    import torch
    from tqdm import tqdm

    from lmdm_core.training import path_cost as P
    torch.set_num_threads(threads)
    names = [n.strip() for n in only.split(",")] if only else list(P.CANDIDATES)
    runs = [(n, int(b), m) for n in names for b in blocks.split(",") for m in modes.split(",")]
    for _, _, m in runs:
        if m not in MODES:
            raise click.BadParameter(f"unknown mode {m!r}", param_hint="--modes")
    costs = [P.measure(n, P.candidate(n), ae_preset, b, m, steps, repeats)
             for n, b, m in tqdm(runs, desc="dit-cost", disable=None)]
    click.echo(P.table(costs))
    click.echo(f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}, {threads} threads, {steps} steps")
    if json_out is not None:
        json_out.write_text(json.dumps(P.as_dicts(costs), indent=1))
