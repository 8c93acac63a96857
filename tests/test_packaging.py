"""The wheel: every package of the source tree is listed in pyproject.toml, with the shipped models."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_package_is_in_the_wheel():
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(setuptools["packages"])
    found = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for top in ("hwr", "cli")
        for init in (ROOT / top).rglob("__init__.py")
    }
    assert found | {"hwr.models"} == listed
    assert setuptools["package-dir"]["hwr.models"] == "models"
    assert "*.safetensors" in setuptools["package-data"]["hwr.models"]


def test_the_cpp_sources_built_on_first_use_are_in_the_wheel():
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    packages = {".".join(source.parent.relative_to(ROOT).parts) for source in (ROOT / "hwr").rglob("*.cpp")}
    assert packages == {"hwr", "hwr.decoders", "hwr.mdlstm"}
    assert all("*.cpp" in data.get(package, []) for package in packages)
