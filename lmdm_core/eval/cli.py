"""The `lmdm eval` command, also `python -m lmdm_core.eval` (imports the model stack only when it runs, so
`lmdm --help` stays fast)."""
from __future__ import annotations

import click


@click.group("eval", invoke_without_command=True)
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
@click.option("--style-classifier", type=click.Path(dir_okay=False, exists=True), default=None,
              help="saved style classifier (default: train one on the build's train split)")
@click.option("--classifier-renders", type=int, default=None, help="train renders for the classifier (default: all)")
@click.option("--parts", default="drift,adherence,accompaniment,texture,style", show_default=True)
@click.option("--steps-list", default=None, help="several step counts, e.g. 8,4,2: one run each under OUT/steps<N>")
@click.option("--block-size", type=click.Choice(("long", "short")), default="long", show_default=True,
              help="stream blocks (the model's block sizes, docs/protocol.md); run once per size to compare them")
@click.option("--device", default="cpu", show_default=True,
              help="the model runs there (cpu, cuda); metrics stay on the CPU")
@click.option("--no-progress", is_flag=True)
@click.pass_context
def eval_command(ctx, data_dir, model, out_dir, quick, works, seconds, window, context, steps, seed, classifier,
                 style_classifier, classifier_renders, parts, steps_list, block_size, device, no_progress):
    """Evaluate a model on held-out works: drift per window over a long generation, prompt adherence (instruments,
    drums and groove style), transcription statistics against the real renders, jam accompaniment, each next to
    baselines. Writes OUT/eval.json and PNG plots (docs/evaluation.md); without matplotlib the PNGs are left out and
    eval.json is still written.
    `lmdm eval reconstruction` scores autoencoders instead."""
    if ctx.invoked_subcommand is not None:
        return
    import json
    from pathlib import Path

    from lmdm_core.eval.run import EvalConfig, evaluate, summary_lines
    from lmdm_core.pipeline import load_model

    given = {k: v for k, v in {"works": works, "seconds": seconds, "window_s": window, "context_s": context,
                               "classifier_renders": classifier_renders}.items() if v is not None}
    common = {"model": model, "steps": steps, "seed": seed, "progress": not no_progress, "block_size": block_size,
              "classifier": Path(classifier) if classifier else None,
              "style_classifier": Path(style_classifier) if style_classifier else None,
              "parts": tuple(p.strip() for p in parts.split(",") if p.strip()), **given}
    if steps_list:
        try:
            common["steps_list"] = tuple(int(s) for s in steps_list.split(","))
        except ValueError as err:
            raise click.BadParameter(f"{steps_list!r}: comma-separated step counts", param_hint="--steps-list") from err
    try:
        cfg = (EvalConfig.quick(Path(data_dir), Path(out_dir), **common) if quick
               else EvalConfig(Path(data_dir), Path(out_dir), **common))
        result = evaluate(cfg, model=load_model(model, device=device))
    except (FileNotFoundError, ValueError) as err:  # a missing build or model, a bad option: one line, no traceback
        click.echo(f"lmdm eval: {err}", err=True)
        ctx.exit(1)
    except ImportError as err:  # no matplotlib: eval.json was written before the plots
        done = Path(out_dir) / "eval.json"
        if not done.is_file():
            click.echo(f"lmdm eval: {err}", err=True)
            ctx.exit(1)
        click.echo(f"plots left out ({err}); eval.json is complete")
        result = {**json.loads(done.read_text()), "files": [str(done)]}
    click.echo(f"device: {device}")
    for line in summary_lines(result):
        click.echo(line)


def _models(specs: tuple[str, ...]) -> dict[str, str | None]:
    """NAME=PATH or PATH (named after its folder); none given: v1, the shipped weights."""
    from pathlib import Path

    out: dict[str, str | None] = {}
    for spec in specs:
        name, _, path = spec.rpartition("=")
        name = name or Path(path).resolve().name
        if name in out:
            raise click.BadParameter(f"model name {name!r} given twice", param_hint="--model")
        out[name] = path
    return out or {"v1": None}


@eval_command.command("reconstruction")
@click.option("--data", "data_dir", default="data/lmdm", show_default=True, type=click.Path(file_okay=False),
              help="data build (manifest.jsonl with a held-out split)")
@click.option("--model", "models", multiple=True,
              help="NAME=CHECKPOINT (repeatable, each at its own sample rate; default v1=lmdm_core/weights/)")
@click.option("--out", "out_dir", default="eval/reconstruction", show_default=True, type=click.Path(file_okay=False))
@click.option("--works", type=int, default=8, show_default=True, help="held-out works per group (one render each)")
@click.option("--seconds", type=float, default=10.0, show_default=True, help="excerpt from the start of each render")
@click.option("--group-by", default="collection", show_default=True,
              help="manifest field(s), comma-separated, that group the renders (e.g. collection,style)")
@click.option("--measures", default="spectral,notes,onsets", show_default=True)
@click.option("--examples", type=int, default=2, show_default=True, help="excerpts written as WAV pairs and PNGs")
@click.option("--example-seconds", type=float, default=3.0, show_default=True)
def reconstruction_command(data_dir, models, out_dir, works, seconds, group_by, measures, examples, example_seconds):
    """Score autoencoders on held-out renders: MR-STFT, LSD and log-mel distance at each model's rate and against the
    44.1 kHz original, note F1 (basic-pitch transcriptions) and onset F1. Writes OUT/reconstruction.json, .md, WAV
    pairs and spectrogram PNGs (docs/evaluation.md "Reconstruction")."""
    from pathlib import Path

    from lmdm_core.checkpoint import CheckpointError
    from lmdm_core.eval.reconstruction import ReconConfig, evaluate_reconstruction

    cfg = ReconConfig(Path(data_dir), Path(out_dir), _models(models), works, seconds, group_by,
                      parts=tuple(m.strip() for m in measures.split(",") if m.strip()), examples=examples,
                      example_seconds=example_seconds)
    try:
        result = evaluate_reconstruction(cfg)
    except (FileNotFoundError, ValueError, CheckpointError, ImportError) as err:
        raise click.ClickException(str(err)) from err
    click.echo((Path(out_dir) / "reconstruction.md").read_text())
    click.echo("wrote " + ", ".join(result["files"]))
