"""hwr from Python: load a model by name or path, then transcribe line images.

import hwr
model = hwr.load_model("base")  # the default model; or a name, or a model file
print(model.transcribe(["line.png"])[0].text)
"""

from __future__ import annotations

from pathlib import Path

from hwr import model_file
from hwr.shipped import resolve_model
from hwr.threads import configure_threads


def load_model(model: str | Path | None = None, threads: int | None = None) -> model_file.Model:
    """The model ``model`` (a shipped model's name or a model file; None: the default model),
    ready to transcribe. Sets torch to ``threads`` threads (default 1, or ``$HWR_THREADS``):
    more than one is faster only on an otherwise idle machine (see :mod:`hwr.threads`)."""
    configure_threads(threads)
    return model_file.load_model(resolve_model(model))
