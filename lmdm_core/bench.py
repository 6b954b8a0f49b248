"""`lmdm bench model`: naive outpainting vs the KV-cached engine (block-causal and enc-dec), same weights, one run.

One click command, `command`: `lmdm bench model` registers it and `PYTHONPATH=. python3 -m lmdm_core.bench --preset tiny
--device cpu` runs it (the GPU machine gets click from the carried wheels, scripts/gpu/site.sh).
"""
from __future__ import annotations

import json
import os
import statistics
import time
from dataclasses import asdict, dataclass, field

import click
from tqdm import tqdm

from .config import SamplerConfig, autoencoder_preset, dit_preset, stream_preset

# torch and the model load lazily, so registering the command keeps `lmdm --help` fast
ENGINES = (("naive", "bidirectional", False), ("block_causal", "block_causal", True), ("encdec", "encdec", True),
           ("graphed", "block_causal", True))     # graphed: block_causal replaying one CUDA graph a block (graphs.py)
DTYPES = {"fp32": "float32", "bf16": "bfloat16", "fp16": "float16"}
# DiT preset -> (stream preset, autoencoder preset)
PAIRS = {"saos-small": ("paper", "saos"), "small": ("paper", "saos"), "embedded-v2": ("paper", "embedded-v2"),
         "tiny": ("tiny", "tiny")}

@dataclass
class BenchOptions:
    preset: str = "saos-small"
    stream: str | None = None
    block: int | None = None           # latents per block (StreamConfig.with_block); None: the stream preset's
    device: str = "cpu"
    dtype: str = "fp32"
    steps: int = 8
    batch: int = 1
    blocks: int = 4
    warmup: int = 1
    cfg: float = 1.0
    threads: int = 0
    engines: str = "naive,block_causal,encdec"
    cuda_graphs: bool = False
    noise: str = "host"
    compile: bool = False
    decoder: str = "stream"            # stream: ae.stream_decoder (eager); batched: decoding.BatchDecoder (graphed)
    json: bool = False
    plot: str | None = None
    progress: bool = True
    extra: dict = field(default_factory=dict)


def _dtype(opts: BenchOptions):
    import torch
    return getattr(torch, DTYPES[opts.dtype])


def _sync(device: str) -> None:
    import torch
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def _timed(fn, device: str) -> tuple[float, float]:
    """(wall ms, process CPU ms) of one call. CPU time is the fairer figure on a shared machine."""
    _sync(device)
    t0, c0 = time.perf_counter(), time.process_time()
    fn()
    _sync(device)
    return (time.perf_counter() - t0) * 1e3, (time.process_time() - c0) * 1e3


def _stream(opts: BenchOptions):
    stream = stream_preset(opts.stream)
    return stream if opts.block is None else stream.with_block(opts.block)


def _time_engines(model, opts: BenchOptions, engines, bar) -> dict[str, list[tuple[float, float]]]:
    """Warm every engine up, then time them round-robin, one block each in turn, so that load from other
    processes hits all engines alike."""
    import torch

    from .streaming import StreamingGenerator
    from .graphs import GraphedGenerator

    stream = _stream(opts)
    gens = {name: StreamingGenerator(model, stream, SamplerConfig(steps=opts.steps, cfg=opts.cfg), mode=mode,
                                     cached=cached, batch=opts.batch, seed=0) for name, mode, cached in engines}
    if "graphed" in gens:
        gens["graphed"] = GraphedGenerator(gens["graphed"], noise=opts.noise)
    outs: dict[str, list] = {name: [] for name in gens}
    for name, g in gens.items():
        for _ in range(opts.warmup):
            bar.set_postfix_str(f"warm-up {name}")
            outs[name].append(g.next_block())
            bar.update(1)
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in gens}
    for _ in range(opts.blocks):
        for name, g in gens.items():
            bar.set_postfix_str(name)
            times[name].append(_timed(lambda: outs[name].append(g.next_block()), opts.device))
            bar.update(1)
    if "graphed" in gens and "block_causal" in gens and opts.noise == "host":
        # same weights, seed and noise draws: the graphed stream must be the eager one (bf16: ~1e-2 over many blocks)
        a, b = (torch.cat(outs[n], dim=2).float() for n in ("graphed", "block_causal"))
        times["graphed_rel_err"] = float((a - b).norm() / b.norm())
    times["graphed_replays"] = gens["graphed"].replays if "graphed" in gens else None
    return times


