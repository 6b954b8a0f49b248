"""The whole recipe in one process: render -> autoencoder -> latents -> DiT -> export (+ a sanity stream), each stage
resumable from the work folder. `lmdm train run` (training/cli.py) is the command; `python -m` runs the same one:

    PYTHONPATH=. python3 -m lmdm_core.training.run --works data/works --soundfont data/sf2/TimGM6mb.sf2 \\
        --work /tmp/lmdm-train --export out/ckpt --ae-seconds 150 --dit-seconds 210

With --data (a rendered build) and --autoencoder (a trained one, e.g. the `lmdm train ae-v2` export) the render and
autoencoder stages are skipped: the DiT v2 recipe (docs/training.md, "DiT v2"), one call of a chained run.

Under torchrun every rank trains (DDP); rank 0 renders, encodes, exports. Time budgets (seconds) cap each training
stage: after a few steps the step count is cut to what fits, so the learning-rate schedule still ends properly.
"""
from __future__ import annotations

import copy
import json
import time
from dataclasses import asdict
from pathlib import Path
from types import SimpleNamespace

import torch

from lmdm_core.checkpoint import save_checkpoint
from lmdm_core.config import SamplerConfig, autoencoder_preset, dit_preset, stream_preset
from lmdm_core.pipeline import load_model
from lmdm_core.training import ddp
from lmdm_core.training.ae import AETrainConfig, evaluate, latent_scale, train_autoencoder
from lmdm_core.training.audio import load_clips
from lmdm_core.training.dit import (STATE_DIR, DiTTrainConfig, caption_vocab, fold_curve_scale, geometries, text_config,
                                    train_dit, understood_share)
from lmdm_core.training.dit_state import check_format, read_doc
from lmdm_core.training.latents import LatentSet, update_latents
from lmdm_core.training.state import StopFlag


def render(works: Path, out: Path, soundfont: Path, sample_rate: int, hop: int, renders: int, max_seconds: float,
           workers: int, progress: bool = True) -> dict:
    from lmdm_core.data.build import BuildConfig, build
    return build(BuildConfig(works_dir=works, out_dir=out, soundfont=soundfont, renders=renders,
                             sample_rate=sample_rate, hop=hop, max_seconds=max_seconds, workers=workers, plot=False,
                             progress=progress))


# The folded curve columns (weights / 5000 for brightness in Hz) fall into float16's subnormal range: keep float32.
FLOAT32_KEEP = ("dit.to_input_add_embed.weight",)


def train_ae(a: SimpleNamespace, ae_cfg, ae_train: AETrainConfig, clips: list, work: Path, d: ddp.Dist,
             progress: bool, start: float, report: dict) -> tuple[torch.nn.Module, dict]:
    """The autoencoder stage within its share of the time budget; sets the latent scale and reports."""
    left = None if a.total_seconds is None else a.total_seconds - (time.time() - start) - a.reserve_seconds
    ae_budget = a.ae_seconds if left is None else min(a.ae_seconds or 1e9, a.ae_share * left)
    ae, ae_hist = train_autoencoder(ae_cfg, clips, work / "ae", ae_train, d, progress, budget_s=ae_budget)
    ae.eval()
    ae_cfg.latent_scale = 1.0
    ae.cfg.latent_scale = latent_scale(ae, clips)
    report["ae_steps"] = ae_hist["loss"][-1][0] if ae_hist["loss"] else 0
    report["ae_final"] = {k: v[-1][1] for k, v in ae_hist.items() if v}
    report["latent_scale"] = ae.cfg.latent_scale
    return ae, ae_hist


def trained_autoencoder(path: str | Path, device: torch.device) -> tuple[torch.nn.Module, dict]:
    """A trained autoencoder checkpoint (one with an `autoencoder` section) and its meta, used as it is."""
    from lmdm_core.checkpoint import load_autoencoder
    ae = load_autoencoder(path).to(device)
    meta = json.loads((Path(path) / "config.json").read_text()).get("meta", {})
    return ae, meta


def dit_recipe(a: SimpleNamespace, fine_tune: bool) -> DiTTrainConfig:
    """From scratch: 60 % bidirectional then block-causal/enc-dec. Fine-tuning a trained model: the second stage
    only, at a lower peak learning rate and a short warm-up."""
    extra = dict(p_stem=a.p_stem, p_curves=a.p_curves, p_curve_drop=a.p_curve_drop, batch=a.dit_batch,
                 blocks=tuple(a.blocks or ()), state_format=a.state_format)
    if fine_tune:
        return DiTTrainConfig(steps_bidirectional=0, steps_finetune=a.dit_steps, lr=a.dit_lr or 2e-4,
                              lr_final=(a.dit_lr or 2e-4) / 10, warmup=100, **extra)
    bi = a.dit_steps * 3 // 5
    return DiTTrainConfig(steps_bidirectional=bi, steps_finetune=a.dit_steps - bi, lr=a.dit_lr or 5e-4, **extra)


