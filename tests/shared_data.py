"""The real handwriting in ``../shared`` beside the checkout, for the tests that need it."""

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

SHARED = Path(__file__).resolve().parents[2] / "shared/datasets"
PAGE_SETS = ("joseph_hooker_htr", "copiste_dun_jour", "cremma_mss19", "testaments_de_poilus")
"""The shared sets with whole pages (``pages/``)."""
HOOKER_MANIFEST = SHARED / "joseph_hooker_htr/lines.tsv"
needs_hooker = pytest.mark.skipif(
    not HOOKER_MANIFEST.exists(), reason="the shared Joseph Hooker data set is not on this machine"
)
MASK_SCRIPT = Path(__file__).resolve().parents[1] / "datasets/joseph_hooker/mask_lines.py"


def mask_script() -> ModuleType:
    """The Hooker recipe's ``mask_lines.py`` (a script, not part of the package)."""
    spec = importlib.util.spec_from_file_location("mask_lines", MASK_SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def masked_hooker_lines(out: Path, split: str, limit: int) -> Path:
    """The first ``limit`` Hooker lines of ``split`` masked by the recipe's script into ``out``; returns their manifest."""
    return mask_script().mask_lines(HOOKER_MANIFEST.parent, out, split=split, limit=limit)
