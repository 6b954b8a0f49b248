"""Many streams through one streaming Oobleck decoder: `BatchDecoder` (fast on a GPU, the same output as BlockStream).

`Autoencoder.stream_decoder` (autoencoder.BlockStream) decodes one stream per call, a window of context + block +
lookahead latents through the whole network, then crops. `BatchDecoder` holds S slots of that state (per slot the
last context + lookahead latents and how many latents it has taken) and decodes one block for any set of slots in one
batched forward. Its output for a slot equals `ae.stream_decoder(context, lookahead)` pushed the same blocks (so the
whole-clip decode, delayed by the lookahead, where the lookahead is the exact one), up to float summation order.

What makes it fast:
- a static plan per block length cuts every layer to the interval its consumers read: the context is decoded only
  as far as the receptive field needs it, and the full-rate layers (most of the arithmetic) see little more than the
  block (SAOS size, long blocks: 0.72x the work of decoding the whole window);
- bf16 on CUDA, activations 4-D channels-last ([B, C, 1, T] stored as [B, T, C]) so cuDNN runs its NHWC kernels
  with no layout transposes around each convolution;
- snake (x + sin²(αx)/β) and the stream-start mask fused into one Triton kernel (snake_kernel.py: one read, one
  write; torch.compile of the same pointwise function is an option, slow on channels-last under dynamic shapes);
- dilated convolutions folded into undilated (k, 1) ones from 16 rows up (cuDNN's dilated kernels are slower);
- one CUDA graph per (batch bucket, block length), replayed; batches above `max_batch` run as several replays.

Stream start: a fresh slot's window reaches before its first latent. The window holds zeros there, and every
activation zeroes the positions before the stream's start (a per-row limit): exactly the zero padding the whole-clip
decode (and BlockStream's shorter first windows) gives every layer, so the first blocks need no other path. Outputs
before the start are zeros, as BlockStream returns them.

The weights are copied (in the working dtype) when the decoder is built: after loading new autoencoder weights, build
a new BatchDecoder.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

import torch
from torch import nn
from torch.nn import functional as F

from lmdm_core.autoencoder import Autoencoder, DecoderBlock, ResidualUnit, Snake


# ----- the decoder as a list of ops (weights in the working dtype and layout) -----

@dataclass
class _Conv:
    """A 'same'-padded Conv1d run as a (1, k) Conv2d.

    fold: a dilated one (d > 1) runs as an undilated (k, 1) Conv2d over the input viewed as [B, C, L/d, d] (sample
    t = h·d + w: its taps t ± j·d are rows h ± j of column w), a free view when d divides L; `need` then widens the
    input to the left to a multiple of d (outputs there are cropped, so what they read does not matter)."""
    weight: torch.Tensor            # [Co, Ci, 1, k]
    bias: torch.Tensor | None
    dilation: int
    padding: int
    fold_from: int | None = None    # fold from this many rows up (None: never)

    def __post_init__(self) -> None:
        self.folded = self.weight.transpose(2, 3).contiguous(memory_format=_format(self.weight)) \
            if self.fold_from is not None and self.dilation > 1 else None

    def need(self, lo: int, hi: int, end: int) -> tuple[int, int]:
        reach = (self.weight.shape[-1] - 1) * self.dilation
        a, b = max(0, lo - self.padding), min(end, hi + reach - self.padding)
        if self.folded is not None:
            a = max(0, b - -(-(b - a) // self.dilation) * self.dilation)
        return a, b

    def run(self, x: torch.Tensor, a: int, lo: int, hi: int) -> torch.Tensor:
        d, n = self.dilation, x.shape[-1]
        dense = x.is_contiguous() or x.is_contiguous(memory_format=torch.channels_last)
        if self.folded is not None and n % d == 0 and dense and x.shape[0] >= self.fold_from:
            b, c = x.shape[0], x.shape[1]
            y = F.conv2d(x.view(b, c, n // d, d), self.folded, self.bias, padding=(self.padding // d, 0))
            y = y.view(b, y.shape[1], 1, n)
        else:
            y = F.conv2d(x, self.weight, self.bias, padding=(0, self.padding), dilation=(1, d))
        return _crop(y, lo - a, hi - a)       # y covers the input's interval [a, ...)

    def macs(self, a: int, b: int) -> int:
        return self.weight[:, :, 0].numel() * (b - a)


@dataclass
class _ConvT:
    weight: torch.Tensor            # [Ci, Co, 1, k]
    bias: torch.Tensor | None
    stride: int
    padding: int

    def need(self, lo: int, hi: int, end: int) -> tuple[int, int]:
        # output o reads inputs i with o + p - k + 1 <= i·s <= o + p
        k, s, p = self.weight.shape[-1], self.stride, self.padding
        return max(0, -((k - 1 - p - lo) // s)), min(end, (hi - 1 + p) // s + 1)

    def run(self, x: torch.Tensor, a: int, lo: int, hi: int) -> torch.Tensor:
        y = F.conv_transpose2d(x, self.weight, self.bias, stride=(1, self.stride), padding=(0, self.padding))
        return _crop(y, lo - a * self.stride, hi - a * self.stride)   # y covers [a·s, ...)

    def macs(self, a: int, b: int) -> int:
        return self.weight[:, :, 0].numel() * (b - a)


@dataclass
class _Act:
    """Snake (alpha = e^α, inv_beta = 1/(e^β + 1e-9), fp32 [1, C, 1, 1]) or ELU (alpha None)."""
    alpha: torch.Tensor | None
    inv_beta: torch.Tensor | None


@dataclass
class _Res:
    body: list


@dataclass
class _Tanh:
    pass


def _format(t: torch.Tensor) -> torch.memory_format:
    return torch.channels_last if t.is_contiguous(memory_format=torch.channels_last) and not t.is_contiguous() \
        else torch.contiguous_format


def _crop(y: torch.Tensor, i: int, j: int) -> torch.Tensor:
    return y if (i, j) == (0, y.shape[-1]) else y[..., i:j]


def _ops(module: nn.Module, dtype: torch.dtype, channels_last: bool, fold: int | None = None) -> list:
    """The decoder's modules as ops, walking the Sequentials in order."""
    fmt = torch.channels_last if channels_last else torch.contiguous_format

    def w4(t: torch.Tensor) -> torch.Tensor:
        return t.detach().to(dtype).unsqueeze(2).contiguous(memory_format=fmt)

    def b(t: torch.Tensor | None) -> torch.Tensor | None:
        return None if t is None else t.detach().to(dtype).clone()

    out: list = []
    for m in module.children() if isinstance(module, nn.Sequential) else [module]:
        if isinstance(m, nn.Sequential):
            out += _ops(m, dtype, channels_last, fold)
        elif isinstance(m, (DecoderBlock,)):
            out += _ops(m.layers, dtype, channels_last, fold)
        elif isinstance(m, ResidualUnit):
            out.append(_Res(_ops(m.layers, dtype, channels_last, fold)))
        elif isinstance(m, nn.ConvTranspose1d):
            out.append(_ConvT(w4(m.weight), b(m.bias), m.stride[0], m.padding[0]))
        elif isinstance(m, nn.Conv1d):
            k, d, p = m.kernel_size[0], m.dilation[0], m.padding[0]
            if m.stride[0] != 1 or 2 * p != (k - 1) * d:
                raise TypeError(f"BatchDecoder needs 'same'-padded stride-1 convolutions, got {m}")
            out.append(_Conv(w4(m.weight), b(m.bias), d, p, fold))
        elif isinstance(m, Snake):
            shape = (1, -1, 1, 1)
            alpha = m.alpha.detach().float().exp().reshape(shape)
            inv_beta = (1.0 / (m.beta.detach().float().exp() + 1e-9)).reshape(shape)
            out.append(_Act(alpha, inv_beta))
        elif isinstance(m, nn.ELU):
            if m.alpha != 1.0:
                raise TypeError("BatchDecoder supports ELU with alpha 1 only")
            out.append(_Act(None, None))
        elif isinstance(m, nn.Tanh):
            out.append(_Tanh())
        elif not isinstance(m, nn.Identity):
            raise TypeError(f"BatchDecoder does not know the decoder layer {type(m).__name__}")
    return out