def meta_for(train: LatentSet, held: LatentSet, vocab: list[str], report: dict, name: str = "lmdm-embedded") -> dict:
    """What evaluation needs later: held-out renders, vocabulary coverage, instrument labels, metrics, recipe."""
    instruments = sorted({i for row in train.instruments + held.instruments for i in row})
    return {"trained": True, "name": name, "heldout_renders": held.ids,
            "heldout_captions": held.captions, "instruments": instruments, "vocab_size": len(vocab),
            "curve_units": ["MIDI note (0 = unvoiced)", "dBFS", "Hz"], "report": report}


def recipe(a: SimpleNamespace) -> dict:
    """The whole run; `a` holds the options of `lmdm train run` (training/cli.py) by their Python names."""
    check_format(a.state_format)            # before rendering, not at the first save
    if a.init and a.autoencoder:
        raise ValueError("give --init (a whole model to fine-tune) or --autoencoder, not both")
    d = ddp.setup(a.device)
    work, export = Path(a.work), Path(a.export)
    ae_cfg, dit_cfg, stream = autoencoder_preset(a.ae_preset), dit_preset(a.dit_preset), stream_preset(a.stream_preset)
    base = load_model(a.init, device=d.device) if a.init else None
    if base is not None:                    # the base model's shapes win over the presets
        ae_cfg, dit_cfg, stream = base.autoencoder.cfg, base.dit.cfg, base.stream
    given = trained_autoencoder(a.autoencoder, d.device) if a.autoencoder else None
    if given is not None:
        ae_cfg = given[0].cfg
        if ae_cfg.latent_dim != dit_cfg.io_channels:
            raise ValueError(f"--autoencoder {a.autoencoder} has {ae_cfg.latent_dim} latent channels, DiT preset "
                             f"{a.dit_preset!r} takes {dit_cfg.io_channels}")
    report: dict = {"timings_s": {}, "device": str(d.device), "world": d.world,
                    "gpu": torch.cuda.get_device_name(d.device) if d.device.type == "cuda" else "cpu"}
    progress = not a.no_progress
    geometries(stream, DiTTrainConfig(blocks=tuple(a.blocks or ())))   # a block size that does not fit: now

    def stage(name: str, t0: float) -> None:
        report["timings_s"][name] = round(time.time() - t0, 1)
        if d.main:
            print(f"[{name}] {report['timings_s'][name]} s", flush=True)

    t0_run = t = time.time()
    data = Path(a.data) if a.data else work / "data"
    if d.main and a.data is None:
        report["data"] = render(Path(a.works), data, Path(a.soundfont), ae_cfg.sample_rate, ae_cfg.hop,
                                a.renders, a.max_seconds, a.workers, progress)
        report["data"].pop("errors", None)
    elif d.main and (data / "summary.json").is_file():
        report["data"] = {"from": str(data), **json.loads((data / "summary.json").read_text())}
    ddp.barrier(d)
    stage("render", t)

    t = time.time()
    train_clips = load_clips(data, "train", ae_cfg.sample_rate, limit=a.limit, workers=a.workers)
    held_clips = load_clips(data, "heldout", ae_cfg.sample_rate, limit=a.limit, workers=a.workers)
    stage("load", t)

    t = time.time()
    ae_train = AETrainConfig(steps=a.ae_steps, batch=a.ae_batch, segment=a.ae_segment)
    start = t0_run
    if given is not None:
        ae, ae_hist = given[0], {}
        given_report = given[1].get("report", {})
        report.update(ae_steps=given_report.get("step"), latent_scale=ae.cfg.latent_scale,
                      autoencoder={"from": str(a.autoencoder), "name": given[1].get("name"),
                                   "heldout": given_report.get("heldout")})
    elif base is None:
        ae, ae_hist = train_ae(a, ae_cfg, ae_train, train_clips, work, d, progress, start, report)
    else:
        ae, ae_hist = base.autoencoder.float(), {}
        base_report = base.meta.get("report", {})
        report.update({k: base_report[k] for k in ("ae_steps", "ae_final", "latent_scale") if k in base_report})
        report["init"] = {"from": str(a.init), "dit_steps": base_report.get("dit_steps"),
                          "recipe": base_report.get("recipe")}
    stage("autoencoder", t)

    t = time.time()
    if d.main:
        report["ae_heldout"] = evaluate(ae, held_clips, a.eval_seconds, work / "wavs")
        print("autoencoder held-out:", report["ae_heldout"], flush=True)
    stage("ae_eval", t)

    t = time.time()
    files = {s: work / f"latents-{s}.pt" for s in ("train", "heldout")}
    if d.main:   # only what the last call has not encoded (a warm machine's build grows between calls)
        update_latents(ae, train_clips, files["train"], progress)
        update_latents(ae, held_clips, files["heldout"], progress)
    ddp.barrier(d)
    train_lat, held_lat = LatentSet.load(files["train"]), LatentSet.load(files["heldout"])
    del train_clips, held_clips
    stage("latents", t)

    t = time.time()
    vocab = caption_vocab(train_lat.captions) if base is None else list(base.text.cfg.vocab)
    dit_train = dit_recipe(a, base is not None)
    dit_budget = a.dit_seconds
    if a.total_seconds is not None:
        dit_budget = min(dit_budget or 1e9, a.total_seconds - (time.time() - start) - 30.0)
    stop = StopFlag()
    dit, text, dit_hist = train_dit(dit_cfg, stream, train_lat, work / "dit", dit_train, vocab, d, progress,
                                    budget_s=dit_budget, init=None if base is None else (base.dit, base.text),
                                    seconds=a.seconds, stop=stop)
    stop.restore()
    vocab = list(text.cfg.vocab)             # a resumed run keeps its state's vocabulary
    report["dit_steps"] = dit_hist["loss"][-1][0] if dit_hist["loss"] else 0
    report["dit_final"] = {k: v[-1][1] for k, v in dit_hist.items() if v}
    report["vocab_heldout_coverage"] = round(understood_share(vocab, held_lat.captions), 4)
    stage("dit", t)

    if d.main:
        t = time.time()
        state = read_doc(work / "dit" / STATE_DIR) or {}
        report["dit_calls"] = state.get("calls", [])
        report["dit_state"] = {"format": state.get("state_format"), "files": {
            f.name: f.stat().st_size for f in sorted((work / "dit" / STATE_DIR).glob("*"))}}
        export_model(a, export, dit, text, ae, stream, dit_cfg, vocab, dit_train,
                     ae_train if base is None and given is None else None, train_lat, held_lat, report)
        (work / "report.json").write_text(json.dumps(report, indent=2) + "\n")
        (work / "history.json").write_text(json.dumps({"autoencoder": ae_hist, "dit": dit_hist}) + "\n")
        plot_dit(dit_hist, work / "losses.png", report["dit_steps"])
        stage("export", t)
    ddp.teardown(d)
    return report


