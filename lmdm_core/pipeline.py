"""The audio-in, audio-out API the worker (bridge/) calls: load a model, open a stream, process blocks.

    m = load_model(path_or_None, device="cpu", dtype=torch.float32)   # None -> lmdm_core/weights/ or embedded tiny
    s = AudioStream(m, seed=0)
    s.set_param("prompt", "warm strings")      # also prompt_b, blend, cfg, steps, seed, mode; returns the applied value
    out = s.process(block_in)                  # float32 (channels, block_samples) -> same shape, always finite
    s.understood                               # words of the current prompt the model knows

Modes: "text" ignores the input and continues the model's own output; "delay" (the generative delay) makes each input
block's latents the newest clean context chunk, so output block k is the model's continuation of input up to block
k-1; "jam" / "sketch" need a model trained with a "stem" / "curves" input group. Latency: one block in delay mode, plus
the decoder's lookahead (`decoder_latency` samples, the exact-join lookahead of autoencoder.BlockStream).
"""
from __future__ import annotations

import copy
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from lmdm_core.autoencoder import Autoencoder
from lmdm_core.checkpoint import CheckpointError, read_checkpoint, load_into, save_checkpoint
from lmdm_core.conditions import Conditions
from lmdm_core.config import (SamplerConfig, StreamConfig, TextConfig, autoencoder_preset, dit_preset,
                              stream_preset)
from lmdm_core.dit import DiT
from lmdm_core.features import NAMES as CURVES, curves
from lmdm_core.streaming import StreamingGenerator
from lmdm_core.text import DEFAULT_VOCAB, TextEncoder, build_text_encoder

log = logging.getLogger(__name__)

WEIGHTS_DIR = Path(__file__).parent / "weights"
MODES = ("text", "delay", "jam", "sketch")
MODE_GROUPS = {"jam": "stem", "sketch": "curves"}   # input-add group each conditioned mode feeds
MAX_PROMPT = 500
MAX_STEPS = 64
MAX_CFG = 20.0


@dataclass
class LoadedModel:
    dit: DiT
    autoencoder: Autoencoder
    text: TextEncoder
    stream: StreamConfig
    sampler: SamplerConfig
    source: str                       # checkpoint path or "embedded (untrained)"
    meta: dict[str, Any] = field(default_factory=dict)

    def configs(self) -> dict[str, Any]:
        return {"dit": self.dit.cfg, "stream": self.stream, "sampler": self.sampler,
                "autoencoder": self.autoencoder.cfg, "text": self.text.cfg}

    def save(self, path: str | Path, dtype: torch.dtype | None = None, meta: dict[str, Any] | None = None) -> list[Path]:
        """Write this model as an lmdm checkpoint directory (see checkpoint.py)."""
        return save_checkpoint(path, {"dit": self.dit, "autoencoder": self.autoencoder, "text": self.text},
                               self.configs(), meta=meta if meta is not None else self.meta, dtype=dtype)


def build_model(configs: dict[str, Any], source: str, meta: dict[str, Any] | None = None) -> LoadedModel:
    """Fresh (randomly initialised) modules from config dataclasses."""
    missing = [s for s in ("dit", "autoencoder", "text") if s not in configs]
    if missing:
        raise CheckpointError(f"{source}: config lacks sections {missing}")
    return LoadedModel(DiT(configs["dit"]), Autoencoder(configs["autoencoder"]), build_text_encoder(configs["text"]),
                       configs.get("stream", StreamConfig()), configs.get("sampler", SamplerConfig()), source,
                       dict(meta or {}))


def default_configs() -> dict[str, Any]:
    """The embedded model's shapes: tiny DiT, tiny autoencoder, tiny stream, word encoder over DEFAULT_VOCAB."""
    dit = dit_preset("tiny")
    return {"dit": dit, "stream": stream_preset("tiny"), "sampler": SamplerConfig(),
            "autoencoder": autoencoder_preset("tiny"),
            "text": TextConfig(dim=dit.cond_token_dim, max_tokens=dit.max_cond_tokens, vocab=list(DEFAULT_VOCAB))}


