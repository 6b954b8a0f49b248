"""ARC-Forcing from a stage-1 checkpoint in one process (or under torchrun); `lmdm arc` (arc/cli.py) is the command,
`python -m` runs the same one:

    PYTHONPATH=. python3 -m lmdm_core.arc.run --model runs/embedded/checkpoint \\
        --latents /tmp/lmdm-train/latents-train.pt --work runs/arc --export runs/arc/checkpoint --steps 600

Real windows are [stream context | blocks x block] latents cut from the stage-1 training latents (the mix, captions
through the checkpoint's frozen text encoder). Writes WORK/state.pt (resumable), history.json, losses.png,
samples/*.wav, and the post-trained model as an lmdm checkpoint at --export (same autoencoder and text encoder).
"""
from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path
from types import SimpleNamespace

import torch

from lmdm_core.arc.trainer import Batches, train_arc
from lmdm_core.conditions import Conditions
from lmdm_core.config import ARCConfig
from lmdm_core.training import ddp


def latent_batches(data, text, length: int) -> Batches:
    """Random windows of `length` latents from LatentSet clips at least that long, with their captions encoded."""
    usable = [i for i, z in enumerate(data.mix) if z.shape[-1] >= length]
    if not usable:
        raise ValueError(f"no training clip is {length} latents long; use fewer --blocks")
    weights = torch.tensor([float(data.mix[i].shape[-1] - length + 1) for i in usable])

    def draw(n: int, gen: torch.Generator) -> tuple[torch.Tensor, Conditions]:
        picks = torch.multinomial(weights, n, replacement=True, generator=gen)
        xs, caps = [], []
        for p in picks.tolist():
            z = data.mix[usable[p]]
            a = int(torch.randint(0, z.shape[-1] - length + 1, (1,), generator=gen))
            xs.append(z[:, a:a + length].float())
            caps.append(data.captions[usable[p]])
        with torch.no_grad():
            tokens, mask, _ = text.encode(caps)
        return torch.stack(xs), Conditions(tokens.float().cpu(), mask.cpu())
    return draw


def training_latents(data_dir: Path, model, work: Path, d: ddp.Dist):
    """Encode the build's train split once (rank 0), or load what an earlier run encoded."""
    from lmdm_core.training.audio import load_clips
    from lmdm_core.training.latents import LatentSet, encode_clips

    path = work / "latents-train.pt"
    if d.main and not path.is_file():
        work.mkdir(parents=True, exist_ok=True)
        clips = load_clips(data_dir, "train", model.autoencoder.sample_rate, with_stems=False)
        encode_clips(model.autoencoder, clips, progress=False).save(path)
    ddp.barrier(d)
    return LatentSet.load(path)


def post_train(a: SimpleNamespace) -> dict:
    """The whole run; `a` holds the options of `lmdm arc` (arc/cli.py) by their Python names."""
    from lmdm_core.pipeline import load_model
    from lmdm_core.training.latents import LatentSet

    d = ddp.setup(a.device)
    arc = ARCConfig()
    for field, value in (("train_steps", a.steps), ("batch", a.batch), ("blocks", a.blocks),
                         ("steps", a.sampler_steps), ("lr", a.lr),
                         ("disc_lr", a.disc_lr)):
        if value is not None:
            setattr(arc, field, value)
    model = load_model(a.model, device=d.device)
    data = LatentSet.load(a.latents) if a.latents else training_latents(Path(a.data), model, Path(a.work), d)
    batches = latent_batches(data, model.text, model.stream.context + arc.blocks * model.stream.block)
    t0, work = time.time(), Path(a.work)
    until = None if a.seconds is None else t0 + a.seconds
    gen, _, history = train_arc(model.dit, batches, model.stream, arc, work, d, model.autoencoder,
                                progress=not a.no_progress, until=until)
    arc.train_steps = history["loss_g"][-1][0] if history["loss_g"] else 0   # the steps the budget allowed
    report = {"arc": asdict(arc), "seconds": round(time.time() - t0, 1), "world": d.world,
              "final": {k: v[-1][1] for k, v in history.items() if v}}
    if d.main and a.export:
        model.dit = gen.eval().requires_grad_(False)
        meta = {**model.meta, "arc_forcing": report, "stage1": str(a.model)}
        model.save(a.export, dtype=torch.float16 if a.half else None, meta=meta)
        (work / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    ddp.teardown(d)
    return report


if __name__ == "__main__":
    from lmdm_core.arc.cli import arc_command
    arc_command(prog_name="python -m lmdm_core.arc.run")
