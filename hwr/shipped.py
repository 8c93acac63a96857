"""The models shipped in the repository's ``models/`` folder; one of them is the CLI's default.

They live beside the package (``pip install -e .`` keeps them there), so the
shipped recognizer works out of the box without any download.
"""

from __future__ import annotations

from pathlib import Path

MODELS_DIR = Path(__file__).resolve().parent.parent / "models"
DEFAULT_MODEL = MODELS_DIR / "joseph_hooker.safetensors"
"""Trained on the Joseph Hooker letters (English cursive, 19th century); card: ``models/joseph_hooker.md``."""
