"""The network's convolution stages: 3x3 convolution, zero outside each image, max-pooling, ReLU.

:func:`reference_stage` is the stage in PyTorch, the definition; on the CPU the compiled
kernels (``convolution_cpu.cpp``) compute the same in fewer passes: the first stage whole
(one input channel: cheaper recomputed than stored), the later ones' mask, pooling and ReLU
in one pass after PyTorch's convolution. ReLU after the pooling equals ReLU-mask-pool: max
and ReLU commute, and ReLU keeps the masked zeros, so a line's result never depends on its
batch. Every stage's output is channels-last, the layout the MDLSTM levels read.
"""

from __future__ import annotations

from types import ModuleType

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from hwr.mdlstm.scan import inside_mask
from hwr.native import CONVOLUTION_KERNELS

Pool = tuple[int, int]


def shrink(sizes: Tensor, block: Pool) -> Tensor:
    """Real sizes ``(B, 2)`` after cutting into ``block``s (or pooling over them): partial blocks count."""
    block_t = torch.tensor(block, device=sizes.device)
    return torch.div(sizes + block_t - 1, block_t, rounding_mode="floor")


def reference_stage(x: Tensor, sizes: Tensor, conv: nn.Conv2d, pool: Pool) -> Tensor:
    """One stage in PyTorch: ``(B, C, H, W)`` -> ``(B, C', H / ph, W / pw)`` channels-last."""
    # Channels-last: torch's CPU convolutions and pooling are faster in it (pooling ~2x).
    x = conv(x).contiguous(memory_format=torch.channels_last)
    x = x * inside_mask(sizes, x.shape[2], x.shape[3]).unsqueeze(1)
    if pool != (1, 1):
        x = F.max_pool2d(x, pool, ceil_mode=True)
    return F.relu(x)


class _FirstStage(torch.autograd.Function):
    """The first stage whole; images take no gradient."""

    @staticmethod
    def forward(ctx, images, weight, bias, sizes, pool, module):  # type: ignore[override]
        out, where = module.first_forward(images.contiguous(), weight, bias, sizes, *pool)
        ctx.module = module
        ctx.save_for_backward(images, where)
        return out

    @staticmethod
    def backward(ctx, grad):  # type: ignore[override]
        images, where = ctx.saved_tensors
        grad_weight, grad_bias = ctx.module.first_backward(grad.contiguous(), images.contiguous(), where)
        return None, grad_weight, grad_bias, None, None, None


class _MaskPoolReLU(torch.autograd.Function):
    """Mask, max-pool and ReLU of a channels-last ``(B, H, W, C)`` tensor."""

    @staticmethod
    def forward(ctx, x, sizes, pool, module):  # type: ignore[override]
        out, where = module.pool_forward(x, sizes, *pool)
        ctx.module, ctx.size = module, x.shape[1:3]
        ctx.save_for_backward(where)
        return out

    @staticmethod
    def backward(ctx, grad):  # type: ignore[override]
        (where,) = ctx.saved_tensors
        return ctx.module.pool_backward(grad.contiguous(), where, *ctx.size), None, None, None


def compiled_stage(x: Tensor, sizes: Tensor, conv: nn.Conv2d, pool: Pool, module: ModuleType) -> Tensor:
    """:func:`reference_stage` by the compiled kernels."""
    plain = conv.kernel_size == (3, 3) and conv.padding == (1, 1) and conv.stride == (1, 1) and conv.dilation == (1, 1)
    if plain and conv.in_channels == 1 and conv.bias is not None and not x.requires_grad:
        out = _FirstStage.apply(x[:, 0], conv.weight, conv.bias, sizes, pool, module)
    else:
        y = conv(x).permute(0, 2, 3, 1).contiguous()  # (B, H, W, C): no copy where the convolution gave channels-last
        out = _MaskPoolReLU.apply(y, sizes, pool, module)
    return out.permute(0, 3, 1, 2)  # (B, C, H, W) channels-last


def convolution_stage(
    x: Tensor, sizes: Tensor, conv: nn.Conv2d, pool: Pool, compiled: bool = True
) -> tuple[Tensor, Tensor]:
    """One stage and the images' sizes after it: compiled on the CPU where it can be (and ``compiled``)."""
    kernels = compiled and x.device.type == "cpu" and x.dtype in (torch.float32, torch.float64)
    module = CONVOLUTION_KERNELS.load() if kernels else None
    out = compiled_stage(x, sizes, conv, pool, module) if module is not None else reference_stage(x, sizes, conv, pool)
    return out, shrink(sizes, pool)
