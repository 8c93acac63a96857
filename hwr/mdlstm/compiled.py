"""The C++ CPU MDLSTM kernel: built with torch's extension builder on first use.

The build is cached per source, torch installation (version and location: its headers'
paths are in the build), Python version and CPU (it is compiled for the machine it runs
on), under ``$HWR_KERNEL_CACHE`` or torch's extension cache. The source is copied
into its build folder and compiled from there, so checkouts at other paths share one
build, and other environments have their own, instead of rebuilding one in turn.
Where it cannot be built (no compiler, ``HWR_NO_COMPILE=1``), one warning says why
and the pure-PyTorch wavefront is used instead.
"""

from __future__ import annotations

import hashlib
import os
import platform
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from types import ModuleType

import torch
from torch import Tensor

from hwr.atomic import write_bytes_atomically
from hwr.mdlstm.scan import recurrent_weight_grads

SOURCE = Path(__file__).with_name("mdlstm_cpu.cpp")
# -fno-trapping-math only drops floating-point exception flags; without it GCC will not
# vectorize the gate nonlinearities (it counts their rounding as control flow).
# -fopenmp: at::parallel_for (which spreads the four scan directions over torch's
# threads) is OpenMP inline code, serial unless the extension is built with it.
CFLAGS = ["-O3", "-march=native", "-ffp-contract=fast", "-fno-trapping-math", "-fopenmp"]


def _cpu_signature() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                return line
    except OSError:
        pass
    return platform.processor()


def _build_name() -> str:
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    key = "|".join([SOURCE.read_text(), torch.__version__, torch.__file__, python, " ".join(CFLAGS), _cpu_signature()])
    return "hwr_mdlstm_cpu_" + hashlib.sha256(key.encode()).hexdigest()[:12]


_error: str | None = None


@cache
def load() -> ModuleType | None:
    """The compiled extension module, or ``None`` (after one warning) if it can't be built."""
    global _error
    try:
        return _build()
    except Exception as exc:
        lines = str(exc).strip().splitlines()
        _error = f"{type(exc).__name__}: {lines[-1]}" if lines else type(exc).__name__
    warnings.warn(
        f"hwr: C++ MDLSTM kernel unavailable ({_error}); using the slower PyTorch wavefront",
        RuntimeWarning,
        stacklevel=2,
    )
    return None


def _build() -> ModuleType:
    if os.environ.get("HWR_NO_COMPILE") == "1":
        raise RuntimeError("disabled by HWR_NO_COMPILE=1")
    from torch.utils import cpp_extension

    name = _build_name()
    build_dir = Path(os.environ.get("HWR_KERNEL_CACHE") or cpp_extension.get_default_build_root()) / name
    build_dir.mkdir(parents=True, exist_ok=True)
    with _exclusive(build_dir / "hwr.lock"):
        # torch's own lock file, left behind by a build that was killed, would make every
        # later build wait for it forever; no other hwr build is running while we hold ours.
        (build_dir / "lock").unlink(missing_ok=True)
        source, text = build_dir / SOURCE.name, SOURCE.read_bytes()
        if not source.exists() or source.read_bytes() != text:
            write_bytes_atomically(source, text)
        return cpp_extension.load(
            name=name,
            sources=[str(source)],
            extra_cflags=CFLAGS,
            extra_ldflags=["-fopenmp"],
            build_directory=str(build_dir),
            verbose=False,
        )


@contextmanager
def _exclusive(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path``; the system releases it when the process dies."""
    import fcntl  # POSIX only: elsewhere the ImportError means no kernel, as a missing compiler does

    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def load_error() -> str | None:
    """Why :func:`load` returned ``None``."""
    return _error


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
