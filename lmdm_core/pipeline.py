"""The audio-in, audio-out API the worker (bridge/) calls: load a model, open a stream, process blocks.

    m = load_model(path_or_None, device="cpu", dtype=torch.float32)   # None -> lmdm_core/weights/ or embedded tiny
    s = AudioStream(m, seed=0)
    s.set_param("prompt", "warm strings")      # any row of params.MODEL_PARAMS; returns the applied value
    out = s.process(block_in)                  # float32 (channels, block_samples) -> same shape, always finite
    s.understood                               # words of the current prompt the model knows

Modes (modes.py's table; `m.modes` lists those a model runs): "text" ignores the input and continues the model's own
output; "delay" (the generative delay) makes each input block's latents the newest clean context chunk, so output
block k is the model's continuation of input up to block k-1; "jam" / "sketch" condition on the input's latents /
curves. Latency: one block in delay mode, plus the decoder's lookahead (`decoder_latency` samples, the exact-join
lookahead of autoencoder.BlockStream).
"""
from __future__ import annotations

import copy
import math
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from lmdm_core.autoencoder import Autoencoder
from lmdm_core.checkpoint import CheckpointError, read_checkpoint, load_into, save_checkpoint
from lmdm_core.conditions import Conditions
from lmdm_core.config import (SamplerConfig, StreamConfig, TextConfig, autoencoder_preset, dit_preset,
                              stream_preset)
from lmdm_core.dit import DiT
from lmdm_core.features import NAMES as CURVES, curves
from lmdm_core.modes import DEFAULT as DEFAULT_MODE, MODES, Mode, runnable
from lmdm_core.numbers import Numbers
from lmdm_core.params import MODEL_PARAMS, ParamError, check
from lmdm_core.saos import find_saos, import_saos
from lmdm_core.streaming import StreamingGenerator
from lmdm_core.text import DEFAULT_VOCAB, T5Encoder, TextEncoder, build_text_encoder

log = logging.getLogger(__name__)

WEIGHTS_DIR = Path(__file__).parent / "weights"
# Wet output louder than this (+36 dBFS) means the model's state exploded: the block is dropped, the state reset.
EXPLODED = 64.0


@dataclass
class LoadedModel:
    dit: DiT
    autoencoder: Autoencoder
    text: TextEncoder
    stream: StreamConfig
    sampler: SamplerConfig
    source: str                       # checkpoint path or "embedded (untrained)"
    meta: dict[str, Any] = field(default_factory=dict)
    numbers: Numbers | None = None    # number conditioners (imported SAOS/LMDM: seconds_total)

    @property
    def block_sizes(self) -> dict[str, int]:
        """Block sizes (latents) this model streams: "long" (its stream's block) and, for a model trained with
        several (meta `blocks`, DiTTrainConfig.blocks), "short" (the smallest)."""
        sizes = {"long": self.stream.block}
        trained = min(self.meta.get("blocks") or [self.stream.block])
        if trained < self.stream.block:
            sizes["short"] = trained
        return sizes

    def decoder_lookahead(self, block_size: str = "long") -> int | None:
        """Latents the streaming decoder holds back for this block size: meta `decoder_lookahead` {size: latents}
        trades exactness for latency (scripts/decoder_lookahead.py measures the cost); None = exact."""
        return (self.meta.get("decoder_lookahead") or {}).get(block_size)

    def geometry(self, block_size: str = "long") -> StreamConfig:
        """The stream geometry of a block size name (ValueError for one the model was not trained for)."""
        sizes = self.block_sizes
        if block_size not in sizes:
            raise ValueError(f"block size {block_size!r}: this model streams {' or '.join(sizes)} blocks")
        return self.stream.with_block(sizes[block_size])

    @property
    def modes(self) -> tuple[str, ...]:
        """The stream modes this model runs (a conditioned mode needs its input-add group)."""
        return runnable(self.dit.cfg.input_adds)

    def configs(self) -> dict[str, Any]:
        out = {"dit": self.dit.cfg, "stream": self.stream, "sampler": self.sampler,
               "autoencoder": self.autoencoder.cfg, "text": self.text.cfg}
        return out | ({"numbers": self.numbers.cfg} if self.numbers is not None else {})

    def modules(self) -> dict[str, torch.nn.Module]:
        """The weighted modules by checkpoint section."""
        out = {"dit": self.dit, "autoencoder": self.autoencoder, "text": self.text}
        return out | ({"numbers": self.numbers} if self.numbers is not None else {})

    def condition(self, cond: Conditions) -> Conditions:
        """Text conditions -> what the DiT takes: the number conditioners' tokens and global vector added."""
        if self.numbers is None:
            return cond
        p = next(self.dit.parameters())
        return self.numbers.condition(cond.to(p.device, p.dtype))

    def save(self, path: str | Path, dtype: torch.dtype | None = None, meta: dict[str, Any] | None = None) -> list[Path]:
        """Write this model as an lmdm checkpoint directory (see checkpoint.py)."""
        return save_checkpoint(path, self.modules(), self.configs(), meta=meta if meta is not None else self.meta,
                               dtype=dtype)


