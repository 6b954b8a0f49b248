"""lmdm_core: the Live Music Diffusion Model — a streaming block-causal DiT over audio latents with a block-wise KV cache."""
__version__ = "0.1.0"
