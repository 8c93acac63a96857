"""hwr's errors: input, files or settings it cannot use.

Every one derives from :class:`HwrError`, and its message names the file (where there is
one) and the problem, so the command line prints it as one line, ``error: <message>``.
Anything else raised inside hwr is a bug and keeps its traceback.
"""

from __future__ import annotations

import os


class HwrError(Exception):
    """Something hwr was given that it cannot use; the message says what and where."""


class ConfigError(HwrError, ValueError):
    """Settings that contradict each other or are out of range (a config, an option)."""


class DatasetError(HwrError):
    """A data source that can't be read at all; the message names it and the problem."""


class ImageError(HwrError):
    """An image that can't be used; the message names the file and the problem."""


class ModelFileError(HwrError):
    """A model file that can't be used; the message names the file and the problem."""


class PageXmlError(HwrError):
    """A PAGE-XML file that can't be used; the message names the file and the problem."""


class TrainingError(HwrError):
    """Training can't start or go on; the message says why and what to change."""


class ItemFailure(HwrError):
    """A page or line that failed for a reason hwr did not foresee (a bug): it is reported and
    skipped like bad input, so that one page never stops a batch; its cause keeps the traceback."""


_FAILURES: list[ItemFailure] = []


def failure(where: str, error: Exception) -> HwrError:
    """``error``, raised while ``where`` was read or written, as an :class:`HwrError` to report in
    one line: hwr's own errors as they are, anything else as an :class:`ItemFailure` naming
    ``where``, kept for :func:`unforeseen_failures` under --debug."""
    if isinstance(error, HwrError):
        return error
    wrapped = ItemFailure(
        f"{where}: failed ({type(error).__name__}: {error}); a bug in hwr: please report it "
        "with the traceback that --debug (or HWR_DEBUG=1) shows"
    )
    wrapped.__cause__ = error
    if debugging():  # kept only then: a traceback holds its frames' images alive
        _FAILURES.append(wrapped)
    return wrapped


def unforeseen_failures() -> list[ItemFailure]:
    """The failures :func:`failure` wrapped in this process so far while debugging, oldest first
    (their tracebacks are shown after a command's run)."""
    return list(_FAILURES)


def debugging() -> bool:
    """Whether tracebacks are wanted: ``hwr --debug`` or ``HWR_DEBUG=1``."""
    return os.environ.get("HWR_DEBUG", "0") not in ("", "0")
