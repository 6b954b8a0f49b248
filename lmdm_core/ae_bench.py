"""CPU cost of the streaming autoencoder per block: `Autoencoder.stream_encoder` + `stream_decoder` pushing one
block of the paper geometry (48 latents) at a time, as `pipeline.AudioStream` does, with the streams' left context
and lookahead recomputed each block.

    PYTHONPATH=. python3 -m lmdm_core.ae_bench --preset embedded-v2 --threads 2
    lmdm train ae-cost --preset embedded-v2 --candidates      # the sizing table of docs/training.md
    lmdm train ae-cost --model models/ae-v2-c16               # a trained checkpoint's autoencoder

Figures are the minimum over `repeats` timed blocks (after warm-up): the machine is shared, the minimum is the
least disturbed run. Preset and candidate weights are random (the arithmetic does not depend on them); `--model`
times a checkpoint's trained weights.

`lmdm bench decoder` (`decoder_command` here; also `python -m lmdm_core.ae_bench decoder ...`) times the streaming
decoder for many streams on any device: today's per-batch BlockStream (`stream`) against the BatchDecoder of
lmdm_core/decoding.py (`batched`: graphs + the Triton activation on CUDA; ablations `batched-eager`,
`batched-compile`, `batched-nocl`, `batched-nograph`, `batched-full`, `batched-fold`, `batched-nofold`), each fed the same latents, with the relative error against `stream`:

    PYTHONPATH=. python3 -m lmdm_core.ae_bench decoder --presets saos,embedded-v2 --batches 1,64,512 --device cuda
"""
from __future__ import annotations

import dataclasses
import json
import statistics
import sys
import time
from dataclasses import dataclass, field

import click

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


# ----- the streaming decoder for many streams (lmdm bench decoder) -----

VARIANTS = {   # name -> BatchDecoder options (None: today's BlockStream over the whole batch)
    "stream": None,
    "batched": {},
    "batched-eager": dict(graphs=False, act="eager"),
    "batched-compile": dict(act="compile"),      # torch.compile'd activation instead of the Triton kernel
    "batched-nograph": dict(graphs=False),
    "batched-nocl": dict(channels_last=False),
    "batched-full": dict(full=True),             # max_batch = the batch: one replay for all rows
    "batched-fold": dict(fold_dilation=True),    # dilated convolutions as (k, 1) ones over a [L/d, d] view, always
    "batched-nofold": dict(fold_dilation=False),  # never (the default folds from 16 rows up)
}


@dataclass
class DecoderTiming:
    preset: str
    variant: str
    batch: int
    block: int
    ms: float                   # median wall ms per block (all rows), synchronised
    ms_all: list[float]
    block_s: float
    gflop_per_row: float        # the variant's convolution arithmetic per row and block
    rel_err: float | None = None      # ||out - stream|| / ||stream|| over the timed blocks (None for stream itself)
    max_mem_GB: float | None = None
    error: str | None = None          # the variant failed (e.g. out of memory): why
    act_error: str | None = None      # the fused activation failed: why (it ran eager)
    extra: dict = field(default_factory=dict)

    @property
    def realtime_streams(self) -> float:
        return self.batch * self.block_s * 1e3 / self.ms if self.ms else 0.0

    def row(self) -> dict:
        tflops = self.gflop_per_row * self.batch / self.ms if self.ms else 0.0
        return {**dataclasses.asdict(self), "realtime_streams": round(self.realtime_streams, 1),
                "tflop_s": round(tflops, 1), "ms_per_stream": round(self.ms / self.batch, 4) if self.ms else None}


def _sync(device: str) -> None:
    import torch
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def _decoder_for(ae, variant: str, batch: int, max_batch: int):
    """A callable z [batch, D, n] -> audio for one block, keeping the variant's streaming state."""
    from lmdm_core.decoding import BatchDecoder
    if VARIANTS[variant] is None:
        return ae.stream_decoder().push, None
    opts = dict(VARIANTS[variant])
    full = opts.pop("full", False)
    dec = BatchDecoder(ae, batch, max_batch=batch if full else min(batch, max_batch), **opts)
    rows = list(range(batch))
    return (lambda z: dec.decode(rows, z)), dec


