"""The published stable-audio-tools model configs the parity tests build, with the fields lmdm reads: Stable Audio
Open Small (`saos_base`) and the LMDM fork's `saos_block_causal`, `saos_encdec`, `saos_arc_forcing_{block_causal,
encdec}` (TheMindExpansionNetwork/live-music-diffusion-models, configs/model_configs/txt2audio/). Tests shrink depth
and the autoencoder's width where they say so; every other number is the published one."""
from __future__ import annotations

import copy
from typing import Any

_AE = {"type": "autoencoder", "iterate_batch": True, "config": {
    "encoder": {"type": "oobleck", "requires_grad": False, "config": {
        "in_channels": 2, "channels": 128, "c_mults": [1, 2, 4, 8, 16], "strides": [2, 4, 4, 8, 8],
        "latent_dim": 128, "use_snake": True}},
    "decoder": {"type": "oobleck", "config": {
        "out_channels": 2, "channels": 128, "c_mults": [1, 2, 4, 8, 16], "strides": [2, 4, 4, 8, 8],
        "latent_dim": 64, "use_snake": True, "final_tanh": False}},
    "bottleneck": {"type": "vae"}, "latent_dim": 64, "downsampling_ratio": 2048, "io_channels": 2}}

_CONDITIONING = {"configs": [
    {"id": "prompt", "type": "t5", "config": {"t5_model_name": "t5-base", "max_length": 64}},
    {"id": "seconds_total", "type": "number", "config": {"min_val": 0, "max_val": 256}}], "cond_dim": 768}

_DIT = {"io_channels": 64, "embed_dim": 1024, "depth": 16, "num_heads": 8, "cond_token_dim": 768,
        "global_cond_dim": 768, "transformer_type": "continuous_transformer", "attn_kwargs": {"qk_norm": "ln"}}

_CONTEXT = [["inpaint_mask", 1], ["inpaint_masked_input", 64]]
PATTERNS = {"saos_block_causal": "block-causal", "saos_encdec": "enc-dec",
            "saos_arc_forcing_block_causal": "block-causal", "saos_arc_forcing_encdec": "enc-dec"}


def saos_base(depth: int = 16, ae_channels: int = 128) -> dict[str, Any]:
    """Stable Audio Open Small: bidirectional, global token prepended, no context input."""
    mc = {"model_type": "diffusion_cond", "sample_size": 1572864, "sample_rate": 44100, "audio_channels": 2,
          "model": {"pretransform": copy.deepcopy(_AE), "conditioning": copy.deepcopy(_CONDITIONING),
                    "diffusion": {"cross_attention_cond_ids": ["prompt", "seconds_total"],
                                  "global_cond_ids": ["seconds_total"], "diffusion_objective": "rectified_flow",
                                  "type": "dit", "config": dict(copy.deepcopy(_DIT), depth=depth)},
                    "io_channels": 64},
          "training": {"pre_encoded": True}}
    for part in ("encoder", "decoder"):
        mc["model"]["pretransform"]["config"][part]["config"]["channels"] = ae_channels
    return mc


def lmdm(name: str, depth: int = 16, ae_channels: int = 128) -> dict[str, Any]:
    """An LMDM fork config: context input-add, postpend global token, the named attention pattern, 240 latents."""
    mc = saos_base(depth, ae_channels)
    mc["sample_size"] = 491520
    diff = mc["model"]["diffusion"]
    diff["input_add_ids"] = copy.deepcopy(_CONTEXT)
    diff["config"] |= {"postpend": True, "input_add_dims": copy.deepcopy(_CONTEXT)}
    if name.startswith("saos_arc_forcing"):
        diff["diffusion_objective"] = "rf_denoiser"
    mask = {"max_mask_segments": 1, "mask_type_probabilities": [0, 0, 1.0], "fixed_mask_size": 192,
            "context_router_attention_pattern": PATTERNS[name], "use_context_shift": False,
            "outpainting_dropout_probs": {"p_uncond": 0.2, "p_partial": 0.3}}
    if PATTERNS[name] == "block-causal":
        mask |= {"block_causal_chunk_size": 48, "block_causal_window_chunks": 4}
    mc["training"] = {"pre_encoded": True, "context_router": True, "inpainting": {"mask_kwargs": mask}}
    return mc