def _decoder_ms(opts: BenchOptions, block: int, bar) -> float | None:
    """Streaming decoder cost per block of latents, if the autoencoder module is there."""
    import torch
    try:
        from .autoencoder import Autoencoder
    except ImportError:
        return None
    ae = Autoencoder(autoencoder_preset(PAIRS[opts.preset][1])).to(opts.device, _dtype(opts)).eval()
    if opts.decoder == "batched":
        from .decoding import BatchDecoder
        batched = BatchDecoder(ae, opts.batch, max_batch=min(opts.batch, 128), dtype=_dtype(opts))
        rows = list(range(opts.batch))
        push = lambda z: batched.decode(rows, z)     # noqa: E731
    else:
        push = ae.stream_decoder().push
    z = torch.randn(opts.batch, ae.latent_dim, block, device=opts.device, dtype=_dtype(opts))
    times = []
    warm = max(opts.warmup, 2) if opts.decoder == "batched" else opts.warmup   # the graph captures in block 0
    with torch.inference_mode():
        for i in range(warm + opts.blocks):
            wall, _ = _timed(lambda: push(z), opts.device)
            if i >= warm:
                times.append(wall)
            bar.update(1)
    return statistics.median(times)


def run(opts: BenchOptions) -> dict:
    """Time every engine on one model; returns the figures (ms per block are medians over the timed blocks)."""
    import torch

    from .dit import DiT, count_parameters

    if opts.preset not in PAIRS:
        raise ValueError(f"unknown preset {opts.preset!r}; choose from {sorted(PAIRS)}")
    opts.stream = opts.stream or PAIRS[opts.preset][0]
    if opts.threads:
        torch.set_num_threads(opts.threads)
    if opts.cuda_graphs and not opts.device.startswith("cuda"):
        raise ValueError("--cuda-graphs needs a CUDA device")
    if opts.compile:
        opts.warmup = max(opts.warmup, 2)       # the bootstrap block and the steady block compile different graphs
    names = opts.engines.split(",") + (["graphed"] if opts.cuda_graphs else [])
    if "graphed" in names and not opts.device.startswith("cuda"):
        raise ValueError("the graphed engine needs a CUDA device")
    if "graphed" in names:
        opts.warmup = max(opts.warmup, 2)       # block 0 bootstraps the cache (eager); block 1 captures the graph
    engines = [e for e in ENGINES if e[0] in names]
    if not engines:
        raise ValueError(f"--engines must name some of {[e[0] for e in ENGINES]}")
    try:
        stream = _stream(opts)
    except KeyError as e:
        raise ValueError(e.args[0]) from e
    ae_cfg = autoencoder_preset(PAIRS[opts.preset][1])
    block_s = stream.block * ae_cfg.hop / ae_cfg.sample_rate
    torch.manual_seed(0)
    model = DiT(dit_preset(opts.preset)).to(opts.device, _dtype(opts)).eval()
    if opts.compile:
        # regional compilation: the 16 identical layers share one compiled graph per token shape (fused first
        # step, later steps, bootstrap, ...), so compiling costs one layer's worth per shape
        for layer in model.transformer.layers:
            layer.compile(dynamic=False)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    per_engine = opts.warmup + opts.blocks
    result: dict = {"preset": opts.preset, "stream": asdict(stream), "device": opts.device, "dtype": opts.dtype,
                    "steps": opts.steps, "batch": opts.batch, "blocks": opts.blocks, "cfg": opts.cfg,
                    "threads": torch.get_num_threads(), "params_M": round(count_parameters(model) / 1e6, 1),
                    "block_seconds": round(block_s, 4), "cuda_graphs": opts.cuda_graphs, "compile": opts.compile,
                    "load_before": load, "engines": {}}
    with tqdm(total=per_engine * (len(engines) + 1), desc="bench model", disable=not opts.progress) as bar:
        timed = _time_engines(model, opts, engines, bar)
        for name, mode, cached in engines:
            ms = statistics.median(w for w, _ in timed[name])
            cpu = statistics.median(c for _, c in timed[name])
            result["engines"][name] = {"mode": mode, "cached": cached, "ms_per_block": round(ms, 2),
                                       "cpu_ms_per_block": round(cpu, 2),
                                       "ms_all": [round(w, 2) for w, _ in timed[name]],
                                       "rtf": round(block_s * 1e3 / ms, 3),
                                       "realtime_streams": round(opts.batch * block_s * 1e3 / ms, 2)}
        bar.set_postfix_str("decoder")
        try:
            dec = _decoder_ms(opts, stream.block, bar)
        except torch.cuda.OutOfMemoryError:        # large batches: the engine figures still count
            dec = None
    result["decoder_ms_per_block"] = None if dec is None else round(dec, 2)
    result["decoder"] = opts.decoder
    result["graphed_replays"] = timed["graphed_replays"]
    if opts.device.startswith("cuda"):
        result["gpu"] = torch.cuda.get_device_name()
        result["max_mem_GB"] = round(torch.cuda.max_memory_allocated() / 2**30, 2)
    if "graphed_rel_err" in timed:
        result["graphed_rel_err"] = round(timed["graphed_rel_err"], 6)
    result["load_after"] = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    naive = result["engines"].get("naive")
    for name in ("block_causal", "encdec"):
        if naive and name in result["engines"]:
            e = result["engines"][name]
            result[f"speedup_{name}"] = round(naive["ms_per_block"] / e["ms_per_block"], 2)
            result[f"speedup_{name}_cpu"] = round(naive["cpu_ms_per_block"] / e["cpu_ms_per_block"], 2)
    return result


