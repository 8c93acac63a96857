"""``hwr transcribe`` and ``hwr evaluate``: reading lines with a trained model."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import IO, Annotated

import typer

from cli.common import (
    BatchSize,
    Device,
    ModelOption,
    Threads,
    UseLanguageModel,
    device_for,
    existing,
    fail,
    line_progress,
    reports_errors,
    warn,
)


class OutputFormat(StrEnum):
    text = "text"
    tsv = "tsv"
    json = "json"


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
    inputs: Annotated[list[str], typer.Argument(help="Line images, folders of line images, or glob patterns.")],
    model: ModelOption = None,
    format: Annotated[
        OutputFormat,
        typer.Option(
            "--format",
            "-f",
            help="text (with the path when several images), tsv (image, text, confidence) or json (a list of those).",
        ),
    ] = OutputFormat.text,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")] = None,
    batch_size: BatchSize = 16,
    lm: UseLanguageModel = True,
    threads: Threads = None,
    device: Device = "cpu",
) -> None:
    """Transcribe line images, writing each result as its batch finishes; unreadable images are reported and skipped."""
    from hwr.data.readers import image_paths
    from hwr.errors import ImageError
    from hwr.recognizer import stream_files

    paths = image_paths(inputs)
    recognizer = load(model, lm, device, threads)
    problems, written = 0, 0
    with output_stream(output) as stream, line_progress(len(paths)) as advance:
        if format is OutputFormat.tsv:
            stream.write("image\ttext\tconfidence\n")
        elif format is OutputFormat.json:
            stream.write("[")
        for path, result in stream_files(recognizer, paths, batch_size):
            advance(1)
            if isinstance(result, ImageError):
                warn(f"warning: {result}, skipped")
                problems += 1
                continue
            if format is OutputFormat.json:
                row = {"image": str(path), "text": result.text, "confidence": round(result.confidence, 4)}
                stream.write(("," if written else "") + "\n" + json.dumps(row, ensure_ascii=False))
            elif format is OutputFormat.tsv:
                stream.write(f"{_tsv_field(str(path))}\t{_tsv_field(result.text)}\t{result.confidence:.4f}\n")
            else:
                stream.write(f"{result.text}\n" if len(paths) == 1 else f"{path}\t{result.text}\n")
            written += 1
            stream.flush()
        if format is OutputFormat.json:
            stream.write("\n]\n")
    if problems:
        warn(f"{problems} of {len(paths)} images skipped")
        if not written:
            raise typer.Exit(1)


@reports_errors
def evaluate(
    data: Annotated[
        Path, typer.Argument(help="Test lines: a manifest, a folder of x.png + x.gt.txt pairs, or IAM's lines.txt.")
    ],
    model: ModelOption = None,
    split: Annotated[str | None, typer.Option(help="Only this split of a manifest (e.g. test).")] = None,
    report: Annotated[Path | None, typer.Option(help="Write a per-line CSV report here.")] = None,
    batch_size: BatchSize = 16,
    lm: UseLanguageModel = True,
    threads: Threads = None,
    device: Device = "cpu",
) -> None:
    """CER and WER: total edits / total reference characters (words), after NFC and whitespace normalisation."""
    from hwr import evaluation
    from hwr.atomic import write_bytes_atomically
    from hwr.data.readers import read_lines

    existing(data)
    recognizer = load(model, lm, device, threads)
    lines = read_lines(data, split)
    if not lines.lines:
        fail(f"{data}: no usable lines" + (f" in split {split!r}" if split else ""))
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
