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
