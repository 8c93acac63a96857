"""``hwr``: train, transcribe and evaluate handwritten text recognizers.

The commands live by family in ``cli.train``, ``cli.read``, ``cli.segment`` and ``cli.models``; each only
parses its arguments, calls the library, prints, and turns hwr's errors into one line
(``cli.common``). Torch and pandas are imported by the commands that need them, so that
``hwr --help`` starts at once.
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before numpy: see hwr.threads
os.environ.setdefault("OMP_NUM_THREADS", "1")

from typing import Annotated

import typer

from cli import models, read, segment, train
from hwr import __version__

app = typer.Typer(
    help="Offline handwritten text recognition with multidimensional LSTMs (Graves & Schmidhuber 2009).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def show_version(value: bool) -> None:
    if value:
        typer.echo(f"hwr {__version__}")
        raise typer.Exit()


@app.callback()
def setup_process(
    version: Annotated[
        bool, typer.Option("--version", callback=show_version, is_eager=True, help="Print hwr's version and exit.")
    ] = False,
    debug: Annotated[
        bool,
        typer.Option(
            "--debug", help="After a run, show the traceback of each page or line that failed (or HWR_DEBUG=1)."
        ),
    ] = False,
) -> None:
    """Before every command: malloc keeps freed memory (see hwr.allocator)."""
    from hwr.allocator import retain_freed_memory

    if debug:
        os.environ["HWR_DEBUG"] = "1"

    retain_freed_memory()


for command in (
    train.train,
    train.synth,
    train.demo,
    read.transcribe,
    read.evaluate,
    segment.segment,
    segment.train_segmenter,
    segment.evaluate_segmentation,
    models.lm,
    models.ensemble,
    models.models,
):
    app.command()(command)


def main() -> None:
    """The ``hwr`` command: the app, then, its output flushed, an immediate exit. Tearing down
    torch's modules at the interpreter's exit took 0.4 s of every command, a fifth of reading one
    line; nothing is left to do by then (files are written and closed, worker processes joined)."""
    try:
        app(prog_name="hwr")
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 1
        if isinstance(exc.code, str):
            print(exc.code, file=sys.stderr)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
