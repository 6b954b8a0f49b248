"""The decoder's activation (snake or ELU) plus the stream-start mask as one Triton kernel, for decoding.BatchDecoder.

Why not torch.compile: under dynamic shapes inductor does not know which dimension is contiguous, and on the
channels-last activations ([B, C, 1, T] stored as [B, T, C]) its kernel ran at ~0.3 TB/s on an H200 (19.8 ms for a
3.2 GB tensor, docs/bench/decoder-gpu/). This kernel reads tiles [BLOCK_T, BLOCK_C] along the given strides (Triton
specialises a stride of 1, so channels-last rows load as contiguous vectors), computes in fp32 and writes a dense
tensor in the input's memory format: one read and one write.

Import only where Triton is (CUDA machines); `TRITON_INTERPRET=1` runs it on the CPU for a check.
"""
from __future__ import annotations

import torch
import triton
import triton.language as tl


@triton.jit
def _act_kernel(x_ptr, y_ptr, alpha_ptr, inv_beta_ptr, limit_ptr, T, C,
                sxb, sxc, sxt, syb, syc, syt, slim,
                SNAKE: tl.constexpr, HAS_LIMIT: tl.constexpr, BLOCK_T: tl.constexpr, BLOCK_C: tl.constexpr):
    pid_t = tl.program_id(0)
    pid_c = tl.program_id(1)
    b = tl.program_id(2).to(tl.int64)            # b x row stride passes 2^31 at 512 rows
    t = pid_t * BLOCK_T + tl.arange(0, BLOCK_T)
    c = pid_c * BLOCK_C + tl.arange(0, BLOCK_C)
    inside = (t[:, None] < T) & (c[None, :] < C)
    x = tl.load(x_ptr + b * sxb + t[:, None] * sxt + c[None, :] * sxc, mask=inside, other=0.0).to(tl.float32)
    if SNAKE:
        a = tl.load(alpha_ptr + c, mask=c < C, other=1.0)
        ib = tl.load(inv_beta_ptr + c, mask=c < C, other=0.0)
        s = tl.sin(x * a[None, :])
        y = x + s * s * ib[None, :]
    else:
        y = tl.where(x > 0, x, tl.exp(x) - 1.0)
    if HAS_LIMIT:
        first = tl.load(limit_ptr + b * slim)
        y = tl.where(t[:, None] >= first, y, 0.0)
    tl.store(y_ptr + b * syb + t[:, None] * syt + c[None, :] * syc, y.to(y_ptr.dtype.element_ty), mask=inside)


def act(x: torch.Tensor, alpha: torch.Tensor | None, inv_beta: torch.Tensor | None,
        limit: torch.Tensor | None) -> torch.Tensor:
    """x [B, C, 1, T] (any strides) -> snake(x) (alpha, inv_beta: fp32, C values) or ELU(x) (alpha None), zero
    where t < limit[b]; dense, channels-last when x's channels are its unit-stride dimension."""
    bsz, c, one, t = x.shape
    if one != 1:
        raise ValueError(f"act expects [B, C, 1, T], got {tuple(x.shape)}")
    channels_inner = x.stride(1) == 1 and c > 1
    fmt = torch.channels_last if channels_inner else torch.contiguous_format
    y = torch.empty(x.shape, device=x.device, dtype=x.dtype, memory_format=fmt)
    if channels_inner:
        block_c = min(128, triton.next_power_of_2(c))
        block_t = max(16, 4096 // block_c)
    else:
        block_c, block_t = 16, 256
    snake = alpha is not None
    dummy = x if not snake else alpha
    grid = (triton.cdiv(t, block_t), triton.cdiv(c, block_c), bsz)
    _act_kernel[grid](x, y, alpha if snake else dummy, inv_beta if snake else dummy,
                      limit if limit is not None else x, t, c,
                      x.stride(0), x.stride(1), x.stride(3), y.stride(0), y.stride(1), y.stride(3),
                      limit.stride(0) if limit is not None else 0,
                      SNAKE=snake, HAS_LIMIT=limit is not None, BLOCK_T=block_t, BLOCK_C=block_c, num_warps=4)
    return y
