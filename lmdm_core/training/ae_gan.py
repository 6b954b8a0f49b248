"""Autoencoder v2 trainer: the spectral recipe of ae.py (MR-STFT + waveform L1 + KL) plus an adversary, as the
DAC / EnCodec / Stable Audio Oobleck autoencoders train: after `warmup_steps` of spectral loss alone, every step
updates the discriminators (hinge) on the current reconstructions, then the autoencoder with the spectral loss +
hinge adversarial + feature matching. The exported model is an EMA of the autoencoder weights.

Made for short GPU calls that start on a fresh machine: the whole training state (autoencoder, EMA, discriminators,
both optimizers, step, history, data RNG) is a folder of safetensors shards of at most 15 MiB plus one JSON
(`state.save_sharded`), resumed when present; a wall-clock budget (`--seconds`) or SIGTERM stops training cleanly
after the current step and saves. `lmdm train ae-v2` (training/cli.py) is the command; `python -m` runs the same one:

    PYTHONPATH=. python3 -m lmdm_core.training.ae_gan --data /tmp/lmdm-data --state runs/ae-v2/state \\
        --out out --seconds 480
"""
from __future__ import annotations

import copy
import json
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch import nn
from tqdm import tqdm

from lmdm_core.autoencoder import Autoencoder
from lmdm_core.config import AutoencoderConfig, autoencoder_preset, from_dict
from lmdm_core.training.ae import RESOLUTIONS, CropSampler, VAEStep, mrstft
from lmdm_core.training.discriminators import (DiscriminatorConfig, Discriminators, feature_matching, hinge_d,
                                               hinge_g)
from lmdm_core.checkpoint import section
from lmdm_core.training.state import StopFlag, load_optimizer, load_sharded, optimizer_tensors, save_sharded

STATE_FORMATS = ("exact", "compact", "small")
LOSSES = ("loss", "mrstft", "l1", "kl", "adv", "fm", "disc")


@dataclass
class GANTrainConfig:
    steps: int = 30000               # planned total; a call stops earlier when its --seconds run out
    batch: int = 32
    segment: int = 65536             # samples per crop (1.49 s at 44.1 kHz)
    lr: float = 1.5e-4               # autoencoder AdamW (the Stable Audio Oobleck recipe)
    disc_lr: float = 3e-4
    betas: list[float] = field(default_factory=lambda: [0.8, 0.99])
    weight_decay: float = 1e-3
    lr_warmup: int = 200             # linear learning-rate ramp of both optimizers from step 0
    rewarm: int = 200                # after resuming without optimizer moments: ramp again over this many steps
    warmup_steps: int = 2000         # spectral loss only; the discriminators start after this many steps
    spectral: float = 1.0            # MR-STFT weight
    time_l1: float = 0.1
    kl: float = 1e-4
    adversarial: float = 0.1         # hinge generator loss weight
    feature_matching: float = 5.0    # relative L1 on discriminator features
    grad_clip: float | None = 1.0    # global norm, both networks (None: off)
    ema: float = 0.999               # EMA decay of the autoencoder weights (ramped in: min(ema, (1+s)/(10+s)))
    stem_share: float = 0.3          # crops from single voices
    log_every: int = 25
    save_every: int = 1000           # steps between saves (and always at the end)
    seed: int = 0
    amp: bool = True                 # bf16 autocast on CUDA (float32 weights and optimizers)
    # State files: exact = all float32 (16 B per autoencoder parameter); compact = EMA as an fp16 delta from the
    # weights, Adam moments bf16 (10 B); small = weights fp16 too, no optimizer moments (4 B; a resume ramps the
    # learning rate again over `rewarm` steps). The GPU calls carry the state in a 64 MiB tree: small there.
    state_format: str = "small"
    resolutions: list[list[int]] = field(default_factory=lambda: [list(r) for r in RESOLUTIONS])
    disc: DiscriminatorConfig = field(default_factory=DiscriminatorConfig)


def lr_scale(step: int, cfg: GANTrainConfig, rewarm_from: int | None) -> float:
    """Linear warm-up from step 0, and again after a resume that lost the optimizer moments."""
    s = min(1.0, (step + 1) / max(1, cfg.lr_warmup))
    if rewarm_from is not None:
        s *= min(1.0, (step - rewarm_from + 1) / max(1, cfg.rewarm))
    return s


