"""Pure-PyTorch MDLSTM scan: one step per anti-diagonal, any device.

The scans are first turned into top-left scans by flipping each image within
its own size (:func:`corner_index`). Then all positions on an anti-diagonal
``i + j = k`` depend only on the previous anti-diagonal, so one step computes
them together, for the whole batch and all scan directions, with one batched
matmul. To make each anti-diagonal a plain slice, tensors are *skewed*:
``skewed[..., i, i + j, :] = x[..., i, j, :]``, so anti-diagonal ``k`` is column ``k``. The state buffers carry one extra zero row
and column in front, so the predecessors of the first row and column are read
as zeros without special cases.
"""

from __future__ import annotations

import torch
from torch import Tensor

from hwr.mdlstm.scan import inside_mask, recurrent_weight_grads


def _unskewed_view(skewed: Tensor, height: int, width: int) -> Tensor:
    """View ``v[..., i, j, :] = skewed[..., i, i + j, :]`` of a ``(D, B, H', K, F)`` tensor."""
    s = skewed.stride()
    size = (skewed.shape[0], skewed.shape[1], height, width, skewed.shape[4])
    stride = (s[0], s[1], s[2] + s[3], s[3], s[4])
    return skewed.as_strided(size, stride, skewed.storage_offset())


def _skew(x: Tensor, pad: int = 0) -> Tensor:
    """Skewed copy of ``(D, B, H, W, F)`` ``x``, with ``pad`` leading zero rows and columns."""
    d, b, h, w, f = x.shape
    out = x.new_zeros(d, b, h + pad, h + w - 1 + pad, f)
    _unskewed_view(out[:, :, pad:, pad:], h, w).copy_(x)
    return out


def _skewed_mask(sizes: Tensor, height: int, width: int, dtype: torch.dtype) -> Tensor:
    """``(1, B, H, K, 1)`` skewed indicator of the positions inside each image."""
    return _skew(inside_mask(sizes, height, width).to(dtype)[None, :, :, :, None])


def corner_index(sizes: Tensor, height: int, width: int) -> Tensor:
    """``(4, B, H*W)`` flat indices that move each image's corner ``d`` to the top left.

    Scan ``d`` flips rows when ``d >= 2`` and columns when ``d`` is odd, within each
    image's own ``(height, width)``; padding stays padding. Each map is its own
    inverse, so the same index turns the scans' outputs back.
    """
    rows = torch.arange(height, device=sizes.device).expand(len(sizes), height)
    cols = torch.arange(width, device=sizes.device).expand(len(sizes), width)
    rows_flipped = torch.where(rows < sizes[:, :1], sizes[:, :1] - 1 - rows, rows)
    cols_flipped = torch.where(cols < sizes[:, 1:], sizes[:, 1:] - 1 - cols, cols)
    maps = []
    for d in range(4):
        r = rows_flipped if d >= 2 else rows
        c = cols_flipped if d % 2 == 1 else cols
        maps.append((r[:, :, None] * width + c[:, None, :]).reshape(len(sizes), -1))
    return torch.stack(maps)


def _flip_corners(x: Tensor, index: Tensor) -> Tensor:
    """Apply :func:`corner_index` to a ``(4, B, H, W, F)`` tensor."""
    d, b, h, w, f = x.shape
    flat = x.reshape(d, b, h * w, f)
    return torch.gather(flat, 2, index[..., None].expand(-1, -1, -1, f)).view(d, b, h, w, f)


def _to_scan_layout(x: Tensor, index: Tensor) -> Tensor:
    """Image layout ``(B, H, W, D, F)`` -> top-left scans ``(D, B, H, W, F)``."""
    return _flip_corners(x.permute(3, 0, 1, 2, 4), index)


def _to_image_layout(x: Tensor, index: Tensor) -> Tensor:
    """Top-left scans ``(D, B, H, W, F)`` -> image layout ``(B, H, W, D, F)``."""
    return _flip_corners(x, index).permute(1, 2, 3, 0, 4).contiguous()


def _diagonal_rows(k: int, height: int, width: int) -> tuple[int, int]:
    """First and one-past-last row of anti-diagonal ``k``."""
    return max(0, k - width + 1), min(height, k + 1)


