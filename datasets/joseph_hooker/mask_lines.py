"""Write the Joseph Hooker line crops masked with their PAGE-XML polygons, and their manifest.

    python datasets/joseph_hooker/mask_lines.py DATA_DIR OUT_DIR [--split test --limit 50]

Reads DATA_DIR/lines.tsv, lines/ and page_xml/ in place and writes OUT_DIR/lines/<id>.png
(lossless) and OUT_DIR/lines.tsv (the same rows, pointing at the masked images), which
``hwr train``, ``hwr lm`` and ``hwr evaluate`` read like the original manifest. Each
crop's box is (x, y, w, h) on its page, so the page polygon moves by (x, y) onto it.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from hwr.data.images import read_gray
from hwr.data.layout import mask_outside, read_layout
from hwr.errors import ImageError, PageXmlError


def mask_lines(data: Path, out: Path, split: str | None = None, limit: int | None = None) -> Path:
    """Mask the lines of ``data`` (one split, its first ``limit`` lines, if given) into ``out``; returns the manifest.

    Raises PageXmlError or ImageError, naming the file, for a page or line image it can't use.
    """
    table = pd.read_csv(data / "lines.tsv", sep="\t", quoting=csv.QUOTE_NONE, keep_default_na=False, dtype=str)
    if split is not None:
        table = table[table["split"] == split]
    table = table.head(limit) if limit is not None else table
    (out / "lines").mkdir(parents=True, exist_ok=True)
    pages: dict[str, dict[str, np.ndarray]] = {}
    images = []
    for row in table.itertuples(index=False):
        page_xml = data / "page_xml" / f"{row.page}.xml"
        if row.page not in pages:
            pages[row.page] = {line.id: line.polygon for line in read_layout(page_xml).lines}
        line_id = row.id.partition("__")[2]  # ids are <page>__<TextLine id>
        if line_id not in pages[row.page]:
            raise PageXmlError(f"{page_xml}: no usable TextLine {line_id!r} for line {row.id}")
        polygon = pages[row.page][line_id] - [int(row.x), int(row.y)]
        image = Path("lines") / f"{row.id}.png"
        if not cv2.imwrite(str(out / image), mask_outside(read_gray(data / row.image), polygon)):
            raise OSError(f"{out / image}: could not write it")
        images.append(str(image))
    table = table.assign(image=images)
    manifest = out / "lines.tsv"
    partial = manifest.with_suffix(".tsv.partial")  # a killed run leaves no manifest that looks complete
    table.to_csv(partial, sep="\t", index=False, quoting=csv.QUOTE_NONE)
    partial.replace(manifest)
    return manifest


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", type=Path, help="the data set's folder (lines.tsv, lines/, page_xml/)")
    parser.add_argument("out", type=Path, help="where to write lines/ and lines.tsv")
    parser.add_argument("--split", help="only this split")
    parser.add_argument("--limit", type=int, help="only the first LIMIT lines (of the split)")
    arguments = parser.parse_args()
    cv2.setNumThreads(1)
    try:
        print(mask_lines(arguments.data, arguments.out, arguments.split, arguments.limit))
    except (OSError, PageXmlError, ImageError) as error:
        sys.exit(f"error: {error}")
