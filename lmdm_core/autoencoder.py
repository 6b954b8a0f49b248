"""Oobleck-shaped audio autoencoder (the Stable Audio Open VAE) and block-wise streaming encode/decode.

Module names mirror stable-audio-tools (`encoder.layers.N...`, `decoder.layers.N...`, snake `alpha`/`beta`) so an SAOS
`pretransform.model.*` state dict maps onto this one by stripping the prefix. Convolutions here are plain
`Conv1d`/`ConvTranspose1d`: SAOS stores them weight-normed (`weight_g`, `weight_v`); `lmdm_core.saos.fold_weight_norm` turns those
into one `weight` at load time, since inference never needs the parametrisation.

Streaming: the convolutions are not causal, so an output sample depends on a few latents on each side.
`BlockStream` keeps enough left context and holds back `lookahead` latents, then crops, so that block-by-block output
is the whole-sequence output, only delayed by `lookahead` latents.
"""
from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from lmdm_core.config import AutoencoderConfig


class Snake(nn.Module):
    """SnakeBeta with log-scale parameters: x + sin²(x·e^alpha) / e^beta, per channel."""

    def __init__(self, channels: int):
        super().__init__()
        self.alpha = nn.Parameter(torch.zeros(channels))
        self.beta = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        alpha = self.alpha.exp()[None, :, None]
        inv_beta = 1.0 / (self.beta.exp()[None, :, None] + 1e-9)
        s = torch.sin(x * alpha)
        if torch.is_grad_enabled():
            return x + inv_beta * s * s
        return s.mul_(s).mul_(inv_beta).add_(x)       # inference: reuse one temporary (this runs at audio rate)


def _act(cfg: AutoencoderConfig, channels: int, decoder: bool = False) -> nn.Module:
    snake = cfg.use_snake if not decoder or cfg.decoder_snake is None else cfg.decoder_snake
    return Snake(channels) if snake else nn.ELU()