@torch.no_grad()
def ema_update(ema: nn.Module, model: nn.Module, step: int, decay: float) -> None:
    d = min(decay, (1 + step) / (10 + step))
    for e, p in zip(ema.parameters(), model.parameters()):
        e.lerp_(p, 1 - d)


class Trainer:
    """Autoencoder + EMA + discriminators + both optimizers + step + history + data RNG: one resumable unit."""

    def __init__(self, ae_cfg: AutoencoderConfig, cfg: GANTrainConfig, device: torch.device | str = "cpu"):
        if cfg.state_format not in STATE_FORMATS:
            raise ValueError(f"state_format {cfg.state_format!r}: choose from {STATE_FORMATS}")
        self.ae_cfg, self.cfg, self.device = ae_cfg, cfg, torch.device(device)
        torch.manual_seed(cfg.seed)
        self.ae = Autoencoder(ae_cfg).to(self.device)
        self.vae = VAEStep(self.ae)                      # sets the small initial posterior noise
        self.ema = copy.deepcopy(self.ae).requires_grad_(False)
        self.disc = Discriminators(ae_cfg.audio_channels, cfg.disc).to(self.device)
        betas = tuple(cfg.betas)
        self.opt_g = torch.optim.AdamW(self.ae.parameters(), lr=cfg.lr, betas=betas, weight_decay=cfg.weight_decay)
        self.opt_d = torch.optim.AdamW(self.disc.parameters(), lr=cfg.disc_lr, betas=betas,
                                       weight_decay=cfg.weight_decay)
        self.gen = torch.Generator().manual_seed(cfg.seed)
        self.step = 0
        self.history: dict[str, list] = {k: [] for k in LOSSES}
        self.rewarm_from: int | None = None
        self.seconds = 0.0                              # training wall-clock over all calls

    # ----- one step -----

    def train_step(self, crops: CropSampler) -> dict[str, float]:
        cfg = self.cfg
        scale = lr_scale(self.step, cfg, self.rewarm_from)
        for opt, lr in ((self.opt_g, cfg.lr), (self.opt_d, cfg.disc_lr)):
            for g in opt.param_groups:
                g["lr"] = lr * scale
        x = crops.sample(cfg.batch, cfg.segment, cfg.stem_share, self.gen)
        noise = torch.randn(cfg.batch, self.ae_cfg.latent_dim, cfg.segment // self.ae_cfg.hop + 1,
                            generator=self.gen).to(self.device)
        amp = dict(device_type=self.device.type, dtype=torch.bfloat16, enabled=cfg.amp and self.device.type == "cuda")
        with torch.autocast(**amp):
            y, kl = self.vae(x, noise)
        y = y.float()
        vals = {"mrstft": mrstft(y, x, [tuple(r) for r in cfg.resolutions]), "l1": (y - x).abs().mean(),
                "kl": kl.float()}
        loss = cfg.spectral * vals["mrstft"] + cfg.time_l1 * vals["l1"] + cfg.kl * vals["kl"]
        if self.step >= cfg.warmup_steps:
            vals["disc"] = self._disc_step(x, y.detach(), amp)
            self.disc.requires_grad_(False)              # the generator's backward leaves the discriminators alone
            with torch.autocast(**amp):
                fake = self.disc(y)
                with torch.no_grad():
                    real = self.disc(x)
            vals["adv"], vals["fm"] = hinge_g(fake), feature_matching(real, fake)
            self.disc.requires_grad_(True)
            loss = loss + cfg.adversarial * vals["adv"] + cfg.feature_matching * vals["fm"]
        self.opt_g.zero_grad(set_to_none=True)
        loss.backward()
        if cfg.grad_clip is not None:
            nn.utils.clip_grad_norm_(self.ae.parameters(), cfg.grad_clip)
        self.opt_g.step()
        ema_update(self.ema, self.ae, self.step, cfg.ema)
        self.step += 1
        vals["loss"] = loss
        return {k: float(v.detach()) for k, v in vals.items()}

    def _disc_step(self, x: torch.Tensor, y: torch.Tensor, amp: dict) -> torch.Tensor:
        with torch.autocast(**amp):
            loss = hinge_d(self.disc(x), self.disc(y))
        self.opt_d.zero_grad(set_to_none=True)
        loss.backward()
        if self.cfg.grad_clip is not None:
            nn.utils.clip_grad_norm_(self.disc.parameters(), self.cfg.grad_clip * 10)
        self.opt_d.step()
        return loss.detach()

    def log(self, vals: dict[str, float]) -> None:
        for k, v in vals.items():
            self.history[k].append((self.step, round(v, 6)))

    # ----- state -----

    def tensors(self) -> tuple[dict[str, torch.Tensor], dict]:
        """Everything to resume, as flat tensors + a JSON-able doc, in the configured precision."""
        fmt = self.cfg.state_format
        weights = torch.float16 if fmt == "small" else torch.float32   # fp16 rounding < one Adam step's change
        w = self.ae.state_dict()
        t = {f"ae.{k}": v.to(weights) for k, v in w.items()}
        t.update({f"disc.{k}": v.to(weights) for k, v in self.disc.state_dict().items()})
        for k, v in self.ema.state_dict().items():
            t[f"ema.{k}" if fmt == "exact" else f"ema_delta.{k}"] = v if fmt == "exact" else (v - w[k]).half()
        t["rng"] = self.gen.get_state()
        doc = {"format": "lmdm-ae-gan-state", "step": self.step, "history": self.history, "seconds": self.seconds,
               "state_format": fmt, "autoencoder": asdict(self.ae_cfg), "train": asdict(self.cfg),
               "rewarm_from": self.rewarm_from, "optimizers": {}}
        if fmt != "small":
            for name, opt in (("opt_g", self.opt_g), ("opt_d", self.opt_d)):
                ts, meta = optimizer_tensors(opt, name, torch.float32 if fmt == "exact" else torch.bfloat16)
                t.update(ts)
                doc["optimizers"][name] = meta
        return t, doc

    def save(self, folder: str | Path) -> list[Path]:
        t, doc = self.tensors()
        return save_sharded(folder, t, doc)

    def load(self, folder: str | Path) -> None:
        t, doc = load_sharded(folder)
        if doc.get("format") != "lmdm-ae-gan-state":
            raise ValueError(f"{folder}: not an autoencoder v2 training state")
        saved = from_dict(AutoencoderConfig, doc["autoencoder"])
        if asdict(saved) != asdict(self.ae_cfg):
            raise ValueError(f"{folder}: state was trained with autoencoder {asdict(saved)}, not {asdict(self.ae_cfg)}")
        self.ae.load_state_dict({k: v.float() for k, v in section(t, "ae").items()})
        self.disc.load_state_dict({k: v.float() for k, v in section(t, "disc").items()})
        if doc["state_format"] == "exact":
            self.ema.load_state_dict(section(t, "ema"))
        else:
            w = self.ae.state_dict()
            self.ema.load_state_dict({k: w[k] + d.to(w[k].device, torch.float32)
                                      for k, d in section(t, "ema_delta").items()})
        self.gen.set_state(t["rng"])
        self.step, self.history, self.seconds = int(doc["step"]), doc["history"], float(doc.get("seconds", 0.0))
        self.rewarm_from = doc.get("rewarm_from")
        opts = doc.get("optimizers", {})
        for name, opt in (("opt_g", self.opt_g), ("opt_d", self.opt_d)):
            if name in opts:
                load_optimizer(opt, t, name, opts[name])
        if "opt_g" not in opts and self.step > 0:
            self.rewarm_from = self.step                # fresh Adam moments: ramp the learning rate again

    def export_model(self, clips) -> Autoencoder:
        """A float32 copy of the EMA autoencoder (on the training device), latent_scale set so latents are about
        unit-variance."""
        from lmdm_core.training.ae import latent_scale
        ae = copy.deepcopy(self.ema).float().eval()
        ae.cfg.latent_scale = 1.0
        ae.cfg.latent_scale = round(latent_scale(ae, clips), 4)
        return ae