# ----- the activations: eager here, fused on CUDA (snake_kernel.act, or torch.compile) -----

def _masked(y: torch.Tensor, limit: torch.Tensor | None) -> torch.Tensor:
    """Zero the positions before each row's stream start: y [B, C, 1, T], limit [B] (first kept index)."""
    if limit is None:
        return y
    pos = torch.arange(y.shape[-1], device=y.device)
    return torch.where(pos >= limit[:, None, None, None], y, 0.0)


def snake_act(x: torch.Tensor, alpha: torch.Tensor, inv_beta: torch.Tensor,
              limit: torch.Tensor | None) -> torch.Tensor:
    """Snake in fp32 arithmetic, the result in x's dtype; `limit` masks the stream start (None: nothing masked)."""
    xf = x.float()
    s = torch.sin(xf * alpha)
    return _masked(xf + s * s * inv_beta, limit).to(x.dtype)


def elu_act(x: torch.Tensor, limit: torch.Tensor | None) -> torch.Tensor:
    return _masked(F.elu(x.float()), limit).to(x.dtype)


ACTS = ("triton", "compile", "eager")
_COMPILED: dict[str, Callable] = {}


def _compiled(name: str) -> Callable:
    """The activation compiled once per process (dynamic shapes: one kernel serves every layer)."""
    if name not in _COMPILED:
        import torch._dynamo
        # one function serves ~40 layers: a few guard variants (batch 1, cropped views), more than the default 8
        torch._dynamo.config.recompile_limit = max(torch._dynamo.config.recompile_limit, 64)
        fn = snake_act if name == "snake" else elu_act
        _COMPILED[name] = torch.compile(fn, dynamic=True, fullgraph=True)
    return _COMPILED[name]