def _profile(push, z, device: str, path: str, title: str) -> None:
    """One more block under torch.profiler; its kernels' table appended to `path` (a graph replay shows as one
    launch: profile a `-nograph` variant to see the layers)."""
    from torch.profiler import ProfilerActivity, profile
    acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.startswith("cuda") else [])
    with profile(activities=acts) as prof:
        push(z)
        _sync(device)
    key = "self_cuda_time_total" if device.startswith("cuda") else "self_cpu_time_total"
    with open(path, "a") as f:
        f.write(f"## {title}\n{prof.key_averages().table(sort_by=key, row_limit=25)}\n")


def time_decoder(ae, preset: str, variant: str, batch: int, block: int, zs: list, warmup: int,
                 ref: list | None, max_batch: int, device: str,
                 profile: str | None = None) -> tuple[DecoderTiming, list]:
    """Push `zs` (warm-up blocks first) through one variant; returns the timing and the timed blocks' outputs.
    `profile`: also append a torch.profiler table of one more block to this file."""
    import torch

    from lmdm_core.decoding import BatchDecoder, flops_per_block, whole_window_flops
    block_s = block * ae.hop / ae.sample_rate
    probe = BatchDecoder(ae, 1, graphs=False, act="eager")
    gflop = (whole_window_flops(probe, block) if variant == "stream" else flops_per_block(probe, block)) / 1e9
    del probe
    t = DecoderTiming(preset, variant, batch, block, 0.0, [], block_s, round(gflop, 2))
    outs: list = []
    if device.startswith("cuda"):
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    if variant == "stream":
        torch.backends.cudnn.benchmark = False        # today's decoder as the worker runs it (BatchDecoder sets it)
    try:
        push, dec = _decoder_for(ae, variant, batch, max_batch)
        with torch.inference_mode():
            for i, z in enumerate(zs):
                _sync(device)
                t0 = time.perf_counter()
                y = push(z)
                _sync(device)
                if i >= warmup:
                    t.ms_all.append(round((time.perf_counter() - t0) * 1e3, 3))
                    outs.append(y)
        t.ms = round(statistics.median(t.ms_all), 3)
        if profile:
            with torch.inference_mode():
                _profile(push, zs[-1], device, profile, f"{preset} {variant} batch {batch} block {block}: {t.ms} ms")
        if dec is not None:
            t.act_error = dec.act_error
            t.extra = {"replays": dec.replays, "graphs": len(dec._graphs), "max_batch": dec.max_batch,
                       "dtype": str(dec.dtype).replace("torch.", "")}
        if ref is not None and ref:
            num = sum(float((a.float() - b.float()).norm()) ** 2 for a, b in zip(outs, ref))
            den = sum(float(b.float().norm()) ** 2 for b in ref)
            t.rel_err = float(f"{(num / den) ** 0.5:.3g}") if den else (0.0 if num == 0 else float("inf"))
    except torch.cuda.OutOfMemoryError as e:
        t.error = f"out of memory: {str(e)[:120]}"
        outs = []
    except RuntimeError as e:                # e.g. a capture broken by running out of memory inside it
        t.error = f"{type(e).__name__}: {str(e)[:200]}"
        outs = []
    if device.startswith("cuda"):
        t.max_mem_GB = round(torch.cuda.max_memory_allocated() / 2**30, 2)
    return t, outs


def bench_decoder(presets: list[str], batches: list[int], variants: list[str], block: int = 48,
                  device: str = "cpu", dtype: str = "bf16", blocks: int = 5, warmup: int = 2,
                  max_batch: int = 128, progress=None, profile: str | None = None) -> list[DecoderTiming]:
    """Every preset x batch x variant, the variants of one (preset, batch) fed the same latents."""
    import torch

    from lmdm_core.autoencoder import Autoencoder
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        raise ValueError(f"unknown decoder variants {unknown}; choose from {list(VARIANTS)}")
    dt = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[dtype]
    rows: list[DecoderTiming] = []
    for preset in presets:
        torch.manual_seed(0)
        ae = Autoencoder(autoencoder_preset(preset)).to(device, dt).eval()
        for batch in batches:
            gen = torch.Generator(device=device).manual_seed(1)
            zs = [torch.randn(batch, ae.latent_dim, block, device=device, generator=gen).to(dt)
                  for _ in range(warmup + blocks)]
            ref = None
            for v in (["stream"] if "stream" in variants else []) + [v for v in variants if v != "stream"]:
                t, outs = time_decoder(ae, preset, v, batch, block, zs, warmup, ref, max_batch, device, profile)
                if v == "stream":
                    ref = outs
                rows.append(t)
                if progress:
                    progress(t)
                del outs
        del ae
    return rows


