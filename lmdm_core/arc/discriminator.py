"""ARC's discriminator: the bidirectional DiT trunk up to an intermediate layer, read on the rollout region, and a
small ConvNeXt-1d head giving one logit per (downsampled) frame. Both parts train.

Input: [context | continuation] latents; the context enters clean through the "context" input-add group as in stage
1, the continuation is re-noised to x_t = (1 - t) x + t eps (the caller passes the same t and eps for real and fake,
so their logits differ only by the audio).
"""
from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn

from lmdm_core.conditions import Conditions
from lmdm_core.config import ARCConfig, DiTConfig
from lmdm_core.dit import DiT, pack_input_add


def exit_layer(dit: DiTConfig, arc: ARCConfig) -> int:
    """0-based trunk layer the head reads: arc.disc_layer, or 3/4 of the depth (SAOS: 12 of 16)."""
    layer = min(dit.depth - 1, int(0.75 * dit.depth)) if arc.disc_layer is None else arc.disc_layer
    if not 0 <= layer < dit.depth:
        raise ValueError(f"discriminator layer {layer} is outside the DiT's {dit.depth} layers")
    return layer


class ChannelNorm(nn.Module):
    """LayerNorm over the channels of [B, C, T]."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(x.transpose(1, 2)).transpose(1, 2)


class ConvNeXtBlock1d(nn.Module):
    """Depthwise conv (k 7) -> LayerNorm -> pointwise x4 -> GELU -> pointwise, scaled residual."""

    def __init__(self, channels: int, layer_scale: float = 1e-2) -> None:
        super().__init__()
        self.dw = nn.Conv1d(channels, channels, 7, padding=3, groups=channels)
        self.norm = nn.LayerNorm(channels)
        self.up = nn.Linear(channels, 4 * channels)
        self.down = nn.Linear(4 * channels, channels)
        self.gamma = nn.Parameter(torch.full((channels,), layer_scale))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.norm(self.dw(x).transpose(1, 2))
        h = self.down(F.gelu(self.up(h))) * self.gamma
        return x + h.transpose(1, 2)


class ConvNeXtHead(nn.Module):
    """Hidden states [B, D, T] -> logits [B, T / prod(strides)]: a 1x1 projection to `channels`, then per stage a
    strided downsampling (norm + conv, kernel = stride) to channels*mult and `blocks` ConvNeXt blocks."""

    def __init__(self, in_dim: int, channels: int, mults: list[int], strides: list[int], blocks: list[int]) -> None:
        super().__init__()
        if not len(mults) == len(strides) == len(blocks):
            raise ValueError(f"head mults {mults}, strides {strides} and blocks {blocks} must have equal lengths")
        self.proj = nn.Conv1d(in_dim, channels, 1)
        stages, c = [], channels
        for m, s, n in zip(mults, strides, blocks):
            down = (nn.Identity() if s == 1 and c == channels * m
                    else nn.Sequential(ChannelNorm(c), nn.Conv1d(c, channels * m, s, stride=s)))
            c = channels * m
            stages.append(nn.Sequential(down, *[ConvNeXtBlock1d(c) for _ in range(n)]))
        self.stages = nn.Sequential(*stages)
        self.norm = ChannelNorm(c)
        self.out = nn.Conv1d(c, 1, 1)
        self.hop = 1
        for s in strides:
            self.hop *= s

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        if h.shape[-1] < self.hop:
            raise ValueError(f"the head needs at least {self.hop} frames, got {h.shape[-1]}")
        return self.out(self.norm(self.stages(self.proj(h))))[:, 0]


class Discriminator(nn.Module):
    """Trunk (a copy of the DiT's embedding and first layers) + ConvNeXt head."""

    def __init__(self, dit: DiT, arc: ARCConfig) -> None:
        super().__init__()
        self.layer = exit_layer(dit.cfg, arc)
        trunk = copy.deepcopy(dit)
        trunk.transformer.layers = nn.ModuleList(list(trunk.transformer.layers)[: self.layer + 1])
        del trunk.transformer.project_out, trunk.postprocess_conv       # the velocity head is never read
        self.trunk = trunk.requires_grad_(True)
        self.head = ConvNeXtHead(dit.cfg.embed_dim, arc.head_channels, arc.head_mults, arc.head_strides,
                                 arc.head_blocks)

    def forward(self, latents: torch.Tensor, context: int, t: torch.Tensor, eps: torch.Tensor, cond: Conditions,
                extras: dict[str, torch.Tensor] | None = None) -> torch.Tensor:
        """latents [B, C, L] = [context | continuation]; t [B]; eps [B, C, L - context] -> logits [B, frames]."""
        if eps.shape[-1] != latents.shape[-1] - context:
            raise ValueError(f"eps covers {eps.shape[-1]} frames, the continuation has {latents.shape[-1] - context}")
        b, _, n = latents.shape
        cont = latents[..., context:]
        tt = t.to(latents.dtype)[:, None, None]
        x_t = torch.cat([latents.new_zeros(b, latents.shape[1], context), (1 - tt) * cont + tt * eps], dim=-1)
        flag = latents.new_zeros(b, 1, n)
        flag[..., :context] = 1
        h = self.trunk(x_t, t, cond, pack_input_add(self.trunk.cfg, flag, latents, extras), mode="bidirectional",
                       exit_layer=self.layer)
        return self.head(h[:, context:].transpose(1, 2))
