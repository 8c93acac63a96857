"""A segmented page as a layout: a new PAGE or ALTO file of its lines, each column a region in
reading order, read by the recognizer as any layout file is (:func:`hwr.pages.read_layout_page`)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

import numpy as np

from hwr.data.layout import LayoutLine, PageLayout
from hwr.page_output import NewLine, new_layout
from hwr.segmentation.lines import columns
from hwr.segmentation.model import Segmentation


def segmented_layout(segmentation: Segmentation, format: Literal["page", "alto"], path: Path) -> PageLayout:
    """The lines of ``segmentation`` as a new layout file of ``format`` that will be written to
    ``path`` (it names the page image relative to that file's folder)."""
    if segmentation.image is None:
        raise ValueError("a layout file needs the page image's file")
    regions = []
    for column in columns(segmentation.lines):
        regions.append([])
        for line in column:
            polygon = np.round(line.polygon).astype(np.int32)
            baseline = np.round(line.baseline).astype(np.int32)
            number = sum(map(len, regions)) + 1
            regions[-1].append(NewLine(f"hwr_line_{number}", polygon, baseline, line.confidence))
    image_name = Path(os.path.relpath(segmentation.image.resolve(), path.resolve().parent)).as_posix()
    root, elements = new_layout(format, image_name, segmentation.size, regions)
    lines = [
        LayoutLine(element, line.id, line.polygon, line.baseline, None)
        for element, line in zip(elements, (line for region in regions for line in region))
    ]
    return PageLayout(path, format, segmentation.image, segmentation.size, root, lines, generated=True)