def decoder_table(rows: list[DecoderTiming]) -> str:
    lines = [f"{'preset':<12}{'variant':<16}{'batch':>6}{'block':>6}{'ms/block':>10}{'ms/stream':>10}"
             f"{'RT streams':>11}{'TFLOP/s':>9}{'vs stream':>10}{'rel err':>10}{'mem GB':>8}"]
    base = {(r.preset, r.batch, r.block): r.ms for r in rows if r.variant == "stream" and r.ms}
    for r in rows:
        if r.error:
            lines.append(f"{r.preset:<12}{r.variant:<16}{r.batch:>6}{r.block:>6}  {r.error}")
            continue
        d = r.row()
        b = base.get((r.preset, r.batch, r.block))
        sp = f"{b / r.ms:.2f}x" if b else "-"
        err = "-" if r.rel_err is None else f"{r.rel_err:.2e}"
        lines.append(f"{r.preset:<12}{r.variant:<16}{r.batch:>6}{r.block:>6}{r.ms:>10.2f}{d['ms_per_stream']:>10.3f}"
                     f"{d['realtime_streams']:>11.0f}{d['tflop_s']:>9.1f}{sp:>10}{err:>10}"
                     f"{r.max_mem_GB or 0:>8.1f}")
        if r.act_error:
            lines.append(f"    fused activation failed, eager: {r.act_error[:200]}")
    return "\n".join(lines)


def _ints(s: str) -> list[int]:
    return [int(x) for x in s.split(",") if x]


@click.command("decoder")
@click.option("--presets", default="saos,embedded-v2", show_default=True, help="autoencoder presets, comma-separated")
@click.option("--batches", default="1,64,512", show_default=True, help="streams per block, comma-separated")
@click.option("--variants", default="stream,batched", show_default=True,
              help=f"comma-separated subset of {','.join(VARIANTS)}")
@click.option("--block", type=int, default=48, show_default=True, help="latents per block (48 long, 12 short)")
@click.option("--device", default="cpu", show_default=True)
@click.option("--dtype", type=click.Choice(("fp32", "bf16", "fp16")), default="bf16", show_default=True)
@click.option("--blocks", type=int, default=5, show_default=True, help="timed blocks per variant")
@click.option("--warmup", type=int, default=2, show_default=True,
              help="untimed blocks first (compile, cuDNN autotuning, graph capture)")
@click.option("--max-batch", type=int, default=128, show_default=True, help="BatchDecoder rows per forward")
@click.option("--profile", default=None,
              help="append a torch.profiler kernel table of one more block per variant to this file "
                   "(use batched-nograph: a graph replay is one launch)")
@click.option("--json", "as_json", is_flag=True, help="print the figures as JSON lines instead of the table")
def decoder_command(presets: str, batches: str, variants: str, block: int, device: str, dtype: str, blocks: int,
                    warmup: int, max_batch: int, profile: str | None, as_json: bool) -> None:
    """Streaming decoder for many streams: BlockStream per batch vs BatchDecoder (graphed, fused, batched)."""
    def show(t: DecoderTiming) -> None:
        if as_json:
            click.echo(json.dumps(t.row()))
        else:
            click.echo(f"  {t.preset} {t.variant} batch {t.batch}: {t.error or f'{t.ms:.2f} ms'}", err=True)

    try:
        rows = bench_decoder(presets.split(","), _ints(batches), variants.split(","), block, device, dtype, blocks,
                             warmup, max_batch, show, profile)
    except (ValueError, KeyError) as e:
        raise click.UsageError(str(e)) from e
    if not as_json:
        click.echo(decoder_table(rows))


if __name__ == "__main__":
    if sys.argv[1:2] == ["decoder"]:
        decoder_command(sys.argv[2:], prog_name="python -m lmdm_core.ae_bench decoder")
    else:
        from lmdm_core.training.cli import ae_cost
        ae_cost(prog_name="python -m lmdm_core.ae_bench")