# ----- the plan: every op cut to the interval its consumers read -----

@dataclass
class _Step:
    op: object
    a: int                  # the input covers [a, b) at the op's input rate (window coordinates)
    b: int
    lo: int                 # the output covers [lo, hi) at the op's output rate
    hi: int
    body: list = field(default_factory=list)   # _Res: the body's steps
    act: int = -1           # _Act: its column in the limits table


@dataclass
class _Plan:
    steps: list
    window: int             # latents in: context + block + lookahead
    first_in: tuple[int, int]   # the window's latents the first op reads
    rates: list[int]        # per limits column: samples per latent, and the column's window offset
    offsets: list[int]
    macs: int               # multiply-adds per row
    limits_rate: torch.Tensor | None = None
    limits_offset: torch.Tensor | None = None


def _plan(ops: list, window: int, out_lo: int, out_hi: int, hop: int) -> _Plan:
    """Walk the ops backwards from the needed output [out_lo, out_hi) (samples, window coordinates)."""
    rates: list[int] = []
    offsets: list[int] = []

    def rate_after(op, r: int) -> int:
        if isinstance(op, _ConvT):
            return r * op.stride
        return r

    def back(seq: list, lo: int, hi: int, r_out: int) -> tuple[list, int, int]:
        r_in = [0] * len(seq)           # samples per latent at each op's input
        r = r_out
        for i in range(len(seq) - 1, -1, -1):
            op = seq[i]
            r = r // op.stride if isinstance(op, _ConvT) else r
            r_in[i] = r
        steps: list = [None] * len(seq)
        for i in range(len(seq) - 1, -1, -1):
            op, end = seq[i], window * r_in[i]
            if isinstance(op, (_Conv, _ConvT)):
                a, b = op.need(lo, hi, end)
                steps[i] = _Step(op, a, b, lo, hi)
            elif isinstance(op, _Res):
                body, a, b = back(op.body, lo, hi, r_in[i])
                steps[i] = _Step(op, a, b, lo, hi, body)
            else:
                steps[i] = _Step(op, lo, hi, lo, hi)
                a, b = lo, hi
            s = op.stride if isinstance(op, _ConvT) else 1
            if a * s > lo or b * s < hi or a >= b:
                raise AssertionError(f"bad interval plan at {type(op).__name__}: [{a}, {b}) for [{lo}, {hi})")
            lo, hi = a, b
        return steps, lo, hi

    steps, a0, b0 = back(ops, out_lo, out_hi, hop)

    def number(seq: list, r: int) -> int:
        macs = 0
        for st in seq:
            if isinstance(st.op, _Act):
                st.act = len(rates)
                rates.append(r)
                offsets.append(st.a)
            elif isinstance(st.op, _Res):
                macs += number(st.body, r)
            elif isinstance(st.op, (_Conv, _ConvT)):
                macs += st.op.macs(st.a, st.b)
            r = rate_after(st.op, r)
        return macs

    macs = number(steps, 1)
    rates.append(hop)                 # last column: the output's own mask
    offsets.append(out_lo)
    return _Plan(steps, window, (a0, b0), rates, offsets, macs)


