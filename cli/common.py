"""What every command shares: error reporting, the progress bar, option types and parsers.

Nothing here imports torch or pandas: ``hwr --help`` loads only this and typer.
"""

from __future__ import annotations

import functools
import glob
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from hwr.errors import HwrError, ItemFailure, debugging, failure, unforeseen_failures
from hwr.shipped import DEFAULT_NAME, DEFAULT_SEGMENTER

F = TypeVar("F", bound=Callable)
P = TypeVar("P")

Threads = Annotated[
    int | None,
    typer.Option(min=1, help="Torch threads (default 1, or $HWR_THREADS); more only on an idle machine."),
]
BatchSize = Annotated[int, typer.Option(min=1, help="Lines per batch.")]
ModelOption = Annotated[
    str | None,
    typer.Option(
        "--model", "-m", help=f"A model file, or a shipped model's name (see hwr models); default: {DEFAULT_NAME}."
    ),
]
SegmenterOption = Annotated[
    str | None,
    typer.Option(help=f"A segmentation model file, or a shipped one's name; default: {DEFAULT_SEGMENTER}."),
]
Device = Annotated[
    str,
    typer.Option(help="cpu, cuda, cuda:N, or auto (CUDA where there is one)."),
]
ReadScale = Annotated[
    str | None,
    typer.Option(
        "--scale",
        help="Read the lines resized by this factor instead of the model's (scans at another resolution), "
        "or auto: so that the median line is as high as the model's lines.",
    ),
]


def parse_scale(text: str | None) -> float | str | None:
    """A --scale: a factor in (0, 8], ``auto``, or None (the model's)."""
    if text is None or text == "auto":
        return text
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value <= 8:
        raise typer.BadParameter(f"expected a factor in (0, 8] or auto, got {text!r}", param_hint="--scale")
    return value


UseLanguageModel = Annotated[
    bool,
    typer.Option(help="Decode with the model's language model where it has one (--no-lm: greedy)."),
]


def fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(1)


def warn(message: str) -> None:
    typer.echo(message, err=True)


def reports_errors(command: F) -> F:
    """hwr's errors and the system's (a missing or unwritable file) become ``error: <message>``
    and exit status 1; any other exception is a bug and keeps its traceback. Under --debug, the
    tracebacks of the pages and lines that failed unforeseen follow the run's own output."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        earlier = len(unforeseen_failures())  # a process may run several commands (tests do)
        try:
            return command(*args, **kwargs)
        except HwrError as exc:
            if not _main_process():  # the other processes of a run: rank 0 says it
                raise typer.Exit(1) from None
            fail(str(exc))
        except OSError as exc:
            fail(f"{exc.filename}: {exc.strerror}" if exc.filename and exc.strerror else str(exc))
        except KeyboardInterrupt:
            fail("interrupted (a training run keeps its last completed epoch: continue it with --resume)")
        finally:
            _show_failures(unforeseen_failures()[earlier:])

    return wrapper  # type: ignore[return-value]


def _show_failures(failures: list[ItemFailure]) -> None:
    import traceback

    if debugging():
        for failure in failures:
            warn(f"traceback of: {failure}")
            warn("".join(traceback.format_exception(failure.__cause__)).rstrip())


def set_threads(threads: int | None) -> int:
    """Torch's thread count for this command (see :mod:`hwr.threads`); returns it."""
    from hwr.threads import configure_threads

    return configure_threads(threads)


class ProgressBar:
    """A rich progress bar on a terminal (none in a pipe); messages print above it."""

    def __init__(self, label: str = "epoch {task.fields[step]}") -> None:
        self.console = Console(stderr=True)
        self.bar = Progress(
            TextColumn(label),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=self.console,
            transient=True,
            disable=not self.console.is_terminal or not _main_process(),
        )
        self.task = self.bar.add_task("work", total=None, step=1)

    def __enter__(self) -> ProgressBar:
        self.bar.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self.bar.__exit__(*exc)

    def log(self, message: str) -> None:
        self.console.print(message, markup=False, highlight=False, soft_wrap=True)

    def update(self, step: int, done: int, total: int) -> None:
        self.bar.update(self.task, completed=done, total=total, step=step)


