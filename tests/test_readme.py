"""The README's promises: its Python snippet runs as written."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import torch

from hwr.synth import generate_dataset

README = Path(__file__).resolve().parents[1] / "README.md"


def test_the_python_snippet_transcribes_on_one_thread(tmp_path, monkeypatch):
    snippets = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    assert len(snippets) == 1
    manifest = generate_dataset(tmp_path / "d", 1, seed=0)
    (tmp_path / "line.png").write_bytes((manifest.parent / "images" / "000000.png").read_bytes())
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HWR_THREADS", raising=False)
    torch.set_num_threads(2)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(snippets[0], {})
    text, confidence = printed.getvalue().rstrip("\n").rsplit(" ", 1)
    assert text and 0 < float(confidence) <= 1
    assert torch.get_num_threads() == 1
