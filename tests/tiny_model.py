"""The tiny untrained model saved as a checkpoint, for tests that need a real model worker without the weights."""
from __future__ import annotations

from pathlib import Path

import pytest

import lmdm_core.pipeline as pipeline


def save_tiny(path: Path, blocks: list[int] | None = None) -> Path:
    """`load_model(None)` with no weights around, saved at `path`: trained for one block size (long only) unless
    `blocks` lists the block sizes in latents (checkpoint meta `blocks`, e.g. [8, 2] for long and short)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(pipeline, "WEIGHTS_DIR", path.parent / "no-weights")
        m = pipeline.load_model(None)
    m.save(path, meta={**m.meta, "blocks": blocks} if blocks else None)
    return path
