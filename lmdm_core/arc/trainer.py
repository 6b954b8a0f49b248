"""ARC-Forcing training loop: each step rolls the generator out from real context, updates the generator against the
discriminator, then the discriminator on the same (detached) rollout, its real counterpart and the real audio under
prompts rolled by one in the batch.

Distributed: under torchrun every rank rolls out its share of the batch; gradients are averaged with
`ddp.allreduce_grads` after each backward instead of a DDP wrapper, because one generator update runs the model
blocks x k times per backward and parts of either model get no gradient in a given update (the discriminator is
frozen in the generator's update; the unused global embedding), which DDP's reducer does not accept.
One AdamW holds both models as two parameter groups: an update zeroes all gradients (None), so `opt.step()` moves
only the model whose gradients were just computed, and `training.state` saves and restores everything at once.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import torch

from lmdm_core.arc.discriminator import Discriminator
from lmdm_core.arc.losses import contrastive_loss, discriminator_loss, generator_loss
from lmdm_core.arc.rollout import rollout
from lmdm_core.conditions import Conditions, cat
from lmdm_core.config import ARCConfig, SamplerConfig, StreamConfig
from lmdm_core.dit import DiT
from lmdm_core.objective import drop_conditions, sample_t
from lmdm_core.training import ddp
from lmdm_core.training.state import load_state, save_state

# (local batch, generator) -> (real latents [B, C, context + blocks*block], their conditions)
Batches = Callable[[int, torch.Generator], tuple[torch.Tensor, Conditions]]
SERIES = ("loss_g", "loss_d", "loss_contrastive", "margin")


def rolled(cond: Conditions) -> Conditions:
    """Each row gets the previous row's conditions (the contrastive negative)."""
    g = None if cond.global_vec is None else cond.global_vec.roll(1, 0)
    return Conditions(cond.tokens.roll(1, 0), cond.mask.roll(1, 0), g)


def make_optimizer(gen: DiT, disc: Discriminator, arc: ARCConfig) -> torch.optim.AdamW:
    groups = [{"params": [p for p in gen.parameters() if p.requires_grad]},
              {"params": [p for p in disc.parameters() if p.requires_grad], "lr": arc.disc_lr or arc.lr}]
    return torch.optim.AdamW(groups, lr=arc.lr, betas=tuple(arc.betas), weight_decay=arc.weight_decay)


def _update(loss: torch.Tensor, module: torch.nn.Module, opt: torch.optim.Optimizer, arc: ARCConfig,
            d: ddp.Dist) -> None:
    opt.zero_grad(set_to_none=True)
    loss.backward()
    ddp.allreduce_grads(module, d)
    torch.nn.utils.clip_grad_norm_(module.parameters(), arc.grad_clip)
    opt.step()
    opt.zero_grad(set_to_none=True)


def train_step(gen: DiT, disc: Discriminator, real: torch.Tensor, cond: Conditions, stream: StreamConfig,
               arc: ARCConfig, opt: torch.optim.Optimizer, rng: torch.Generator, d: ddp.Dist | None = None,
               sampler: SamplerConfig | None = None) -> tuple[dict[str, float], torch.Tensor]:
    """One generator update then one discriminator update; returns the losses and the rollout (detached)."""
    d = d or ddp.Dist()
    b, dev = real.shape[0], real.device
    amp = torch.autocast(dev.type, dtype=torch.bfloat16, enabled=arc.amp and dev.type == "cuda")
    if b < 2:
        raise ValueError("ARC needs at least 2 windows per rank (the contrastive loss rolls prompts in the batch)")
    n_ctx = real.shape[-1] - arc.blocks * stream.block
    if n_ctx < 0:
        raise ValueError(f"real windows of {real.shape[-1]} latents are shorter than {arc.blocks} blocks")
    cond = drop_conditions(cond, arc.p_cond, rng)
    with amp:
        fake = rollout(gen, real[..., :n_ctx], cond, stream, arc.blocks, arc.steps, arc.grad_step_max, rng,
                       grad=True, sampler=sampler).latents.float()
    noise = SamplerConfig(logsnr_min=arc.logsnr_min, logsnr_max=arc.logsnr_max)
    t = sample_t(b, noise, rng).to(dev, real.dtype)
    eps = torch.randn(real[..., n_ctx:].shape, generator=rng).to(dev, real.dtype)
    t2, eps2 = torch.cat([t, t]), torch.cat([eps, eps])

    disc.requires_grad_(False)               # the generator's update: gradient flows through D to the rollout only
    with amp:
        lr_, lf = disc(torch.cat([real, fake]), n_ctx, t2, eps2, cat(cond, cond)).float().chunk(2)
    loss_g = generator_loss(lr_, lf)
    _update(loss_g, gen, opt, arc, d)
    disc.requires_grad_(True)

    fake = fake.detach()
    t3, eps3 = torch.cat([t, t, t]), torch.cat([eps, eps, eps])
    with amp:
        lr_, lf, lm = disc(torch.cat([real, fake, real]), n_ctx, t3, eps3,
                           cat(cat(cond, cond), rolled(cond))).float().chunk(3)
    loss_d = discriminator_loss(lr_, lf)
    loss_c = contrastive_loss(lr_, lm)
    _update(loss_d + arc.contrastive_weight * loss_c, disc, opt, arc, d)
    stats = {"loss_g": loss_g.item(), "loss_d": loss_d.item(), "loss_contrastive": loss_c.item(),
             "margin": (lr_ - lf).mean().item()}
    return stats, fake


