"""Line data sets: (image, text) pairs from a manifest, a kraken-style folder, IAM's lines.txt, or
the text lines of pages in PAGE-XML or ALTO.

One entry point, :func:`read_lines`, chooses the reader from the path:

- a ``.tsv`` or ``.csv`` manifest with a header: an image column (``image``,
  ``path``, ``file`` or ``filename``; relative paths start at the manifest's
  folder), a text column (``text``, ``transcription`` or ``label``), optional
  ``id`` and ``split`` columns;
- a folder of ``x.png`` (or .jpg, .tif, ...) + ``x.gt.txt`` pairs (kraken);
- IAM's ``lines.txt`` (``a01-000u-00 ok 154 ... A|MOVE|to``, images under
  ``lines/a01/a01-000u/a01-000u-00.png`` beside it or one folder up);
- a PAGE-XML or ALTO file, a folder of them, or a glob pattern (``"pages/*.xml"``): each
  text line with a transcription, cut from its page image by its polygon
  (:mod:`hwr.data.layout`).

A row that can't be used (missing image, empty text, too few fields) is skipped
and described in :attr:`LineSet.problems`; only an unreadable source raises.
"""

from __future__ import annotations

import csv
import glob
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from hwr.data.images import Preprocessing, auto_scale, image_size, read_gray
from hwr.data.layout import cut_line, polygon_height, read_layout
from hwr.errors import DatasetError, ImageError, failure

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp", ".jp2")
IMAGE_COLUMNS = ("image", "path", "file", "filename")
TEXT_COLUMNS = ("text", "transcription", "label")


@dataclass(frozen=True)
class Line:
    id: str
    image: Path
    """The line's image, or the page image it is cut from (with ``polygon``)."""
    text: str
    split: str | None = None
    polygon: tuple[tuple[int, int], ...] | None = None
    """The line's outline on the page ``image`` (x, y pixels), for a line of a page layout."""
    scale: float | None = None
    """The factor to read it at, where not the model's (:func:`with_page_scales`)."""


@dataclass
class LineSet:
    lines: list[Line] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    """One message per skipped row, naming the file and what is wrong."""

    def split(self, name: str) -> LineSet:
        """The lines of one split (the problems are kept)."""
        return LineSet([line for line in self.lines if line.split == name], list(self.problems))


def read_lines(source: str | Path | Sequence[str | Path], split: str | None = None) -> LineSet:
    """Read a data set from ``source`` (or several sources, as one set); with ``split``, keep only
    that split of a manifest."""
    if not isinstance(source, (str, Path)):
        parts = [read_lines(part) for part in source]
        lines = LineSet([line for part in parts for line in part.lines], [p for part in parts for p in part.problems])
        return lines if split is None else _only(lines, split, ", ".join(map(str, source)))
    pattern, source = str(source), Path(source)
    if source.is_dir() and not any(source.glob("*.gt.txt")) and any(source.glob("*.xml")):
        lines = _read_layouts(sorted(source.glob("*.xml")))
    elif source.is_dir():
        lines = _read_pairs(source)
    elif not source.exists() and glob.has_magic(pattern):
        matches = sorted(Path(p) for p in glob.glob(pattern, recursive=True) if Path(p).is_file())
        if not matches:
            raise DatasetError(f"{pattern}: pattern matches no files")
        lines = _read_layouts(matches)
    elif not source.exists():
        raise DatasetError(f"{source}: no such file or folder")
    elif source.suffix.lower() == ".xml":
        lines = _read_layouts([source])
    elif source.suffix.lower() in (".tsv", ".csv"):
        lines = _read_manifest(source)
    elif source.name.endswith(".txt"):
        lines = _read_iam(source)
    else:
        raise DatasetError(
            f"{source}: unknown data format (expected a .tsv/.csv manifest, a folder of "
            "image + .gt.txt pairs, IAM's lines.txt, or PAGE-XML/ALTO files)"
        )
    return lines if split is None else _only(lines, split, str(source))


def _only(lines: LineSet, split: str, source: str) -> LineSet:
    if not any(line.split is not None for line in lines.lines):
        raise DatasetError(f"{source}: has no split column, cannot select split {split!r}")
    return lines.split(split)


