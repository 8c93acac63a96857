"""The real handwriting in ``../shared`` beside the checkout, for the tests that need it."""

from pathlib import Path

import pytest

HOOKER_MANIFEST = Path(__file__).resolve().parents[2] / "shared/datasets/joseph_hooker_htr/lines.tsv"
needs_hooker = pytest.mark.skipif(
    not HOOKER_MANIFEST.exists(), reason="the shared Joseph Hooker data set is not on this machine"
)