def _write_samples(autoencoder, real: torch.Tensor, fake: torch.Tensor, folder: Path, step: int) -> list[Path]:
    """Decode the first window of each and write real / ARC rollout WAVs (context included in both)."""
    import soundfile as sf

    folder.mkdir(parents=True, exist_ok=True)
    p = next(autoencoder.parameters())
    paths = []
    with torch.no_grad():
        for name, z in (("real", real[:1]), ("rollout", fake[:1])):
            audio = autoencoder.decode(z.to(p.device, p.dtype)).float().clamp(-1, 1)[0].T.cpu().numpy()
            path = folder / f"step{step:06d}_{name}.wav"
            sf.write(path, audio, autoencoder.sample_rate)
            paths.append(path)
    return paths


def _plot(history: dict[str, list], out: Path) -> None:
    try:
        from lmdm_core.training.plots import plot_losses
    except ImportError:                      # pragma: no cover (the GPU machine has no matplotlib)
        return
    try:
        plot_losses({k: history[k] for k in SERIES}, out / "losses.png", title="ARC-Forcing")
    except ImportError:                      # pragma: no cover
        pass


def train_arc(gen: DiT, batches: Batches, stream: StreamConfig, arc: ARCConfig, out_dir: str | Path,
              d: ddp.Dist | None = None, autoencoder=None, disc: Discriminator | None = None,
              progress: bool = True, steps: int | None = None, until: float | None = None,
              ) -> tuple[DiT, Discriminator, dict[str, list]]:
    """Post-train `gen` in place (resuming from out_dir/state.pt when present) for arc.train_steps steps (or stop
    after `steps` more, for tests, or at the wall-clock time `until`, for time budgets: every rank stops at the same
    step). The discriminator starts as a copy of `gen`'s trunk."""
    d = d or ddp.Dist()
    out = Path(out_dir)
    gen.train().requires_grad_(True)
    disc = (disc or Discriminator(gen, arc)).to(d.device).train()
    opt = make_optimizer(gen, disc, arc)
    rng = torch.Generator().manual_seed(arc.seed * 1000 + d.rank)
    modules = {"gen": gen, "disc": disc}
    step, history = 0, {k: [] for k in SERIES}
    if (out / "state.pt").is_file():
        step, history, _ = load_state(out / "state.pt", modules, opt, rng)
        if d.rank:                           # rank 0 saved its RNG; the others draw their own data again
            rng.manual_seed(arc.seed * 1000 + d.rank + 7919 * step)
    local = ddp.split_batch(arc.batch, d)
    stop = arc.train_steps if steps is None else min(arc.train_steps, step + steps)
    from tqdm import tqdm
    bar = tqdm(total=arc.train_steps, initial=step, disable=not (progress and d.main), desc="arc", mininterval=5.0)
    t0 = time.time()
    while step < stop:
        real, cond = batches(local, rng)
        stats, fake = train_step(gen, disc, real.to(d.device), cond.to(d.device, real.dtype), stream, arc, opt, rng,
                                 d)
        step += 1
        bar.update(1)
        if until is not None and ddp.mean(float(time.time() >= until), d) > 0:
            stop = step                      # the budget is spent: log, sample and save this step as the last
        if step % arc.log_every == 0 or step == stop:
            for k in SERIES:
                history[k].append((step, ddp.mean(stats[k], d)))
            if d.main:
                bar.set_postfix(g=f"{stats['loss_g']:.3f}", d=f"{stats['loss_d']:.3f}")
        if d.main and autoencoder is not None and (step % arc.sample_every == 0 or step == stop):
            _write_samples(autoencoder, real, fake, out / "samples", step)
        if d.main and (step % arc.save_every == 0 or step == stop):
            save_state(out / "state.pt", modules, opt, step, history, rng,
                       {"config": asdict(arc), "seconds": time.time() - t0})
            _plot(history, out)
    bar.close()
    ddp.barrier(d)
    return gen, disc, history
