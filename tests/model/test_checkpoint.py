"""Checkpoint directories: round trip, sharding and split tensors, strict errors naming keys, shapes and paths."""
from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file, save_file

from lmdm_core.checkpoint import (CONFIG_NAME, CheckpointError, load_into, read_checkpoint, save_checkpoint,
                                  shard_sizes)
from lmdm_core.pipeline import LoadedModel, build_model, default_configs, load_model


@pytest.fixture(scope="module")
def model() -> LoadedModel:
    torch.manual_seed(0)
    return build_model(default_configs(), "test")


def _modules(m: LoadedModel) -> dict:
    return {"dit": m.dit, "autoencoder": m.autoencoder, "text": m.text}


def _outputs(m: LoadedModel) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(3)
    z = torch.randn(1, 64, 3, generator=g)
    tokens, mask, _ = m.text.encode(["warm strings"])
    from lmdm_core.conditions import Conditions
    x = torch.randn(1, 64, 8, generator=g)
    with torch.no_grad():
        v = m.dit(x, torch.full((1,), 0.5), Conditions(tokens, mask))
        return [m.autoencoder.decode(z), tokens, v]


def test_round_trip_gives_identical_outputs(model, tmp_path):
    files = model.save(tmp_path / "ck")
    assert {f.name for f in files} == {CONFIG_NAME, "model.safetensors"}
    doc = json.loads((tmp_path / "ck" / CONFIG_NAME).read_text())
    assert doc["format"] == "lmdm-checkpoint" and doc["format_version"] == 1
    assert set(doc) >= {"dit", "stream", "sampler", "autoencoder", "text"}
    assert doc["text"]["vocab"][:3] == model.text.cfg.vocab[:3]      # the vocabulary travels in the JSON
    loaded = load_model(tmp_path / "ck")
    assert loaded.dit.cfg == model.dit.cfg and loaded.text.cfg == model.text.cfg
    for a, b in zip(_outputs(model), _outputs(loaded)):
        assert torch.equal(a, b)


def test_shards_and_split_tensors_stay_under_the_limit(model, tmp_path):
    limit = 40_000
    save_checkpoint(tmp_path / "ck", _modules(model), model.configs(), max_shard_bytes=limit)
    sizes = shard_sizes(tmp_path / "ck")
    assert len(sizes) > 3 and "model.safetensors" not in sizes
    assert max(sizes.values()) <= limit + 16_384           # tensor data under the limit, plus the JSON header
    doc = json.loads((tmp_path / "ck" / CONFIG_NAME).read_text())
    assert doc["split"], "a tensor above the limit should have been cut"
    ck = read_checkpoint(tmp_path / "ck")
    want = {f"{n}.{k}": v for n, mod in _modules(model).items() for k, v in mod.state_dict().items()}
    assert ck.tensors.keys() == want.keys()
    assert all(torch.equal(ck.tensors[k], want[k]) for k in want)


def test_half_precision_save_loads_into_float_modules(model, tmp_path):
    save_checkpoint(tmp_path / "ck", _modules(model), model.configs(), dtype=torch.float16)
    assert all(v.dtype in (torch.float16, torch.int64) for v in load_file(tmp_path / "ck" / "model.safetensors").values())
    loaded = load_model(tmp_path / "ck")
    w0, w1 = model.dit.transformer.project_in.weight, loaded.dit.transformer.project_in.weight
    assert w1.dtype == torch.float32 and torch.allclose(w0, w1, atol=1e-3) and not torch.equal(w0, w1)


def _tamper(path, change):
    f = path / "model.safetensors"
    tensors = load_file(f)
    change(tensors)
    save_file(tensors, f)


def test_wrong_shape_missing_and_unexpected_keys_are_all_named(model, tmp_path):
    model.save(tmp_path / "ck")
    key_shape = "autoencoder.decoder.layers.0.weight"
    key_missing = "dit.transformer.project_out.weight"

    def change(t):
        t[key_shape] = torch.zeros(3, 4, 5)
        del t[key_missing]
        t["dit.surprise"] = torch.zeros(2)

    _tamper(tmp_path / "ck", change)
    with pytest.raises(CheckpointError) as err:
        load_model(tmp_path / "ck")
    msg = str(err.value)
    want_shape = list(model.autoencoder.decoder.layers[0].weight.shape)
    assert f"shape mismatch {key_shape}: checkpoint [3, 4, 5] vs model {want_shape}" in msg
    assert f"missing key {key_missing}" in msg
    assert "unexpected key dit.surprise" in msg
    assert "3 problems" in msg


def test_stray_section_is_unexpected(model):
    with pytest.raises(CheckpointError, match="unexpected key vocoder.w"):
        load_into({"text": model.text}, {**{f"text.{k}": v for k, v in model.text.state_dict().items()},
                                          "vocoder.w": torch.zeros(1)})


def test_missing_paths_are_named(model, tmp_path):
    with pytest.raises(FileNotFoundError, match=str(tmp_path / "nowhere")):
        load_model(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match=str(tmp_path / "empty" / CONFIG_NAME)):
        load_model(tmp_path / "empty")
    model.save(tmp_path / "ck")
    (tmp_path / "ck" / "model.safetensors").unlink()
    with pytest.raises(FileNotFoundError, match=str(tmp_path / "ck" / "model.safetensors")):
        load_model(tmp_path / "ck")


def test_foreign_format_and_future_version_are_refused(model, tmp_path):
    model.save(tmp_path / "ck")
    cfg = tmp_path / "ck" / CONFIG_NAME
    doc = json.loads(cfg.read_text())
    cfg.write_text(json.dumps({**doc, "format_version": 2}))
    with pytest.raises(CheckpointError, match="format_version 2"):
        load_model(tmp_path / "ck")
    cfg.write_text(json.dumps({**doc, "format": "something-else"}))
    with pytest.raises(CheckpointError, match="something-else"):
        load_model(tmp_path / "ck")
    cfg.write_text(json.dumps({**doc, "dit": {**doc["dit"], "wings": 2}}))
    with pytest.raises(CheckpointError, match="wings"):
        load_model(tmp_path / "ck")
