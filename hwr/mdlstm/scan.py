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
pixels of products of saved states with ``dz``, which both kernels compute from
whole tensors with :func:`recurrent_weight_grads` (one large matrix product
instead of a rank-1 update at every pixel).
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


def scan(z: Tensor, weight_hh: Tensor, peephole: Tensor, sizes: Tensor, kernel: ScanKernel) -> Tensor:
    """All scans of all images; returns ``h`` of shape ``(B, H, W, D, N)``."""
    return _Scan.apply(z.contiguous(), weight_hh.contiguous(), peephole.contiguous(), sizes, kernel)


def inside_mask(sizes: Tensor, height: int, width: int) -> Tensor:
    """``(B, height, width)`` bool: True within each image's real ``(height, width)``."""
    rows = torch.arange(height, device=sizes.device) < sizes[:, :1]
    cols = torch.arange(width, device=sizes.device) < sizes[:, 1:]
    return rows[:, :, None] & cols[:, None, :]


def predecessors(x: Tensor) -> tuple[Tensor, Tensor]:
    """Each scan's vertical and horizontal predecessor values of a ``(B, H, W, D, F)`` tensor.

    Scans 0, 1 come from above, 2, 3 from below; scans 0, 2 from the left, 1, 3
    from the right. Values outside the batch are zero, and outside each image
    they are zero already.
    """
    from_above = F.pad(x, (0, 0, 0, 0, 0, 0, 1, 0))[:, :-1]
    from_below = F.pad(x, (0, 0, 0, 0, 0, 0, 0, 1))[:, 1:]
    from_left = F.pad(x, (0, 0, 0, 0, 1, 0))[:, :, :-1]
    from_right = F.pad(x, (0, 0, 0, 0, 0, 1))[:, :, 1:]
    vertical = torch.cat([from_above[:, :, :, :2], from_below[:, :, :, 2:]], dim=3)
    horizontal = torch.stack(
        [from_left[:, :, :, 0], from_right[:, :, :, 1], from_left[:, :, :, 2], from_right[:, :, :, 3]], dim=3
    )
    return vertical, horizontal


def recurrent_weight_grads(h: Tensor, c: Tensor, grad_z: Tensor) -> tuple[Tensor, Tensor]:
    """Gradients of ``weight_hh`` and ``peephole`` from the saved states and ``dz``."""
    n = h.shape[-1]
    h_pred = torch.cat(predecessors(h), dim=-1)
    grad_weight_hh = torch.einsum("bhwdk,bhwdg->dkg", h_pred, grad_z)
    c_up, c_left = predecessors(c)
    da_i, da_f1, da_f2, da_o, _ = grad_z.split(n, dim=-1)
    grad_peephole = torch.stack(
        [
            (da_i * (c_up + c_left)).sum((0, 1, 2)),
            (da_f1 * c_up).sum((0, 1, 2)),
            (da_f2 * c_left).sum((0, 1, 2)),
            (da_o * c).sum((0, 1, 2)),
        ],
        dim=1,
    )
    return grad_weight_hh, grad_peephole
