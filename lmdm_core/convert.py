"""`lmdm convert-saos`: a Stable Audio Open Small checkpoint -> an lmdm checkpoint (the work is saos.py's; torch
loads inside the command, so `lmdm --help` stays fast)."""
from __future__ import annotations

import click


@click.command("convert-saos")
@click.argument("model_config", type=click.Path(dir_okay=False))
@click.argument("weights", type=click.Path(dir_okay=False))
@click.argument("out", type=click.Path(file_okay=False))
@click.option("--no-context", is_flag=True, help="keep a plain SAOS DiT (no LMDM context input)")
@click.option("--half", is_flag=True, help="store float16 weights")
def convert_saos_command(model_config: str, weights: str, out: str, no_context: bool, half: bool) -> None:
    """Convert Stable Audio Open Small (model_config.json + model.safetensors|.ckpt) into an lmdm checkpoint OUT.

    \b
    Example:
      lmdm convert-saos model_config.json model.safetensors checkpoints/saos

    `lmdm serve --model FOLDER` does this by itself, once (docs/models.md).
    """
    import torch

    from lmdm_core.checkpoint import shard_sizes
    from lmdm_core.saos import convert_saos_files

    conv = convert_saos_files(model_config, weights, out, add_context=not no_context,
                              dtype=torch.float16 if half else None)
    click.echo(f"wrote {out}: {len(conv.tensors)} tensors, shards {shard_sizes(out)}")
    if conv.unused:
        click.echo(f"unused SAOS keys ({len(conv.unused)}), e.g. {conv.unused[:3]}: no module here holds them")
