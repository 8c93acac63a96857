"""Building the C++ kernel, and the one-line fallback to the wavefront where it can't be built."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

SCRIPT = textwrap.dedent(
    """
    import os, warnings, torch
    from hwr.native import Native
    if os.environ.get("TEST_FIRST_USE") == "1":  # as if pip had built nothing: the build on first use
        Native._built_with_package = lambda self: None
    from hwr.mdlstm import MDLSTM2d, available_backends
    warnings.simplefilter("always")
    layer = MDLSTM2d(1, 2)
    y = layer(torch.rand(1, 3, 4, 1), torch.tensor([[3, 4]]))
    y = layer(torch.rand(1, 3, 4, 1), torch.tensor([[3, 4]]))
    print("backends:", ",".join(available_backends()), "shape:", tuple(y.shape))
    """
)


def run_python(env_changes: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "HWR_THREADS": "1", "TEST_FIRST_USE": "1", **env_changes}
    return subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=timeout)


def test_hwr_no_compile_falls_back_to_the_wavefront_with_one_warning():
    result = run_python({"HWR_NO_COMPILE": "1"})
    assert result.returncode == 0, result.stderr
    assert "backends: reference,wavefront shape: (1, 3, 4, 8)" in result.stdout
    warnings = [line for line in result.stderr.splitlines() if "C++ MDLSTM kernel unavailable" in line]
    assert len(warnings) == 1 and "HWR_NO_COMPILE=1" in warnings[0]


def test_a_missing_compiler_falls_back_to_the_wavefront(tmp_path):
    result = run_python({"HWR_KERNEL_CACHE": str(tmp_path), "CXX": str(tmp_path / "no-such-compiler")})
    assert result.returncode == 0, result.stderr
    assert "backends: reference,wavefront shape: (1, 3, 4, 8)" in result.stdout
    assert sum("C++ MDLSTM kernel unavailable" in line for line in result.stderr.splitlines()) == 1


def test_the_kernel_builds_into_the_given_cache_and_survives_a_killed_build(tmp_path):
    if os.environ.get("HWR_NO_COMPILE") == "1":
        pytest.skip("HWR_NO_COMPILE=1")
    result = run_python({"HWR_KERNEL_CACHE": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    assert "backends: reference,wavefront,compiled" in result.stdout
    assert "hwr: compiling the C++ MDLSTM kernel for this machine, once" in result.stderr  # not silent
    [built] = tmp_path.glob("hwr_mdlstm_cpu_*/*.so")
    # A build killed midway leaves torch's lock file: the next run must neither wait for it
    # forever nor rebuild what is there.
    (built.parent / "lock").touch()
    modified = built.stat().st_mtime_ns
    result = run_python({"HWR_KERNEL_CACHE": str(tmp_path)}, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "backends: reference,wavefront,compiled" in result.stdout
    assert built.stat().st_mtime_ns == modified
    assert "compiling" not in result.stderr


def test_a_module_built_with_the_package_is_used_only_where_its_key_is_this_process(tmp_path, monkeypatch):
    """pip install builds the modules (setup.py) and writes each one's build key beside it."""
    from hwr.native import KEY_SUFFIX, NATIVES

    for native in NATIVES:
        key = Path(native.source).with_name(native.module.rpartition(".")[2] + KEY_SUFFIX)
        if not key.exists():
            pytest.skip("this install did not build the C++ modules")
        monkeypatch.delenv("HWR_NO_COMPILE", raising=False)
        module = native._built_with_package()
        assert module is not None and module.__name__ == native.module
        monkeypatch.setattr(native, "cflags", [*native.cflags, "-DOTHER"])  # another build's key
        assert native._built_with_package() is None
