"""Fine-tuning a shipped model (`lmdm_core.training.run --init`): training starts from its weights, with the curve
scale that export folded into the weights undone; the float16 export keeps the folded curve columns in float32."""
from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from lmdm_core.checkpoint import read_checkpoint, save_checkpoint
from lmdm_core.config import SamplerConfig
from lmdm_core.dit import DiT
from lmdm_core.text import WordEncoder
from lmdm_core.training.dit import CURVE_SCALE, fold_curve_scale, start_from, text_config, train_dit
from lmdm_core.training.run import FLOAT32_KEEP, dit_recipe

from tests.training.conftest import tiny_dit, tiny_stream
from tests.training.test_steps import VOCAB, _dit_cfg


def _exported(seed: int = 0) -> tuple[DiT, WordEncoder]:
    torch.manual_seed(seed)
    dit, text = DiT(tiny_dit()), WordEncoder(text_config(tiny_dit(), VOCAB))
    fold_curve_scale(dit)
    return dit, text


def _curve_columns(dit: DiT) -> torch.Tensor:
    adds = dit.cfg.input_adds
    names = list(adds)
    start = sum(adds[n] for n in names[:names.index("curves")])
    return dit.to_input_add_embed.weight[:, start:start + adds["curves"]]


def test_start_from_undoes_the_curve_fold():
    shipped, text = _exported()
    dit, fresh_text = DiT(tiny_dit()), WordEncoder(text_config(tiny_dit(), VOCAB))
    start_from(dit, fresh_text, shipped, text)
    scale = torch.tensor(CURVE_SCALE)
    torch.testing.assert_close(_curve_columns(dit), _curve_columns(shipped) * scale)
    fold_curve_scale(dit)                                   # exporting again gives the shipped weights back
    for k, v in shipped.state_dict().items():
        torch.testing.assert_close(dit.state_dict()[k], v)
    torch.testing.assert_close(fresh_text.embed.weight, text.embed.weight)


def test_start_from_refuses_another_vocabulary():
    shipped, text = _exported()
    other = WordEncoder(text_config(tiny_dit(), VOCAB[::-1]))
    with pytest.raises(ValueError, match="vocabulary"):
        start_from(DiT(tiny_dit()), other, shipped, text)


def test_fine_tune_starts_from_the_init_weights(latents, tmp_path):
    """Zero steps give the init model back (as training weights); two fine-tune steps move it, finite, and run only
    the block-causal / enc-dec stage."""
    shipped, text = _exported()
    same, _, hist0 = train_dit(tiny_dit(), tiny_stream(), latents, tmp_path / "a", _dit_cfg(0, 0), VOCAB,
                               progress=False, init=(shipped, text))
    assert hist0["loss"] == []
    fold_curve_scale(same)
    for k, v in shipped.state_dict().items():
        torch.testing.assert_close(same.state_dict()[k], v)
    moved, _, hist = train_dit(tiny_dit(), tiny_stream(), latents, tmp_path / "b", _dit_cfg(0, 2), VOCAB,
                               progress=False, init=(shipped, text))
    assert [len(hist[f"loss_{m}"]) for m in ("bidirectional", "block_causal", "encdec")] == [0, 1, 1]
    fold_curve_scale(moved)
    after = moved.state_dict()
    assert any(not torch.equal(after[k], v) for k, v in shipped.state_dict().items())
    assert all(torch.isfinite(v).all() for v in after.values())


def test_fine_tune_recipe_skips_the_bidirectional_stage():
    a = SimpleNamespace(dit_steps=900, dit_lr=None, p_stem=0.4, p_curves=0.7, p_curve_drop=0.1, dit_batch=32,
                        blocks=(48, 12), state_format="ema8")
    ft, scratch = dit_recipe(a, True), dit_recipe(a, False)
    assert ft.blocks == scratch.blocks == (48, 12) and ft.state_format == scratch.state_format == "ema8"
    assert (ft.steps_bidirectional, ft.steps_finetune, ft.lr) == (0, 900, 2e-4)
    assert (ft.p_stem, ft.p_curves, ft.p_curve_drop) == (scratch.p_stem, scratch.p_curves, scratch.p_curve_drop) == (0.4, 0.7, 0.1)
    assert (scratch.steps_bidirectional, scratch.steps_finetune, scratch.lr) == (540, 360, 5e-4)


def test_half_export_keeps_the_named_tensors_in_float32(tmp_path):
    shipped, text = _exported()
    configs = {"dit": shipped.cfg, "stream": tiny_stream(), "sampler": SamplerConfig(), "text": text.cfg}
    save_checkpoint(tmp_path / "ck", {"dit": shipped, "text": text}, configs, dtype=torch.float16, keep=FLOAT32_KEEP)
    tensors = read_checkpoint(tmp_path / "ck").tensors
    assert tensors[FLOAT32_KEEP[0]].dtype == torch.float32
    assert torch.equal(tensors[FLOAT32_KEEP[0]], shipped.to_input_add_embed.weight)
    assert tensors["dit.transformer.layers.0.self_attn.to_qkv.weight"].dtype == torch.float16
    with pytest.raises(ValueError, match="not saved"):
        save_checkpoint(tmp_path / "ck2", {"dit": shipped}, {"dit": shipped.cfg}, dtype=torch.float16,
                        keep=("dit.nope",))