def table(r: dict) -> str:
    s = r["stream"]
    lines = [f"lmdm bench model: {r['preset']} ({r['params_M']}M), {r['device']} {r['dtype']}, {r['steps']} steps, "
             f"batch {r['batch']}, context {s['context']} + block {s['block']} latents ({r['block_seconds']} s), "
             f"window {s['window_chunks']} chunks, {r['threads']} threads, load {r['load_before']}",
             f"{'engine':<14}{'ms/block':>12}{'cpu ms':>12}{'RTF':>10}{'streams RT':>12}{'speed-up':>10}"]
    naive = r["engines"].get("naive", {}).get("ms_per_block")
    for name, e in r["engines"].items():
        sp = f"{naive / e['ms_per_block']:.2f}x" if naive else "-"
        lines.append(f"{name:<14}{e['ms_per_block']:>12.1f}{e['cpu_ms_per_block']:>12.1f}{e['rtf']:>10.2f}"
                     f"{e['realtime_streams']:>12.2f}{sp:>10}")
    dec = r["decoder_ms_per_block"]
    lines.append(f"{'decoder':<14}{'n/a' if dec is None else f'{dec:.1f}':>12}  ({r.get('decoder', 'stream')})")
    return "\n".join(lines)


def plot(r: dict, path: str) -> None:
    """Bar chart: ms per block of each engine and of the decoder, with the block's duration as the real-time line."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    bars = {name: e["ms_per_block"] for name, e in r["engines"].items()}
    if r["decoder_ms_per_block"] is not None:
        bars["decoder"] = r["decoder_ms_per_block"]
    colors = ["#888" if n == "naive" else "#47c" if n == "decoder" else "#2a7" for n in bars]
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.bar(list(bars), list(bars.values()), color=colors)
    ax.axhline(r["block_seconds"] * 1e3, color="r", ls="--", label=f"real time ({r['block_seconds']} s of audio)")
    ax.set_ylabel("ms per block")
    ax.set_yscale("log")
    ax.set_title(f"{r['preset']} {r['device']} {r['dtype']}, {r['steps']} steps, batch {r['batch']}")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def report(opts: BenchOptions) -> None:
    r = run(opts)
    print(json.dumps(r) if opts.json else table(r))
    if opts.plot:
        plot(r, opts.plot)


@click.command("model")
@click.option("--preset", type=click.Choice(tuple(PAIRS)), default="saos-small", show_default=True, help="DiT preset")
@click.option("--stream", default=None,
              help="stream preset from config.py (default: paper for saos-small/small, tiny for tiny)")
@click.option("--block", type=int, default=None,
              help="latents per block, e.g. 12 for short blocks (default: the stream preset's block)")
@click.option("--device", default="cpu", show_default=True, help="torch device, e.g. cpu or cuda")
@click.option("--dtype", type=click.Choice(tuple(DTYPES)), default="fp32", show_default=True,
              help="weights and activations")
@click.option("--steps", type=int, default=8, show_default=True, help="denoising steps per block")
@click.option("--batch", type=int, default=1, show_default=True, help="independent streams run as one batch")
@click.option("--blocks", type=int, default=4, show_default=True, help="timed blocks per engine (after the warm-up)")
@click.option("--warmup", type=int, default=1, show_default=True,
              help="untimed blocks per engine first (the first block-causal block also fills the cache)")
@click.option("--cfg", type=float, default=1.0, show_default=True,
              help="classifier-free guidance scale (1 = off; >1 doubles the model batch)")
@click.option("--threads", type=int, default=0, show_default=True, help="torch CPU threads (0 = torch default)")
@click.option("--engines", default="naive,block_causal,encdec", show_default=True,
              help="comma-separated subset of naive,block_causal,encdec,graphed")
@click.option("--cuda-graphs", is_flag=True,
              help="CUDA: add the graphed engine (block_causal, one CUDA graph replay per block)")
@click.option("--noise", type=click.Choice(("host", "device")), default="host", show_default=True,
              help="graphed engine: noise from the stream's CPU generator (host) or drawn in the graph")
@click.option("--compile", is_flag=True,
              help="torch.compile each transformer layer (regional; fuses norms, RoPE, SwiGLU)")
@click.option("--decoder", type=click.Choice(("stream", "batched")), default="stream", show_default=True,
              help="decoder timed: the per-stream BlockStream (eager) or decoding.BatchDecoder (CUDA: graphed, fused)")
@click.option("--json", is_flag=True, help="print machine-readable figures instead of the table")
@click.option("--plot", default=None, help="also write a PNG bar chart of ms per block to this path")
def command(**options) -> None:
    """Naive outpainting vs the KV-cached engine (block-causal, enc-dec), same weights."""
    try:
        report(BenchOptions(**options))
    except ValueError as e:
        raise click.UsageError(str(e)) from e


if __name__ == "__main__":
    command(prog_name="python -m lmdm_core.bench")