class WavefrontKernel:
    """Anti-diagonal wavefront scan (see :mod:`hwr.mdlstm.scan` for the layout)."""

    def forward(self, z: Tensor, weight_hh: Tensor, peephole: Tensor, sizes: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        b, height, width, d, g = z.shape
        n = g // 5
        index = corner_index(sizes, height, width)
        z_skew = _skew(_to_scan_layout(z, index))
        mask = _skewed_mask(sizes, height, width, z.dtype)
        # State buffers: row r + 1 and column k + 1 hold row r of anti-diagonal k.
        h_skew = z.new_zeros(d, b, height + 1, height + width, n)
        c_skew = torch.zeros_like(h_skew)
        gates_skew = torch.zeros_like(z_skew)
        p_i, p_f1, p_f2, p_o = (p[:, None, None, :] for p in peephole.unbind(1))
        for k in range(height + width - 1):
            r0, r1 = _diagonal_rows(k, height, width)
            h_up = h_skew[:, :, r0:r1, k]
            h_left = h_skew[:, :, r0 + 1 : r1 + 1, k]
            c_up = c_skew[:, :, r0:r1, k]
            c_left = c_skew[:, :, r0 + 1 : r1 + 1, k]
            rows = r1 - r0
            a = torch.baddbmm(
                z_skew[:, :, r0:r1, k].reshape(d, b * rows, g),
                torch.cat([h_up, h_left], dim=-1).reshape(d, b * rows, 2 * n),
                weight_hh,
            ).view(d, b, rows, g)
            peep = torch.cat([p_i * (c_up + c_left), p_f1 * c_up, p_f2 * c_left], dim=-1)
            sig = torch.sigmoid(a[..., : 3 * n] + peep)
            in_gate, forget_up, forget_left = sig.split(n, dim=-1)
            cell_in = torch.tanh(a[..., 4 * n :])
            cell = (in_gate * cell_in + forget_up * c_up + forget_left * c_left) * mask[:, :, r0:r1, k]
            out_gate = torch.sigmoid(a[..., 3 * n : 4 * n] + p_o * cell)
            c_skew[:, :, r0 + 1 : r1 + 1, k + 1] = cell
            h_skew[:, :, r0 + 1 : r1 + 1, k + 1] = out_gate * torch.tanh(cell)
            gates_skew[:, :, r0:r1, k] = torch.cat([sig, out_gate, cell_in], dim=-1)
        h = _unskewed_view(h_skew[:, :, 1:, 1:], height, width)
        c = _unskewed_view(c_skew[:, :, 1:, 1:], height, width)
        gates = _unskewed_view(gates_skew, height, width) * _unskewed_view(mask, height, width)
        return tuple(_to_image_layout(t, index) for t in (h, c, gates))

    def backward(
        self,
        grad_h: Tensor,
        h: Tensor,
        c: Tensor,
        gates: Tensor,
        weight_hh: Tensor,
        peephole: Tensor,
        sizes: Tensor,
    ) -> tuple[Tensor, Tensor, Tensor]:
        b, height, width, d, n = c.shape
        g = 5 * n
        index = corner_index(sizes, height, width)
        c_skew = _skew(_to_scan_layout(c, index), pad=1)
        gates_skew = _skew(_to_scan_layout(gates, index))
        grad_h_skew = _skew(_to_scan_layout(grad_h, index))
        mask = _skewed_mask(sizes, height, width, c.dtype)
        grad_z_skew = torch.zeros_like(gates_skew)
        weight_hh_t = weight_hh.transpose(1, 2)
        p_i, p_f1, p_f2, p_o = (p[:, None, None, :] for p in peephole.unbind(1))
        # carry[:, :, r + 1] = gradient (to h, to c) flowing into row r of the
        # anti-diagonal processed next, from its successors on the current one.
        carry = c.new_zeros(d, b, height + 1, 2 * n)
        for k in reversed(range(height + width - 1)):
            r0, r1 = _diagonal_rows(k, height, width)
            rows = r1 - r0
            m = mask[:, :, r0:r1, k]
            in_gate, forget_up, forget_left, out_gate, cell_in = gates_skew[:, :, r0:r1, k].split(n, dim=-1)
            cell = c_skew[:, :, r0 + 1 : r1 + 1, k + 1]
            c_up = c_skew[:, :, r0:r1, k]
            c_left = c_skew[:, :, r0 + 1 : r1 + 1, k]
            incoming = carry[:, :, r0 + 1 : r1 + 1]
            grad_hidden = (grad_h_skew[:, :, r0:r1, k] + incoming[..., :n]) * m
            tanh_cell = torch.tanh(cell)
            da_o = grad_hidden * tanh_cell * out_gate * (1 - out_gate)
            grad_cell = (grad_hidden * out_gate * (1 - tanh_cell * tanh_cell) + da_o * p_o + incoming[..., n:]) * m
            da_i = grad_cell * cell_in * in_gate * (1 - in_gate)
            da_f1 = grad_cell * c_up * forget_up * (1 - forget_up)
            da_f2 = grad_cell * c_left * forget_left * (1 - forget_left)
            da_g = grad_cell * in_gate * (1 - cell_in * cell_in)
            da = torch.cat([da_i, da_f1, da_f2, da_o, da_g], dim=-1)
            grad_z_skew[:, :, r0:r1, k] = da
            to_h = torch.bmm(da.reshape(d, b * rows, g), weight_hh_t).view(d, b, rows, 2 * n)
            via_in_gate = da_i * p_i
            to_up = torch.cat([to_h[..., :n], grad_cell * forget_up + via_in_gate + da_f1 * p_f1], dim=-1)
            to_left = torch.cat([to_h[..., n:], grad_cell * forget_left + via_in_gate + da_f2 * p_f2], dim=-1)
            carry = torch.zeros_like(carry)
            carry[:, :, r0:r1] += to_up
            carry[:, :, r0 + 1 : r1 + 1] += to_left
        grad_z = _to_image_layout(_unskewed_view(grad_z_skew, height, width), index)
        return grad_z, *recurrent_weight_grads(h, c, grad_z)