# ----- the decoder -----

FOLD_FROM = 16


class BatchDecoder:
    """S slots of streaming-decoder state over one autoencoder's decoder; `decode(rows, z)` does one block for some.

    ae: the autoencoder (its decoder's weights are copied now, in `dtype`, on the autoencoder's device).
    slots: how many streams it can hold (slot i is row i of its state).
    lookahead / context: latents held back / kept as left context, as `ae.stream_decoder` takes them (None: exact).
    dtype: default bf16 on CUDA, fp32 elsewhere. graphs: default on for CUDA (CUDA graphs need CUDA).
    act: "triton" (snake_kernel.py; the CUDA default), "compile" (torch.compile) or "eager" (elsewhere the default).
    max_batch: the most rows one forward runs (more run as several; bounds the activation memory).
    buckets: batch sizes graphs are captured for (default powers of two up to max_batch); a call's rows are padded
    up to the next bucket.
    fold_dilation: run the dilated convolutions as undilated (k, 1) ones over a [L/d, d] view (_Conv); None:
    from FOLD_FROM rows up (on an H200 faster from 64 rows, slower at 1).
    """

    def __init__(self, ae: Autoencoder, slots: int, lookahead: int | None = None, context: int | None = None,
                 dtype: torch.dtype | None = None, graphs: bool | None = None, act: str | None = None,
                 channels_last: bool = True, max_batch: int = 128, buckets: Sequence[int] | None = None,
                 cudnn_benchmark: bool = True, fold_dilation: bool | None = None):
        left, right = ae.receptive_field()["decoder"]
        if lookahead is None:
            lookahead = ae.cfg.stream_lookahead
        self.lookahead = right if lookahead is None else int(lookahead)
        self.context = left if context is None else int(context)
        if self.lookahead < 0 or self.context < 0:
            raise ValueError("context and lookahead must be >= 0")
        if slots < 1 or max_batch < 1:
            raise ValueError("slots and max_batch must be >= 1")
        self.device = next(ae.decoder.parameters()).device
        cuda = self.device.type == "cuda"
        self.dtype = dtype or (torch.bfloat16 if cuda else torch.float32)
        self.use_graphs = cuda if graphs is None else graphs
        self.act_impl = act or ("triton" if cuda else "eager")
        if self.act_impl not in ACTS:
            raise ValueError(f"act must be one of {ACTS}, got {act!r}")
        if self.use_graphs and not cuda:
            raise ValueError(f"CUDA graphs need a CUDA device, the autoencoder is on {self.device}")
        self.channels_last = channels_last
        self.hop, self.latent_dim, self.channels = ae.hop, ae.latent_dim, ae.audio_channels
        self.latent_scale = ae.cfg.latent_scale
        self.slots, self.max_batch = slots, max_batch
        self.buckets = sorted(set(buckets or [2 ** i for i in range(max_batch.bit_length()) if 2 ** i <= max_batch]
                                  + [max_batch]))
        if self.buckets[-1] < max_batch:
            self.buckets.append(max_batch)
        if cuda and cudnn_benchmark:
            torch.backends.cudnn.benchmark = True     # the conv shapes are fixed per bucket: pick the best kernels once
        fold = {True: 0, False: None, None: FOLD_FROM}[fold_dilation]
        self.ops = _ops(ae.decoder.layers, self.dtype, channels_last, fold)
        self.held = self.context + self.lookahead     # latents a slot keeps between blocks
        self.history = torch.zeros(slots, self.latent_dim, self.held, device=self.device, dtype=self.dtype)
        self.counts = [0] * slots                     # latents each slot has taken since its reset
        self._plans: dict[int, _Plan] = {}
        self._graphs: dict[tuple[int, int], _Graph] = {}
        self.act_error: str | None = None      # why the fused activation failed (eager from then on), if it did
        self.replays = 0

    @property
    def latency(self) -> int:
        """Output samples of delay: `lookahead` latents, as BlockStream."""
        return self.lookahead * self.hop

    # ----- state -----

    def reset(self, rows: Sequence[int] | None = None) -> None:
        """Forget the slots' streams (all slots when rows is None): their next block starts a fresh stream."""
        rows = range(self.slots) if rows is None else self._check_rows(rows)
        for r in rows:
            self.counts[r] = 0
        if len(rows):
            self.history[torch.as_tensor(list(rows), device=self.device)] = 0

    def stream(self, slot: int) -> "SlotDecoder":
        """One slot with BlockStream's push / reset / latency (a drop-in for one AudioStream's decoder)."""
        self._check_rows([slot])
        return SlotDecoder(self, slot)

    def _check_rows(self, rows) -> list[int]:
        rows = [int(r) for r in (rows.tolist() if isinstance(rows, torch.Tensor) else rows)]
        if any(r < 0 or r >= self.slots for r in rows):
            raise ValueError(f"slot out of range 0..{self.slots - 1}: {rows}")
        if len(set(rows)) != len(rows):
            raise ValueError(f"a slot may appear once per call, got {rows}")
        return rows

    # ----- one block -----

    def plan(self, block: int) -> _Plan:
        if block not in self._plans:
            window = self.held + block
            p = _plan(self.ops, window, self.context * self.hop, (self.context + block) * self.hop, self.hop)
            p.limits_rate = torch.tensor(p.rates, device=self.device)
            p.limits_offset = torch.tensor(p.offsets, device=self.device)
            self._plans[block] = p
        return self._plans[block]

    def decode(self, rows: Sequence[int] | torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """One block for each of `rows` (distinct slots): z [len(rows), latent_dim, n] -> audio [len(rows), ch, n·hop]
        in the decoder's dtype, `lookahead` latents late (zeros before a slot's stream start)."""
        rows = self._check_rows(rows)
        if z.ndim != 3 or z.shape[0] != len(rows) or z.shape[1] != self.latent_dim or z.shape[2] < 1:
            raise ValueError(f"decode expects latents [{len(rows)}, {self.latent_dim}, n >= 1] for {len(rows)} rows, "
                             f"got {tuple(z.shape)}")
        n = z.shape[-1]
        plan = self.plan(n)
        with torch.inference_mode():
            idx = torch.as_tensor(rows, device=self.device)
            z = z.to(self.device, self.dtype)
            if self.latent_scale != 1.0:
                z = z * self.latent_scale
            window = torch.cat([self.history.index_select(0, idx), z], dim=-1)
            firsts = [max(0, self.held - self.counts[r]) for r in rows]    # window index of the stream start
            first = torch.as_tensor(firsts, device=self.device)
            out = torch.empty(len(rows), self.channels, n * self.hop, device=self.device, dtype=self.dtype)
            for i in range(0, len(rows), self.max_batch):
                j = min(len(rows), i + self.max_batch)
                if self.use_graphs:
                    out[i:j] = self._graph(j - i, n).run(window[i:j], first[i:j])
                else:
                    out[i:j] = self.forward(plan, window[i:j], first[i:j], masked=max(firsts[i:j]) > 0)
            self.history.index_copy_(0, idx, window[..., window.shape[-1] - self.held:])
        for r in rows:
            self.counts[r] = min(self.counts[r] + n, self.held)       # past the held latents only "full" matters
        return out

    def forward(self, plan: _Plan, window: torch.Tensor, first: torch.Tensor, masked: bool = True) -> torch.Tensor:
        """The batched forward: window [B, D, W] latents (scaled), first [B] window index of each row's first real
        latent -> [B, ch, block·hop]. masked=False skips the start mask (every row's window is all stream)."""
        fmt = torch.channels_last if self.channels_last else torch.contiguous_format
        a0, b0 = plan.first_in
        x = window[:, :, None, a0:b0].contiguous(memory_format=fmt)
        limits = first[:, None] * plan.limits_rate - plan.limits_offset if masked else None
        y = self._run(plan.steps, x, limits)
        if limits is not None:
            y = _masked(y, limits[:, -1])
        return y[:, :, 0]

    def _act(self, op: _Act, x: torch.Tensor, limit: torch.Tensor | None) -> torch.Tensor:
        name = "elu" if op.alpha is None else "snake"
        args = (x, limit) if op.alpha is None else (x, op.alpha, op.inv_beta, limit)
        if self.act_impl != "eager" and self.act_error is None:
            try:
                if self.act_impl == "triton":
                    from lmdm_core.snake_kernel import act
                    return act(x, op.alpha, op.inv_beta, limit)
                return _compiled(name)(*args)
            except Exception as e:                       # noqa: BLE001  (no Triton or compiler there: eager, say so)
                self.act_error = f"{type(e).__name__}: {e}"[:500]
        return (elu_act if op.alpha is None else snake_act)(*args)

    def _run(self, steps: list, x: torch.Tensor, limits: torch.Tensor | None) -> torch.Tensor:
        for st in steps:
            op = st.op
            if isinstance(op, (_Conv, _ConvT)):
                x = op.run(x, st.a, st.lo, st.hi)
            elif isinstance(op, _Act):
                x = self._act(op, x, None if limits is None else limits[:, st.act])
            elif isinstance(op, _Res):
                x = _crop(x, st.lo - st.a, st.hi - st.a) + self._run(st.body, x, limits)
            else:
                x = torch.tanh(x)
        return x

    # ----- CUDA graphs -----

    def _graph(self, rows: int, block: int) -> "_Graph":
        bucket = next(b for b in self.buckets if b >= rows)
        key = (bucket, block)
        if key not in self._graphs:
            self._graphs[key] = _Graph(self, bucket, self.plan(block))
        self.replays += 1
        return self._graphs[key]

    def warm(self, batches: Sequence[int], block: int) -> None:
        """Capture the graphs these batch sizes will use now (not on the first block that needs them)."""
        if self.use_graphs:
            for b in batches:
                for i in range(0, b, self.max_batch):
                    self._graph(min(self.max_batch, b - i), block)
            self.replays = 0


class _Graph:
    """One captured forward at a fixed batch bucket and block length, over static input and output buffers."""

    def __init__(self, dec: BatchDecoder, bucket: int, plan: _Plan):
        self.window = torch.zeros(bucket, dec.latent_dim, plan.window, device=dec.device, dtype=dec.dtype)
        self.first = torch.zeros(bucket, dtype=torch.long, device=dec.device)
        side = torch.cuda.Stream(dec.device)
        side.wait_stream(torch.cuda.current_stream(dec.device))
        with torch.inference_mode(), torch.cuda.stream(side):
            for _ in range(2):       # kernel compiles, cuDNN autotuning and lazy init, outside the capture
                dec.forward(plan, self.window, self.first)
        torch.cuda.current_stream(dec.device).wait_stream(side)
        self.graph = torch.cuda.CUDAGraph()
        with torch.inference_mode(), torch.cuda.graph(self.graph):
            self.out = dec.forward(plan, self.window, self.first)

    def run(self, window: torch.Tensor, first: torch.Tensor) -> torch.Tensor:
        b = window.shape[0]
        self.window[:b].copy_(window)
        self.first[:b].copy_(first)
        self.graph.replay()
        return self.out[:b]


class SlotDecoder:
    """One slot of a BatchDecoder behind BlockStream's push / reset / latency: `push(z [1, D, n]) -> [1, ch, n·hop]`."""

    def __init__(self, dec: BatchDecoder, slot: int):
        self.dec, self.slot = dec, slot

    @property
    def latency(self) -> int:
        return self.dec.latency

    def push(self, z: torch.Tensor) -> torch.Tensor:
        return self.dec.decode([self.slot], z)

    def reset(self) -> None:
        self.dec.reset([self.slot])


def fast_stream_decoder(ae: Autoencoder, lookahead: int | None = None, **options) -> SlotDecoder:
    """A single-stream decoder for `AudioStream.dec` (same push / reset / latency as `ae.stream_decoder`)."""
    return BatchDecoder(ae, 1, lookahead=lookahead, max_batch=1, **options).stream(0)


def flops_per_block(dec: BatchDecoder, block: int) -> float:
    """Floating-point operations one row's forward does for a block (2 per multiply-add, convolutions only)."""
    return 2.0 * dec.plan(block).macs


def whole_window_flops(dec: BatchDecoder, block: int) -> float:
    """What decoding the whole window (as BlockStream does) costs per row, for comparison."""
    p = _plan(dec.ops, dec.held + block, 0, (dec.held + block) * dec.hop, dec.hop)
    return 2.0 * p.macs