def train(trainer: Trainer, clips, state_dir: str | Path, seconds: float | None = None, max_steps: int | None = None,
          progress: bool = True, stop: StopFlag | None = None) -> dict:
    """Resume from state_dir if it holds a state, train until cfg.steps, `max_steps` more steps, `seconds` of wall
    clock or a stop signal, whichever comes first; save and return what happened."""
    state = Path(state_dir)
    if (state / "state.json").is_file():
        trainer.load(state)
    first, cfg, base = trainer.step, trainer.cfg, trainer.seconds
    crops = CropSampler(clips, trainer.device)
    end = cfg.steps if max_steps is None else min(cfg.steps, first + max_steps)
    t0 = time.time()
    bar = tqdm(total=cfg.steps, initial=first, desc="autoencoder v2", mininterval=10.0, disable=not progress)
    vals: dict[str, float] = {}
    while trainer.step < end and not (stop and stop.set):
        if seconds is not None and time.time() - t0 >= seconds:
            break
        vals = trainer.train_step(crops)
        if not all(math.isfinite(v) for v in vals.values()):
            raise FloatingPointError(f"step {trainer.step}: non-finite loss {vals} (state not saved)")
        if trainer.step % cfg.log_every == 0 or trainer.step == end:
            trainer.log(vals)
            bar.set_postfix({k: f"{v:.3f}" for k, v in vals.items() if k in ("mrstft", "adv", "disc")})
        bar.update(1)
        trainer.seconds = base + time.time() - t0
        if trainer.step % cfg.save_every == 0:
            trainer.save(state)
    bar.close()
    if vals and (not trainer.history["loss"] or trainer.history["loss"][-1][0] != trainer.step):
        trainer.log(vals)                               # a call's last step is always in the history
    train_s = time.time() - t0
    files = trainer.save(state)
    done = trainer.step - first
    return {"first_step": first, "step": trainer.step, "steps_this_call": done, "train_s": round(train_s, 1),
            "steps_per_s": round(done / max(1e-9, train_s), 3),
            "state_files": {f.name: f.stat().st_size for f in files}}


