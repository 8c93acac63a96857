"""hwr's C++ code (the MDLSTM kernel, the beam search): built with torch's extension builder on first use.

A build is cached per source, torch installation (version and location: its headers'
paths are in the build), Python version and CPU (it is compiled for the machine it runs
on), under ``$HWR_KERNEL_CACHE`` or torch's extension cache. The source is copied
into its build folder and compiled from there, so checkouts at other paths share one
build, and other environments have their own, instead of rebuilding one in turn.
Where a module cannot be built (no compiler, ``HWR_NO_COMPILE=1``), one warning says why
and its caller uses its Python (or PyTorch) path instead.
"""

from __future__ import annotations

import hashlib
import os
import platform
import sys
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

from hwr.atomic import write_bytes_atomically


class Native:
    """One C++ source, built once per process on first :meth:`load`."""

    def __init__(
        self, what: str, source: Path, prefix: str, cflags: Sequence[str], ldflags: Sequence[str], fallback: str
    ) -> None:
        self.what, self.source, self.prefix, self.fallback = what, source, prefix, fallback
        self.cflags, self.ldflags = list(cflags), list(ldflags)
        self.error: str | None = None
        self._module: ModuleType | None = None
        self._tried = False

    def load(self) -> ModuleType | None:
        """The compiled module, or ``None`` (after one warning naming the fallback) if it can't be built."""
        if not self._tried:
            self._tried = True
            try:
                self._module = self._build()
            except Exception as exc:
                lines = str(exc).strip().splitlines()
                self.error = f"{type(exc).__name__}: {lines[-1]}" if lines else type(exc).__name__
                warnings.warn(
                    f"hwr: {self.what} unavailable ({self.error}); using {self.fallback}",
                    RuntimeWarning,
                    stacklevel=3,
                )
        return self._module

    def _build_name(self) -> str:
        import torch

        python = f"{sys.version_info.major}.{sys.version_info.minor}"
        key = "|".join(
            [
                self.source.read_text(),
                torch.__version__,
                torch.__file__,
                python,
                " ".join(self.cflags),
                _cpu_signature(),
            ]
        )
        return f"{self.prefix}_{hashlib.sha256(key.encode()).hexdigest()[:12]}"

    def _build(self) -> ModuleType:
        if os.environ.get("HWR_NO_COMPILE") == "1":
            raise RuntimeError("disabled by HWR_NO_COMPILE=1")
        from torch.utils import cpp_extension

        name = self._build_name()
        build_dir = Path(os.environ.get("HWR_KERNEL_CACHE") or cpp_extension.get_default_build_root()) / name
        build_dir.mkdir(parents=True, exist_ok=True)
        with _exclusive(build_dir / "hwr.lock"):
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
