"""T5 conditioning (lmdm_core/t5.py, text.T5Encoder) against transformers' own call and stable-audio-tools'
T5Conditioner, over a tiny random T5 of t5-base's width (conftest.save_tiny_t5) standing in for t5-base."""
from __future__ import annotations

import importlib.util
import sys
import types

import pytest
import torch

from lmdm_core.config import TextConfig
from lmdm_core.t5 import T5Unavailable, download_command
from lmdm_core.text import T5Encoder, build_text_encoder

transformers = pytest.importorskip("transformers", reason="T5 conditioning needs the t5 extra")

PROMPTS = ["warm strings with a slow pulse", "dark techno, heavy kick drums", "",
           "chill lo-fi beats, laid-back drums, jazzy chords, 90 BPM, lowpass filter, and far more words than the "
           "32 tokens this test's tokenizer keeps"]
MAX = 32


def _encoder(tiny_t5_dir: str, dim: int = 768, project_out: bool = True, seed: int = 1) -> T5Encoder:
    torch.manual_seed(seed)
    enc = build_text_encoder(TextConfig(kind="t5", dim=dim, max_tokens=MAX, t5_dim=768, project_out=project_out),
                             tiny_t5_dir)
    assert isinstance(enc, T5Encoder)
    return enc.eval().requires_grad_(False)


def _transformers_then_reference_masking(tiny_t5_dir: str, prompts: list[str], proj: torch.nn.Module | None):
    """transformers' own call, then what T5Conditioner.forward does after it: projection, pads zeroed."""
    tok = transformers.AutoTokenizer.from_pretrained(tiny_t5_dir)
    model = transformers.T5EncoderModel.from_pretrained(tiny_t5_dir).eval()
    enc = tok(prompts, truncation=True, max_length=MAX, padding="max_length", return_tensors="pt")
    mask = enc["attention_mask"].bool()
    with torch.no_grad():
        h = model(input_ids=enc["input_ids"], attention_mask=mask)["last_hidden_state"]
        h = proj(h) if proj is not None else h
    return h * mask[..., None].float(), mask


@pytest.mark.parametrize("dim, project_out", [(768, False), (768, True), (32, False)])
def test_encoding_equals_transformers_with_the_reference_masking(tiny_t5_dir, dim, project_out):
    enc = _encoder(tiny_t5_dir, dim, project_out)
    assert (enc.proj_out is None) == (dim == 768 and not project_out)
    real = [p for p in PROMPTS if p]
    tokens, mask, understood = enc.encode(PROMPTS)
    want, want_mask = _transformers_then_reference_masking(tiny_t5_dir, real, enc.proj_out)
    rows = [i for i, p in enumerate(PROMPTS) if p]
    assert tokens.shape == (len(PROMPTS), MAX, dim) and tokens.dtype == torch.float32
    assert torch.equal(mask[rows], want_mask)
    torch.testing.assert_close(tokens[rows], want, rtol=1e-5, atol=1e-6)
    assert mask[3].all() and 0 < mask[0].sum() < MAX       # the long prompt is truncated to max_length
    assert torch.all(tokens[~mask] == 0)                   # pads zeroed after the projection (its bias too)
    # the empty prompt is the unconditional branch: zeros, all masked, T5 not asked
    assert not mask[2].any() and not tokens[2].any()
    assert understood[0] == ["warm", "strings", "with", "a", "slow", "pulse"] and understood[2] == []


def test_prompts_are_encoded_once_and_independent_of_the_batch(tiny_t5_dir):
    enc = _encoder(tiny_t5_dir)
    alone, _, _ = enc.encode([PROMPTS[1]])
    both, _, _ = enc.encode([PROMPTS[0], PROMPTS[1]])
    torch.testing.assert_close(both[1], alone[0], rtol=0, atol=1e-6)
    calls = []
    enc.t5.model.register_forward_hook(lambda *a: calls.append(1))
    enc.encode([PROMPTS[1], PROMPTS[0]])
    assert calls == []                                     # remembered: no second T5 pass


def test_the_checkpoint_holds_the_projection_not_t5(tiny_t5_dir):
    """T5's weights stay out of the model's state dict (as in stable-audio-tools); its projection is in it."""
    assert set(_encoder(tiny_t5_dir, 32).state_dict()) == {"proj_out.weight", "proj_out.bias"}
    assert _encoder(tiny_t5_dir, 768, project_out=False).state_dict() == {}
    # no T5 width in the config: T5's width is the token width, no projection (a SAOS with cond_dim 768)
    assert build_text_encoder(TextConfig(kind="t5", dim=768, max_tokens=MAX)).proj_out is None


