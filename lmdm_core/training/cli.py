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


def _dit_default(field: str):
    """DiTTrainConfig's default, read when the option is parsed (training.dit imports torch: `lmdm --help` stays
    fast)."""
    def default() -> float:
        from lmdm_core.training.dit import DiTTrainConfig
        return getattr(DiTTrainConfig, field)
    return default


def _blocks(ctx, param, value: str | None) -> tuple[int, ...]:
    """--blocks 48,12 -> (48, 12)."""
    if not value:
        return ()
    try:
        blocks = tuple(int(b) for b in value.split(","))
    except ValueError:
        raise click.BadParameter(f"{value!r}: block sizes in latents, comma-separated, e.g. 48,12") from None
    if any(b < 1 for b in blocks):
        raise click.BadParameter(f"{value!r}: block sizes must be positive")
    return blocks


@train.command()
@click.option("--works", default="data/works", show_default=True)
@click.option("--soundfont", default="data/sf2/TimGM6mb.sf2", show_default=True)
@click.option("--work", default="runs/embedded", show_default=True,
              help="work folder: renders, states, latents, report")
@click.option("--export", default="runs/embedded/checkpoint", show_default=True, help="lmdm checkpoint folder to write")
@click.option("--ae-preset", default="embedded", show_default=True)
@click.option("--dit-preset", default="embedded", show_default=True)
@click.option("--stream-preset", default="paper", show_default=True)
@click.option("--data", default=None,
              help="train on this `lmdm data build` folder (rendered at the autoencoder's rate) instead of rendering "
                   "--works into WORK/data")
@click.option("--autoencoder", default=None,
              help="a trained autoencoder checkpoint (e.g. the `lmdm train ae-v2` export): used as it is, the "
                   "autoencoder stage is skipped and the render takes its rate and hop")
@click.option("--renders", type=int, default=2, show_default=True)
@click.option("--max-seconds", type=float, default=90.0, show_default=True)
@click.option("--limit", type=int, default=None, help="at most this many renders per split (smoke tests)")
@click.option("--workers", type=int, default=16, show_default=True)
@click.option("--ae-steps", type=int, default=6000, show_default=True)
@click.option("--ae-batch", type=int, default=32, show_default=True)
@click.option("--ae-segment", type=int, default=32768, show_default=True)
@click.option("--ae-seconds", type=float, default=None, help="time budget of the autoencoder stage")
@click.option("--dit-steps", type=int, default=12000, show_default=True, help="bidirectional + fine-tune steps (60/40)")
@click.option("--dit-batch", type=int, default=64, show_default=True)
@click.option("--dit-seconds", type=float, default=None,
              help="time budget of the DiT stage (the step count is cut so the schedule ends within it)")
@click.option("--seconds", type=float, default=None,
              help="DiT training wall clock of this call: training stops after the step that reaches it (or at "
                   "SIGTERM), saves the state and exports; the schedule (--dit-steps) is kept for the next call")
@click.option("--blocks", callback=_blocks, default=None,
              help="block sizes (latents) drawn per batch, e.g. 48,12: one set of weights streams long and short "
                   "blocks (each must divide the stream's context); default: the stream's own")
@click.option("--state-format", default="exact", show_default=True,
              help="DiT training state (WORK/dit/state/): exact 16 B/param, compact 10, small 4, ema 2, ema8 ~1 "
                   "(docs/training.md, \"DiT v2\")")
@click.option("--total-seconds", type=float, default=None,
              help="wall-clock budget of the whole run: after loading, the autoencoder gets --ae-share of what is "
                   "left (less a reserve for encoding, evaluation and export), the DiT the rest")
@click.option("--ae-share", type=float, default=0.4, show_default=True)
@click.option("--reserve-seconds", type=float, default=90.0, show_default=True)
@click.option("--eval-seconds", type=float, default=10.0, show_default=True)
@click.option("--init", default=None,
              help="continue from this lmdm checkpoint: its autoencoder and vocabulary are kept, its DiT is "
                   "fine-tuned (block-causal/enc-dec only) for --dit-steps")
@click.option("--dit-lr", type=float, default=None, help="peak DiT learning rate (default 5e-4, with --init 2e-4)")
@click.option("--p-stem", type=float, default=_dit_default("p_stem"), show_default="DiTTrainConfig.p_stem",
              help="share of windows that train accompaniment (jam) with the stem input")
@click.option("--p-curves", type=float, default=_dit_default("p_curves"), show_default="DiTTrainConfig.p_curves",
              help="share of mix windows that carry the sketch curves")
@click.option("--p-curve-drop", type=float, default=_dit_default("p_curve_drop"),
              show_default="DiTTrainConfig.p_curve_drop", help="chance of zeroing each curve on its own")