class ResidualUnit(nn.Module):
    def __init__(self, cfg: AutoencoderConfig, channels: int, dilation: int, decoder: bool = False):
        super().__init__()
        self.layers = nn.Sequential(
            _act(cfg, channels, decoder),
            nn.Conv1d(channels, channels, 7, dilation=dilation, padding=3 * dilation),
            _act(cfg, channels, decoder),
            nn.Conv1d(channels, channels, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.layers(x)


class EncoderBlock(nn.Module):
    def __init__(self, cfg: AutoencoderConfig, c_in: int, c_out: int, stride: int):
        super().__init__()
        self.layers = nn.Sequential(
            ResidualUnit(cfg, c_in, 1), ResidualUnit(cfg, c_in, 3), ResidualUnit(cfg, c_in, 9),
            _act(cfg, c_in),
            nn.Conv1d(c_in, c_out, 2 * stride, stride=stride, padding=math.ceil(stride / 2)),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


class DecoderBlock(nn.Module):
    def __init__(self, cfg: AutoencoderConfig, c_in: int, c_out: int, stride: int):
        super().__init__()
        self.layers = nn.Sequential(
            _act(cfg, c_in, decoder=True),
            nn.ConvTranspose1d(c_in, c_out, 2 * stride, stride=stride, padding=math.ceil(stride / 2)),
            *(ResidualUnit(cfg, c_out, d, decoder=True) for d in (1, 3, 9)),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


def _widths(cfg: AutoencoderConfig) -> list[int]:
    return [cfg.channels * m for m in [1] + list(cfg.c_mults)]


class OobleckEncoder(nn.Module):
    """Audio [B, ch, T] -> [B, 2·latent_dim, T/hop] (VAE mean and scale)."""

    def __init__(self, cfg: AutoencoderConfig):
        super().__init__()
        w = _widths(cfg)
        layers: list[nn.Module] = [nn.Conv1d(cfg.audio_channels, w[0], 7, padding=3)]
        layers += [EncoderBlock(cfg, w[i], w[i + 1], s) for i, s in enumerate(cfg.strides)]
        layers += [_act(cfg, w[-1]), nn.Conv1d(w[-1], 2 * cfg.latent_dim, 3, padding=1)]
        self.layers = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


class OobleckDecoder(nn.Module):
    """Latents [B, latent_dim, n] -> audio [B, ch, n·hop]."""

    def __init__(self, cfg: AutoencoderConfig):
        super().__init__()
        w = _widths(cfg)
        layers: list[nn.Module] = [nn.Conv1d(cfg.latent_dim, w[-1], 7, padding=3)]
        for i in range(len(cfg.strides), 0, -1):
            layers.append(DecoderBlock(cfg, w[i], w[i - 1], cfg.strides[i - 1]))
        layers += [_act(cfg, w[0], decoder=True), nn.Conv1d(w[0], cfg.audio_channels, 7, padding=3, bias=False),
                   nn.Tanh() if cfg.final_tanh else nn.Identity()]
        self.layers = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.layers(z)


def vae_split(h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Encoder output -> (mean, std); std = softplus(scale) + 1e-4 as in the SAOS VAE bottleneck."""
    mean, scale = h.chunk(2, dim=1)
    return mean, F.softplus(scale) + 1e-4


class Autoencoder(nn.Module):
    """The one audio <-> latent interface: `encode(audio [B, ch, T]) -> [B, D, T//hop]`, `decode` the reverse."""

    def __init__(self, cfg: AutoencoderConfig):
        super().__init__()
        self.cfg = cfg
        self.encoder = OobleckEncoder(cfg)
        self.decoder = OobleckDecoder(cfg)

    @property
    def sample_rate(self) -> int:
        return self.cfg.sample_rate

    @property
    def hop(self) -> int:
        return self.cfg.hop

    @property
    def audio_channels(self) -> int:
        return self.cfg.audio_channels

    @property
    def latent_dim(self) -> int:
        return self.cfg.latent_dim

    def encode(self, audio: torch.Tensor, sample: bool = False,
               generator: torch.Generator | None = None) -> torch.Tensor:
        """Audio [B, ch, T] -> latents [B, D, T//hop]; trailing samples past a whole hop are dropped.

        Returns the VAE mean unless `sample`, then mean + std·ε.
        """
        if audio.ndim != 3 or audio.shape[1] != self.audio_channels:
            raise ValueError(f"encode expects audio [B, {self.audio_channels}, T], got {tuple(audio.shape)}")
        n = audio.shape[-1] // self.hop
        if n == 0:
            raise ValueError(f"encode needs at least one hop ({self.hop} samples), got {audio.shape[-1]}")
        mean, std = vae_split(self.encoder(audio[..., : n * self.hop]))
        if sample:
            noise = torch.randn(mean.shape, generator=generator, device=mean.device, dtype=mean.dtype)
            mean = mean + std * noise
        return mean / self.cfg.latent_scale

    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        """Latents [B, D, n] -> audio [B, ch, n·hop]."""
        if latents.ndim != 3 or latents.shape[1] != self.latent_dim:
            raise ValueError(f"decode expects latents [B, {self.latent_dim}, n], got {tuple(latents.shape)}")
        return self.decoder(latents * self.cfg.latent_scale)

    def receptive_field(self) -> dict[str, tuple[int, int]]:
        """(left, right) reach in latents of the encoder and decoder: beyond it, inputs cannot change an output."""
        return {"encoder": _reach(self.encoder, 1.0 / self.hop), "decoder": _reach(self.decoder, 1.0)}

    def stream_encoder(self, context: int | None = None, lookahead: int | None = 0) -> "BlockStream":
        """Block-wise encoder: push audio blocks (multiples of hop), get latents `lookahead` latents late."""
        left, right = self.receptive_field()["encoder"]
        return BlockStream(self.encode, self.hop, 1, self.latent_dim, left if context is None else context,
                           right if lookahead is None else lookahead)

    def stream_decoder(self, context: int | None = None, lookahead: int | None = None) -> "BlockStream":
        """Block-wise decoder: push latent blocks, get audio `lookahead` latents late (exact by default)."""
        left, right = self.receptive_field()["decoder"]
        if lookahead is None:
            lookahead = self.cfg.stream_lookahead
        return BlockStream(self.decode, 1, self.hop, self.audio_channels, left if context is None else context,
                           right if lookahead is None else lookahead)


def _reach(net: nn.Module, rate: float) -> tuple[int, int]:
    """Sum each conv's reach in latent units, walking the layers in order; `rate` = latents per input sample."""
    left = right = 0.0
    for m in net.modules():
        if isinstance(m, nn.ConvTranspose1d):
            k, s, p = m.kernel_size[0], m.stride[0], m.padding[0]
            # output o reads inputs i with o + p - k + 1 <= i·s <= o + p
            left += (k - 1 - p) * rate / s
            right += p * rate / s
            rate /= s
        elif isinstance(m, nn.Conv1d):
            k, s, p, d = m.kernel_size[0], m.stride[0], m.padding[0], m.dilation[0]
            left += p * rate
            right += ((k - 1) * d - p) * rate
            rate *= s
    return math.ceil(left - 1e-9), math.ceil(right - 1e-9)


class BlockStream:
    """Run a length-proportional network block by block with left context and lookahead, then crop.

    Every `push` of n latents' worth of input returns exactly n latents' worth of output: the whole-sequence output
    delayed by `lookahead` latents (zeros first). `flush` returns the held-back tail as if the sequence ended there.
    With context and lookahead at least the network's receptive field, the concatenated output equals one pass over
    the whole sequence (up to float summation order).
    """

    def __init__(self, fn, in_unit: int, out_unit: int, out_channels: int, context: int, lookahead: int):
        if context < 0 or lookahead < 0:
            raise ValueError("context and lookahead must be >= 0")
        self.fn, self.in_unit, self.out_unit, self.out_channels = fn, in_unit, out_unit, out_channels
        self.context, self.lookahead = context, lookahead
        self.reset()

    def reset(self) -> None:
        self._buf: torch.Tensor | None = None   # input from latent index self._start to self._total
        self._start = 0                         # latent index of the buffer's first frame
        self._total = 0                         # latents pushed so far
        self._done = 0                          # latents whose output has been returned

    @property
    def latency(self) -> int:
        """Output samples (or latents) of delay: `lookahead` latents."""
        return self.lookahead * self.out_unit

    def _append(self, x: torch.Tensor) -> int:
        if x.shape[-1] % self.in_unit:
            raise ValueError(f"block length {x.shape[-1]} is not a multiple of {self.in_unit}")
        n = x.shape[-1] // self.in_unit
        self._buf = x if self._buf is None else torch.cat([self._buf, x], dim=-1)
        self._total += n
        return n

    def push(self, x: torch.Tensor) -> torch.Tensor:
        n = self._append(x)
        end = max(self._done, self._total - self.lookahead)
        y = self._run(end, at_end=False)
        pad = n * self.out_unit - y.shape[-1]
        if pad:
            y = torch.cat([y.new_zeros(*y.shape[:-1], pad), y], dim=-1)
        self._trim()
        return y

    def skip(self, x: torch.Tensor) -> None:
        """Take input without computing its output (nobody needs it now); it still serves as left context, so a
        later `push` joins as if every block had been pushed, only the skipped stretch of output is missing."""
        self._append(x)
        self._done = max(self._done, self._total - self.lookahead)
        self._trim()

    def flush(self) -> torch.Tensor:
        """Output of the held-back latents, computed as the end of the sequence; then the stream is reset."""
        y = self._run(self._total, at_end=True)
        self.reset()
        return y

    def _run(self, end: int, at_end: bool) -> torch.Tensor:
        """Output for latents [self._done, end), from a window with context and lookahead, cropped."""
        assert self._buf is not None
        lo = max(self._start, self._done - self.context)
        hi = self._total if at_end else min(self._total, end + self.lookahead)
        if end <= self._done:
            return self._buf.new_zeros(self._buf.shape[0], self.out_channels, 0)
        x = self._buf[..., (lo - self._start) * self.in_unit: (hi - self._start) * self.in_unit]
        with torch.no_grad():
            y = self.fn(x)
        a = (self._done - lo) * self.out_unit
        y = y[..., a: a + (end - self._done) * self.out_unit]
        self._done = end
        return y

    def _trim(self) -> None:
        keep_from = max(self._start, self._done - self.context)
        if keep_from > self._start:
            self._buf = self._buf[..., (keep_from - self._start) * self.in_unit:]
            self._start = keep_from
