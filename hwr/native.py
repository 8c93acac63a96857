"""hwr's C++ code (the MDLSTM kernel, the beam search, the convolution stages): built with the package, or on first use.

``pip install .`` (or ``-e .``) compiles both against the torch installed beside hwr (``setup.py``),
and writes beside each module the key of its build. At run time a module is imported as built
when its key is this process's: the same source, torch installation (version and location: its
headers' paths are in the build), Python version, flags and CPU (it is compiled for the machine it
runs on). Otherwise, as after an install with no torch yet, it is built on first use, saying so,
and cached under ``$HWR_KERNEL_CACHE`` or torch's extension cache: the source is copied into
its build folder and compiled from there, so checkouts at other paths share one build, and
other environments have their own. Where a module cannot be built (no compiler,
``HWR_NO_COMPILE=1``), one warning says why and its caller uses its Python (or PyTorch) path.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import os
import platform
import sys
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

from hwr.atomic import write_bytes_atomically

HERE = Path(__file__).resolve().parent
KEY_SUFFIX = ".build-key"
"""Beside a module built with the package: the key of its build (see :meth:`Native.build_key`)."""


class Native:
    """One C++ source, as built with the package (:attr:`module`) or once per process on first :meth:`load`."""

    def __init__(
        self,
        what: str,
        module: str,
        source: Path,
        cflags: Sequence[str],
        ldflags: Sequence[str],
        fallback: str,
        minutes: str,
    ) -> None:
        self.what, self.module, self.source, self.fallback, self.minutes = what, module, source, fallback, minutes
        self.cflags, self.ldflags = list(cflags), list(ldflags)
        self.error: str | None = None
        self._module: ModuleType | None = None
        self._tried = False

    def load(self) -> ModuleType | None:
        """The compiled module, or ``None`` (after one warning naming the fallback) if it can't be built."""
        if not self._tried:
            self._tried = True
            try:
                self._module = self._built_with_package() or self._build()
            except Exception as exc:
                lines = str(exc).strip().splitlines()
                self.error = f"{type(exc).__name__}: {lines[-1]}" if lines else type(exc).__name__
                warnings.warn(
                    f"hwr: {self.what} unavailable ({self.error}); using {self.fallback}",
                    RuntimeWarning,
                    stacklevel=3,
                )
        return self._module

    def build_key(self) -> str:
        """What a build depends on, hashed: source, torch installation, Python, flags and CPU."""
        import torch

        python = f"{sys.version_info.major}.{sys.version_info.minor}"
        parts = [self.source.read_text(), torch.__version__, torch.__file__, python, " ".join(self.cflags)]
        key = "|".join([*parts, _cpu_signature()])
        return f"hwr{self.module.rpartition('.')[2]}_{hashlib.sha256(key.encode()).hexdigest()[:12]}"

    def _built_with_package(self) -> ModuleType | None:
        """The module ``pip install`` built, where it was built for this process (its key matches)."""
        if os.environ.get("HWR_NO_COMPILE") == "1":
            return None
        spec = importlib.util.find_spec(self.module)
        if spec is None or spec.origin is None:
            return None
        key = Path(spec.origin).parent / (self.module.rpartition(".")[2] + KEY_SUFFIX)
        try:
            if key.read_text().strip() != self.build_key():
                return None
        except OSError:
            return None
        import torch  # noqa: F401  (the module links torch's libraries: loaded first)

        return importlib.import_module(self.module)

    def _build(self) -> ModuleType:
        if os.environ.get("HWR_NO_COMPILE") == "1":
            raise RuntimeError("disabled by HWR_NO_COMPILE=1")
        from torch.utils import cpp_extension

        name = self.build_key()
        build_dir = Path(os.environ.get("HWR_KERNEL_CACHE") or cpp_extension.get_default_build_root()) / name
        build_dir.mkdir(parents=True, exist_ok=True)
        with _exclusive(build_dir / "hwr.lock"):
            if not any(build_dir.glob(f"{name}*.so")) and not any(build_dir.glob(f"{name}*.pyd")):
                sys.stderr.write(
                    f"hwr: compiling the {self.what} for this machine, once ({self.minutes}; "
                    f"pip install builds it beforehand)\n"
                )
                sys.stderr.flush()
            # torch's own lock file, left behind by a build that was killed, would make every
            # later build wait for it forever; no other hwr build is running while we hold ours.
            (build_dir / "lock").unlink(missing_ok=True)
            source, text = build_dir / self.source.name, self.source.read_bytes()
            if not source.exists() or source.read_bytes() != text:
                write_bytes_atomically(source, text)
            return cpp_extension.load(
                name=name,
                sources=[str(source)],
                extra_cflags=self.cflags,
                extra_ldflags=self.ldflags,
                build_directory=str(build_dir),
                verbose=False,
            )


# -fno-trapping-math only drops floating-point exception flags; without it GCC will not
# vectorize the gate nonlinearities (it counts their rounding as control flow).
# -fopenmp: at::parallel_for (which spreads the four scan directions over torch's
# threads) is OpenMP inline code, serial unless the extension is built with it.
MDLSTM_KERNEL = Native(
    "C++ MDLSTM kernel",
    "hwr.mdlstm._mdlstm_cpu",
    HERE / "mdlstm" / "mdlstm_cpu.cpp",
    ["-O3", "-march=native", "-ffp-contract=fast", "-fno-trapping-math", "-fopenmp"],
    ["-fopenmp"],
    "the slower PyTorch wavefront",
    "1-3 minutes",
)
BEAM_SEARCH = Native(
    "compiled beam search",
    "hwr.decoders._beam_cpu",
    HERE / "decoders" / "beam_cpu.cpp",
    ["-O3"],
    [],
    "the Python one",
    "about 20 seconds",
)
CONVOLUTION_KERNELS = Native(
    "C++ convolution stages",
    "hwr._convolution_cpu",
    HERE / "convolution_cpu.cpp",
    ["-O3", "-march=native", "-fno-trapping-math", "-fopenmp"],
    ["-fopenmp"],
    "PyTorch's convolution, mask, pooling and ReLU",
    "about a minute",
)
NATIVES = (MDLSTM_KERNEL, BEAM_SEARCH, CONVOLUTION_KERNELS)
"""Every C++ module of hwr: ``setup.py`` builds these."""


def _cpu_signature() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                return line
    except OSError:
        pass
    return platform.processor()


@contextmanager
def _exclusive(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path``; the system releases it when the process dies."""
    import fcntl  # POSIX only: elsewhere the ImportError means no build, as a missing compiler does

    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
