"""Encode rendered clips into what the DiT trains on: per render the mix latents, the chosen voice's latents and the
latents of the mix without it (accompaniment), the mix's sketch curves cut to the latent count, and the caption.

Shards are one torch file per split (`latents-<split>.pt`): plain lists of float16 tensors, so they load anywhere.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch

from lmdm_core.autoencoder import Autoencoder
from lmdm_core.training.audio import Clip, to_float


@dataclass
class LatentSet:
    ids: list[str] = field(default_factory=list)
    captions: list[str] = field(default_factory=list)
    instruments: list[list[str]] = field(default_factory=list)
    voice: list[int] = field(default_factory=list)                 # chosen voice, -1 = none
    mix: list[torch.Tensor] = field(default_factory=list)          # [C, n] float16
    stem: list[torch.Tensor | None] = field(default_factory=list)  # [C, n] the voice alone
    acc: list[torch.Tensor | None] = field(default_factory=list)   # [C, n] the mix without it
    curves: list[torch.Tensor] = field(default_factory=list)       # [3, n] float32, raw units (features.py)

    def __len__(self) -> int:
        return len(self.ids)

    def save(self, path: str | Path) -> Path:
        torch.save(self.__dict__, Path(path))
        return Path(path)

    @classmethod
    def load(cls, path: str | Path) -> "LatentSet":
        return cls(**torch.load(Path(path), map_location="cpu", weights_only=False))

    def to(self, device: torch.device | str) -> "LatentSet":
        mv = lambda xs: [None if x is None else x.to(device) for x in xs]  # noqa: E731
        return LatentSet(self.ids, self.captions, self.instruments, self.voice, mv(self.mix), mv(self.stem),
                         mv(self.acc), mv(self.curves))


@torch.no_grad()
def _encode(ae: Autoencoder, audio: torch.Tensor, max_samples: int) -> torch.Tensor:
    """int16/int32 [ch, T] -> float16 latents [C, T // hop], encoded in overlapping-free pieces of max_samples."""
    dev = next(ae.parameters()).device
    n = audio.shape[-1] // ae.hop * ae.hop
    parts = []
    for a in range(0, n, max_samples):
        x = to_float(audio[:, a:min(n, a + max_samples)])[None].to(dev)
        parts.append(ae.encode(x)[0])
    return torch.cat(parts, dim=-1).half().cpu()


def encode_clips(ae: Autoencoder, clips: list[Clip], max_seconds: float = 200.0, progress: bool = True) -> LatentSet:
    """Encode every clip (mix, chosen voice, accompaniment) with the VAE means, scaled by latent_scale."""
    from tqdm import tqdm

    ae = ae.eval()
    max_samples = int(max_seconds * ae.sample_rate) // ae.hop * ae.hop
    out = LatentSet()
    for c in tqdm(clips, desc="encode latents", disable=not progress, mininterval=5.0):
        z = _encode(ae, c.mix, max_samples)
        n = z.shape[-1]
        curves = torch.zeros(3, n)
        m = min(n, c.curves.shape[1])
        curves[:, :m] = torch.from_numpy(c.curves[:, :m])
        out.ids.append(c.entry.id)
        out.captions.append(c.entry.caption)
        out.instruments.append(list(c.entry.instruments))
        out.voice.append(c.voice)
        out.mix.append(z)
        out.curves.append(curves)
        if c.stem is not None:
            out.stem.append(_encode(ae, c.stem, max_samples))
            out.acc.append(_encode(ae, c.accompaniment, max_samples))
        else:
            out.stem.append(None)
            out.acc.append(None)
    return out


def update_latents(ae: Autoencoder, clips: list[Clip], path: str | Path, progress: bool = True) -> LatentSet:
    """The latents of `clips` at `path`, encoding only the clips it does not hold yet (a warm machine's build grows
    between chained calls: its new renders join the training set) and dropping clips no longer in the build."""
    path = Path(path)
    old = LatentSet.load(path) if path.is_file() else LatentSet()
    held = {i: k for k, i in enumerate(old.ids)}
    new = encode_clips(ae, [c for c in clips if c.entry.id not in held], progress=progress)
    fresh = {i: k for k, i in enumerate(new.ids)}
    out = LatentSet()
    for c in clips:
        src, k = (old, held[c.entry.id]) if c.entry.id in held else (new, fresh[c.entry.id])
        for name, column in vars(out).items():
            column.append(getattr(src, name)[k])
    if new.ids or len(out) != len(old):
        out.save(path)
    return out
