"""hwr's errors: input, files or settings it cannot use.

Every one derives from :class:`HwrError`, and its message names the file (where there is
one) and the problem, so the command line prints it as one line, ``error: <message>``.
Anything else raised inside hwr is a bug and keeps its traceback.
"""

from __future__ import annotations


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
