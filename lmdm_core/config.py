"""Configuration dataclasses and named presets for the DiT, the autoencoder and the streaming geometry.

Sizes live here and nowhere else: modules take a config, never a bare number. Presets are plain functions returning
fresh dataclasses so callers may tweak them without aliasing.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any


@dataclass
class DiTConfig:
    """Shape of the diffusion transformer (Stable Audio Open Small layout)."""

    io_channels: int = 64            # latent channels in and out
    embed_dim: int = 1024
    depth: int = 16
    num_heads: int = 8               # head dim = embed_dim // num_heads
    ff_mult: int = 4                 # SwiGLU hidden = ff_mult * embed_dim
    rope_dims: int = 64              # rotary embedding on this many of each head's dims (partial RoPE)
    rope_base: float = 10000.0
    cond_token_dim: int = 768        # cross-attention conditioning tokens (T5-base width for SAOS)
    max_cond_tokens: int = 64
    global_cond_dim: int = 768       # global conditioning vector (seconds_total in SAOS) -> postpend token
    timestep_features: int = 256     # Fourier features of t
    # Input-add conditions: named groups of per-frame channels, concatenated in this order and projected by one
    # Linear into the residual stream after project_in. "context" = inpaint mask (1) + masked latents (64).
    input_adds: dict[str, int] = field(default_factory=lambda: {"context": 65})
    # Cross-attention key mask: True = padded condition tokens are masked out (lmdm's own models); False = every token
    # is attended to, padding included, as stable-audio-tools computes (it never applies the mask), so a checkpoint
    # trained there (SAOS, LMDM) is imported with False.
    cross_attn_mask: bool = True

    @property
    def head_dim(self) -> int:
        return self.embed_dim // self.num_heads


@dataclass
class AutoencoderConfig:
    """Oobleck-shaped audio autoencoder."""

    audio_channels: int = 2
    sample_rate: int = 44100
    channels: int = 128
    c_mults: list[int] = field(default_factory=lambda: [1, 2, 4, 8, 16])
    strides: list[int] = field(default_factory=lambda: [2, 4, 4, 8, 8])
    latent_dim: int = 64
    use_snake: bool = True           # SnakeBeta activations (False: ELU)
    decoder_snake: bool | None = None  # the decoder's own choice (None: as use_snake); snake costs ~2x on the CPU
    final_tanh: bool = False         # tanh on the decoder output (SAOS: off)
    latent_scale: float = 1.0        # latents are divided by this after encoding, multiplied before decoding
    # Streaming decode: latents of lookahead held back so block joins are exact. None = the decoder's full right
    # receptive field (exact, adds that many latents of latency); smaller trades a tiny seam for latency.
    stream_lookahead: int | None = None

    @property
    def hop(self) -> int:
        """Audio samples per latent frame."""
        h = 1
        for s in self.strides:
            h *= s
        return h


@dataclass
class StreamConfig:
    """Streaming geometry in latent frames, and the attention pattern."""

    context: int = 192               # clean context latents before the target block
    block: int = 48                  # latents generated per block (one chunk)
    window_chunks: int = 4           # block-causal: a query chunk sees itself and the window_chunks-1 chunks before it
    attention: str = "block_causal"  # "bidirectional" (naive outpainting) | "encdec" | "block_causal"

    @property
    def window(self) -> int:
        """Latents the model sees at once: context + block."""
        return self.context + self.block

    def with_block(self, block: int) -> "StreamConfig":
        """The same context streamed in blocks of `block` latents (a chunk is a block), the block-causal window
        kept at the same span in latents, in whole chunks. Short blocks answer sooner; one set of weights serves
        every block size it was trained with (DiTTrainConfig.blocks). The window never reaches past the context
        (window_chunks - 1 chunks of it), which the cached engine needs."""
        if block < 1 or self.context % block:
            raise ValueError(f"block {block} must divide the context ({self.context} latents)")
        span = self.window_chunks * self.block // block       # chunks covering the same latents
        return replace(self, block=block, window_chunks=max(1, min(span, self.context // block + 1)))


# Classifier-free guidance variants of the ping-pong sampler (sampler.step): plain CFG, or CFG++ as the LMDM fork has it.
CFG_MODES = ("plain", "plus_plus")


@dataclass
class SamplerConfig:
    steps: int = 8
    cfg: float = 1.0                 # classifier-free guidance scale (1 = off)
    cfg_mode: str = "plain"          # "plain" | "plus_plus" (CFG++: re-noise from the unguided x0; LMDM's notebook)
    logsnr_min: float = -6.0
    logsnr_max: float = 2.0


def _dit_presets() -> dict[str, DiTConfig]:
    return {
        "saos-small": DiTConfig(),
        "small": DiTConfig(embed_dim=256, depth=8, num_heads=4, rope_dims=32, cond_token_dim=256,
                           global_cond_dim=256, timestep_features=64),
        "tiny": DiTConfig(embed_dim=64, depth=2, num_heads=2, rope_dims=16, cond_token_dim=32, max_cond_tokens=8,
                          global_cond_dim=32, timestep_features=16),
        # The shipped default model (docs/model-card.md): 32 latent channels, stem + sketch-curve inputs, no global.
        "embedded": DiTConfig(io_channels=32, embed_dim=256, depth=6, num_heads=4, rope_dims=32, cond_token_dim=128,
                              max_cond_tokens=32, global_cond_dim=0, timestep_features=64,
                              input_adds={"context": 33, "stem": 32, "curves": 3}),
        # The DiT v2 (issue 15) over the v2 autoencoder's 64 latent channels: the embedded layout at width 320,
        # depth 8 (16.8 M), sized by `lmdm train dit-cost` (docs/training.md "DiT v2").
        "embedded-v2": DiTConfig(io_channels=64, embed_dim=320, depth=8, num_heads=5, rope_dims=32,
                                 cond_token_dim=128, max_cond_tokens=32, global_cond_dim=0, timestep_features=64,
                                 input_adds={"context": 65, "stem": 64, "curves": 3}),
    }


def _ae_presets() -> dict[str, AutoencoderConfig]:
    return {
        "saos": AutoencoderConfig(),
        "tiny": AutoencoderConfig(channels=8, c_mults=[1, 2, 2, 4, 4]),
        # The shipped default: 22.05 kHz stereo, hop 1024 (21.5 latents/s as SAOS), ELU (snake costs 2x on the CPU).
        "embedded": AutoencoderConfig(sample_rate=22050, channels=16, c_mults=[1, 2, 4, 8, 16], strides=[2, 4, 4, 4, 8],
                                      latent_dim=32, use_snake=False),
        # Autoencoder v2 (docs/training.md, "Autoencoder v2"): 44.1 kHz stereo, SAOS strides (hop 2048, 21.5
        # latents/s, so the paper's 192 + 48 block geometry carries), SAOS's 64 latent channels, SAOS's c_mults;
        # channels 16 with a snake decoder is the largest that keeps the streaming encoder + decoder <= 25 % of a
        # block on the 2-core CPU (ae_bench.py: ~18-22 %; channels 24 measured 27-32 %).
        "embedded-v2": AutoencoderConfig(sample_rate=44100, channels=16, c_mults=[1, 2, 4, 8, 16],
                                         strides=[2, 4, 4, 8, 8], latent_dim=64, use_snake=False,
                                         decoder_snake=True),
        # The shape of the first GPU call (2026-12-01, 2291 steps): channels 24, over the CPU budget; kept so
        # that state still resumes (--preset embedded-v2-c24).
        "embedded-v2-c24": AutoencoderConfig(sample_rate=44100, channels=24, c_mults=[1, 2, 4, 8, 16],
                                             strides=[2, 4, 4, 8, 8], latent_dim=64, use_snake=False,
                                             decoder_snake=True),
    }


def _stream_presets() -> dict[str, StreamConfig]:
    return {
        "paper": StreamConfig(),
        "tiny": StreamConfig(context=24, block=8, window_chunks=3),
    }


def dit_preset(name: str) -> DiTConfig:
    return _pick(_dit_presets(), name, "DiT")


def autoencoder_preset(name: str) -> AutoencoderConfig:
    return _pick(_ae_presets(), name, "autoencoder")


def stream_preset(name: str) -> StreamConfig:
    return _pick(_stream_presets(), name, "stream")


def _pick(table: dict[str, Any], name: str, what: str) -> Any:
    if name not in table:
        raise KeyError(f"unknown {what} preset {name!r}; choose from {sorted(table)}")
    return table[name]


def to_dict(cfg: Any) -> dict[str, Any]:
    return asdict(cfg)


def from_dict(cls: type, data: dict[str, Any]) -> Any:
    """Build a config dataclass from a dict, rejecting unknown keys with a clear message."""
    names = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ValueError(f"{cls.__name__}: unknown config keys {unknown}")
    return cls(**data)


@dataclass
class TextConfig:
    """Text conditioning: a small word-embedding encoder ("words") or a T5 encoder run through transformers ("t5",
    stable-audio-tools' T5Conditioner: lmdm_core/t5.py)."""

    kind: str = "words"              # "words" | "t5"
    dim: int = 768                   # token width handed to the DiT (= DiTConfig.cond_token_dim)
    max_tokens: int = 64             # = DiTConfig.max_cond_tokens; "t5": the tokenizer pads/truncates to this
    vocab: list[str] = field(default_factory=list)   # "words": known words, index i -> embedding row i + 1
    t5_model: str = "t5-base"        # "t5": the T5 the checkpoint was trained with (its t5_model_name)
    t5_dim: int | None = None        # "t5": that T5's width (d_model); None = dim (no projection unless project_out)
    project_out: bool = False        # "t5": a Linear t5_dim -> dim after T5 (also whenever t5_dim != dim): the
                                     # checkpoint's conditioner.conditioners.prompt.proj_out, text.proj_out here


@dataclass
class NumberConfig:
    """Number conditioners (stable-audio-tools' `NumberConditioner`; SAOS has one, seconds_total): each value is
    clamped to its range, normalised to [0, 1] and embedded by learned Fourier features and a Linear (numbers.py)."""

    ranges: dict[str, list[float]] = field(default_factory=dict)  # name -> [min_val, max_val]
    dim: int = 768                   # embedding width (stable-audio-tools' cond_dim)
    fourier_dim: int = 256           # Fourier features before the Linear (NumberEmbedder's dim)
    cross_attn: list[str] = field(default_factory=list)   # names appended, in order, after the text tokens
    global_cond: list[str] = field(default_factory=list)  # names concatenated into the DiT's global vector
    values: dict[str, float] = field(default_factory=dict)  # the value each takes while streaming


@dataclass
class ARCConfig:
    """ARC-Forcing post-training (lmdm_core/arc/): rollouts of the block-causal model from real context, judged by a
    discriminator made of the bidirectional DiT trunk and a ConvNeXt-1d head."""

    blocks: int = 12                 # chunks rolled out after the real context (12 x 48 latents ~ 35.7 s)
    steps: int = 6                   # sampler schedule of the rollout
    grad_step_max: int = 5           # per chunk k ~ U{1..grad_step_max}: steps < k without gradient, step k with
    disc_layer: int | None = None    # trunk exit layer (0-based); None = 3/4 of the depth (12 of SAOS's 16)
    head_channels: int = 128
    head_mults: list[int] = field(default_factory=lambda: [1, 2, 4])
    head_strides: list[int] = field(default_factory=lambda: [1, 2, 2])
    head_blocks: list[int] = field(default_factory=lambda: [2, 2, 2])
    lr: float = 1e-6
    disc_lr: float | None = None     # discriminator's learning rate (None = lr); its ConvNeXt head starts untrained
    betas: list[float] = field(default_factory=lambda: [0.9, 0.95])
    weight_decay: float = 0.01
    grad_clip: float = 1.0
    p_cond: float = 0.1              # CFG dropout: rows whose prompt is replaced by the null condition
    logsnr_min: float = -6.0         # discriminator re-noising: logSNR ~ U[min, max], same noise for real and fake
    logsnr_max: float = 2.0
    contrastive_weight: float = 2.0
    batch: int = 8                   # global batch (split over ranks)
    train_steps: int = 1000          # each step: one generator update, then one discriminator update
    log_every: int = 10
    save_every: int = 100
    sample_every: int = 250          # sample WAVs (real | rollout) via the autoencoder
    seed: int = 0
    amp: bool = True                 # bfloat16 autocast on CUDA (float32 weights and optimizer)