def build_model(configs: dict[str, Any], source: str, meta: dict[str, Any] | None = None) -> LoadedModel:
    """Fresh (randomly initialised) modules from config dataclasses."""
    missing = [s for s in ("dit", "autoencoder", "text") if s not in configs]
    if missing:
        raise CheckpointError(f"{source}: config lacks sections {missing}")
    numbers = Numbers(configs["numbers"]) if "numbers" in configs else None
    return LoadedModel(DiT(configs["dit"]), Autoencoder(configs["autoencoder"]), build_text_encoder(configs["text"]),
                       configs.get("stream", StreamConfig()), configs.get("sampler", SamplerConfig()), source,
                       dict(meta or {}), numbers)


def default_configs() -> dict[str, Any]:
    """The embedded model's shapes: tiny DiT, tiny autoencoder, tiny stream, word encoder over DEFAULT_VOCAB."""
    dit = dit_preset("tiny")
    return {"dit": dit, "stream": stream_preset("tiny"), "sampler": SamplerConfig(),
            "autoencoder": autoencoder_preset("tiny"),
            "text": TextConfig(dim=dit.cond_token_dim, max_tokens=dit.max_cond_tokens, vocab=list(DEFAULT_VOCAB))}


def load_model(path: str | Path | None = None, device: str | torch.device = "cpu",
               dtype: torch.dtype = torch.float32, t5: str | None = None) -> LoadedModel:
    """A checkpoint directory, or a stable-audio-tools model (a folder with model_config.json and its weights, or the
    .safetensors/.ckpt file beside a model_config.json: converted once, see saos.import_saos); None ->
    lmdm_core/weights/ if it holds one, else the untrained embedded model.
    t5: where a T5-conditioned model loads T5 from (a local folder or hub name; default: the one its config names)."""
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
        saos = find_saos(p)
        if saos is not None:                   # a stable-audio-tools model: converted once, then read as ours
            p = import_saos(*saos)
        ckpt = read_checkpoint(p)
        m = build_model(ckpt.configs, str(p), ckpt.meta)
        load_into(m.modules(), ckpt.tensors, str(p))
    if t5 is not None and isinstance(m.text, T5Encoder):
        m.text.use(t5)
    for mod in m.modules().values():
        mod.to(device=device, dtype=dtype).eval().requires_grad_(False)
    return m


@dataclass
class PreparedBlock:
    """An input block made ready for the generator (AudioStream.prepare)."""

    z_in: torch.Tensor | None              # the input's latents (modes that encode)
    extras: dict[str, torch.Tensor]        # the mode's input-add group for the generator
    dtype: torch.dtype | None = None       # the autoencoder's when prepared (complete decodes in it)


