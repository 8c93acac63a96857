"""The models shipped with hwr, found by name; one of them is the default.

They live in the repository's ``models/`` folder, installed as the package ``hwr.models``
(by a wheel as by ``pip install -e .``), so a fresh install transcribes without any download.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from hwr.errors import ModelFileError

DEFAULT_NAME = "base"
"""One network trained on English and French hands of the 19th to 21st centuries: a first reading
of a new hand, and the model to fine-tune on it; card: ``models/base.md``."""
DEFAULT_SEGMENTER = "segmenter"
"""The line segmenter of ``hwr segment`` and of ``hwr transcribe`` on page images without a layout;
card: ``models/segmenter.md``."""
SUFFIX = ".safetensors"


def shipped_models() -> dict[str, Path]:
    """Name -> file of every shipped model."""
    folder = Path(str(resources.files("hwr.models")))
    return {path.name[: -len(SUFFIX)]: path for path in sorted(folder.glob(f"*{SUFFIX}"))}


def summary(name: str) -> str:
    """The first paragraph of a shipped model's card, on one line."""
    card = shipped_models()[name].with_suffix(".md")
    paragraphs = [p for p in card.read_text(encoding="utf-8").split("\n\n") if p.strip() and not p.startswith("#")]
    return " ".join(paragraphs[0].split()) if paragraphs else ""


def resolve_model(model: str | Path | None = None, default: str = DEFAULT_NAME) -> Path:
    """The file of ``model``: a path to a model file, or the name of a shipped model (None: ``default``)."""
    shipped = shipped_models()
    if model is None:
        if default not in shipped:
            option = "--model" if default == DEFAULT_NAME else "--segmenter"
            raise ModelFileError(
                f"{default}: the shipped default model is missing from this install; give one with {option}"
            )
        return shipped[default]
    path = Path(model)
    if path.exists():
        return path
    if str(model) in shipped:
        return shipped[str(model)]
    names = ", ".join(shipped) or "none"
    raise ModelFileError(f"{model}: no such model file, nor a shipped model's name (shipped: {names})")
