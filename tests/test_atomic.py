"""Atomic writes: the file is whole or as it was, and its permissions are those any tool would give it."""

from __future__ import annotations

import os
import stat

import pytest

from hwr.atomic import atomic_writer, write_bytes_atomically


@pytest.mark.parametrize("umask", [0o022, 0o002, 0o077])
def test_a_new_file_follows_the_umask(tmp_path, umask):
    before = os.umask(umask)
    try:
        write_bytes_atomically(tmp_path / "out.xml", b"<x/>")
    finally:
        os.umask(before)
    assert stat.S_IMODE((tmp_path / "out.xml").stat().st_mode) == 0o666 & ~umask


def test_a_replaced_file_keeps_its_permissions(tmp_path):
    target = tmp_path / "page.xml"
    target.write_bytes(b"old")
    target.chmod(0o640)
    write_bytes_atomically(target, b"new")
    assert target.read_bytes() == b"new" and stat.S_IMODE(target.stat().st_mode) == 0o640


def test_a_failed_write_leaves_the_file_as_it_was_and_no_temporary(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_writer(target) as stream:
        stream.write("half")
        raise RuntimeError
    assert target.read_text() == "old" and os.listdir(tmp_path) == ["out.txt"]
