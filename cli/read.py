"""``hwr transcribe`` and ``hwr evaluate``: reading lines with a trained model."""

from __future__ import annotations

import json
import statistics
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated

import typer

from cli.common import (
    BatchSize,
    Device,
    ModelOption,
    ReadScale,
    SegmenterOption,
    Threads,
    UseLanguageModel,
    device_for,
    existing,
    fail,
    for_each_page,
    line_progress,
    parse_scale,
    reports_errors,
    warn,
)

if TYPE_CHECKING:
    from hwr.data.layout import PageLayout
    from hwr.model_file import Model
    from hwr.pages import PageReading
    from hwr.recognizer import Transcription
    from hwr.segmentation.model import SegmentationModel


class OutputFormat(StrEnum):
    text = "text"
    tsv = "tsv"
    json = "json"
    page = "page"
    alto = "alto"


class SegmentMode(StrEnum):
    auto = "auto"
    always = "always"
    never = "never"


def load(model: str | None, use_language_model: bool, device: str, threads: int | None):
    """The model named or given by ``model`` (None: the default) on ``device`` and ``threads``
    threads, without its language model if asked."""
    from hwr.api import load_model

    torch_device = device_for(device)
    loaded = load_model(model, threads)
    loaded.network.to(torch_device)
    if not use_language_model:
        loaded.language_model = None
    return loaded


def read_at(model: Model, scale: str | None, heights: Callable[[], list[int]]) -> None:
    """Set the scale ``model`` reads at: a --scale factor, or ``auto`` from the lines' ``heights()``."""
    from dataclasses import replace

    from hwr.data.images import auto_scale

    chosen = parse_scale(scale)
    if chosen == "auto":
        measured = heights()
        chosen = auto_scale(measured, model.preprocessing)
        warn(f"reading at scale {chosen:.3f} (auto: the median line is {statistics.median(measured):g} pixels high)")
    if chosen is not None:
        model.preprocessing = replace(model.preprocessing, scale=chosen)


@contextmanager
def output_stream(output: Path | None) -> Iterator[IO[str]]:
    """stdout, or ``output`` written atomically: it is replaced when the command completes, and an
    interrupted command leaves it as it was."""
    from hwr.atomic import atomic_writer

    if output is None:
        yield sys.stdout
        return
    with atomic_writer(output) as stream:
        yield stream


def _tsv_field(text: str) -> str:
    return text.replace("\t", " ").replace("\n", " ")


