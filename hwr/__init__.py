"""hwr: offline handwritten text recognition with multidimensional LSTMs (Graves & Schmidhuber 2009).

``hwr.load_model(name_or_path)`` gives a model whose ``transcribe(images)`` reads line images and
``transcribe_page(image)`` whole pages; ``hwr.load_segmenter()`` one that finds a page's lines
(see :mod:`hwr.api`). It is imported on first use, so that ``import hwr`` (and the command
line's start-up) does not load torch.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.2.0"
__all__ = ["__version__", "load_model", "load_segmenter"]


def __getattr__(name: str) -> Any:
    if name in ("load_model", "load_segmenter"):
        from hwr import api

        return getattr(api, name)
    raise AttributeError(f"module 'hwr' has no attribute {name!r}")
