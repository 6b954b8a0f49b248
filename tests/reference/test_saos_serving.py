"""A stable-audio-tools model folder or file given straight to `load_model` / `lmdm generate` / `lmdm serve`:
converted once beside it (or in the cache when its folder is read-only), then served; a bad checkpoint names the
key or the config field. Small widths (embed 64, depth 1, autoencoder channels 4): this is the loading path's test."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from lmdm_core.checkpoint import CheckpointError
from lmdm_core.pipeline import AudioStream, load_model
from tests.reference.conftest import build, save, save_lmdm
from tests.reference.configs import lmdm, saos_base

LMDM = str(Path(sys.executable).with_name("lmdm"))


def small(mc: dict) -> dict:
    mc["model"]["diffusion"]["config"] |= {"embed_dim": 64, "num_heads": 2, "depth": 1}
    return mc


@pytest.fixture(scope="module")
def plain(sat, tmp_path_factory):
    """A plain SAOS (bidirectional) folder: model_config.json + model.safetensors."""
    mc = small(saos_base(ae_channels=4))
    folder = tmp_path_factory.mktemp("saos-small")
    save(build(sat, mc, seed=7), mc, folder)
    return folder, mc


def test_folder_converts_once_and_streams_as_naive_outpainting(plain):
    folder, _ = plain
    m = load_model(folder)
    converted = folder / "model.lmdm" / "config.json"
    assert converted.is_file() and Path(m.source) == folder / "model.lmdm"
    stamp = converted.stat().st_mtime_ns
    assert m.stream.attention == "bidirectional" and m.numbers is not None
    s = AudioStream(m, seed=0)
    s.set_param("steps", 1)
    out = s.process(np.zeros((2, s.block_samples), np.float32))
    assert out.shape == (2, s.block_samples) and np.isfinite(out).all()
    assert s.gen.cached is False
    load_model(folder / "model.safetensors")          # the weights file names the same model: no new conversion
    assert converted.stat().st_mtime_ns == stamp


def test_read_only_folder_converts_into_the_cache(plain, tmp_path, monkeypatch):
    """Where the weights' folder is not writable (os.access says so; as root, which CI may be, a chmod would not
    do), the conversion goes to $LMDM_CACHE."""
    import lmdm_core.saos as saos

    folder, _ = plain
    monkeypatch.setenv("LMDM_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(saos.os, "access", lambda p, mode: False)
    m = load_model(folder)
    assert Path(m.source).parent == tmp_path / "cache" and (Path(m.source) / "config.json").is_file()


def test_wrong_shape_names_the_key(plain, tmp_path):
    from safetensors.torch import load_file, save_file

    folder, mc = plain
    state = load_file(str(folder / "model.safetensors"))
    k = "model.model.transformer.layers.0.cross_attn.to_kv.weight"
    state[k] = state[k][:100].contiguous()
    (tmp_path / "model_config.json").write_text(json.dumps(mc))
    save_file(state, str(tmp_path / "model.safetensors"))
    with pytest.raises(CheckpointError, match=r"shape mismatch dit\.transformer\.layers\.0\.cross_attn\.to_kv\.weight"):
        load_model(tmp_path)


@pytest.mark.parametrize("path", ["model.diffusion.config.embed_dim", "model.pretransform.config.decoder.config",
                                  "sample_rate"])
def test_missing_config_field_is_named(plain, tmp_path, path):
    folder, mc = plain
    bad = json.loads(json.dumps(mc))
    node = bad
    for part in path.split(".")[:-1]:
        node = node[part]
    del node[path.split(".")[-1]]
    (tmp_path / "model_config.json").write_text(json.dumps(bad))
    (tmp_path / "model.safetensors").symlink_to(folder / "model.safetensors")
    with pytest.raises(CheckpointError, match=f"lacks field '{path}'"):
        load_model(tmp_path / "model.safetensors")


def test_lmdm_generate_takes_the_folder(sat, tmp_path):
    """The command a user runs: `lmdm generate --model FOLDER` on a block-causal LMDM checkpoint (cached engine),
    the conversion's progress bar on stderr."""
    mc = small(lmdm("saos_block_causal", ae_channels=4))
    save_lmdm(build(sat, small(saos_base(ae_channels=4)), seed=9), mc, tmp_path / "lmdm")
    x = np.random.default_rng(1).uniform(-0.5, 0.5, (2048 * 48 * 4, 2)).astype(np.float32)
    sf.write(tmp_path / "in.wav", x, 44100, subtype="FLOAT")
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).parents[2]))
    r = subprocess.run([LMDM, "generate", "--model", str(tmp_path / "lmdm"), "-i", str(tmp_path / "in.wav"),
                        "-o", str(tmp_path / "out.wav"), "--set", "steps=1"], capture_output=True, text=True,
                       timeout=300, env=env)
    assert r.returncode == 0, r.stderr
    assert "converting model.safetensors" in r.stderr
    y, rate = sf.read(tmp_path / "out.wav", dtype="float32", always_2d=True)
    # random weights make wild audio (the worker's guard may silence it): shape, rate and finiteness are the check
    assert rate == 44100 and len(y) == len(x) and np.isfinite(y).all()