def train_call(data: str, state: str = "runs/ae-v2/state", out: str = "runs/ae-v2/out", export: str | None = None,
               preset: str = "embedded-v2", seconds: float | None = None, max_steps: int | None = None,
               sets: tuple[str, ...] = (), limit: int | None = None, workers: int = 8, eval_clips: int = 24,
               eval_seconds: float = 10.0, device: str | None = None, half: bool = False,
               no_progress: bool = False) -> dict:
    """One call of `lmdm train ae-v2`: load the build, train (resuming STATE) within the budget, report and export."""
    from lmdm_core.training.ae_report import finish
    from lmdm_core.training.audio import load_clips
    dev = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    torch.backends.cudnn.benchmark = True             # fixed crop shapes: let cuDNN pick its conv algorithms
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
    cfg = overridden(GANTrainConfig(), list(sets))
    ae_cfg = autoencoder_preset(preset)
    t0 = time.time()
    train_clips = load_clips(data, "train", ae_cfg.sample_rate, limit=limit, workers=workers)
    held = load_clips(data, "heldout", ae_cfg.sample_rate, limit=limit, workers=workers)
    load_s = time.time() - t0
    trainer = Trainer(ae_cfg, cfg, dev)
    run = train(trainer, train_clips, state, seconds, max_steps, not no_progress, StopFlag())
    run["load_s"] = round(load_s, 1)
    run["train_clips"], run["heldout_clips"] = len(train_clips), len(held)
    report = finish(trainer, train_clips, held[:eval_clips], Path(out), Path(export or Path(out) / "ckpt"),
                    run, eval_seconds, half)
    print(json.dumps({k: report[k] for k in ("step", "steps_this_call", "steps_per_s", "heldout")}, indent=1))
    return report


def overridden(cfg: GANTrainConfig, sets: list[str]) -> GANTrainConfig:
    """Apply FIELD=VALUE overrides (JSON values; `disc.FIELD` for the discriminator config)."""
    for s in sets:
        key, _, raw = s.partition("=")
        target, name = (cfg.disc, key[5:]) if key.startswith("disc.") else (cfg, key)
        if not hasattr(target, name) or not raw:
            raise SystemExit(f"--set {s!r}: unknown field or no value (fields: {sorted(asdict(cfg))})")
        setattr(target, name, json.loads(raw))
    return cfg


if __name__ == "__main__":
    from lmdm_core.training.cli import ae_v2
    ae_v2(prog_name="python -m lmdm_core.training.ae_gan")
