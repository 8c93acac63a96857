"""Builds hwr's C++ modules (the MDLSTM kernel, the beam search, the convolution stages) with the package, so that the first
command after ``pip install`` compiles nothing (it took 75-180 s, silently).

They are compiled against the torch that hwr will run with: pip builds in an isolated environment,
so where torch is not importable there, the one of this interpreter's own environment is used.
Where there is none (torch not installed yet) or the build fails (no compiler), the package is
built without them, and hwr compiles them on first use, saying so (``hwr/native.py``). Each
module gets the key of its build beside it; hwr uses it only where the key is still its own.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from setuptools import setup

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))


def torch_importable() -> bool:
    """Whether torch imports here, reaching for the interpreter's own environment if need be."""
    try:
        import torch

        return True
    except ImportError:
        pass
    probe = subprocess.run(  # -I: without pip's isolation (PYTHONPATH), as hwr will run
        [sys.executable, "-I", "-c", "import os, torch; print(os.path.dirname(os.path.dirname(torch.__file__)))"],
        capture_output=True,
        text=True,
    )
    if probe.returncode != 0:
        return False
    sys.path.append(probe.stdout.strip())  # after the build environment's own packages
    try:
        import torch  # noqa: F401

        return True
    except ImportError:
        return False


def extensions() -> tuple[list, dict]:
    """The C++ modules and the command that builds them, or none where torch can't be found."""
    if not torch_importable():
        print("hwr: no torch to build the C++ modules against; they will be built on first use", file=sys.stderr)
        return [], {}
    from torch.utils.cpp_extension import BuildExtension, CppExtension

    from hwr.native import NATIVES

    class BuildWithKeys(BuildExtension):
        """torch's builder, writing each module's build key beside it; a failed build leaves it to first use."""

        def build_extension(self, ext) -> None:
            try:
                super().build_extension(ext)
            except Exception as exc:  # no compiler, say: hwr then builds on first use, or falls back
                print(f"hwr: {ext.name} not built ({exc}); it will be built on first use", file=sys.stderr)
                return
            native = next(native for native in NATIVES if native.module == ext.name)
            _key_file(Path(self.get_ext_fullpath(ext.name)), ext).write_text(native.build_key() + "\n")

        def copy_extensions_to_source(self) -> None:
            """An editable install: the modules and their keys into the source tree."""
            super().copy_extensions_to_source()
            build_py = self.get_finalized_command("build_py")
            for ext in self.extensions:
                inplace, regular = (Path(p) for p in self._get_inplace_equivalent(build_py, ext))
                if _key_file(regular, ext).exists():
                    self.copy_file(str(_key_file(regular, ext)), str(_key_file(inplace, ext)), level=self.verbose)

    modules = [
        CppExtension(
            native.module,
            [str(native.source.relative_to(ROOT))],
            extra_compile_args=native.cflags,
            extra_link_args=native.ldflags,
            optional=True,  # not built: hwr builds it on first use
        )
        for native in NATIVES
    ]
    return modules, {"build_ext": BuildWithKeys.with_options(use_ninja=True)}


def _key_file(built: Path, ext) -> Path:
    from hwr.native import KEY_SUFFIX

    return built.with_name(ext.name.rpartition(".")[2] + KEY_SUFFIX)


modules, commands = extensions()
setup(ext_modules=modules, cmdclass=commands)