def test_t5_loads_on_first_prompt_only(tiny_t5_dir):
    enc = _encoder(tiny_t5_dir)
    enc.encode(["", "   "])
    assert not enc.t5.loaded
    enc.encode(["warm strings"])
    assert enc.t5.loaded and enc.t5.dim == 768


def test_a_t5_of_the_wrong_width_is_refused(tiny_t5_dir):
    enc = build_text_encoder(TextConfig(kind="t5", dim=64, max_tokens=MAX, t5_model="t5-small", t5_dim=512),
                             tiny_t5_dir)
    with pytest.raises(T5Unavailable, match=r"width 768.*t5-small tokens of width 512"):
        enc.encode(["warm strings"])


@pytest.mark.parametrize("source, words", [("lmdm-tests/absent-t5", ["hf download lmdm-tests/absent-t5", "--t5"]),
                                           ("/nonexistent/t5-folder", ["does not exist"])])
def test_a_missing_t5_is_one_clear_line(source, words):
    enc = build_text_encoder(TextConfig(kind="t5", dim=768, max_tokens=MAX), source)
    with pytest.raises(T5Unavailable) as err:
        enc.encode(["warm strings"])
    text = str(err.value)
    assert "\n" not in text and all(w in text for w in words), text
    assert err.value.__cause__ is None                     # no chained traceback
    assert download_command().startswith("hf download t5-base ")


# ----- stable-audio-tools' own T5Conditioner (the reference) -----

def _reference_conditioners():
    """stable_audio_tools.models.conditioners, or a skip naming why. torchaudio has no build for this torch: it is
    stubbed in sys.modules when absent (imported by stable_audio_tools.data.utils and models.pretransforms, never
    called on T5Conditioner's path). The reference-implementation suite (tests/reference/) may install it first."""
    if importlib.util.find_spec("stable_audio_tools") is None:
        pytest.skip("stable-audio-tools is not installed (scripts/install.sh --test installs it)")
    if "torchaudio" not in sys.modules and importlib.util.find_spec("torchaudio") is None:
        ta, tr = types.ModuleType("torchaudio"), types.ModuleType("torchaudio.transforms")

        def never(*args, **kwargs):
            raise RuntimeError("torchaudio stub called: the T5 path must not use torchaudio")

        tr.Resample = type("Resample", (), {"__init__": never})
        ta.transforms = tr
        sys.modules.update({"torchaudio": ta, "torchaudio.transforms": tr})
    try:
        from stable_audio_tools.models import conditioners
    except ImportError as exc:
        pytest.skip(f"stable_audio_tools.models.conditioners does not import here: {exc}")
    return conditioners


@pytest.mark.parametrize("project_out", [False, True])
def test_encoding_equals_stable_audio_tools_t5_conditioner(tiny_t5_dir, monkeypatch, project_out):
    cond = _reference_conditioners()
    # T5Conditioner only takes names from its list; the tiny stand-in enters it with t5-base's width
    monkeypatch.setattr(cond.T5Conditioner, "T5_MODELS", [*cond.T5Conditioner.T5_MODELS, tiny_t5_dir])
    monkeypatch.setattr(cond.T5Conditioner, "T5_MODEL_DIMS", {**cond.T5Conditioner.T5_MODEL_DIMS, tiny_t5_dir: 768})
    torch.manual_seed(3)
    ref = cond.T5Conditioner(output_dim=768, t5_model_name=tiny_t5_dir, max_length=MAX, project_out=project_out)
    # the reference casts T5 to fp16; the stand-in's weights are fp16 values, so this cast back loses nothing and the
    # comparison is in fp32 (lmdm runs T5 in fp32)
    ref.model.float()
    ours = _encoder(tiny_t5_dir, project_out=project_out)
    if project_out:
        ours.proj_out.load_state_dict(ref.proj_out.state_dict())   # the checkpoint's conditioner.*.proj_out
    real = [p for p in PROMPTS if p]
    with torch.no_grad():
        want, want_mask = ref(real, device="cpu")
    got, mask, _ = ours.encode(real)
    assert torch.equal(mask, want_mask)
    torch.testing.assert_close(got, want.float(), rtol=1e-5, atol=1e-6)
