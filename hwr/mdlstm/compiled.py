"""The C++ CPU MDLSTM kernel, built with the package or on first use (see :mod:`hwr.native`);
where it cannot be built, the pure-PyTorch wavefront is used instead."""

from __future__ import annotations

from types import ModuleType

from torch import Tensor

from hwr.mdlstm.scan import recurrent_weight_grads
from hwr.native import MDLSTM_KERNEL

_NATIVE = MDLSTM_KERNEL


def load() -> ModuleType | None:
    """The compiled extension module, or ``None`` (after one warning) if it can't be built."""
    return _NATIVE.load()


def load_error() -> str | None:
    """Why :func:`load` returned ``None``."""
    return _NATIVE.error


class CompiledKernel:
    """Scan kernel backed by the C++ extension (see :mod:`hwr.mdlstm.scan` for the layout)."""

    def __init__(self, module: ModuleType) -> None:
        self._module = module

    def forward(self, z: Tensor, weight_hh: Tensor, peephole: Tensor, sizes: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        h, c, gates = self._module.forward(z, weight_hh, peephole, sizes)
        return h, c, gates

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
        grad_z = self._module.backward(grad_h, c, gates, weight_hh, peephole, sizes)
        return grad_z, *recurrent_weight_grads(h, c, grad_z)


def kernel() -> CompiledKernel | None:
    """The compiled scan kernel, or ``None`` where it cannot be built."""
    module = load()
    return CompiledKernel(module) if module is not None else None
