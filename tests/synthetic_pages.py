"""Synthetic pages for tests: rendered lines placed on a page image, with PAGE-XML or ALTO for them."""

from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import quoteattr

import cv2
import numpy as np

from hwr.data.images import read_gray
from hwr.data.readers import read_lines
from hwr.synth import generate_dataset

MARGIN, GAP, WIDTH = 40, 12, 900


def synthetic_pages(folder: Path, pages: int, lines_per_page: int, format: str, seed: int = 0) -> list[Path]:
    """``pages`` page images with ``lines_per_page`` lines each and their layout files in ``format``
    (``page`` or ``alto``), in ``folder``; returns the layout files. Each line's polygon is its
    box with a slanted top edge, so that polygons and boxes differ."""
    lines = read_lines(generate_dataset(folder / "lines", pages * lines_per_page, seed, 0.0, 0.0)).lines
    layouts = []
    for number in range(pages):
        mine = lines[number * lines_per_page : (number + 1) * lines_per_page]
        images = [read_gray(line.image) for line in mine]
        height = 2 * MARGIN + sum(im.shape[0] + GAP for im in images)
        page = np.full((height, WIDTH + 2 * MARGIN), 235, np.uint8)
        placed, y = [], MARGIN
        for line, image in zip(mine, images):
            h, w = image.shape[0], min(image.shape[1], WIDTH)
            page[y : y + h, MARGIN : MARGIN + w] = image[:, :w]
            polygon = [(MARGIN, y + 2), (MARGIN + w, y), (MARGIN + w, y + h), (MARGIN, y + h)]
            placed.append((f"l{len(placed) + 1}", polygon, line.text))
            y += h + GAP
        name = f"page{number}"
        cv2.imwrite(str(folder / f"{name}.png"), page)
        writer = _page_xml if format == "page" else _alto_xml
        layout = folder / f"{name}.xml"
        layout.write_text(writer(f"{name}.png", page.shape, placed), encoding="utf-8")
        layouts.append(layout)
    return layouts


def _page_xml(image: str, shape: tuple[int, int], lines: list) -> str:
    body = "".join(
        f'<TextLine id="{line_id}"><Coords points="{" ".join(f"{x},{y}" for x, y in polygon)}"/>'
        f'<Baseline points="{polygon[0][0]},{polygon[3][1] - 5} {polygon[1][0]},{polygon[2][1] - 5}"/>'
        f"<TextEquiv><Unicode>{_escape(text)}</Unicode></TextEquiv></TextLine>\n"
        for line_id, polygon, text in lines
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<PcGts xmlns="http://schema.primaresearch.org/PAGE/gts/pagecontent/2019-07-15">\n'
        "<!-- a synthetic page -->\n<Metadata><Creator>tests</Creator></Metadata>\n"
        f'<Page imageFilename="{image}" imageWidth="{shape[1]}" imageHeight="{shape[0]}">\n'
        f'<TextRegion id="r1"><Coords points="0,0 {shape[1]},0 {shape[1]},{shape[0]} 0,{shape[0]}"/>\n'
        f"{body}</TextRegion>\n</Page>\n</PcGts>\n"
    )


def _alto_xml(image: str, shape: tuple[int, int], lines: list) -> str:
    body = ""
    for line_id, polygon, text in lines:
        (x0, y0), (x1, y1) = np.min(polygon, axis=0), np.max(polygon, axis=0)
        strings = "<SP/>".join(f"<String CONTENT={quoteattr(word)}/>" for word in text.split())
        body += (
            f'<TextLine ID="{line_id}" HPOS="{x0}" VPOS="{y0}" WIDTH="{x1 - x0}" HEIGHT="{y1 - y0}">'
            f'<Shape><Polygon POINTS="{" ".join(f"{x} {y}" for x, y in polygon)}"/></Shape>{strings}</TextLine>\n'
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<alto xmlns="http://www.loc.gov/standards/alto/ns-v4#">\n'
        "<Description><MeasurementUnit>pixel</MeasurementUnit>"
        f"<sourceImageInformation><fileName>{image}</fileName></sourceImageInformation></Description>\n"
        "<!-- a synthetic page -->\n"
        f'<Layout><Page ID="p" WIDTH="{shape[1]}" HEIGHT="{shape[0]}"><PrintSpace><TextBlock ID="b1">\n'
        f"{body}</TextBlock></PrintSpace></Page></Layout>\n</alto>\n"
    )


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