def _checked(lines: LineSet, where: str, id_: str, image: Path, text: str, split: str | None) -> None:
    if not text.strip():
        lines.problems.append(f"{where}: empty text, skipped")
    elif not image.is_file():
        lines.problems.append(f"{where}: image {image} not found, skipped")
    else:
        lines.lines.append(Line(id_, image, text, split))


def _read_manifest(path: Path) -> LineSet:
    import pandas as pd  # here, not at the top: a command that reads no manifest starts 0.2 s sooner

    lines = LineSet()
    bad_rows: list[str] = []

    def bad_row(fields: list[str]) -> None:
        bad_rows.append("\t".join(fields)[:80])

    try:
        table = pd.read_csv(
            path,
            sep="\t" if path.suffix.lower() == ".tsv" else ",",
            dtype=str,
            keep_default_na=False,
            quoting=csv.QUOTE_NONE if path.suffix.lower() == ".tsv" else csv.QUOTE_MINIMAL,
            engine="python",
            on_bad_lines=bad_row,
        )
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise DatasetError(f"{path}: cannot read manifest ({exc})") from None
    columns = {c.strip().lower(): c for c in table.columns}
    image_col = next((columns[c] for c in IMAGE_COLUMNS if c in columns), None)
    text_col = next((columns[c] for c in TEXT_COLUMNS if c in columns), None)
    if image_col is None or text_col is None:
        raise DatasetError(
            f"{path}: manifest needs an image column ({'/'.join(IMAGE_COLUMNS)}) and a text column "
            f"({'/'.join(TEXT_COLUMNS)}); found {', '.join(map(str, table.columns)) or 'none'}"
        )
    lines.problems.extend(f"{path}: malformed row {row!r}, skipped" for row in bad_rows)
    id_col, split_col = columns.get("id"), columns.get("split")
    for row_number, row in enumerate(table.itertuples(index=False), start=2):
        values = dict(zip(table.columns, row))
        if not values[image_col]:
            lines.problems.append(f"{path}:{row_number}: no image path, skipped")
            continue
        image = Path(values[image_col])
        image = image if image.is_absolute() else path.parent / image
        id_ = values[id_col] if id_col else image.stem
        split = values[split_col] if split_col else None
        # Rows dropped as malformed shift pandas' numbering, so then name the row by its id.
        where = f"{path}: row {id_!r}" if bad_rows else f"{path}:{row_number}"
        _checked(lines, where, id_, image, values[text_col], split)
    return lines


def _read_pairs(folder: Path) -> LineSet:
    lines = LineSet()
    for gt in sorted(folder.rglob("*.gt.txt")):
        stem = gt.name[: -len(".gt.txt")]
        images = [gt.with_name(stem + s) for s in IMAGE_SUFFIXES if gt.with_name(stem + s).is_file()]
        try:
            text = gt.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            lines.problems.append(f"{gt}: cannot read transcription ({exc}), skipped")
            continue
        image = images[0] if images else gt.with_name(stem + ".png")
        _checked(lines, str(gt), str(gt.relative_to(folder))[: -len(".gt.txt")], image, text, None)
    if not lines.lines and not lines.problems:
        raise DatasetError(f"{folder}: no x.gt.txt transcriptions in this folder")
    return lines


def _read_iam(path: Path) -> LineSet:
    lines = LineSet()
    roots = [path.parent / "lines", path.parent.parent / "lines"]
    root = next((r for r in roots if r.is_dir()), roots[0])
    try:
        rows = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{path}: cannot read IAM lines file ({exc})") from None
    for number, row in enumerate(rows, start=1):
        if not row.strip() or row.startswith("#"):
            continue
        fields = row.split(" ", 8)
        if len(fields) < 9 or fields[0].count("-") < 2:
            lines.problems.append(f"{path}:{number}: malformed IAM line {row[:60]!r}, skipped")
            continue
        id_ = fields[0]
        form = id_.rsplit("-", 1)[0]
        image = root / form.split("-")[0] / form / f"{id_}.png"
        _checked(lines, f"{path}:{number}", id_, image, fields[8].replace("|", " "), None)
    return lines


def _read_layouts(paths: Sequence[Path]) -> LineSet:
    """The transcribed lines of PAGE/ALTO files; a file that is no layout, or a line without text or
    usable geometry, is skipped and described."""
    lines = LineSet()
    for path in paths:
        try:
            page = _layout_lines(path)
        except Exception as exc:  # one file, whatever went wrong with it, never stops the others
            lines.problems.append(f"{failure(str(path), exc)}; skipped")
            continue
        lines.lines.extend(page.lines)
        lines.problems.extend(page.problems)
    if not lines.lines and not lines.problems:
        raise DatasetError(f"{', '.join(map(str, paths[:3]))}: no text lines in these layout files")
    return lines


