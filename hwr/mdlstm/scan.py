"""The recurrent part of an MDLSTM layer as one autograd Function, shared by the fast kernels.

Every fast kernel runs top-left scans only (the layer flips each image so that
all four scans start at a top-left corner), on this layout:

- ``z``: ``(D, B, H, W, 5N)`` pre-activations ``W x + b`` (gate order ``[ι, φ1, φ2, ω, g]``),
- ``weight_hh``: ``(D, 2N, 5N)``, ``peephole``: ``(D, 4, N)``,
- ``sizes``: ``(B, 2)`` int64 real ``(height, width)``, each image top-left aligned.

A kernel's ``forward`` returns ``h, c, gates`` (gates after their nonlinearity,
all zero outside each image) and its ``backward`` turns the gradient of ``h``
into the gradient of ``z``. The weight gradients need no recurrence: they are
sums over all pixels of products of saved states with ``dz``, done here with
one batched matmul instead of inside each kernel's loop.
"""

from __future__ import annotations

from typing import Protocol

import torch
import torch.nn.functional as F
from torch import Tensor


class ScanKernel(Protocol):
    def forward(
        self, z: Tensor, weight_hh: Tensor, peephole: Tensor, sizes: Tensor
    ) -> tuple[Tensor, Tensor, Tensor]: ...

    def backward(
        self,
        grad_h: Tensor,
        c: Tensor,
        gates: Tensor,
        weight_hh: Tensor,
        peephole: Tensor,
        sizes: Tensor,
    ) -> Tensor: ...


def shift_down(x: Tensor) -> Tensor:
    """``x(i-1, j)`` for a ``(D, B, H, W, F)`` tensor, zero in the first row."""
    return F.pad(x, (0, 0, 0, 0, 1, 0))[:, :, :-1]


def shift_right(x: Tensor) -> Tensor:
    """``x(i, j-1)`` for a ``(D, B, H, W, F)`` tensor, zero in the first column."""
    return F.pad(x, (0, 0, 1, 0))[:, :, :, :-1]


def recurrent_weight_grads(h: Tensor, c: Tensor, grad_z: Tensor) -> tuple[Tensor, Tensor]:
    """Gradients of ``weight_hh`` and ``peephole`` from the saved states and ``dz``."""
    d, _, _, _, n = h.shape
    g = grad_z.shape[-1]
    h_pred = torch.cat([shift_down(h), shift_right(h)], dim=-1).reshape(d, -1, 2 * n)
    grad_weight_hh = torch.bmm(h_pred.transpose(1, 2), grad_z.reshape(d, -1, g))
    c_up, c_left = shift_down(c), shift_right(c)
    da_i, da_f1, da_f2, da_o, _ = grad_z.split(n, dim=-1)
    grad_peephole = torch.stack(
        [
            (da_i * (c_up + c_left)).sum((1, 2, 3)),
            (da_f1 * c_up).sum((1, 2, 3)),
            (da_f2 * c_left).sum((1, 2, 3)),
            (da_o * c).sum((1, 2, 3)),
        ],
        dim=1,
    )
    return grad_weight_hh, grad_peephole


class _Scan(torch.autograd.Function):
    @staticmethod
    def forward(ctx, z, weight_hh, peephole, sizes, kernel):  # type: ignore[override]
        h, c, gates = kernel.forward(z, weight_hh, peephole, sizes)
        ctx.kernel = kernel
        ctx.save_for_backward(h, c, gates, weight_hh, peephole, sizes)
        return h

    @staticmethod
    def backward(ctx, grad_h):  # type: ignore[override]
        h, c, gates, weight_hh, peephole, sizes = ctx.saved_tensors
        grad_z = ctx.kernel.backward(grad_h.contiguous(), c, gates, weight_hh, peephole, sizes)
        grad_weight_hh, grad_peephole = recurrent_weight_grads(h, c, grad_z)
        return grad_z, grad_weight_hh, grad_peephole, None, None


def scan(
    z: Tensor, weight_hh: Tensor, peephole: Tensor, sizes: Tensor, kernel: ScanKernel
) -> Tensor:
    """Top-left scans of all directions and images; returns ``h`` of shape ``(D, B, H, W, N)``."""
    return _Scan.apply(z.contiguous(), weight_hh.contiguous(), peephole.contiguous(), sizes, kernel)
