"""The recurrent part of an MDLSTM layer as one autograd Function, shared by the fast kernels.

Kernels work in the layer's own *image layout*, so no copies are needed around them:

- ``z``: ``(B, H, W, D, 5N)`` pre-activations ``W x + b`` (gate order ``[ι, φ1, φ2, ω, g]``)
  of the ``D = 4`` scans; scan ``d`` starts at the bottom when ``d >= 2`` and at the
  right when ``d`` is odd, at each image's own edge,
- ``weight_hh``: ``(D, 2N, 5N)``, ``peephole``: ``(D, 4, N)``,
- ``sizes``: ``(B, 2)`` int64 real ``(height, width)``, each image top-left aligned.

A kernel's ``forward`` returns ``h, c, gates`` in the same layout (gates after
their nonlinearity; everything zero outside each image) and its ``backward``
turns the gradient of ``h`` into the gradients of ``z``, ``weight_hh`` and
``peephole``. The weight gradients need no recurrence: they are sums over all
pixels of products of saved states with ``dz``, which the wavefront computes
from whole tensors and the compiled kernel accumulates on the way.
"""

from __future__ import annotations

from typing import Protocol

import torch
from torch import Tensor


class ScanKernel(Protocol):
    def forward(
        self, z: Tensor, weight_hh: Tensor, peephole: Tensor, sizes: Tensor
    ) -> tuple[Tensor, Tensor, Tensor]: ...

    def backward(
        self,
        grad_h: Tensor,
        h: Tensor,
        c: Tensor,
        gates: Tensor,
        weight_hh: Tensor,
        peephole: Tensor,
        sizes: Tensor,
    ) -> tuple[Tensor, Tensor, Tensor]: ...


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
        grads = ctx.kernel.backward(grad_h.contiguous(), h, c, gates, weight_hh, peephole, sizes)
        return *grads, None, None


def scan(
    z: Tensor, weight_hh: Tensor, peephole: Tensor, sizes: Tensor, kernel: ScanKernel
) -> Tensor:
    """All scans of all images; returns ``h`` of shape ``(B, H, W, D, N)``."""
    return _Scan.apply(z.contiguous(), weight_hh.contiguous(), peephole.contiguous(), sizes, kernel)
