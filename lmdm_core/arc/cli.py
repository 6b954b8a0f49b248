"""The click commands of ARC-Forcing: `lmdm arc` (post-training, also `python -m lmdm_core.arc.run`, under torchrun
too), `lmdm bench arc` (`python -m lmdm_core.arc.bench`) and `lmdm eval compare` (`python -m lmdm_core.arc.compare`).
torch loads inside the commands, so `lmdm --help` stays fast."""
from __future__ import annotations

import json

import click


@click.command("arc")
@click.option("--model", required=True, help="stage-1 lmdm checkpoint directory")
@click.option("--latents", default=None, help="training latents (latents-train.pt of lmdm_core.training.run)")
@click.option("--data", default=None,
              help="a `lmdm data build` folder: its train split is encoded with the checkpoint's autoencoder (kept as "
                   "WORK/latents-train.pt for a resumed run)")
@click.option("--work", default="runs/arc", show_default=True, help="state, history, plots, sample WAVs")
@click.option("--export", default=None, help="write the post-trained model here (lmdm checkpoint)")
@click.option("--steps", type=int, default=None, help="training steps (default ARCConfig.train_steps)")
@click.option("--batch", type=int, default=None, help="global batch (at least 2 per rank)")
@click.option("--blocks", type=int, default=None, help="chunks rolled out after the real context")
@click.option("--sampler-steps", type=int, default=None, help="rollout schedule length")
@click.option("--lr", type=float, default=None, help="generator learning rate (default ARCConfig.lr)")
@click.option("--disc-lr", type=float, default=None, help="discriminator learning rate (default: --lr)")
@click.option("--seconds", type=float, default=None, help="stop (and save) after about this many seconds")
@click.option("--device", default=None)
@click.option("--half", is_flag=True, help="export float16 weights")
@click.option("--no-progress", is_flag=True)
def arc_command(**options) -> dict:
    """ARC-Forcing post-training of a stage-1 checkpoint on its own rollouts; give --latents or --data.

    \b
    Example:
      lmdm arc --model runs/embedded/checkpoint --latents /tmp/lmdm-train/latents-train.pt \\
          --work runs/arc --export runs/arc/checkpoint --steps 600
    """
    if (options["latents"] is None) == (options["data"] is None):
        raise click.UsageError("give one of --latents or --data")
    from types import SimpleNamespace

    from lmdm_core.arc.run import post_train
    try:
        return post_train(SimpleNamespace(**options))
    except (FileNotFoundError, ValueError) as err:
        raise click.ClickException(str(err)) from err


@click.command("arc")
@click.option("--dit-preset", default="embedded", show_default=True)
@click.option("--stream-preset", default="paper", show_default=True)
@click.option("--batch", type=int, default=2, show_default=True)
@click.option("--steps", type=int, default=3, show_default=True)
@click.option("--blocks", type=int, default=None, help="chunks rolled out (default ARCConfig.blocks)")
@click.option("--device", default=None, help="default: cuda where there is one, else cpu")
@click.option("--threads", type=int, default=None, help="torch CPU threads")
def bench_command(dit_preset: str, stream_preset: str, batch: int, steps: int, blocks: int | None,
                  device: str | None, threads: int | None) -> dict:
    """Time ARC training steps (generator + discriminator update) on random weights and toy windows; prints JSON.

    \b
    Example: lmdm bench arc --dit-preset embedded --stream-preset paper --batch 2 --threads 1
    """
    import torch

    from lmdm_core.arc.bench import bench
    from lmdm_core.config import ARCConfig
    if threads:
        torch.set_num_threads(threads)
    arc = ARCConfig()
    if blocks:
        arc.blocks = blocks
    out = bench(dit_preset, stream_preset, batch, steps, device or ("cuda" if torch.cuda.is_available() else "cpu"),
                arc)
    click.echo(json.dumps(out))
    return out


@click.command("compare")
@click.argument("runs", nargs=-1, required=True)
@click.option("--png", default=None, help="write the drift panels here")
@click.option("--md", default=None, help="write the Markdown table here (default: print it)")
def compare_command(runs: tuple[str, ...], png: str | None, md: str | None) -> None:
    """Drift curves of several `lmdm eval` runs side by side; RUNS are LABEL=path/to/eval.json (or paths).

    \b
    Example:
      lmdm eval compare stage1-8=eval/stage1-s8/eval.json arc-8=eval/arc-s8/eval.json \\
          --png docs/arc/drift.png --md docs/arc/drift.md
    """
    from pathlib import Path

    from lmdm_core.arc.compare import load_runs, markdown, plot
    try:
        loaded = load_runs(list(runs))
    except (FileNotFoundError, ValueError) as err:
        raise click.ClickException(str(err)) from err
    table = markdown(loaded)
    if md:
        Path(md).parent.mkdir(parents=True, exist_ok=True)
        Path(md).write_text(table + "\n")
    else:
        click.echo(table)
    if png:
        plot(loaded, png)
