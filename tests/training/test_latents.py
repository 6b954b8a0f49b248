"""update_latents: a build that grows between chained calls adds its new renders to the training latents."""
from __future__ import annotations

import torch

from lmdm_core.autoencoder import Autoencoder
from lmdm_core.training.latents import LatentSet, encode_clips, update_latents
from tests.training.conftest import tiny_ae


def _same(a: LatentSet, b: LatentSet) -> bool:
    return a.ids == b.ids and all(torch.equal(x, y) for x, y in zip(a.mix, b.mix))


def test_new_renders_are_encoded_and_old_ones_kept(clips, tmp_path):
    torch.manual_seed(0)
    ae = Autoencoder(tiny_ae())
    path = tmp_path / "latents-train.pt"
    first = update_latents(ae, clips[:2], path, progress=False)
    assert first.ids == ["w0-r0", "w1-r0"]
    for p in ae.parameters():              # a changed encoder shows which clips were encoded again
        p.data.add_(0.1)
    grown = update_latents(ae, clips, path, progress=False)
    assert grown.ids == ["w0-r0", "w1-r0", "w2-r0"]
    assert all(torch.equal(a, b) for a, b in zip(grown.mix[:2], first.mix))          # kept, not re-encoded
    assert torch.equal(grown.mix[2], encode_clips(ae, clips[2:], progress=False).mix[0])
    assert _same(LatentSet.load(path), grown)
    # control: the changed encoder does give other latents, so "kept" above is not trivially true
    assert not torch.equal(encode_clips(ae, clips[:1], progress=False).mix[0], first.mix[0])


def test_a_render_gone_from_the_build_is_dropped(clips, tmp_path):
    ae = Autoencoder(tiny_ae())
    path = tmp_path / "latents-train.pt"
    update_latents(ae, clips, path, progress=False)
    left = update_latents(ae, [clips[0], clips[2]], path, progress=False)
    assert left.ids == ["w0-r0", "w2-r0"] and LatentSet.load(path).ids == left.ids
    assert left.stem[1] is not None and left.curves[1].shape[0] == 3
