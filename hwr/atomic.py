"""Atomic file writes: a crash or a kill leaves either the old file or the new one, never half."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO


@contextmanager
def atomic_writer(path: str | Path, mode: str = "w") -> Iterator[IO]:
    """A file to write ``path``'s new contents into, a part at a time: a temporary file beside it
    that is fsynced and renamed over ``path`` when the block completes, and removed if it fails."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.chmod(tmp, _mode_for(path))  # mkstemp makes it 0600; the new file gets what open() would give
        with os.fdopen(fd, mode, **({} if "b" in mode else {"encoding": "utf-8"})) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _mode_for(path: Path) -> int:
    """The permissions of the file replaced, or for a new file those of the umask (as any tool's output)."""
    try:
        return path.stat().st_mode & 0o7777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def write_bytes_atomically(path: str | Path, data: bytes) -> None:
    """Replace ``path``'s contents with ``data`` atomically (see :func:`atomic_writer`)."""
    with atomic_writer(path, "wb") as f:
        f.write(data)