@reports_errors
def transcribe(
    inputs: Annotated[
        list[str],
        typer.Argument(help="Line images, folders or glob patterns of them; or PAGE-XML/ALTO files of pages."),
    ],
    model: ModelOption = None,
    format: Annotated[
        OutputFormat | None,
        typer.Option(
            "--format",
            "-f",
            help="Lines: text (with the path when several), tsv or json. Pages: page, alto, json, tsv or "
            "text (default: the layout's own format).",
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Lines: write here instead of stdout. Pages: the folder to write into."),
    ] = None,
    layout: Annotated[Path | None, typer.Option(help="The PAGE-XML/ALTO layout of the one page image given.")] = None,
    in_place: Annotated[
        bool, typer.Option("--in-place", help="Pages: write the readings into the layout files themselves.")
    ] = False,
    glyphs: Annotated[bool, typer.Option("--glyphs", help="ALTO: a Glyph per character, with its confidence.")] = False,
    segment: Annotated[
        SegmentMode,
        typer.Option(
            help="Images without a layout. auto: find the lines of those that look like pages (higher than wide, "
            "or many lines high) and read the others as lines; always: every image is a page; never: a line."
        ),
    ] = SegmentMode.auto,
    segmenter: SegmenterOption = None,
    overwrite: Annotated[
        bool,
        typer.Option(help="Pages: redo those whose output exists (by default they are skipped: a run resumes)."),
    ] = False,
    strict: Annotated[
        bool, typer.Option("--strict", help="With --segment never: skip an image that looks like a page.")
    ] = False,
    batch_size: BatchSize = 16,
    scale: ReadScale = None,
    lm: UseLanguageModel = True,
    threads: Threads = None,
    device: Device = "cpu",
) -> None:
    """Transcribe line images, writing each result as its batch finishes; page images, their lines found
    by the segmenter; or every line of pages with PAGE-XML/ALTO layouts, written back into their format
    or another. Unreadable inputs are reported and skipped."""
    from hwr.data.readers import image_paths, layout_paths, line_heights

    if layout is not None or any(Path(item).suffix.lower() == ".xml" for item in inputs):
        if layout is not None:
            if len(inputs) != 1:
                fail(f"--layout goes with one page image, got {len(inputs)} inputs")
            existing(layout, Path(inputs[0]))
            jobs = [(layout, Path(inputs[0]))]
        else:
            jobs = [(path, None) for path in layout_paths(inputs)]
        if in_place and output is not None:
            fail("--in-place writes into the layout files; leave out --output")
        recognizer = load(model, lm, device, threads)
        how = _PageOutput(format, output, in_place, glyphs, batch_size, parse_scale(scale) == "auto", overwrite)
        _transcribe_pages(jobs, recognizer, how, scale)
        return
    if in_place:
        fail("--in-place writes into PAGE-XML/ALTO files: give them (or --layout)")
    paths = image_paths(inputs)
    recognizer = load(model, lm, device, threads)
    if _pages_among(paths, recognizer, segment):
        found_by = load_segmenter_for(segmenter, device, threads)
        how = _PageOutput(format, output, False, glyphs, batch_size, parse_scale(scale) == "auto", overwrite, found_by)
        _transcribe_pages([(path, None) for path in paths], recognizer, how, scale)
        return
    if format in (OutputFormat.page, OutputFormat.alto) or glyphs:
        fail("--format page/alto and --glyphs are for pages: give page images, or PAGE-XML/ALTO files")
    read_at(recognizer, scale, lambda: line_heights(paths))
    _transcribe_lines(paths, recognizer, format or OutputFormat.text, output, strict, batch_size)


def _pages_among(paths: list[Path], recognizer: Model, mode: SegmentMode) -> bool:
    """Whether ``paths`` (images without a layout) are pages to segment rather than lines: as ``mode``
    says, or (auto) as their sizes say; a mix of both is refused."""
    from hwr.data.images import image_size, looks_like_a_page

    if mode is not SegmentMode.auto:
        return mode is SegmentMode.always
    sizes = [(path, image_size(path)) for path in paths]  # an unreadable one is reported where it is read
    kinds = [(path, looks_like_a_page(size, recognizer.preprocessing)) for path, size in sizes if size is not None]
    pages = [path for path, page in kinds if page]
    lines = [path for path, page in kinds if not page]
    if pages and lines:
        fail(
            f"{len(pages)} of the images look like pages ({pages[0]}, ...) and {len(lines)} like lines "
            f"({lines[0]}, ...): give them in separate runs, or choose with --segment always or never"
        )
    return bool(pages)


def load_segmenter_for(segmenter: str | None, device: str, threads: int | None) -> SegmentationModel:
    """The segmenter named or given by ``segmenter`` (None: the default) on ``device``."""
    from hwr.api import load_segmenter

    loaded = load_segmenter(segmenter, threads)
    loaded.network.to(device_for(device))
    return loaded


def _transcribe_lines(
    paths: list[Path], recognizer: Model, format: OutputFormat, output: Path | None, strict: bool, batch_size: int
) -> None:
    from hwr.errors import HwrError, ImageError, failure
    from hwr.recognizer import stream_files

    problems, written = 0, 0

    def page_guard(message: str) -> None:
        if strict:
            raise ImageError(message)
        warn(f"warning: {message}")

    with output_stream(output) as stream, line_progress(len(paths)) as advance:
        if format is OutputFormat.tsv:
            stream.write("image\ttext\tconfidence\n")
        elif format is OutputFormat.json:
            stream.write("[")
        placed = format is OutputFormat.json
        for path, result in stream_files(recognizer, paths, batch_size, placed, page_guard):
            advance(1)
            try:
                if isinstance(result, HwrError):
                    raise result
                stream.write(_line_row(path, result, format, written, len(paths)))
            except Exception as exc:
                warn(f"warning: {failure(str(path), exc)}, skipped")
                problems += 1
                continue
            written += 1
            stream.flush()
        if format is OutputFormat.json:
            stream.write("\n]\n")
    if problems:
        warn(f"{problems} of {len(paths)} images skipped")
        raise typer.Exit(1)


def _line_row(path: Path, result: Transcription, format: OutputFormat, written: int, lines: int) -> str:
    """One line's result as ``format`` writes it (a JSON row after ``written`` others)."""
    if format is OutputFormat.json:
        row = {
            "image": str(path),
            "text": result.text,
            "confidence": round(result.confidence, 4),
            "characters": [character.to_dict() for character in result.characters],
        }
        return ("," if written else "") + "\n" + json.dumps(row, ensure_ascii=False)
    if format is OutputFormat.tsv:
        return f"{_tsv_field(str(path))}\t{_tsv_field(result.text)}\t{result.confidence:.4f}\n"
    return f"{result.text}\n" if lines == 1 else f"{path}\t{result.text}\n"


@dataclass(frozen=True)
class _PageOutput:
    """How ``hwr transcribe`` reads and writes each page: its options for pages."""

    format: OutputFormat | None
    folder: Path | None
    in_place: bool
    glyphs: bool
    batch_size: int
    per_page: bool
    """Each page at the scale of its own lines (``--scale auto``)."""
    overwrite: bool
    segmenter: SegmentationModel | None = None
    """Where the pages are images without a layout: what finds their lines."""

    def chosen(self, layout_format: str | None) -> str:
        """The output format: as asked, or the layout's own (text for a page image)."""
        return self.format.value if self.format is not None else layout_format or OutputFormat.text.value

    def to_stdout(self, jobs: list[tuple[Path, Path | None]]) -> bool:
        """One page image read into text, TSV or JSON without --output: printed, as a line's reading is."""
        return (
            self.segmenter is not None
            and len(jobs) == 1
            and self.folder is None
            and self.chosen(None) in ("text", "tsv", "json")
        )


def _transcribe_pages(
    jobs: list[tuple[Path, Path | None]], recognizer: Model, how: _PageOutput, scale: str | None
) -> None:
    """Each (layout or page image, page image or None) read at ``scale`` and written out; a page that
    fails is reported in one line and the others are written; pages whose output exists are skipped
    unless ``how.overwrite``; the exit status is 1 if any failed."""
    from hwr.data.layout import read_layout
    from hwr.page_output import clashing

    if not how.per_page:
        read_at(recognizer, scale, lambda: [])

    to_stdout = how.to_stdout(jobs)
    clash = set() if how.in_place else clashing([source for source, _ in jobs], how.folder)
    if clash:
        warn(f"{len(clash)} inputs share a name but for its suffix: their outputs keep it (NAME.jpg.xml)")

    def read_one(job: tuple[Path, Path | None]) -> str | None:
        source, image = job
        layout = None if how.segmenter is not None else read_layout(source, image)
        target = None if to_stdout else _target(source, how, layout, source in clash)
        if target is not None and target.exists() and not how.overwrite and not how.in_place:
            return None
        reading, written = _transcribe_page(source, layout, recognizer, how, target)
        at = f" at scale {reading.scale:.3f}" if how.per_page and reading.scale is not None else ""
        return f"{source}: {len(reading.lines)} lines{at} -> {written or 'stdout'}"

    for_each_page(jobs, read_one, lambda job: job[0], "output", warn if to_stdout else typer.echo)


def _target(source: Path, how: _PageOutput, layout: PageLayout | None, full_name: bool) -> Path:
    """The file a page's output goes to (see :func:`hwr.page_output.output_path`)."""
    from hwr.page_output import output_path

    chosen = how.chosen(None if layout is None else layout.format)
    return output_path(source, chosen, how.folder, how.in_place, full_name)  # type: ignore[arg-type]


def _transcribe_page(
    source: Path, layout: PageLayout | None, recognizer: Model, how: _PageOutput, target: Path | None
) -> tuple[PageReading, Path | None]:
    """One page, its ``layout`` read (None: a page image that the segmenter reads), written out
    to ``target`` (None: stdout); returns its reading and ``target``."""
    from hwr.atomic import write_bytes_atomically
    from hwr.page_output import render
    from hwr.pages import read_layout_page

    scale = "auto" if how.per_page else None
    if layout is None:
        from hwr.segmentation.layout import segmented_layout

        chosen = how.chosen(None)
        layout_format = chosen if chosen in ("page", "alto") else "page"
        found = how.segmenter.segment(source)  # type: ignore[union-attr]
        layout = segmented_layout(found, layout_format, target or source.with_suffix(".xml"))  # type: ignore[arg-type]
        reading = read_layout_page(recognizer, layout, how.batch_size, scale)
    else:
        reading = read_layout_page(recognizer, layout, how.batch_size, scale)
        for problem in reading.layout.problems:
            warn(f"warning: {problem}")
        chosen = how.chosen(reading.layout.format)
        if how.in_place and chosen != reading.layout.format:
            fail(f"--in-place writes {source} in its own format ({reading.layout.format}), not {chosen}")
    data = render(reading, chosen, how.glyphs)  # type: ignore[arg-type]
    if target is None:
        sys.stdout.write(data.decode())
        sys.stdout.flush()
        return reading, None
    target.parent.mkdir(parents=True, exist_ok=True)
    write_bytes_atomically(target, data)
    return reading, target


@reports_errors
def evaluate(
    data: Annotated[
        list[Path],
        typer.Argument(
            help="Test lines: a manifest, a folder of x.png + x.gt.txt pairs, IAM's lines.txt, or page layouts "
            "(files, a folder, a glob); several are read as one set."
        ),
    ],
    model: ModelOption = None,
    split: Annotated[str | None, typer.Option(help="Only this split of a manifest (e.g. test).")] = None,
    report: Annotated[Path | None, typer.Option(help="Write a per-line CSV report here.")] = None,
    batch_size: BatchSize = 16,
    scale: ReadScale = None,
    lm: UseLanguageModel = True,
    threads: Threads = None,
    device: Device = "cpu",
) -> None:
    """CER and WER: total edits / total reference characters (words), after NFC and whitespace normalisation."""
    from hwr import evaluation
    from hwr.atomic import write_bytes_atomically
    from hwr.data.readers import line_heights, read_lines, with_page_scales

    existing(*data)
    recognizer = load(model, lm, device, threads)
    lines = read_lines(data[0] if len(data) == 1 else data, split)
    if not lines.lines:
        fail(f"{', '.join(map(str, data))}: no usable lines" + (f" in split {split!r}" if split else ""))
    pages = [line for line in lines.lines if line.polygon is not None]
    if parse_scale(scale) == "auto" and pages:  # each page at the scale of its own lines
        lines = with_page_scales(lines, recognizer.preprocessing)
        scales = {line.image: line.scale for line in lines.lines if line.scale is not None}
        warn(
            f"reading each page at the scale of its own lines (auto): {min(scales.values()):.3f} to "
            f"{max(scales.values()):.3f} over {len(scales)} pages"
        )
        crops = [line for line in lines.lines if line.polygon is None]
        if crops:
            read_at(recognizer, scale, lambda: line_heights(crops))
    else:
        read_at(recognizer, scale, lambda: line_heights(lines.lines))
    with line_progress(len(lines.lines)) as advance:
        result = evaluation.evaluate(recognizer, lines, batch_size, progress=advance)
    for problem in result.problems:
        warn(f"warning: {problem}")
    if result.unknown:
        listing = ", ".join(f"{c!r} x{n}" for c, n in result.unknown.most_common())
        warn(f"characters not in the model's alphabet (counted as errors): {listing}")
    if report is not None:
        write_bytes_atomically(report, result.report.to_csv(index=False).encode())
    totals = result.totals
    typer.echo(f"lines: {len(result.report)} evaluated, {len(result.problems)} skipped")
    typer.echo(f"CER: {100 * totals.cer:.2f}% ({totals.char_edits} edits / {totals.chars} characters)")
    typer.echo(f"WER: {100 * totals.wer:.2f}% ({totals.word_edits} edits / {totals.words} words)")
    typer.echo("normalisation: Unicode NFC, whitespace runs collapsed, ends stripped; case and punctuation kept")
