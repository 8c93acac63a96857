"""Reference MDLSTM: a plain loop over pixels with autograd.

It is the equations of :mod:`hwr.mdlstm` written out literally, one image and one
scan at a time, in the image's own coordinates, so that the fast implementations
(which flip, skew and batch) can be tested against something obviously right.
It is far too slow for training.
"""

from __future__ import annotations

import torch
from torch import Tensor


def mdlstm2d(
    x: Tensor,
    sizes: Tensor,
    weight_ih: Tensor,
    bias: Tensor,
    weight_hh: Tensor,
    peephole: Tensor,
) -> Tensor:
    """Run the four scans of one MDLSTM layer.

    Args:
        x: ``(B, H, W, C)`` padded batch, channels last.
        sizes: ``(B, 2)`` real ``(height, width)`` of each image.
        weight_ih: ``(4, C, 5N)``; bias: ``(4, 5N)``; weight_hh: ``(4, 2N, 5N)``
            (rows ``[:N]`` for the vertical predecessor, ``[N:]`` for the horizontal);
            peephole: ``(4, 4, N)`` as ``[p_ι, p_φ1, p_φ2, p_ω]``.

    Returns:
        ``(B, H, W, 4N)``: the four scans' hidden states, zero outside each image.
    """
    batch, height, width, _ = x.shape
    n = weight_hh.shape[1] // 2
    zero = x.new_zeros(n)
    out: dict[tuple[int, int, int, int], Tensor] = {}
    for b in range(batch):
        hb, wb = (int(v) for v in sizes[b])
        for d in range(4):
            flip_rows, flip_cols = d >= 2, d % 2 == 1
            p_i, p_f1, p_f2, p_o = peephole[d]
            h_state: dict[tuple[int, int], Tensor] = {}
            c_state: dict[tuple[int, int], Tensor] = {}
            for si in range(hb):
                for sj in range(wb):
                    h_up = h_state.get((si - 1, sj), zero)
                    h_left = h_state.get((si, sj - 1), zero)
                    c_up = c_state.get((si - 1, sj), zero)
                    c_left = c_state.get((si, sj - 1), zero)
                    i = hb - 1 - si if flip_rows else si
                    j = wb - 1 - sj if flip_cols else sj
                    a = x[b, i, j] @ weight_ih[d] + bias[d] + h_up @ weight_hh[d, :n] + h_left @ weight_hh[d, n:]
                    a_i, a_f1, a_f2, a_o, a_g = a.split(n)
                    in_gate = torch.sigmoid(a_i + p_i * (c_up + c_left))
                    forget_up = torch.sigmoid(a_f1 + p_f1 * c_up)
                    forget_left = torch.sigmoid(a_f2 + p_f2 * c_left)
                    cell = in_gate * torch.tanh(a_g) + forget_up * c_up + forget_left * c_left
                    out_gate = torch.sigmoid(a_o + p_o * cell)
                    hidden = out_gate * torch.tanh(cell)
                    h_state[si, sj], c_state[si, sj] = hidden, cell
                    out[b, i, j, d] = hidden
    zeros = x.new_zeros(4 * n)
    rows = [
        torch.stack(
            [torch.cat([out[b, i, j, d] for d in range(4)]) if (b, i, j, 0) in out else zeros for j in range(width)]
        )
        for b in range(batch)
        for i in range(height)
    ]
    return torch.stack(rows).reshape(batch, height, width, 4 * n)
