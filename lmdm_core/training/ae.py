"""Autoencoder training: multi-resolution STFT + waveform L1 + a small KL term (the Oobleck VAE bottleneck), on
random crops of rendered mixes and single voices; and the held-out metrics (MR-STFT distance, SI-SDR, log-spectral
distance, log-mel distance) with a few reconstructions written next to their originals as WAV.

No adversarial term here (the v1 recipe, docs/model-card.md); ae_gan.py adds one for autoencoder v2.
"""
from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from lmdm_core.autoencoder import Autoencoder, vae_split
from lmdm_core.config import AutoencoderConfig
from lmdm_core.training import ddp
from lmdm_core.training.audio import Clip, to_float
from lmdm_core.training.state import load_state, save_state, steps_within

SILENT_RMS2 = (0.003 * 32767) ** 2   # crops quieter than -50 dBFS RMS (int16 units, squared) are drawn again
MAX_TRIES = 20
RESOLUTIONS = ((2048, 512), (1024, 256), (512, 128), (256, 64), (128, 32))


@dataclass
class AETrainConfig:
    steps: int = 3000
    batch: int = 32                  # global batch (split over ranks)
    segment: int = 32768             # samples per crop
    lr: float = 3e-4                 # 1e-3 plateaued (loss flat until the cosine decay brought it down)
    lr_final: float = 3e-5           # cosine decay to this
    kl: float = 1e-4                 # KL weight (keeps the latent space smooth and bounded for the DiT)
    time_l1: float = 0.1             # waveform L1 weight
    stem_share: float = 0.3          # share of crops from single voices (jam mode encodes a player alone)
    log_every: int = 25
    save_every: int = 500
    seed: int = 0
    amp: bool = True                 # bf16 autocast on CUDA
    resolutions: list[tuple[int, int]] = field(default_factory=lambda: [list(r) for r in RESOLUTIONS])


def stft_mag(x: torch.Tensor, n_fft: int, hop: int) -> torch.Tensor:
    """|STFT| of [N, T] float32 signals."""
    win = torch.hann_window(n_fft, device=x.device)
    return torch.stft(x, n_fft, hop, window=win, return_complex=True).abs()


def mrstft(x: torch.Tensor, ref: torch.Tensor, resolutions=RESOLUTIONS, eps: float = 1e-5) -> torch.Tensor:
    """Multi-resolution STFT distance of audio [B, ch, T] to ref: mean over resolutions of spectral convergence
    (‖|S|−|S_ref|‖_F / ‖S_ref‖_F) plus mean |log|S| − log|S_ref||."""
    x, ref = x.float().flatten(0, 1), ref.float().flatten(0, 1)
    total = x.new_zeros(())
    for n_fft, hop in resolutions:
        a, b = stft_mag(x, n_fft, hop), stft_mag(ref, n_fft, hop)
        sc = torch.linalg.vector_norm(a - b) / (torch.linalg.vector_norm(b) + eps)
        total = total + sc + (torch.log(a + eps) - torch.log(b + eps)).abs().mean()
    return total / len(resolutions)


