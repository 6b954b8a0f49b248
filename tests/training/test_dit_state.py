"""The DiT trainer's sharded state (training/dit_state.py): an interrupted `exact` run resumes into the same weights as
an uninterrupted one, the smaller formats resume close and hold their documented bytes per parameter, SIGTERM ends a
call cleanly, and every call is recorded."""
from __future__ import annotations

import dataclasses
import json
import re
import signal

import pytest
import torch

from lmdm_core.dit import DiT
from lmdm_core.text import WordEncoder
from lmdm_core.training.dit import DiTTrainConfig, lr_at, text_config, train_dit
from lmdm_core.training.dit_state import bytes_per_format, dequantize_rows, load_dit_state, quantize_rows
from lmdm_core.training.state import StopFlag, load_sharded

from tests.training.conftest import tiny_dit, tiny_stream

VOCAB = ["warm", "piano", "chorale", "bright", "brass"]


def _cfg(**kw) -> DiTTrainConfig:
    base = dict(steps_bidirectional=2, steps_finetune=2, batch=2, lr=1e-3, lr_final=1e-4, warmup=1, log_every=1,
                save_every=1000, ema=0.5, blocks=(4, 2))
    return DiTTrainConfig(**{**base, **kw})


class StopAfter:
    """A stop flag that rises after n checks (the loop checks once before every step)."""

    def __init__(self, n: int) -> None:
        self.n = n

    @property
    def set(self) -> bool:
        self.n -= 1
        return self.n < 0


def _fresh(vocab=VOCAB) -> dict[str, torch.nn.Module]:
    dit, text = DiT(tiny_dit()), WordEncoder(text_config(tiny_dit(), vocab))
    return {"dit": dit, "text": text, "ema_dit": DiT(tiny_dit()), "ema_text": WordEncoder(text_config(tiny_dit(), vocab))}


def _load(folder) -> tuple[dict[str, torch.nn.Module], torch.optim.Optimizer, dict]:
    m = _fresh()
    opt = torch.optim.AdamW(list(m["dit"].parameters()) + list(m["text"].parameters()))
    doc = load_dit_state(folder, m, opt, torch.Generator(), dataclasses.asdict(tiny_dit()))
    return m, opt, doc


def test_an_interrupted_exact_run_resumes_into_the_uninterrupted_one(latents, tmp_path):
    a, ta, _ = train_dit(tiny_dit(), tiny_stream(), latents, tmp_path / "a", _cfg(), VOCAB, progress=False)
    train_dit(tiny_dit(), tiny_stream(), latents, tmp_path / "b", _cfg(), VOCAB, progress=False, stop=StopAfter(3))
    assert json.loads((tmp_path / "b" / "state" / "state.json").read_text())["step"] == 3   # saved at the stop
    b, tb, hist = train_dit(tiny_dit(), tiny_stream(), latents, tmp_path / "b", _cfg(), VOCAB, progress=False)
    assert [s for s, _ in hist["loss"]] == [1, 2, 3, 4]
    assert {k for k in hist if re.fullmatch(r"loss_block\d+", k)} <= {"loss_block4", "loss_block2"}
    for k, v in a.state_dict().items():
        assert torch.equal(b.state_dict()[k], v), k
    assert torch.equal(tb.embed.weight, ta.embed.weight)
    other, _, _ = train_dit(tiny_dit(), tiny_stream(), latents, tmp_path / "c", _cfg(seed=1), VOCAB, progress=False)
    assert not all(torch.equal(v, other.state_dict()[k]) for k, v in a.state_dict().items())   # it can fail


FP16 = (1e-3, 1e-5)                  # (rtol, atol): float16 rounding, relative
TOLERANCES = {"compact": ((0.0, 0.0), (0.0, 1e-5)), "small": (FP16, FP16), "ema": (FP16, FP16),
              "ema8": (None, None)}       # int8 rows: absolute, half a step of the row's max


@pytest.mark.parametrize("fmt", list(TOLERANCES))
def test_compact_formats_resume_close(latents, tmp_path, fmt):
    """Weights and EMA come back within the format's rounding (float16: relative; int8 rows: half a step of the
    row's max); ema and ema8 resume the weights from the EMA, and only compact keeps the AdamW moments."""
    for name, f in ((fmt, fmt), ("exact", "exact")):     # the exact state of the same run is the reference
        train_dit(tiny_dit(), tiny_stream(), latents, tmp_path / name, _cfg(state_format=f), VOCAB, progress=False,
                  stop=StopAfter(2))
    ref, _, _ = _load(tmp_path / "exact" / "state")
    got, opt, doc = _load(tmp_path / fmt / "state")
    ema_only = fmt in ("ema", "ema8")
    for name in ("dit", "text", "ema_dit", "ema_text"):
        want = ref["ema_" + name if ema_only and not name.startswith("ema") else name]
        tol = TOLERANCES[fmt][name.startswith("ema")]
        for (k, v), w in zip(got[name].named_parameters(), want.parameters()):
            rtol, atol = tol or (0.0, 0.5 / 127 * w.abs().max().item() + 1e-7)
            torch.testing.assert_close(v, w, rtol=rtol, atol=atol, msg=f"{fmt} {name}.{k}")
    assert doc["step"] == 2 and doc["state_format"] == fmt
    assert bool(opt.state) == (fmt == "compact") and (doc.get("rewarm_from") == 2) == (fmt != "compact")
    if ema_only:
        assert all(torch.equal(a, b) for a, b in zip(got["dit"].parameters(), got["ema_dit"].parameters()))


