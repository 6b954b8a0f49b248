"""What the DiT is conditioned on besides the latents: cross-attention tokens and an optional global vector."""
from __future__ import annotations

from dataclasses import dataclass

import torch

from .config import DiTConfig


@dataclass
class Conditions:
    """tokens [B, N, cond_token_dim] (e.g. T5 output), mask [B, N] bool (True = real token),
    global_vec [B, global_cond_dim] or None (e.g. the seconds_total embedding)."""

    tokens: torch.Tensor
    mask: torch.Tensor
    global_vec: torch.Tensor | None = None

    def __post_init__(self) -> None:
        if self.tokens.ndim != 3:
            raise ValueError(f"Conditions.tokens must be [B, N, D], got {tuple(self.tokens.shape)}")
        if self.mask.shape != self.tokens.shape[:2]:
            raise ValueError(f"Conditions.mask {tuple(self.mask.shape)} does not match tokens "
                             f"{tuple(self.tokens.shape[:2])}")
        if self.global_vec is not None and self.global_vec.shape[0] != self.tokens.shape[0]:
            raise ValueError("Conditions.global_vec batch differs from tokens batch")
        self.mask = self.mask.to(torch.bool)

    @property
    def batch(self) -> int:
        return int(self.tokens.shape[0])

    @classmethod
    def empty(cls, batch: int, cfg: DiTConfig, device: torch.device | str = "cpu",
              dtype: torch.dtype = torch.float32) -> "Conditions":
        """No text: one zero token, masked out (the same as the CFG unconditional branch)."""
        return cls(torch.zeros(batch, 1, cfg.cond_token_dim, device=device, dtype=dtype),
                   torch.zeros(batch, 1, dtype=torch.bool, device=device))

    def null(self) -> "Conditions":
        """The unconditional branch for CFG: tokens zeroed and masked out; the global vector is kept."""
        return Conditions(torch.zeros_like(self.tokens), torch.zeros_like(self.mask), self.global_vec)

    def to(self, device: torch.device | str, dtype: torch.dtype) -> "Conditions":
        g = None if self.global_vec is None else self.global_vec.to(device, dtype)
        return Conditions(self.tokens.to(device, dtype), self.mask.to(device), g)

    def check(self, cfg: DiTConfig, batch: int) -> None:
        if self.batch != batch:
            raise ValueError(f"conditions have batch {self.batch}, the stream has {batch}")
        if self.tokens.shape[1] > cfg.max_cond_tokens:
            raise ValueError(f"{self.tokens.shape[1]} condition tokens, the model takes at most {cfg.max_cond_tokens}")
        if self.tokens.shape[-1] != cfg.cond_token_dim:
            raise ValueError(f"condition tokens have width {self.tokens.shape[-1]}, model expects {cfg.cond_token_dim}")
        if self.global_vec is not None and self.global_vec.shape[-1] != cfg.global_cond_dim:
            raise ValueError(f"global vector has width {self.global_vec.shape[-1]}, "
                             f"model expects {cfg.global_cond_dim}")


def cat(a: Conditions, b: Conditions) -> Conditions:
    """Stack two condition batches (cond then uncond for CFG); token counts are padded to the longer one."""
    n = max(a.tokens.shape[1], b.tokens.shape[1])

    def pad(c: Conditions) -> tuple[torch.Tensor, torch.Tensor]:
        extra = n - c.tokens.shape[1]
        if extra == 0:
            return c.tokens, c.mask
        return (torch.nn.functional.pad(c.tokens, (0, 0, 0, extra)),
                torch.nn.functional.pad(c.mask, (0, extra), value=False))

    (ta, ma), (tb, mb) = pad(a), pad(b)
    if (a.global_vec is None) != (b.global_vec is None):
        raise ValueError("cannot stack conditions with and without a global vector")
    g = None if a.global_vec is None else torch.cat([a.global_vec, b.global_vec])
    return Conditions(torch.cat([ta, tb]), torch.cat([ma, mb]), g)
