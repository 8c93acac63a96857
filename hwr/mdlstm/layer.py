"""The MDLSTM layer module: parameters, input projection, the four scan directions."""

from __future__ import annotations

import math
from typing import Literal

import torch
from torch import Tensor, nn

from hwr.mdlstm import compiled, reference
from hwr.mdlstm.scan import ScanKernel, scan
from hwr.mdlstm.wavefront import WavefrontKernel

Backend = Literal["auto", "reference", "wavefront", "compiled"]
DIRECTIONS = 4


def available_backends() -> list[str]:
    """Backends usable on this machine, slowest first."""
    names = ["reference", "wavefront"]
    if compiled.load() is not None:
        names.append("compiled")
    return names


def _kernel(backend: Backend, device: torch.device) -> ScanKernel:
    if backend == "wavefront":
        return WavefrontKernel()
    if backend == "compiled":
        kernel = compiled.kernel()
        if kernel is None:
            raise RuntimeError(f"the compiled MDLSTM kernel is unavailable: {compiled.load_error()}")
        return kernel
    if device.type == "cpu":
        return compiled.kernel() or WavefrontKernel()
    return WavefrontKernel()


def corner_index(sizes: Tensor, height: int, width: int) -> Tensor:
    """``(4, B, H*W)`` flat indices that move each image's corner ``d`` to the top left.

    Scan ``d`` flips rows when ``d >= 2`` and columns when ``d`` is odd, within each
    image's own ``(height, width)``; padding stays where it is. Each map is its own
    inverse, so the same index turns the scans' outputs back.
    """
    rows = torch.arange(height, device=sizes.device).expand(len(sizes), height)
    cols = torch.arange(width, device=sizes.device).expand(len(sizes), width)
    rows_flipped = torch.where(rows < sizes[:, :1], sizes[:, :1] - 1 - rows, rows)
    cols_flipped = torch.where(cols < sizes[:, 1:], sizes[:, 1:] - 1 - cols, cols)
    maps = []
    for d in range(DIRECTIONS):
        r = rows_flipped if d >= 2 else rows
        c = cols_flipped if d % 2 == 1 else cols
        maps.append((r[:, :, None] * width + c[:, None, :]).reshape(len(sizes), -1))
    return torch.stack(maps)


def _flip_corners(x: Tensor, index: Tensor) -> Tensor:
    """Apply :func:`corner_index` to a ``(4, B, H, W, F)`` tensor."""
    d, b, h, w, f = x.shape
    flat = x.reshape(d, b, h * w, f)
    return torch.gather(flat, 2, index[..., None].expand(-1, -1, -1, f)).view(d, b, h, w, f)


class MDLSTM2d(nn.Module):
    """Four-direction 2-D LSTM layer (equations in :mod:`hwr.mdlstm`).

    Input ``(B, H, W, C)`` channels-last with ``sizes`` ``(B, 2)`` giving each
    image's real ``(height, width)``; output ``(B, H, W, 4 * hidden_size)``, zero
    outside each image.
    """

    def __init__(self, input_size: int, hidden_size: int, peepholes: bool = True) -> None:
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        gates = 5 * hidden_size
        self.weight_ih = nn.Parameter(torch.empty(DIRECTIONS, input_size, gates))
        self.bias = nn.Parameter(torch.empty(DIRECTIONS, gates))
        self.weight_hh = nn.Parameter(torch.empty(DIRECTIONS, 2 * hidden_size, gates))
        peephole = torch.empty(DIRECTIONS, 4, hidden_size)
        if peepholes:
            self.peephole = nn.Parameter(peephole)
        else:
            self.register_buffer("peephole", peephole)
        self.reset_parameters()

    @property
    def peepholes(self) -> bool:
        return isinstance(self.peephole, nn.Parameter)

    def reset_parameters(self) -> None:
        bound = 1.0 / math.sqrt(self.input_size + 2 * self.hidden_size)
        for weight in (self.weight_ih, self.weight_hh):
            nn.init.uniform_(weight, -bound, bound)
        nn.init.zeros_(self.bias)
        if self.peepholes:
            nn.init.uniform_(self.peephole, -bound, bound)
        else:
            nn.init.zeros_(self.peephole)

    def forward(self, x: Tensor, sizes: Tensor, backend: Backend = "auto") -> Tensor:
        if backend == "reference":
            return reference.mdlstm2d(
                x, sizes, self.weight_ih, self.bias, self.weight_hh, self.peephole
            )
        b, h, w, _ = x.shape
        n = self.hidden_size
        # Input projection of all four directions in one matmul.
        z = torch.addmm(
            self.bias.reshape(-1), x.reshape(-1, self.input_size), self.weight_ih.transpose(0, 1).reshape(self.input_size, -1)
        )
        z = z.view(b, h, w, DIRECTIONS, 5 * n).permute(3, 0, 1, 2, 4)
        index = corner_index(sizes, h, w)
        hidden = scan(_flip_corners(z, index), self.weight_hh, self.peephole, sizes, _kernel(backend, x.device))
        hidden = _flip_corners(hidden, index)
        return hidden.permute(1, 2, 3, 0, 4).reshape(b, h, w, DIRECTIONS * n)

    def extra_repr(self) -> str:
        return f"{self.input_size}, 4x{self.hidden_size}, peepholes={self.peepholes}"
