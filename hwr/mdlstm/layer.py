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
    if backend not in ("auto", "wavefront", "compiled"):
        raise ValueError(f"unknown MDLSTM backend {backend!r}; choose auto, reference, wavefront or compiled")
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
            return reference.mdlstm2d(x, sizes, self.weight_ih, self.bias, self.weight_hh, self.peephole)
        b, h, w, _ = x.shape
        sizes = sizes.to(x.device)
        # Input projection of all four directions in one matmul, straight into the scans' layout.
        weight = self.weight_ih.transpose(0, 1).reshape(self.input_size, -1)
        z = torch.addmm(self.bias.reshape(-1), x.reshape(-1, self.input_size), weight)
        z = z.view(b, h, w, DIRECTIONS, 5 * self.hidden_size)
        hidden = scan(z, self.weight_hh, self.peephole, sizes, _kernel(backend, x.device))
        return hidden.view(b, h, w, DIRECTIONS * self.hidden_size)

    def extra_repr(self) -> str:
        return f"{self.input_size}, 4x{self.hidden_size}, peepholes={self.peepholes}"
