"""The reference implementation (stable-audio-tools 0.0.19, installed by scripts/install.sh --test), imported for the
parity tests, and stable-audio-tools models built from the published configs' shapes with seeded random weights.

Stubbed in sys.modules (only when absent): `torchaudio` (PyPI has no build for torch 2.13; the model path imports
`torchaudio.transforms` for resampling helpers it never calls here) and `k_diffusion` (imported by
`inference/sampling.py` for samplers these tests do not use). Nothing else is stubbed.

t5-base cannot be downloaded here: while stable-audio-tools builds its T5 conditioner, `from_pretrained` returns a
tiny random `transformers.T5EncoderModel` of t5-base's width (768) and a word-level tokenizer; the conditioner then
runs for real (tokenize, pad to max_length, encode, zero the padding).
"""
from __future__ import annotations

import contextlib
import copy
import importlib
import json
import sys
import types
from pathlib import Path
from unittest import mock

import pytest
import torch

STUBBED = ("torchaudio", "k_diffusion")
WORDS = ["warm", "strings", "drum", "breaks", "piano", "dark", "ambient", "pad", "fast", "techno"]


from tests.threads import one_thread  # noqa: E402,F401  (autouse: one torch thread per module)


def _stub(name: str) -> None:
    import transformers  # noqa: F401  (first: its import probes for torchaudio, which a stub would confuse)
    from transformers import T5EncoderModel  # noqa: F401

    try:
        importlib.import_module(name)
    except ImportError:
        mod = types.ModuleType(name)
        if name == "torchaudio":
            mod.transforms = types.ModuleType("torchaudio.transforms")
            mod.transforms.Resample = type("Resample", (), {})
            sys.modules["torchaudio.transforms"] = mod.transforms
        sys.modules[name] = mod


@pytest.fixture(scope="session")
def sat():
    """stable_audio_tools.models.factory, or a skip naming why it cannot be imported."""
    try:
        for name in STUBBED:
            _stub(name)
        with contextlib.redirect_stdout(None):          # it prints that flash_attn is absent
            import stable_audio_tools.models.transformer  # noqa: F401
        from stable_audio_tools.models import factory
    except ImportError as e:
        pytest.skip(f"stable-audio-tools cannot be imported ({e}); scripts/install.sh --test installs it")
    return factory


def tiny_t5():
    """A random T5 encoder of t5-base's width and a word-level tokenizer over WORDS (pad 0, eos 1, unk 2)."""
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast, T5Config, T5EncoderModel

    vocab = {"<pad>": 0, "</s>": 1, "<unk>": 2} | {w: i + 3 for i, w in enumerate(WORDS)}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.post_processor = processors.TemplateProcessing(single="$A </s>", special_tokens=[("</s>", 1)])
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="</s>", unk_token="<unk>")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = T5EncoderModel(T5Config(vocab_size=len(vocab), d_model=768, d_kv=32, d_ff=64, num_layers=1,
                                        num_heads=2, dropout_rate=0.0))
    return tokenizer, model.eval()


@contextlib.contextmanager
def t5_offline():
    """stable-audio-tools' T5Conditioner gets the tiny T5 instead of downloading t5-base."""
    import transformers

    tokenizer, model = tiny_t5()
    with mock.patch.object(transformers.AutoTokenizer, "from_pretrained", lambda *a, **k: tokenizer), \
            mock.patch.object(transformers.T5EncoderModel, "from_pretrained", lambda *a, **k: model):
        yield


def randomize(module: torch.nn.Module, seed: int) -> None:
    """Seeded random weights everywhere (stable-audio-tools zero-initialises output projections and convs, which
    would hide a wrong mapping): matrices ~ N(0, 1/fan_in), vectors (norms, biases) around their init."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in module.named_parameters():
            r = torch.randn(p.shape, generator=g, dtype=torch.float32)
            if p.ndim >= 2:
                p.copy_(r / p[0].numel() ** 0.5)
            elif name.endswith(("gamma", "weight")) and "norm" in name:
                p.copy_(1 + 0.1 * r)
            else:
                p.copy_(0.1 * r if "alpha" not in name and "beta" not in name else r.abs() * 0.5 + 0.5)


def rope_base(model: torch.nn.Module, base: float) -> None:
    """Give the DiT's RoPE another base (the buffer is what the checkpoint holds and what both sides compute with)."""
    rot = model.model.model.transformer.rotary_pos_emb
    d = 2 * rot.inv_freq.numel()
    rot.inv_freq.copy_(1.0 / (base ** (torch.arange(0, d, 2).float() / d)))


def build(sat, mc: dict, seed: int = 0, base: float = 1e6):
    """A stable-audio-tools model from model_config `mc` by its own factory, with seeded random weights."""
    with t5_offline(), torch.device("meta"):        # allocated once, by randomize (saves the default init's time)
        model = sat.create_model_from_config(copy.deepcopy(mc))
    model.to_empty(device="cpu")
    randomize(model, seed)
    for name, b in model.named_buffers():            # its buffers: LayerNorm's zero beta and RoPE's inv_freq
        if name.endswith(".beta"):
            b.zero_()
    rope_base(model, base)
    return model.eval().requires_grad_(False)


@pytest.fixture(scope="session")
def ref2(sat):
    """SAOS built by stable-audio-tools at depth 2 of the real widths (autoencoder channels 8), shared by the DiT,
    LMDM-layout and stream parity tests."""
    from tests.reference.configs import saos_base

    mc = saos_base(depth=2, ae_channels=8)
    return build(sat, mc, seed=1), mc


def save(model, mc: dict, folder: Path, fmt: str = "safetensors") -> Path:
    """As stable-audio-tools ships a model: model_config.json + model.safetensors (the state dict) or model.ckpt
    ({"state_dict": ...}, as its unwrap script writes). Returns the weights file."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "model_config.json").write_text(json.dumps(mc, indent=2))
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    path = folder / f"model.{fmt}"
    if fmt == "safetensors":
        from safetensors.torch import save_file
        save_file(state, str(path))
    else:
        torch.save({"state_dict": state}, str(path))
    return path


def save_lmdm(ref, mc: dict, folder: Path, split_qkv: bool = False, seed: int = 6) -> torch.nn.Linear:
    """Save a stable-audio-tools 0.0.19 model (built from saos_base: 0.0.19 cannot build the LMDM layout) under an
    LMDM config `mc` as the fork would: its state dict plus the fork's `to_input_add_embed` (random; returned), and
    self-attention stored split as `to_q` + `to_kv` when the fork's split_qkv is on."""
    from safetensors.torch import save_file

    g = torch.Generator().manual_seed(seed)
    dim = ref.model.model.transformer.project_in.weight.shape[0]
    add = torch.nn.Linear(65, dim, bias=False).requires_grad_(False)
    add.weight.copy_(torch.randn(add.weight.shape, generator=g) / 65 ** 0.5)
    state = dict(ref.state_dict()) | {"model.model.to_input_add_embed.weight": add.weight}
    if split_qkv:
        for k in [k for k in state if k.endswith("self_attn.to_qkv.weight")]:
            w = state.pop(k)
            state[k.replace("to_qkv", "to_q")], state[k.replace("to_qkv", "to_kv")] = w[:dim], w[dim:]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "model_config.json").write_text(json.dumps(mc, indent=2))
    save_file({k: v.contiguous() for k, v in state.items()}, str(folder / "model.safetensors"))
    return add