class AudioStream:
    """One stream's state over a shared LoadedModel: generator, streaming encoder/decoder, prompt and mode.

    It owns everything a mode does to audio (modes.py says which: encoding, conditioning, substitution, feedback)
    and the model state's health: a block whose latents or audio go non-finite or explode is silence, and the
    state starts afresh (`recoveries`), so one wild block never silences the stream for good."""

    def __init__(self, model: LoadedModel, seed: int = 0, mode: str = DEFAULT_MODE,
                 block_size: str = "long"):
        self.m = model
        self.ae = model.autoencoder
        self.block_size = block_size
        self.stream = model.geometry(block_size)  # fixed for the stream's life: the block size sets its latency
        self.seed = int(seed)
        self.sampler = copy.deepcopy(model.sampler)
        self.mode: Mode = MODES[DEFAULT_MODE]
        self.prompts = {"prompt": "", "prompt_b": ""}
        self.blend = 0.0
        self.feedback = 0.0
        self.curves = CURVES                # sketch: the curves the output follows (the others are zeroed)
        self._understood = {"prompt": [], "prompt_b": []}
        self._last_prompt = "prompt"
        self.nonfinite_inputs = 0      # blocks whose input held NaN/Inf (replaced by zeros)
        self.nonfinite_outputs = 0     # blocks whose latents or audio held NaN/Inf (silence instead)
        self.recoveries = 0            # blocks after which the model state was started afresh
        self._recovered_last = False
        self._frames = 0               # latents committed to the context so far
        self._wet_prev = np.zeros((self.channels, self.block_samples), np.float32)  # what feedback feeds back
        self.gen = self._generator()
        self.enc = self.ae.stream_encoder(lookahead=0)
        self.dec = self.ae.stream_decoder(lookahead=model.decoder_lookahead(block_size))
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
        return self.stream.block * self.ae.hop

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
        """Check a value with the parameter table (refusing out-of-range numbers) and apply it between blocks;
        returns the applied value; ParamError (a ValueError) says what is wrong."""
        return self.apply(name, check(name, value, clamp=False))

    def apply(self, name: str, value: Any) -> Any:
        """Apply a value already checked with the parameter table (the worker clamps it on arrival); returns the
        value applied. ParamError only for what this model cannot do (a mode it was not trained for)."""
        setters = {"prompt": self._apply_prompt, "prompt_b": self._apply_prompt_b, "blend": self._apply_blend,
                   "cfg": self._apply_cfg, "cfg_mode": self._apply_cfg_mode, "steps": self._apply_steps, "seed": self._apply_seed,
                   "feedback": self._apply_feedback, "mode": self._apply_mode, "curves": self._apply_curves}
        if name not in setters:
            raise ParamError(f"unknown parameter {name!r}; the model takes {', '.join(MODEL_PARAMS)}")
        return setters[name](value)

    def _apply_prompt(self, value: str, name: str = "prompt") -> str:
        old = self.prompts[name]
        self.prompts[name] = value
        self._apply_conditions(undo=lambda: self.prompts.update({name: old}))
        self._understood[name] = self.m.text.known(value)
        self._last_prompt = name
        return value

    def _apply_prompt_b(self, value: str) -> str:
        return self._apply_prompt(value, "prompt_b")

    def _apply_blend(self, value: float) -> float:
        old, self.blend = self.blend, value
        self._apply_conditions(undo=lambda: setattr(self, "blend", old))
        return value

    def _apply_cfg(self, value: float) -> float:
        rebuild = (value != 1.0) != (self.sampler.cfg != 1.0)
        self.sampler.cfg = value
        if rebuild:
            self.gen = self._generator(self.gen)    # guidance on/off changes the model batch: rebuild, keep the context
        return value

    def _apply_cfg_mode(self, value: str) -> str:
        self.sampler.cfg_mode = value                 # same model batch either way: applies from the next block
        return value

    def _apply_steps(self, value: int) -> int:
        self.sampler.steps = value
        return value

    def _apply_seed(self, value: int) -> int:
        self.seed = value
        self.gen = self._generator(self.gen)        # the noise restarts from the seed; the context is kept
        return value

    def _apply_feedback(self, value: float) -> float:
        self.feedback = value
        return value

    def _apply_mode(self, value: str) -> str:
        if value not in self.m.modes:
            group = MODES[value].group
            raise ParamError(f"mode {value!r} needs a model trained with a {group!r} input; "
                             f"this one has {sorted(self.m.dit.cfg.input_adds)}")
        self.mode = MODES[value]
        return value

    def _apply_curves(self, value: str) -> str:
        self.curves = tuple(value.split(","))
        return value

    def reset(self, decoder: bool = True) -> None:
        """Forget all audio (context, caches, encoder/decoder buffers, the block feedback would feed back); prompt,
        mode and parameters stay. With `decoder` False the decoder keeps its buffers, so the next block is heard at
        once (no decoder warm-up)."""
        self.gen.reset(self.seed)
        self._frames = 0
        self.enc.reset()
        self.forget_feedback()
        if decoder:
            self.dec.reset()

    def forget_feedback(self) -> None:
        """The input jumped (the client's clock restarted): the previous wet block no longer belongs before it."""
        self._wet_prev = np.zeros_like(self._wet_prev)

    # ----- audio -----

    def process(self, block_in: np.ndarray) -> np.ndarray:
        """One block: float32 (channels, block_samples) in, the same shape out, always finite."""
        block = self.prepare(block_in)
        with torch.inference_mode():
            return self.complete(block, self.gen.next_block(extras=block.extras))

    def prepare(self, block_in: np.ndarray) -> "PreparedBlock":
        """`process` up to the generator: the input checked, fed back and encoded. Then `self.gen` computes the
        latents of `extras` (alone, or batched with other streams: lmdm_core/batching.py) and `complete` ends it.
        `prepare_all` does the same for several streams with one copy to the device."""
        return prepare_all([self], [block_in])[0]

    def checked_input(self, block_in: np.ndarray) -> np.ndarray:
        """`prepare`'s host part: the block's shape checked, the feedback added, non-finite samples zeroed."""
        x = np.asarray(block_in, dtype=np.float32)
        want = (self.channels, self.block_samples)
        if x.shape != want:
            raise ValueError(f"process expects a block of shape {want} (channels, samples), got {x.shape}")
        if self.mode.feedback and self.feedback > 0.0:
            # The generative delay's regeneration: the wet heard one block later is the model's take on
            # input + feedback x its own previous output.
            x = x + np.float32(self.feedback) * self._wet_prev
        if not np.isfinite(x).all():
            self.nonfinite_inputs += 1
            x = np.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0)
        return x

    def prepare_checked(self, x: np.ndarray, audio: torch.Tensor) -> "PreparedBlock":
        """`prepare`'s device part: `x` from `checked_input`, `audio` [1, channels, samples] its copy on the
        autoencoder's device and dtype (a row of a batch's one copy with `prepare_all`)."""
        with torch.inference_mode():
            z_in = None
            if self.mode.encodes:
                z_in = torch.nan_to_num(self.enc.push(audio), nan=0.0, posinf=0.0, neginf=0.0)
            else:
                self.enc.skip(audio)            # the input still serves as left context if the mode changes
            return PreparedBlock(z_in, self._extras(z_in, x), audio.dtype)

    def complete(self, block: "PreparedBlock", z: torch.Tensor, finite: bool | None = None,
                 peak: float | None = None) -> np.ndarray:
        """`process` after the generator: z [1, C, block] the latents it made for `block.extras`. An engine that
        checked a whole batch at once passes what it found, so nothing is looked at (or waited for) per stream:
        `finite` whether z is all finite; `peak` the largest |sample| of the audio the decoder's next push returns
        for this block (NaN where not all finite). None: checked here."""
        dtype = block.dtype if block.dtype is not None else next(self.ae.parameters()).dtype
        with torch.inference_mode():
            ok = bool(torch.isfinite(z).all()) if finite is None else finite
            if not ok:
                z = torch.zeros_like(z)
            if self.mode.substitutes:
                self.gen.substitute(block.z_in.to(z.dtype))
            elif not ok:
                self.gen.substitute(z)
            self._frames += z.shape[-1]
            y = self.dec.push(z.to(dtype))[0].float().cpu().numpy()
        if peak is None:
            peak = float(np.abs(y).max(initial=0.0)) if np.isfinite(y).all() else math.nan
        if not ok or math.isnan(peak):
            self.nonfinite_outputs += 1
            y = self._recover()
        elif peak > EXPLODED:
            y = self._recover()
        else:
            self._recovered_last = False
        self._wet_prev = y = np.ascontiguousarray(y, dtype=np.float32)
        return y

    def _recover(self) -> np.ndarray:
        """The latents or audio went non-finite or exploded: the context would carry that into every later block.
        Start the state afresh now, keeping prompt, mode and parameters: this block is silence, the next one the
        model's again. First the context and the encoder, which carry a wild input on; the decoder too if that was
        not enough (two bad blocks in a row), since its warm-up costs one more silent block."""
        self.recoveries += 1
        log.warning("the model's output went non-finite or exploded; its %s was reset (recovery %d)",
                    "whole state" if self._recovered_last else "context", self.recoveries)
        self.reset(decoder=self._recovered_last)
        self._recovered_last = True
        return np.zeros((self.channels, self.block_samples), np.float32)

    # ----- internals -----

    def _generator(self, old: StreamingGenerator | None = None) -> StreamingGenerator:
        """A generator under the current prompt; primed with the `old` one's context when replacing it."""
        # naive outpainting (a bidirectional SAOS) has nothing to cache; the LMDM patterns run cached
        gen = StreamingGenerator(self.m.dit, self.stream, self.sampler, batch=1, seed=self.seed,
                                 cached=self.stream.attention != "bidirectional")
        if old is not None and self._frames:
            gen.prime(old.context[..., -min(self._frames, self.stream.context):])
        gen.set_conditions(self._conditions())
        return gen

    def _conditions(self) -> Conditions:
        """The prompt's tokens; with blend > 0 the weighted sum of both prompts' tokens, masks OR-ed (the LMDM fork's
        mix_t5_prompts with weights 1 - blend and blend: pads are zero, so the sum is per token); then the model's
        number conditioners (seconds_total) as LoadedModel.condition adds them."""
        if self.blend == 0.0:
            tokens, mask, _ = self.m.text.encode([self.prompts["prompt"]])
            return self.m.condition(Conditions(tokens, mask))
        t, m, _ = self.m.text.encode([self.prompts["prompt"], self.prompts["prompt_b"]])
        w = torch.tensor([1.0 - self.blend, self.blend], dtype=t.dtype, device=t.device)
        return self.m.condition(Conditions((t * w[:, None, None]).sum(0, keepdim=True), m.any(0, keepdim=True)))

    def _apply_conditions(self, undo: Callable[[], None] | None = None) -> None:
        """Conditions from the current prompts and blend, from the next block on. A text encoder that cannot run
        (T5 not on this machine) changes nothing: `undo` puts the old value back and the ParamError goes on."""
        try:
            self.gen.set_conditions(self._conditions())
        except ParamError:
            if undo is not None:
                undo()
            raise

    def _extras(self, z_in: torch.Tensor | None, x: np.ndarray) -> dict[str, torch.Tensor]:
        """The mode's input-add group: the input block's latents, or its sketch curves (the unchosen ones zeroed)."""
        mode = self.mode
        if mode.signal == "latents":
            return {mode.group: z_in}
        if mode.signal == "curves":
            c = curves(x, self.sample_rate, self.ae.hop)[:, : self.stream.block]
            c[[i for i, n in enumerate(CURVES) if n not in self.curves]] = 0.0
            p = next(self.m.dit.parameters())
            return {mode.group: torch.as_tensor(c)[None].to(p.device, p.dtype)}
        return {}