@contextmanager
def line_progress(total: int, label: str = "lines") -> Iterator[Callable[[int], None]]:
    """A bar over ``total`` lines (or pages...) on a terminal; yields ``advance(count)``."""
    with ProgressBar(label) as progress:
        done = 0

        def advance(lines: int) -> None:
            nonlocal done
            done += lines
            progress.update(1, done, total)

        yield advance


def for_each_page(
    pages: Sequence[P],
    read: Callable[[P], str | None],
    source: Callable[[P], Path],
    output: str,
    say: Callable[[str], None] = typer.echo,
) -> None:
    """``read`` each page in turn under a progress bar: it returns the line to ``say`` of the page, or
    None where the page's ``output`` exists already (skipped: a run resumes). A page that fails is one
    warning naming its ``source`` and the others go on; then the exit status is 1."""
    problems, done = 0, 0
    with line_progress(len(pages), "pages") as advance:
        for page in pages:
            advance(1)
            try:
                said = read(page)
            except typer.Exit:
                raise
            except Exception as exc:  # one page, whatever went wrong with it, never stops the others
                warn(f"warning: {failure(str(source(page)), exc)}; page skipped")
                problems += 1
                continue
            if said is None:
                done += 1
            else:
                say(said)
    if done:
        warn(f"{done} of {len(pages)} pages already done (their {output} exists): skipped; --overwrite redoes them")
    if problems:
        warn(f"{problems} of {len(pages)} pages skipped")
        raise typer.Exit(1)


def parse_list(text: str, option: str, kind: type[int | float] = int) -> tuple:
    """Comma-separated integers (or, with ``kind=float``, numbers) of an option."""
    try:
        return tuple(kind(v) for v in text.split(",") if v.strip())
    except ValueError:
        what = "integers" if kind is int else "numbers"
        raise typer.BadParameter(f"expected comma-separated {what}, got {text!r}", param_hint=option) from None


def parse_settings(text: str, option: str) -> dict[str, float]:
    """``name=number,...`` pairs of an option."""
    settings: dict[str, float] = {}
    for pair in (p for p in text.split(",") if p.strip()):
        name, _, value = pair.partition("=")
        try:
            settings[name.strip().replace("-", "_")] = float(value)
        except ValueError:
            raise typer.BadParameter(
                f"expected name=number pairs such as elastic=3,shift=0.1, got {text!r}", param_hint=option
            ) from None
    return settings


def parse_blocks(text: str, option: str) -> tuple[tuple[int, int], ...]:
    """``HxW,...`` blocks of an option."""
    try:
        blocks = tuple(tuple(int(v) for v in b.lower().split("x")) for b in text.split(","))
    except ValueError:
        blocks = ()
    if not blocks or any(len(b) != 2 for b in blocks):
        raise typer.BadParameter(f"expected HxW blocks such as 4x2,4x2, got {text!r}", param_hint=option)
    return blocks  # type: ignore[return-value]


def data_sources(items: list[str]) -> list[str | list[str]]:
    """The data sets of DATA: each item one, but layout files given one by one, which make one set together."""
    layouts = [item for item in items if Path(item).suffix.lower() == ".xml"]
    if len(layouts) > 1 and len(layouts) < len(items):
        fail("give either layout files (one data set together) or other data sets, not both; or a folder per set")
    return [layouts] if len(layouts) > 1 else list(items)


def existing(*paths: Path | None) -> None:
    """Fail, naming the first of ``paths`` that does not exist (glob patterns are read later)."""
    for path in paths:
        if path is not None and not path.exists() and not glob.has_magic(str(path)):
            fail(f"{path}: no such file or folder")


def device_for(name: str):
    """The torch device of a ``--device`` option (for this process's GPU in a run of several)."""
    from hwr.devices import resolve_device

    return resolve_device(name, int(os.environ.get("LOCAL_RANK", "0")))


def _main_process() -> bool:
    """False in the processes of a training run other than its first (rank 0 speaks for the run)."""
    return os.environ.get("RANK", "0") == "0"