def load_model(path: str | Path | None = None, device: str | torch.device = "cpu",
               dtype: torch.dtype = torch.float32) -> LoadedModel:
    """A checkpoint directory; None -> lmdm_core/weights/ if it holds one, else the untrained embedded model."""
    if path is None and (WEIGHTS_DIR / "config.json").is_file():
        path = WEIGHTS_DIR
    if path is None:
        log.warning("lmdm: no trained weights in %s; the embedded model is UNTRAINED (seeded random weights) "
                    "and makes noise", WEIGHTS_DIR)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            m = build_model(default_configs(), "embedded (untrained)", {"trained": False})
    else:
        p = Path(path)
        if not p.exists():
            raise FileNotFoundError(f"model not found: {p}")
        ckpt = read_checkpoint(p)
        m = build_model(ckpt.configs, str(p), ckpt.meta)
        load_into({"dit": m.dit, "autoencoder": m.autoencoder, "text": m.text}, ckpt.tensors, str(p))
    for mod in (m.dit, m.autoencoder, m.text):
        mod.to(device=device, dtype=dtype).eval().requires_grad_(False)
    return m


def _number(name: str, value: Any, lo: float, hi: float, integer: bool = False) -> float | int:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{name} must be a number, got {type(value).__name__} {value!r}")
    v = float(value)
    if not math.isfinite(v) or not lo <= v <= hi:
        raise ValueError(f"{name} must be between {lo:g} and {hi:g}, got {value!r}")
    if integer:
        if v != int(v):
            raise ValueError(f"{name} must be a whole number, got {value!r}")
        return int(v)
    return v


