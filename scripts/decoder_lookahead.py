"""How exact the streaming decoder stays with less lookahead: SNR of block-by-block decoding (blocks of BLOCK latents,
`stream_decoder(lookahead=k)`) against one whole-clip decode, for each k. The decoder's exact lookahead is its
receptive field's right side; each latent less lowers a short-block stream's latency by one hop.

    PYTHONPATH=. python scripts/decoder_lookahead.py --model models/ae-v2-c16 --renders data/recon2/renders
"""
from __future__ import annotations

import glob

import click
import numpy as np


@click.command()
@click.option("--model", default="models/ae-v2-c16", show_default=True, help="checkpoint with an autoencoder")
@click.option("--renders", default="data/recon2/renders", show_default=True, help="folder of render folders (mix.flac)")
@click.option("--clips", type=int, default=3, show_default=True)
@click.option("--seconds", type=float, default=12.0, show_default=True)
@click.option("--block", type=int, default=12, show_default=True, help="latents per streamed block")
@click.option("--lookaheads", default="0,1,2,4,6,10", show_default=True)
def main(model: str, renders: str, clips: int, seconds: float, block: int, lookaheads: str) -> None:
    import soundfile as sf
    import soxr
    import torch

    from lmdm_core.checkpoint import load_autoencoder

    torch.set_num_threads(1)
    ae = load_autoencoder(model).float().eval()
    click.echo(f"receptive field (latents, left/right): {ae.receptive_field()}")
    click.echo("| clip | " + " | ".join(f"k={k} ({1000 * k * ae.hop / ae.sample_rate:.0f} ms)"
                                         for k in map(int, lookaheads.split(","))) + " |")
    for path in sorted(glob.glob(f"{renders}/*/mix.flac"))[:clips]:
        x, sr = sf.read(path, dtype="float32", always_2d=True)
        x = (soxr.resample(x, sr, ae.sample_rate) if sr != ae.sample_rate else x)[: int(ae.sample_rate * seconds)].T
        with torch.inference_mode():
            z = ae.encode(torch.from_numpy(np.ascontiguousarray(x))[None])
            whole = ae.decode(z)[0].numpy()
            row = []
            for k in map(int, lookaheads.split(",")):
                dec = ae.stream_decoder(lookahead=k)
                out = np.concatenate([dec.push(z[..., i:i + block])[0].numpy()
                                      for i in range(0, z.shape[-1] - block + 1, block)], axis=-1)
                d = k * ae.hop
                ref, got = whole[:, : out.shape[-1] - d], out[:, d:]
                row.append(10 * np.log10((ref ** 2).sum() / max(((got - ref) ** 2).sum(), 1e-20)))
        click.echo(f"| {path.split('/')[-2]} | " + " | ".join(f"{v:.1f} dB" for v in row) + " |")


if __name__ == "__main__":
    main()