@click.option("--device", default=None)
@click.option("--half", is_flag=True, help="export float16 weights")
@click.option("--no-progress", is_flag=True)
def run(**options) -> dict:
    """The whole recipe: render -> autoencoder -> latents -> DiT -> export (also `python -m lmdm_core.training.run`,
    under torchrun too).

    \b
    Example (a CPU smoke run on a few works):
      lmdm train run --works data/works --work runs/smoke --export runs/smoke/ckpt --limit 4 \\
          --ae-steps 20 --ae-batch 2 --dit-steps 20 --dit-batch 2

    \b
    The DiT v2 on a v2 build and a trained autoencoder, one call of a chained run (scripts/gpu/train_dit_v2.sh):
      lmdm train run --data /tmp/lmdm-v2 --autoencoder models/ae-v2-c16 --dit-preset embedded-v2 \\
          --blocks 48,12 --state-format ema8 --dit-steps 24000 --seconds 380 --work /tmp/dit-v2 --export out/ckpt
    """
    from types import SimpleNamespace

    from lmdm_core.training.run import recipe
    try:
        return recipe(SimpleNamespace(**options))
    except (FileNotFoundError, ValueError) as err:   # no renders of a split, a missing --init model: one line
        raise click.ClickException(str(err)) from err


@train.command("ae-v2")
@click.option("--data", required=True, help="a `lmdm data build` folder rendered at the preset's rate")
@click.option("--state", default="runs/ae-v2/state", show_default=True,
              help="training state folder (resumed when present)")
@click.option("--out", default="runs/ae-v2/out", show_default=True, help="report.json, history.json, losses.png, wavs/")
@click.option("--export", default=None, help="lmdm checkpoint folder for the EMA autoencoder (default OUT/ckpt)")
@click.option("--preset", default="embedded-v2", show_default=True, help="autoencoder preset (config.py)")
@click.option("--seconds", type=float, default=None, help="wall-clock budget of training in this call")
@click.option("--max-steps", type=int, default=None, help="at most this many steps in this call")
@click.option("--set", "sets", multiple=True, metavar="FIELD=VALUE",
              help="override a GANTrainConfig field (JSON value), e.g. --set batch=16 --set warmup_steps=500")
@click.option("--limit", type=int, default=None, help="at most this many renders per split")
@click.option("--workers", type=int, default=8, show_default=True)
@click.option("--eval-clips", type=int, default=24, show_default=True)
@click.option("--eval-seconds", type=float, default=10.0, show_default=True)
@click.option("--device", default=None)
@click.option("--half", is_flag=True, help="export float16 weights")
@click.option("--no-progress", is_flag=True)
def ae_v2(**options) -> dict:
    """Autoencoder v2 (adversarial, resumable; also `python -m lmdm_core.training.ae_gan`).

    \b
    Example (a CPU smoke run on a rendered folder):
      lmdm train ae-v2 --data runs/data --state runs/ae-v2/state --out runs/ae-v2/out --preset tiny \\
          --seconds 60 --set batch=2 --set segment=16384
    """
    from lmdm_core.training.ae_gan import train_call
    return train_call(**options)


@train.command("ae-cost")
@click.option("--preset", default="embedded-v2", show_default=True)
@click.option("--candidates", is_flag=True, help="time the sizing candidates built on the preset")
@click.option("--only", default=None, help="comma-separated candidate names (with --candidates)")
@click.option("--model", default=None, help="checkpoint folder: time its trained autoencoder (not a preset)")
@click.option("--threads", default="2", show_default=True, help="comma-separated torch thread counts, e.g. 2,1")
@click.option("--repeats", type=int, default=5, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def ae_cost(preset: str, candidates: bool, only: str | None, model: str | None, threads: str, repeats: int,
            as_json: bool) -> list:
    """CPU cost of the streaming encoder + decoder per 48-latent block (also `python -m lmdm_core.ae_bench`).

    \b
    Example: lmdm train ae-cost --candidates --threads 2,1 --repeats 8
    """
    from lmdm_core.ae_bench import measure, table
    rows = measure(preset, candidates, [int(t) for t in threads.split(",")], repeats,
                   None if only is None else only.split(","), model)
    click.echo(json.dumps([r.row() for r in rows], indent=1) if as_json else table(rows))
    return rows


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
    for n, _, m in runs:
        if m not in MODES:
            raise click.BadParameter(f"unknown mode {m!r}", param_hint="--modes")
        if n not in P.CANDIDATES:
            raise click.BadParameter(f"unknown candidate {n!r}; choose from {', '.join(P.CANDIDATES)}",
                                     param_hint="--only")
    costs = [P.measure(n, P.candidate(n), ae_preset, b, m, steps, repeats)
             for n, b, m in tqdm(runs, desc="dit-cost", disable=None)]
    click.echo(P.table(costs))
    click.echo(f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}, {threads} threads, {steps} steps")
    if json_out is not None:
        json_out.write_text(json.dumps(P.as_dicts(costs), indent=1))