class AudioStream:
    """One stream's state over a shared LoadedModel: generator, streaming encoder/decoder, prompt and mode."""

    PARAMS = ("prompt", "prompt_b", "blend", "cfg", "steps", "seed", "mode", "curves")

    def __init__(self, model: LoadedModel, seed: int = 0, mode: str = "delay"):
        self.m = model
        self.ae = model.autoencoder
        self.seed = int(seed)
        self.sampler = copy.deepcopy(model.sampler)
        self.mode = "delay"
        self.prompts = {"prompt": "", "prompt_b": ""}
        self.blend = 0.0
        self.curves = CURVES                # sketch: the curves the output follows (the others are zeroed)
        self._understood = {"prompt": [], "prompt_b": []}
        self._last_prompt = "prompt"
        self.nonfinite_inputs = 0      # blocks whose input held NaN/Inf (replaced by zeros)
        self.nonfinite_outputs = 0     # blocks whose latents or audio held NaN/Inf (silence instead)
        self._frames = 0               # latents committed to the context so far
        self.gen = self._generator()
        self.enc = self.ae.stream_encoder(lookahead=0)
        self.dec = self.ae.stream_decoder()
        self.set_param("mode", mode)

    # ----- geometry -----

    @property
    def sample_rate(self) -> int:
        return self.ae.sample_rate

    @property
    def channels(self) -> int:
        return self.ae.audio_channels

    @property
    def block_samples(self) -> int:
        return self.m.stream.block * self.ae.hop

    @property
    def decoder_latency(self) -> int:
        """Samples of output delay added by the streaming decoder's lookahead."""
        return self.dec.latency

    @property
    def understood(self) -> list[str]:
        """Words of the prompt set last (prompt or prompt_b) that the model knows."""
        return list(self._understood[self._last_prompt])

    # ----- control -----

    def set_param(self, name: str, value: Any) -> Any:
        """Apply a parameter between blocks; returns the applied value; ValueError says what is wrong."""
        if name in ("prompt", "prompt_b"):
            if not isinstance(value, str):
                raise ValueError(f"{name} must be text, got {type(value).__name__}")
            if len(value) > MAX_PROMPT:
                raise ValueError(f"{name} is {len(value)} characters; at most {MAX_PROMPT}")
            self.prompts[name] = value
            self._understood[name] = self.m.text.known(value)
            self._last_prompt = name
            self._apply_conditions()
            return value
        if name == "blend":
            self.blend = _number(name, value, 0.0, 1.0)
            self._apply_conditions()
            return self.blend
        if name == "cfg":
            cfg = _number(name, value, 0.0, MAX_CFG)
            if (cfg != 1.0) != (self.sampler.cfg != 1.0):
                self.sampler.cfg = cfg
                self.gen = self._generator()    # guidance on/off changes the model batch: rebuild, keep the context
            self.sampler.cfg = cfg
            return cfg
        if name == "steps":
            self.sampler.steps = _number(name, value, 1, MAX_STEPS, integer=True)
            return self.sampler.steps
        if name == "seed":
            self.seed = _number(name, value, 0, 2**31 - 1, integer=True)
            self.gen = self._generator()        # the noise restarts from the seed; the context is kept
            return self.seed
        if name == "mode":
            if value not in MODES:
                raise ValueError(f"mode must be one of {list(MODES)}, got {value!r}")
            group = MODE_GROUPS.get(value)
            if group and group not in self.m.dit.cfg.input_adds:
                raise ValueError(f"mode {value!r} needs a model trained with a {group!r} input; "
                                 f"this one has {sorted(self.m.dit.cfg.input_adds)}")
            self.mode = value
            return value
        if name == "curves":
            chosen = tuple(c.strip() for c in str(value).split(",") if c.strip())
            bad = [c for c in chosen if c not in CURVES]
            if bad or not chosen:
                raise ValueError(f"curves must be a comma-separated subset of {list(CURVES)}, got {value!r}")
            self.curves = chosen
            return ",".join(chosen)
        raise ValueError(f"unknown parameter {name!r}; the model takes {list(self.PARAMS)}")

    def reset(self, decoder: bool = True) -> None:
        """Forget all audio (context, caches, encoder/decoder buffers); prompt, mode and parameters stay. With
        `decoder` False the decoder keeps its buffers, so the next block is heard at once (no decoder warm-up)."""
        self.gen.reset(self.seed)
        self._frames = 0
        self.enc.reset()
        if decoder:
            self.dec.reset()

    # ----- audio -----

    def process(self, block_in: np.ndarray) -> np.ndarray:
        """One block: float32 (channels, block_samples) in, the same shape out, always finite."""
        x = np.asarray(block_in, dtype=np.float32)
        want = (self.channels, self.block_samples)
        if x.shape != want:
            raise ValueError(f"process expects a block of shape {want} (channels, samples), got {x.shape}")
        if not np.isfinite(x).all():
            self.nonfinite_inputs += 1
            x = np.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0)
        p = next(self.ae.parameters())
        with torch.inference_mode():
            audio = torch.from_numpy(x)[None].to(p.device, p.dtype)
            z_in = None
            if self.mode in ("delay", "jam"):
                z_in = torch.nan_to_num(self.enc.push(audio), nan=0.0, posinf=0.0, neginf=0.0)
            else:
                self.enc.skip(audio)            # the input still serves as left context if the mode changes
            z = self.gen.next_block(extras=self._extras(z_in, x))
            ok = bool(torch.isfinite(z).all())
            if not ok:
                z = torch.zeros_like(z)
            if self.mode == "delay":
                self.gen.substitute(z_in.to(z.dtype))
            elif not ok:
                self.gen.substitute(z)
            self._frames += z.shape[-1]
            y = self.dec.push(z.to(p.dtype))[0].float().cpu().numpy()
        if not ok or not np.isfinite(y).all():
            self.nonfinite_outputs += 1
            y = np.zeros(want, np.float32)
        return np.ascontiguousarray(y, dtype=np.float32)

    # ----- internals -----

    def _generator(self) -> StreamingGenerator:
        """A generator under the current prompt; primed with the old one's context when replacing it."""
        gen = StreamingGenerator(self.m.dit, self.m.stream, self.sampler, batch=1, seed=self.seed)
        old = getattr(self, "gen", None)
        if old is not None and self._frames:
            gen.prime(old.context[..., -min(self._frames, self.m.stream.context):])
        gen.set_conditions(self._conditions())
        return gen

    def _conditions(self) -> Conditions:
        ta, ma, _ = self.m.text.encode([self.prompts["prompt"]])
        if self.blend > 0.0:
            tb, mb, _ = self.m.text.encode([self.prompts["prompt_b"]])
            ta, ma = (1.0 - self.blend) * ta + self.blend * tb, ma | mb
        return Conditions(ta, ma)

    def _apply_conditions(self) -> None:
        self.gen.set_conditions(self._conditions())

    def _extras(self, z_in: torch.Tensor | None, x: np.ndarray) -> dict[str, torch.Tensor]:
        if self.mode == "jam":
            return {"stem": z_in}
        if self.mode == "sketch":
            c = curves(x, self.sample_rate, self.ae.hop)[:, : self.m.stream.block]
            c[[i for i, n in enumerate(CURVES) if n not in self.curves]] = 0.0
            p = next(self.m.dit.parameters())
            return {"curves": torch.as_tensor(c)[None].to(p.device, p.dtype)}
        return {}
