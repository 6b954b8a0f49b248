"""Discriminators for adversarial autoencoder training, and their losses.

- `STFTDiscriminator`: EnCodec's MS-STFT discriminator shape: per FFT size, 2-D convolutions over the complex STFT
  (real and imaginary parts of every audio channel as input channels), dilated along time, strided along frequency.
- `PeriodDiscriminator`: HiFi-GAN's MPD shape: the waveform folded into [T/p, p] and 2-D convolutions along T/p.

Each returns, per sub-discriminator, (logits, features); `hinge_d`, `hinge_g` and `feature_matching` take those
lists. Losses follow the Stable Audio Oobleck recipe: hinge, and feature matching as L1 relative to the real
features' mean magnitude (so every layer weighs the same whatever its scale).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import weight_norm

Outputs = list[tuple[torch.Tensor, list[torch.Tensor]]]   # per sub-discriminator: (logits, feature maps)


@dataclass
class DiscriminatorConfig:
    """Which discriminators and how wide; the trainer's adversarial weights live in its own config."""

    stft_ffts: list[int] = field(default_factory=lambda: [2048, 1024, 512, 256, 128])   # hop = n_fft / 4
    stft_filters: int = 32
    stft_dilations: list[int] = field(default_factory=lambda: [1, 2, 4])
    periods: list[int] = field(default_factory=lambda: [2, 3, 5, 7, 11])                 # [] = no MPD
    period_channels: list[int] = field(default_factory=lambda: [16, 32, 64, 128])


def _conv_stack(convs: nn.ModuleList, h: torch.Tensor, slope: float) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Each conv then leaky ReLU; every activation is kept for the feature-matching loss."""
    feats = []
    for conv in convs:
        h = F.leaky_relu(conv(h), slope)
        feats.append(h)
    return h, feats


def _wn2d(c_in: int, c_out: int, kernel, stride=1, dilation=1, padding=0) -> nn.Module:
    return weight_norm(nn.Conv2d(c_in, c_out, kernel, stride=stride, dilation=dilation, padding=padding))


class STFTScale(nn.Module):
    """One FFT size: [B, ch, T] -> complex STFT [B, 2·ch, frames, bins] -> conv stack -> logits [B, 1, frames, f]."""

    def __init__(self, audio_channels: int, n_fft: int, filters: int, dilations: list[int]):
        super().__init__()
        self.n_fft, self.hop = n_fft, n_fft // 4
        self.register_buffer("window", torch.hann_window(n_fft), persistent=False)
        convs = [_wn2d(2 * audio_channels, filters, (3, 9), padding=(1, 4))]
        for d in dilations:      # time axis dilated, frequency axis strided by 2
            convs.append(_wn2d(filters, filters, (3, 9), stride=(1, 2), dilation=(d, 1), padding=(d, 4)))
        convs.append(_wn2d(filters, filters, (3, 3), padding=(1, 1)))
        self.convs = nn.ModuleList(convs)
        self.out = _wn2d(filters, 1, (3, 3), padding=(1, 1))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        b, ch, t = x.shape
        spec = torch.stft(x.float().reshape(b * ch, t), self.n_fft, self.hop, window=self.window,
                          return_complex=True)                                  # [B·ch, bins, frames]
        h = torch.view_as_real(spec).reshape(b, ch, *spec.shape[1:], 2)         # [B, ch, bins, frames, 2]
        h = h.permute(0, 1, 4, 3, 2).reshape(b, 2 * ch, spec.shape[2], spec.shape[1])
        h, feats = _conv_stack(self.convs, h, 0.2)
        return self.out(h), feats


class STFTDiscriminator(nn.Module):
    def __init__(self, audio_channels: int, cfg: DiscriminatorConfig):
        super().__init__()
        self.scales = nn.ModuleList(STFTScale(audio_channels, n, cfg.stft_filters, cfg.stft_dilations)
                                    for n in cfg.stft_ffts)

    def forward(self, x: torch.Tensor) -> Outputs:
        return [s(x) for s in self.scales]


class PeriodScale(nn.Module):
    """One period p: [B, ch, T] -> [B·ch, 1, T/p, p] -> strided (5, 1) convs along T/p -> logits."""

    def __init__(self, period: int, channels: list[int]):
        super().__init__()
        self.period = period
        widths = [1] + list(channels)
        self.convs = nn.ModuleList(_wn2d(widths[i], widths[i + 1], (5, 1), stride=(3, 1), padding=(2, 0))
                                   for i in range(len(channels)))
        self.convs.append(_wn2d(widths[-1], widths[-1], (5, 1), padding=(2, 0)))
        self.out = _wn2d(widths[-1], 1, (3, 1), padding=(1, 0))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        b, ch, t = x.shape
        pad = (-t) % self.period
        h = F.pad(x.reshape(b * ch, 1, t), (0, pad), mode="reflect") if pad else x.reshape(b * ch, 1, t)
        h = h.reshape(b * ch, 1, -1, self.period)
        h, feats = _conv_stack(self.convs, h, 0.1)
        return self.out(h), feats


class PeriodDiscriminator(nn.Module):
    def __init__(self, cfg: DiscriminatorConfig):
        super().__init__()
        self.scales = nn.ModuleList(PeriodScale(p, cfg.period_channels) for p in cfg.periods)

    def forward(self, x: torch.Tensor) -> Outputs:
        return [s(x) for s in self.scales]


class Discriminators(nn.Module):
    """All configured discriminators as one module (one optimizer, one state entry)."""

    def __init__(self, audio_channels: int, cfg: DiscriminatorConfig):
        super().__init__()
        self.cfg = cfg
        self.stft = STFTDiscriminator(audio_channels, cfg) if cfg.stft_ffts else None
        self.period = PeriodDiscriminator(cfg) if cfg.periods else None
        if self.stft is None and self.period is None:
            raise ValueError("DiscriminatorConfig names no discriminator (no stft_ffts, no periods)")

    def forward(self, x: torch.Tensor) -> Outputs:
        out: Outputs = []
        for d in (self.stft, self.period):
            if d is not None:
                out += d(x)
        return out


def hinge_d(real: Outputs, fake: Outputs) -> torch.Tensor:
    """Discriminator hinge loss: mean over sub-discriminators of relu(1 - D(x)) + relu(1 + D(G(x)))."""
    terms = [F.relu(1 - r.float()).mean() + F.relu(1 + f.float()).mean() for (r, _), (f, _) in zip(real, fake)]
    return torch.stack(terms).mean()


def hinge_g(fake: Outputs) -> torch.Tensor:
    """Generator hinge loss: mean over sub-discriminators of relu(1 - D(G(x)))."""
    return torch.stack([F.relu(1 - f.float()).mean() for f, _ in fake]).mean()


def feature_matching(real: Outputs, fake: Outputs) -> torch.Tensor:
    """Mean over every feature map of |real - fake| / mean |real| (real features carry no gradient)."""
    terms = [(rf.detach().float() - ff.float()).abs().mean() / (rf.detach().float().abs().mean() + 1e-8)
             for (_, rfs), (_, ffs) in zip(real, fake) for rf, ff in zip(rfs, ffs)]
    return torch.stack(terms).mean()