def plot_dit(history: dict[str, list], out: Path, step: int) -> None:
    """The DiT loss curves as PNG (skipped where matplotlib is missing, e.g. the GPU machine: `lmdm train plot`)."""
    try:
        from lmdm_core.training.plots import plot_losses
        plot_losses({k: [tuple(p) for p in v] for k, v in history.items() if v}, out, title=f"DiT, step {step}")
    except (ImportError, ValueError):
        pass


def export_model(a: SimpleNamespace, export: Path, dit, text, ae, stream, dit_cfg, vocab: list[str],
                 dit_train: DiTTrainConfig, ae_train: AETrainConfig | None, train_lat: LatentSet,
                 held_lat: LatentSet, report: dict) -> None:
    """The EMA DiT (curve scale folded) + autoencoder + text encoder as an lmdm checkpoint. A run trained with several
    block sizes streams the longest by default (the checkpoint's stream) and lists them all in meta `blocks`."""
    ship = copy.deepcopy(dit).float().cpu()
    fold_curve_scale(ship)
    long = max(dit_train.blocks) if dit_train.blocks else stream.block
    configs = {"dit": dit_cfg, "stream": stream.with_block(long), "sampler": SamplerConfig(), "autoencoder": ae.cfg,
               "text": text_config(dit_cfg, vocab)}
    ae_recipe = asdict(ae_train) if ae_train is not None else \
        f"kept from {a.autoencoder or a.init} (its meta: recipe / report.recipe.ae)"
    report["recipe"] = {"ae": ae_recipe, "dit": asdict(dit_train), "renders": a.renders,
                        "max_seconds": a.max_seconds, "data": a.data}
    meta = meta_for(train_lat, held_lat, vocab, report,
                    name="lmdm-embedded" if a.dit_preset == "embedded" else f"lmdm-{a.dit_preset}")
    if dit_train.blocks:
        meta["blocks"] = sorted(dit_train.blocks, reverse=True)
    save_checkpoint(export, {"dit": ship, "autoencoder": ae.float().cpu(), "text": text.float().cpu()}, configs,
                    meta=meta, dtype=torch.float16 if a.half else None, keep=FLOAT32_KEEP)


if __name__ == "__main__":
    from lmdm_core.training.cli import run
    run(prog_name="python -m lmdm_core.training.run")