def test_formats_hold_their_documented_bytes_per_parameter(latents, tmp_path):
    """exact 16 B per parameter, compact 10, small 4, ema 2, ema8 one byte + a float16 scale per matrix row (vectors
    float16); the data RNG besides."""
    per = {"exact": 16, "compact": 10, "small": 4, "ema": 2}
    for fmt in (*per, "ema8"):
        train_dit(tiny_dit(), tiny_stream(), latents, tmp_path / fmt, _cfg(state_format=fmt), VOCAB,
                  progress=False, stop=StopAfter(1))
        tensors, _ = load_sharded(tmp_path / fmt / "state")
        held = sum(v.numel() * v.element_size() for k, v in tensors.items() if k != "rng")
        m = _fresh()
        params = [p for name in ("dit", "text") for p in m[name].parameters()]
        n = sum(p.numel() for p in params)
        if fmt == "ema8":
            rows = sum(p.shape[0] for p in params if p.ndim >= 2)
            vectors = sum(p.numel() for p in params if p.ndim < 2)
            assert held == n + vectors + 2 * rows and held < 1.25 * n
        else:
            assert held == per[fmt] * n, fmt
        assert bytes_per_format(m)[fmt] == held


def test_int8_rows_round_within_half_a_step():
    w = torch.randn(16, 40) * torch.linspace(0.01, 3.0, 16)[:, None]
    q, scale = quantize_rows(w)
    assert q.dtype == torch.int8 and scale.shape == (16,)
    err = (dequantize_rows(q, scale) - w).abs().amax(dim=1)
    assert (err <= scale.float() * 0.5 + 1e-6).all() and (err > 0).any()


def test_sigterm_ends_the_call_after_saving_and_calls_are_recorded(latents, tmp_path):
    old = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        train_dit(tiny_dit(), tiny_stream(), latents, tmp_path, _cfg(state_format="ema8"), VOCAB, progress=False,
                  stop=StopAfter(2))
        flag = StopFlag()
        signal.raise_signal(signal.SIGTERM)
        assert flag.set
        train_dit(tiny_dit(), tiny_stream(), latents, tmp_path, _cfg(state_format="ema8"), VOCAB, progress=False,
                  stop=flag)
    finally:
        for s, h in old.items():
            signal.signal(s, h)
    doc = json.loads((tmp_path / "state" / "state.json").read_text())
    assert [(c["first_step"], c["step"]) for c in doc["calls"]] == [(0, 2), (2, 2)]
    assert doc["calls"][0]["state_format"] == "ema8" and doc["calls"][1]["resumed_format"] == "ema8"
    _, _, hist = train_dit(tiny_dit(), tiny_stream(), latents, tmp_path, _cfg(state_format="ema8"), VOCAB,
                           progress=False, seconds=1e6)
    doc = json.loads((tmp_path / "state" / "state.json").read_text())
    assert doc["step"] == 4 and len(doc["calls"]) == 3 and doc["calls"][2]["steps_per_s"] > 0
    assert [s for s, _ in hist["loss"]] == [1, 2, 3, 4]


def test_a_resume_without_moments_ramps_the_learning_rate_again():
    cfg = _cfg(rewarm=10, steps_bidirectional=100, steps_finetune=0)
    assert lr_at(50, cfg, rewarm_from=50) == pytest.approx(lr_at(50, cfg) / 10)
    assert lr_at(60, cfg, rewarm_from=50) == lr_at(60, cfg)


def test_the_state_keeps_its_vocabulary_and_refuses_another_dit(latents, tmp_path):
    train_dit(tiny_dit(), tiny_stream(), latents, tmp_path, _cfg(), VOCAB, progress=False, stop=StopAfter(1))
    _, text, _ = train_dit(tiny_dit(), tiny_stream(), latents, tmp_path, _cfg(), VOCAB + ["organ"], progress=False,
                           stop=StopAfter(1))
    assert list(text.cfg.vocab) == VOCAB
    wider = dataclasses.replace(tiny_dit(), embed_dim=48, num_heads=3)
    with pytest.raises(ValueError, match="state was trained with DiT"):
        train_dit(wider, tiny_stream(), latents, tmp_path, _cfg(), VOCAB, progress=False)


def test_state_from_before_a_config_field_was_added_still_loads(latents, tmp_path):
    """A state written before DiTConfig gained a field (cross_attn_mask) loads when the live config holds that field's
    default, and is refused when it sets it otherwise."""
    train_dit(tiny_dit(), tiny_stream(), latents, tmp_path, _cfg(), VOCAB, progress=False)
    doc_path = tmp_path / "state" / "state.json"
    doc = json.loads(doc_path.read_text())
    del doc["dit"]["cross_attn_mask"]
    doc_path.write_text(json.dumps(doc))
    assert _load(tmp_path / "state")[2]["step"] == 4
    m = _fresh()
    opt = torch.optim.AdamW(list(m["dit"].parameters()) + list(m["text"].parameters()))
    other = dataclasses.replace(tiny_dit(), cross_attn_mask=not tiny_dit().cross_attn_mask)
    with pytest.raises(ValueError, match="state was trained with DiT"):
        load_dit_state(tmp_path / "state", m, opt, torch.Generator(), dataclasses.asdict(other))
