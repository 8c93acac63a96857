"""hwr from Python: load a model by name or path, then transcribe line images or pages.

import hwr
model = hwr.load_model("base")  # the default model; or a name, or a model file
print(model.transcribe(["line.png"])[0].text)
page = model.transcribe_page("page.jpg")  # lines found by the default segmenter, then read
print("\n".join(line.transcription.text for line in page.lines))
segmenter = hwr.load_segmenter()  # the default segmenter's lines alone
print(len(segmenter.segment("page.jpg").lines))
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from hwr import model_file
from hwr.shipped import DEFAULT_SEGMENTER, resolve_model
from hwr.threads import configure_threads

if TYPE_CHECKING:
    from hwr.segmentation.model import SegmentationModel


def load_model(model: str | Path | None = None, threads: int | None = None) -> model_file.Model:
    """The model ``model`` (a shipped model's name or a model file; None: the default model),
    ready to transcribe. Sets torch to ``threads`` threads (default 1, or ``$HWR_THREADS``):
    more than one is faster only on an otherwise idle machine (see :mod:`hwr.threads`)."""
    configure_threads(threads)
    return model_file.load_model(resolve_model(model))


def load_segmenter(model: str | Path | None = None, threads: int | None = None) -> SegmentationModel:
    """The line segmenter ``model`` (a shipped segmenter's name or a segmenter file; None: the
    default), ready to segment page images; ``threads`` as for :func:`load_model`."""
    from hwr.segmentation.model import load_segmenter as load

    configure_threads(threads)
    return load(resolve_model(model, DEFAULT_SEGMENTER))