def _layout_lines(path: Path) -> LineSet:
    """The transcribed lines of one PAGE/ALTO file, and what was skipped; raises PageXmlError."""
    layout = read_layout(path)
    lines = LineSet(problems=list(layout.problems))
    if layout.lines and image_size(layout.image) is None:
        problem = "not found" if not layout.image.is_file() else "not an image or corrupt"
        lines.problems.append(f"{path}: page image {layout.image} {problem}; its {len(layout.lines)} lines skipped")
        return lines
    for line in layout.lines:
        if line.text is None or not line.text.strip():
            lines.problems.append(f"{path}: line {line.id!r}: no text, skipped")
        else:
            polygon = tuple((int(x), int(y)) for x, y in line.polygon)
            lines.lines.append(Line(f"{path.stem}__{line.id}", layout.image, line.text, None, polygon))
    return lines


class LineImages:
    """The 8-bit grayscale image of a line, or of a line file: a page layout's lines are cut from
    their page, which is read once for the lines that follow each other on it."""

    def __init__(self) -> None:
        self._page: tuple[Path, np.ndarray | ImageError] | None = None

    def __call__(self, item: Line | Path) -> np.ndarray:
        if not isinstance(item, Line) or item.polygon is None:
            return read_gray(item.image if isinstance(item, Line) else item)
        if self._page is None or self._page[0] != item.image:
            try:
                self._page = (item.image, read_gray(item.image))
            except ImageError as exc:
                self._page = (item.image, exc)
        page = self._page[1]
        if isinstance(page, ImageError):
            raise page
        return cut_line(page, np.array(item.polygon, np.int32))


def line_heights(items: Sequence[Line | Path]) -> list[int]:
    """The crop height of each line that can be read: its polygon's, or its image file's (from its header)."""
    heights = []
    for item in items:
        if isinstance(item, Line) and item.polygon is not None:
            heights.append(polygon_height(np.array(item.polygon)))
        else:
            size = image_size(item.image if isinstance(item, Line) else item)
            if size is not None:
                heights.append(size[1])
    return heights


def with_page_scales(lines: LineSet, preprocessing: Preprocessing) -> LineSet:
    """``lines`` with each page's lines (cut from a page by their polygon) to be read at the scale
    that makes that page's median line as high as the model's lines (:func:`auto_scale`): pages of
    one collection are often scanned at several resolutions. Line files are left as they are."""
    heights: dict[Path, list[int]] = {}
    for line in lines.lines:
        if line.polygon is not None:
            heights.setdefault(line.image, []).append(polygon_height(np.array(line.polygon)))
    scales = {page: auto_scale(page_heights, preprocessing) for page, page_heights in heights.items()}
    scaled = [replace(line, scale=scales[line.image]) if line.polygon is not None else line for line in lines.lines]
    return LineSet(scaled, list(lines.problems))


def layout_paths(inputs: Sequence[str]) -> list[Path]:
    """PAGE-XML/ALTO files, folders (their .xml files, sorted) and glob patterns -> layout files, in order."""
    return _files(inputs, (".xml",), ".xml layout files")


def image_paths(inputs: Sequence[str]) -> list[Path]:
    """Files, folders (their images, sorted) and glob patterns -> image paths, in order; an
    input that matches nothing raises :class:`DatasetError` naming it."""
    return _files(inputs, IMAGE_SUFFIXES, f"images ({', '.join(IMAGE_SUFFIXES)})")


def _files(inputs: Sequence[str], suffixes: Sequence[str], what: str) -> list[Path]:
    paths: list[Path] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.suffix.lower() in suffixes and p.is_file())
            if not found:
                raise DatasetError(f"{path}: folder has no {what}")
            paths.extend(found)
        elif path.exists():
            paths.append(path)
        elif glob.has_magic(item):
            matches = sorted(Path(p) for p in glob.glob(item, recursive=True) if Path(p).is_file())
            if not matches:
                raise DatasetError(f"{item}: pattern matches no files")
            paths.extend(matches)
        else:
            raise DatasetError(f"{path}: no such file or folder")
    return paths
