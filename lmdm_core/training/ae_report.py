"""End of an autoencoder v2 call: export the EMA model as an lmdm checkpoint, evaluate it on held-out clips (MR-STFT,
SI-SDR, LSD, log-mel distance; streaming decode checked against the whole decode), write report.json,
history.json, losses.png and WAV pairs."""
from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path

import torch

from lmdm_core.autoencoder import Autoencoder
from lmdm_core.checkpoint import save_checkpoint, shard_sizes
from lmdm_core.training.ae import evaluate
from lmdm_core.training.audio import Clip, to_float


@torch.no_grad()
def stream_error(ae: Autoencoder, clip: Clip, latents: int = 96, block: int = 48) -> float:
    """Max |streamed − whole| decode of one clip's first latents, relative to the whole decode's peak."""
    x = to_float(clip.mix[:, : latents * ae.hop])[None].to(next(ae.parameters()).device)
    z = ae.encode(x)
    whole = ae.decode(z)
    st = ae.stream_decoder()
    y = torch.cat([st.push(z[..., i:i + block]) for i in range(0, z.shape[-1], block)], dim=-1)
    y = torch.cat([y[..., st.latency:], st.flush()], dim=-1)
    return float((y - whole).abs().max() / whole.abs().max().clamp_min(1e-9))


def finish(trainer, train_clips: list[Clip], held: list[Clip], out: Path, export: Path, run: dict,
           eval_seconds: float, half: bool) -> dict:
    """Export, evaluate and write the report files; returns the report."""
    t0 = time.time()
    out.mkdir(parents=True, exist_ok=True)
    ae = trainer.export_model(train_clips)
    report = {**run, "seconds_total": round(trainer.seconds, 1), "device": str(trainer.device),
              "gpu": torch.cuda.get_device_name() if trainer.device.type == "cuda" else "cpu",
              "adversarial_from": trainer.cfg.warmup_steps, "latent_scale": ae.cfg.latent_scale,
              "params": {"encoder": _count(ae.encoder), "decoder": _count(ae.decoder),
                         "discriminators": _count(trainer.disc)},
              "final": {k: v[-1][1] for k, v in trainer.history.items() if v}}
    report["heldout"] = evaluate(ae, held, eval_seconds, out / "wavs", n_wavs=3) if held else {}
    report["stream_rel_err"] = stream_error(ae, held[0] if held else train_clips[0])
    meta = {"trained": True, "name": "lmdm-ae-v2", "report": report, "recipe": asdict(trainer.cfg)}
    save_checkpoint(export, {"autoencoder": ae}, {"autoencoder": ae.cfg}, meta=meta,
                    dtype=torch.float16 if half else None)
    report["export"] = {"path": str(export), "shards": shard_sizes(export)}
    report["finish_s"] = round(time.time() - t0, 1)
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    (out / "history.json").write_text(json.dumps({"autoencoder_v2": trainer.history}) + "\n")
    try:                       # (no points at all only when a call trained no step)
        from lmdm_core.training.plots import plot_losses
        plot_losses({k: v for k, v in trainer.history.items() if v}, out / "losses.png",
                    title=f"autoencoder v2, step {trainer.step}")
    except (ImportError, ValueError):   # no matplotlib: `lmdm train plot OUT/history.json` draws it elsewhere
        pass
    return report


def _count(m: torch.nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())
