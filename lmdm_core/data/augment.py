"""Room and mastering augmentation with pedalboard, drawn per render from its seed and recorded in the manifest.

Stems must still sum to the mix. Reverb (pedalboard's Freeverb) is linear and time-invariant, so it is applied to each
stem and the mix is their sum: reverb(sum) = sum(reverb). A compressor is not linear (its gain follows the signal it
sees), so it runs only where no stems are written (mix-only builds such as the autoencoder set, `--no-stems`): there
the chain is reverb per stem -> sum -> compressor -> limiter. With stems the compressor and limiter are left out and the
entry records them as null. The build levels the result to -20 dBFS RMS afterwards, as it does a dry render.
"""
from __future__ import annotations

import random
from dataclasses import asdict, dataclass

import numpy as np

DRY_SHARE = 0.15            # renders left without reverb
UNCOMPRESSED_SHARE = 0.25   # mix-only renders left without compressor


@dataclass
class Reverb:
    room_size: float
    damping: float
    wet_level: float
    dry_level: float
    width: float


@dataclass
class Compressor:
    threshold_db: float        # the mix sits at -20 dBFS RMS when compressed (it is levelled before)
    ratio: float
    attack_ms: float
    release_ms: float
    limiter_db: float          # limiter threshold after the compressor


@dataclass
class Augment:
    reverb: Reverb | None
    compressor: Compressor | None

    def record(self) -> dict:
        return asdict(self)


def draw(seed: str, with_stems: bool) -> Augment:
    """The augmentation of one render, a pure function of `seed` (the render id and build seed)."""
    rng = random.Random(f"augment:{seed}")
    reverb = None
    if rng.random() >= DRY_SHARE:
        wet = rng.uniform(0.05, 0.35)
        reverb = Reverb(room_size=round(rng.uniform(0.1, 0.9), 3), damping=round(rng.uniform(0.2, 0.8), 3),
                        wet_level=round(wet, 3), dry_level=round(1.0 - 0.6 * wet, 3),
                        width=round(rng.uniform(0.5, 1.0), 3))
    comp = None
    draw_comp = rng.random() >= UNCOMPRESSED_SHARE
    params = Compressor(threshold_db=round(rng.uniform(-32.0, -18.0), 1), ratio=round(rng.uniform(1.5, 6.0), 2),
                        attack_ms=round(rng.uniform(1.0, 30.0), 1), release_ms=round(rng.uniform(40.0, 300.0), 1),
                        limiter_db=round(rng.uniform(-6.0, -1.0), 1))
    if draw_comp and not with_stems:
        comp = params
    return Augment(reverb, comp)


def apply(stems: np.ndarray, sample_rate: int, aug: Augment) -> tuple[np.ndarray, np.ndarray]:
    """(stems with reverb, the mix) for float32 stems [voices, samples, 2]; the mix is their sum unless compressed."""
    import pedalboard  # imported here so the rest of the data package loads without it

    out = stems
    if aug.reverb is not None:
        board = pedalboard.Pedalboard([pedalboard.Reverb(**asdict(aug.reverb))])
        out = np.stack([board(s.T, sample_rate).T for s in stems]).astype(np.float32)
    mix = out.sum(axis=0)
    if aug.compressor is not None:
        c = aug.compressor
        board = pedalboard.Pedalboard([
            pedalboard.Compressor(threshold_db=c.threshold_db, ratio=c.ratio, attack_ms=c.attack_ms,
                                  release_ms=c.release_ms),
            pedalboard.Limiter(threshold_db=c.limiter_db)])
        mix = board(np.ascontiguousarray(mix.T), sample_rate).T.astype(np.float32)
    return out, mix