def si_sdr(x: torch.Tensor, ref: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Scale-invariant SDR in dB per [.., T] row (mean removed)."""
    x, ref = x - x.mean(-1, keepdim=True), ref - ref.mean(-1, keepdim=True)
    alpha = (x * ref).sum(-1, keepdim=True) / ((ref * ref).sum(-1, keepdim=True) + eps)
    target = alpha * ref
    return 10 * torch.log10((target.pow(2).sum(-1) + eps) / ((x - target).pow(2).sum(-1) + eps))


def log_spectral_distance(x: torch.Tensor, ref: torch.Tensor, n_fft: int = 2048, hop: int = 512) -> torch.Tensor:
    """LSD in dB: per frame sqrt(mean over bins of (10 log10 P_ref − 10 log10 P)^2), averaged over frames."""
    a = stft_mag(x.float().flatten(0, -2), n_fft, hop).pow(2)
    b = stft_mag(ref.float().flatten(0, -2), n_fft, hop).pow(2)
    d = 10 * torch.log10(b + 1e-10) - 10 * torch.log10(a + 1e-10)
    return d.pow(2).mean(-2).sqrt().mean()


def mel_filterbank(sample_rate: int, n_fft: int, n_mels: int, fmin: float = 20.0) -> torch.Tensor:
    """[n_mels, n_fft//2+1] triangular filters equally spaced on the HTK mel scale up to Nyquist."""
    mel = lambda f: 2595.0 * math.log10(1.0 + f / 700.0)   # noqa: E731
    edges = 700.0 * (10 ** (torch.linspace(mel(fmin), mel(sample_rate / 2), n_mels + 2) / 2595.0) - 1.0)
    f = torch.linspace(0, sample_rate / 2, n_fft // 2 + 1)
    lo, mid, hi = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    return torch.clamp(torch.minimum((f - lo) / (mid - lo), (hi - f) / (hi - mid)), min=0.0)


def log_mel_distance(x: torch.Tensor, ref: torch.Tensor, sample_rate: int, n_fft: int = 2048, hop: int = 512,
                     n_mels: int = 80) -> torch.Tensor:
    """Mean |10 log10 mel power − reference| in dB over frames and bands (floor -100 dB)."""
    fb = mel_filterbank(sample_rate, n_fft, n_mels).to(x.device)
    a = fb @ stft_mag(x.float().flatten(0, -2), n_fft, hop).pow(2)
    b = fb @ stft_mag(ref.float().flatten(0, -2), n_fft, hop).pow(2)
    return (10 * torch.log10(a + 1e-10) - 10 * torch.log10(b + 1e-10)).abs().mean()


class VAEStep(nn.Module):
    """The training forward (what DDP wraps): audio -> (reconstruction, KL)."""

    def __init__(self, ae: Autoencoder, init_log_std: float = -4.0):
        super().__init__()
        self.ae = ae
        if init_log_std is not None:
            # Start with little posterior noise (softplus(-4) ~ 0.02): at the default softplus(0) ~ 0.7 the noise
            # drowns the young encoder's means and the decoder learns to ignore its input.
            last = [m for m in ae.encoder.modules() if isinstance(m, nn.Conv1d)][-1]
            with torch.no_grad():
                last.bias[ae.cfg.latent_dim:].fill_(init_log_std)

    def forward(self, audio: torch.Tensor, noise: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mean, std = vae_split(self.ae.encoder(audio))
        z = mean + std * noise[..., : mean.shape[-1]]
        kl = 0.5 * (mean.pow(2) + std.pow(2) - 2 * torch.log(std) - 1).mean()
        return self.ae.decoder(z), kl


class CropSampler:
    """Random crops from all clips concatenated (int16 on the training device); crops may straddle two clips."""

    def __init__(self, clips: list[Clip], device: torch.device):
        self.mix = torch.cat([c.mix for c in clips], dim=1).to(device)
        stems = [c.stem for c in clips if c.stem is not None]
        self.stems = torch.cat(stems, dim=1).to(device) if stems else None

    def sample(self, n: int, segment: int, stem_share: float, gen: torch.Generator) -> torch.Tensor:
        out = []
        for _ in range(n):
            use_stem = self.stems is not None and float(torch.rand(1, generator=gen)) < stem_share
            src = self.stems if use_stem else self.mix
            for _ in range(MAX_TRIES):    # near-silent crops teach the log-magnitude loss to output silence
                start = int(torch.randint(0, max(1, src.shape[1] - segment), (1,), generator=gen))
                crop = src[:, start:start + segment]
                if crop.float().pow(2).mean() > SILENT_RMS2:
                    break
            out.append(crop)
        x = to_float(torch.stack(out))
        gain = 10 ** ((torch.rand(n, 1, 1, generator=gen) * 12 - 9) / 20)   # -9..+3 dB around the -20 dBFS level
        return x * gain.to(x.device)


def lr_at(step: int, cfg: AETrainConfig) -> float:
    warm = min(1.0, (step + 1) / 100)
    cos = 0.5 * (1 + math.cos(math.pi * min(1.0, step / max(1, cfg.steps))))
    return warm * (cfg.lr_final + (cfg.lr - cfg.lr_final) * cos)


def train_autoencoder(ae_cfg: AutoencoderConfig, clips: list[Clip], out_dir: str | Path, cfg: AETrainConfig,
                      d: ddp.Dist | None = None, progress: bool = True, budget_s: float | None = None
                      ) -> tuple[Autoencoder, dict[str, list]]:
    """Train (or resume from out_dir/state.pt) and return the autoencoder and its loss history. budget_s: cut the
    step count (and so the schedule) to what fits this many seconds, judged after 30 steps."""
    d = d or ddp.Dist()
    out = Path(out_dir)
    torch.manual_seed(cfg.seed)
    ae = Autoencoder(ae_cfg).to(d.device)
    model = ddp.wrap(VAEStep(ae), d)
    opt = torch.optim.AdamW(ae.parameters(), lr=cfg.lr, betas=(0.8, 0.99), weight_decay=1e-4)
    gen = torch.Generator().manual_seed(cfg.seed * 1000 + d.rank)
    step, history = 0, {"loss": [], "mrstft": [], "l1": [], "kl": []}
    if (out / "state.pt").is_file():
        step, history, _ = load_state(out / "state.pt", {"ae": ae}, opt, gen)
    first = step
    crops = CropSampler(clips, d.device)
    local = ddp.split_batch(cfg.batch, d)
    amp = cfg.amp and d.device.type == "cuda"
    res = [tuple(r) for r in cfg.resolutions]
    t0, bar = time.time(), _bar(cfg.steps, step, progress and d.main, "autoencoder")
    while step < cfg.steps:
        for g in opt.param_groups:
            g["lr"] = lr_at(step, cfg)
        x = crops.sample(local, cfg.segment, cfg.stem_share, gen)
        noise = torch.randn(local, ae_cfg.latent_dim, cfg.segment // ae_cfg.hop + 1, generator=gen).to(d.device)
        with torch.autocast(d.device.type, dtype=torch.bfloat16, enabled=amp):
            y, kl = model(x, noise)
        y = y.float()
        spec, l1 = mrstft(y, x, res), (y - x).abs().mean()
        loss = spec + cfg.time_l1 * l1 + cfg.kl * kl.float()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(ae.parameters(), 1.0)
        opt.step()
        step += 1
        if step == first + 10:
            t10 = time.time()              # pace is timed from here, past the first steps' warm-up
        if step == first + 60 and budget_s is not None:
            pace = (time.time() - t10) / 50
            cfg.steps = int(ddp.mean(steps_within(step, pace, time.time() - t0, budget_s, cfg.steps), d))
            bar.total = cfg.steps
        if step % cfg.log_every == 0 or step == cfg.steps:
            vals = {"loss": loss.item(), "mrstft": spec.item(), "l1": l1.item(), "kl": kl.item()}
            for k, v in vals.items():
                history[k].append((step, ddp.mean(v, d)))
            if d.main:
                bar.set_postfix(loss=f"{vals['loss']:.3f}", mrstft=f"{vals['mrstft']:.3f}")
        bar.update(1)
        if d.main and (step % cfg.save_every == 0 or step == cfg.steps):
            save_state(out / "state.pt", {"ae": ae}, opt, step, history, gen,
                       {"config": asdict(cfg), "seconds": time.time() - t0})
    bar.close()
    return ae, history


def _bar(total: int, initial: int, enabled: bool, desc: str):
    from tqdm import tqdm
    return tqdm(total=total, initial=initial, disable=not enabled, desc=desc, mininterval=5.0)


@torch.no_grad()
def latent_scale(ae: Autoencoder, clips: list[Clip], seconds: float = 10.0, n: int = 64) -> float:
    """Std of the VAE means over a sample of clips: set as AutoencoderConfig.latent_scale so latents are ~unit."""
    dev = next(ae.parameters()).device
    seg = int(seconds * ae.sample_rate) // ae.hop * ae.hop
    zs = []
    for c in clips[:n]:
        x = to_float(c.mix[:, :seg])[None].to(dev)
        if x.shape[-1] >= ae.hop:
            zs.append(vae_split(ae.encoder(x[..., : x.shape[-1] // ae.hop * ae.hop]))[0].flatten())
    return float(torch.cat(zs).std())


@torch.no_grad()
def evaluate(ae: Autoencoder, clips: list[Clip], seconds: float = 10.0, wav_dir: str | Path | None = None,
             n_wavs: int = 4) -> dict[str, float]:
    """Held-out reconstruction metrics over the first `seconds` of each clip's mix (and the chosen voice alone);
    writes the first n_wavs originals and reconstructions as 16-bit WAV when wav_dir is given."""
    dev = next(ae.parameters()).device
    seg = int(seconds * ae.sample_rate) // ae.hop * ae.hop
    rows = {"mrstft": [], "si_sdr_db": [], "lsd_db": [], "log_mel_db": [], "mrstft_stem": []}
    for i, c in enumerate(clips):
        x = to_float(c.mix[:, :seg])[None].to(dev)
        if x.shape[-1] < seg:
            continue
        y = ae.decode(ae.encode(x))
        rows["mrstft"].append(mrstft(y, x).item())
        rows["si_sdr_db"].append(si_sdr(y, x).mean().item())
        rows["lsd_db"].append(log_spectral_distance(y, x).item())
        rows["log_mel_db"].append(log_mel_distance(y, x, ae.sample_rate).item())
        if c.stem is not None and c.stem[:, :seg].float().pow(2).mean() > SILENT_RMS2:
            s = to_float(c.stem[:, :seg])[None].to(dev)
            rows["mrstft_stem"].append(mrstft(ae.decode(ae.encode(s)), s).item())
        if wav_dir is not None and i < n_wavs:
            import soundfile as sf
            w = Path(wav_dir)
            w.mkdir(parents=True, exist_ok=True)
            sf.write(w / f"{c.entry.id}-original.wav", x[0].T.cpu().numpy(), ae.sample_rate, subtype="PCM_16")
            sf.write(w / f"{c.entry.id}-reconstruction.wav", y[0].clamp(-1, 1).T.cpu().numpy(), ae.sample_rate,
                     subtype="PCM_16")
    out = {k: round(sum(v) / len(v), 4) for k, v in rows.items() if v}
    out["clips"] = len(rows["mrstft"])
    out["seconds_each"] = seconds
    return out
