"""The `lmdm eval` command (imports the model stack only when it runs, so `lmdm --help` stays fast)."""
from __future__ import annotations

import click


@click.command("eval")
@click.option("--data", "data_dir", default="data/lmdm", show_default=True, type=click.Path(file_okay=False),
              help="data build (manifest.jsonl with a held-out split)")
@click.option("--model", default=None, help="checkpoint directory (default: lmdm_core/weights/ or the embedded model)")
@click.option("--out", "out_dir", default="eval", show_default=True, type=click.Path(file_okay=False))
@click.option("--quick", is_flag=True, help="2 works, 20 s in 5 s windows, 10 s jam: minutes, for tests and docs")
@click.option("--works", type=int, default=None, help="held-out works (default 8; --quick 2)")
@click.option("--seconds", type=float, default=None, help="generated length for drift (default 60; --quick 20)")
@click.option("--window", type=float, default=None, help="window length in s (default 10; --quick 5)")
@click.option("--context", type=float, default=None, help="audio context in s (default 10; --quick 5)")
@click.option("--steps", type=int, default=None, help="sampler steps (default: the model's)")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--classifier", type=click.Path(dir_okay=False, exists=True), default=None,
              help="saved instrument classifier (default: train one on the build's train split)")
@click.option("--parts", default="drift,adherence,accompaniment", show_default=True)
def eval_command(data_dir, model, out_dir, quick, works, seconds, window, context, steps, seed, classifier, parts):
    """Evaluate a model on held-out works: drift per window over a long generation, prompt adherence, jam
    accompaniment, each next to baselines. Writes OUT/eval.json and PNG plots (docs/evaluation.md)."""
    from pathlib import Path

    from lmdm_core.eval.run import EvalConfig, evaluate, summary_lines

    given = {k: v for k, v in {"works": works, "seconds": seconds, "window_s": window, "context_s": context}.items()
             if v is not None}
    common = {"model": model, "steps": steps, "seed": seed, "classifier": Path(classifier) if classifier else None,
              "parts": tuple(p.strip() for p in parts.split(",") if p.strip()), **given}
    cfg = (EvalConfig.quick(Path(data_dir), Path(out_dir), **common) if quick
           else EvalConfig(Path(data_dir), Path(out_dir), **common))
    try:
        result = evaluate(cfg)
    except (FileNotFoundError, ValueError) as err:
        raise click.ClickException(str(err)) from err
    for line in summary_lines(result):
        click.echo(line)