def prepare_all(streams: list[AudioStream], blocks: list[np.ndarray]) -> list[PreparedBlock]:
    """`[s.prepare(b) for s, b in zip(streams, blocks)]` with one host-to-device copy of the inputs per autoencoder
    and block shape instead of one per stream (the worker's engine prepares every stream of a step at once)."""
    if len(streams) != len(blocks):
        raise ValueError(f"{len(streams)} streams but {len(blocks)} blocks")
    xs = [s.checked_input(b) for s, b in zip(streams, blocks)]
    by_key: dict[tuple, list[int]] = {}
    for i, (s, x) in enumerate(zip(streams, xs)):
        by_key.setdefault((id(s.ae), x.shape), []).append(i)
    out: list[PreparedBlock | None] = [None] * len(streams)
    with torch.inference_mode():
        for idx in by_key.values():
            p = next(streams[idx[0]].ae.parameters())
            if p.device.type == "cpu" and p.dtype == torch.float32:   # nothing to copy: each block as it is
                rows = [torch.from_numpy(xs[i])[None] for i in idx]
            else:
                audio = torch.from_numpy(np.stack([xs[i] for i in idx])).to(p.device, p.dtype)
                rows = [audio[j:j + 1] for j in range(len(idx))]
            for i, row in zip(idx, rows):
                out[i] = streams[i].prepare_checked(xs[i], row)
    return out
