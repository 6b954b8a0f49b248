"""CPU cost of the streaming autoencoder per block: `Autoencoder.stream_encoder` + `stream_decoder` pushing one
block of the paper geometry (48 latents) at a time, as `pipeline.AudioStream` does, with the streams' left context
and lookahead recomputed each block.

    PYTHONPATH=. python3 -m lmdm_core.ae_bench --preset embedded-v2 --threads 2
    lmdm train ae-cost --preset embedded-v2 --candidates      # the sizing table of docs/training.md
    lmdm train ae-cost --model models/ae-v2-c16               # a trained checkpoint's autoencoder

Figures are the minimum over `repeats` timed blocks (after warm-up): the machine is shared, the minimum is the
least disturbed run. Preset and candidate weights are random (the arithmetic does not depend on them); `--model`
times a checkpoint's trained weights.
"""
from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass

from lmdm_core.config import AutoencoderConfig, autoencoder_preset

# name -> changes to the embedded-v2 preset: the sizes weighed for it (docs/training.md, "Autoencoder v2")
CANDIDATES: dict[str, dict] = {
    "c16 elu": dict(channels=16, c_mults=[1, 2, 4, 8, 16], use_snake=False, decoder_snake=None),
    "c16 snake-dec": dict(channels=16, c_mults=[1, 2, 4, 8, 16], use_snake=False, decoder_snake=True),
    "c16 snake": dict(channels=16, c_mults=[1, 2, 4, 8, 16], use_snake=True, decoder_snake=None),
    "c20 snake-dec": dict(channels=20, c_mults=[1, 2, 4, 8, 16], use_snake=False, decoder_snake=True),
    "c24 elu": dict(channels=24, c_mults=[1, 2, 4, 8, 16], use_snake=False, decoder_snake=None),
    "c24 snake-dec": dict(channels=24, c_mults=[1, 2, 4, 8, 16], use_snake=False, decoder_snake=True),
    "c24/44 elu": dict(channels=24, c_mults=[1, 2, 4, 4, 8], use_snake=False, decoder_snake=None),
    "c24/44 snake-dec": dict(channels=24, c_mults=[1, 2, 4, 4, 8], use_snake=False, decoder_snake=True),
    "c32 elu": dict(channels=32, c_mults=[1, 2, 4, 8, 16], use_snake=False, decoder_snake=None),
    "c32/44 snake-dec": dict(channels=32, c_mults=[1, 2, 4, 4, 8], use_snake=False, decoder_snake=True),
    "c20/4-12 snake-dec": dict(channels=20, c_mults=[1, 2, 4, 4, 12], use_snake=False, decoder_snake=True),
    "c20/4-12 elu": dict(channels=20, c_mults=[1, 2, 4, 4, 12], use_snake=False, decoder_snake=None),
    "c24/4-12 snake-dec": dict(channels=24, c_mults=[1, 2, 4, 4, 12], use_snake=False, decoder_snake=True),
    "c24/4-12 elu": dict(channels=24, c_mults=[1, 2, 4, 4, 12], use_snake=False, decoder_snake=None),
    "c24/4-12 snake": dict(channels=24, c_mults=[1, 2, 4, 4, 12], use_snake=True, decoder_snake=None),
}


@dataclass
class CostResult:
    name: str
    threads: int
    params_encoder: int
    params_decoder: int
    encoder_ms: float          # min over the timed blocks
    decoder_ms: float
    block_s: float             # audio seconds per block
    cpu_ms: float              # process CPU time of encoder + decoder, min over the blocks (all threads summed)

    @property
    def total_ms(self) -> float:
        return self.encoder_ms + self.decoder_ms

    @property
    def share(self) -> float:
        """Encoder + decoder time as a share of the block's audio duration (real time = 1)."""
        return self.total_ms / 1e3 / self.block_s

    def row(self) -> dict:
        return {**dataclasses.asdict(self), "total_ms": round(self.total_ms, 1), "share": round(self.share, 3)}


def stream_cost(cfg: AutoencoderConfig, name: str = "", block: int = 48, threads: int = 2, repeats: int = 5,
                warmup: int = 2, ae=None) -> CostResult:
    """Time one block through the streaming encoder (lookahead 0, as the pipeline) and decoder (exact lookahead);
    `ae` (an Autoencoder of `cfg`, e.g. trained weights) replaces the random-weight one."""
    import torch

    from lmdm_core.autoencoder import Autoencoder
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    ae = (Autoencoder(cfg) if ae is None else ae).eval()
    enc, dec = ae.stream_encoder(lookahead=0), ae.stream_decoder()
    audio = 0.1 * torch.randn(1, cfg.audio_channels, block * cfg.hop)
    z = torch.randn(1, cfg.latent_dim, block)
    t_enc, t_dec, t_cpu = [], [], []
    with torch.inference_mode():
        for i in range(warmup + repeats):    # warm-up fills the streams' context, as in steady state
            c0, t0 = time.process_time(), time.perf_counter()
            enc.push(audio)
            t1 = time.perf_counter()
            dec.push(z)
            t2, c2 = time.perf_counter(), time.process_time()
            if i >= warmup:
                t_enc.append(t1 - t0)
                t_dec.append(t2 - t1)
                t_cpu.append(c2 - c0)
    count = lambda m: sum(p.numel() for p in m.parameters())   # noqa: E731
    return CostResult(name or "preset", threads, count(ae.encoder), count(ae.decoder), min(t_enc) * 1e3,
                      min(t_dec) * 1e3, block * cfg.hop / cfg.sample_rate, min(t_cpu) * 1e3)


def candidates(base: AutoencoderConfig, names: list[str] | None = None) -> dict[str, AutoencoderConfig]:
    """The sizing candidates as configs built on `base`."""
    return {n: dataclasses.replace(base, **CANDIDATES[n]) for n in (names or CANDIDATES)}


def table(rows: list[CostResult]) -> str:
    head = f"{'candidate':<16}{'threads':>8}{'enc params':>11}{'dec params':>11}{'enc ms':>8}{'dec ms':>8}" \
           f"{'total ms':>9}{'of block':>9}{'cpu ms':>8}"
    lines = [head]
    for r in rows:
        lines.append(f"{r.name:<16}{r.threads:>8}{r.params_encoder / 1e6:>10.2f}M{r.params_decoder / 1e6:>10.2f}M"
                     f"{r.encoder_ms:>8.0f}{r.decoder_ms:>8.0f}{r.total_ms:>9.0f}{100 * r.share:>8.1f}%"
                     f"{r.cpu_ms:>8.0f}")
    return "\n".join(lines)


def measure(preset: str, all_candidates: bool, threads: list[int], repeats: int,
            only: list[str] | None = None, model: str | None = None) -> list[CostResult]:
    if model is not None:
        from lmdm_core.eval.reconstruction import load_autoencoder
        ae = load_autoencoder(model)
        return [stream_cost(ae.cfg, model, threads=t, repeats=repeats, ae=ae) for t in threads]
    base = autoencoder_preset(preset)
    cfgs = candidates(base, only) if all_candidates else {preset: base}
    return [stream_cost(c, n, threads=t, repeats=repeats) for t in threads for n, c in cfgs.items()]


if __name__ == "__main__":
    from lmdm_core.training.cli import ae_cost
    ae_cost(prog_name="python -m lmdm_core.ae_bench")
