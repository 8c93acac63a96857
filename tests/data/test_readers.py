"""Readers: manifest, kraken pairs and IAM lines.txt, with malformed rows and missing images."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from hwr.data.readers import read_lines
from hwr.errors import DatasetError
from tests.shared_data import HOOKER_MANIFEST, needs_hooker


def write_image(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.full((20, 60), 255, np.uint8))


def test_tsv_manifest_with_split_column_and_problems(tmp_path):
    for name in ("a", "b", "c"):
        write_image(tmp_path / "img" / f"{name}.png")
    (tmp_path / "lines.tsv").write_text(
        "id\tsplit\timage\ttext\n"
        "a\ttrain\timg/a.png\tDear Sir,\n"
        'b\tvalid\timg/b.png\t"quoted" text\n'
        "c\ttrain\timg/c.png\t\n"  # empty text
        "d\ttrain\timg/missing.png\tlost\n"
        "e\ttrain\timg/a.png\ttoo\tmany\tfields\n",
        encoding="utf-8",
    )
    lines = read_lines(tmp_path / "lines.tsv")
    assert [(line.id, line.split, line.text) for line in lines.lines] == [
        ("a", "train", "Dear Sir,"),
        ("b", "valid", '"quoted" text'),
    ]
    assert lines.lines[0].image == tmp_path / "img" / "a.png"
    problems = "\n".join(lines.problems)
    assert len(lines.problems) == 3
    assert "malformed row" in problems and "empty text" in problems and "missing.png not found" in problems
    assert [line.id for line in read_lines(tmp_path / "lines.tsv", split="valid").lines] == ["b"]


def test_csv_manifest_with_other_column_names(tmp_path):
    write_image(tmp_path / "x.jpg")
    (tmp_path / "m.csv").write_text('file,transcription\nx.jpg,"a, b"\n', encoding="utf-8")
    lines = read_lines(tmp_path / "m.csv")
    assert [(line.id, line.text) for line in lines.lines] == [("x", "a, b")]
    with pytest.raises(DatasetError, match="has no split column"):
        read_lines(tmp_path / "m.csv", split="test")


def test_manifest_without_needed_columns_names_the_file(tmp_path):
    (tmp_path / "m.tsv").write_text("name\twords\nx\ty\n")
    with pytest.raises(DatasetError, match=r"m\.tsv: manifest needs an image column"):
        read_lines(tmp_path / "m.tsv")


def test_kraken_folder_of_pairs(tmp_path):
    write_image(tmp_path / "p1.png")
    (tmp_path / "p1.gt.txt").write_text("first line\n", encoding="utf-8")
    write_image(tmp_path / "sub" / "p2.jpg")
    (tmp_path / "sub" / "p2.gt.txt").write_text("zweite Zeile", encoding="utf-8")
    (tmp_path / "p3.gt.txt").write_text("no image", encoding="utf-8")
    lines = read_lines(tmp_path)
    assert [(line.id, line.text) for line in lines.lines] == [("p1", "first line"), ("sub/p2", "zweite Zeile")]
    assert lines.problems == [f"{tmp_path / 'p3.gt.txt'}: image {tmp_path / 'p3.png'} not found, skipped"]


def test_iam_lines_txt(tmp_path):
    write_image(tmp_path / "lines" / "a01" / "a01-000u" / "a01-000u-00.png")
    write_image(tmp_path / "lines" / "a01" / "a01-000u" / "a01-000u-01.png")
    (tmp_path / "ascii").mkdir()
    (tmp_path / "ascii" / "lines.txt").write_text(
        "#--- IAM lines ---\n"
        "a01-000u-00 ok 154 19 408 746 1661 89 A|MOVE|to|stop|Mr.|Gaitskell\n"
        "a01-000u-01 err 156 19 395 932 1850 105 nominating|any|more\n"
        "a01-000u-02 ok 157 16 408 1106 1986 105 missing|image\n"
        "garbage\n"
    )
    lines = read_lines(tmp_path / "ascii" / "lines.txt")
    assert [(line.id, line.text) for line in lines.lines] == [
        ("a01-000u-00", "A MOVE to stop Mr. Gaitskell"),
        ("a01-000u-01", "nominating any more"),
    ]
    assert len(lines.problems) == 2 and "lines.txt:5: malformed IAM line" in lines.problems[1]


def test_missing_and_unknown_sources(tmp_path):
    with pytest.raises(DatasetError, match="nope.tsv: no such file"):
        read_lines(tmp_path / "nope.tsv")
    (tmp_path / "data.json").write_text("{}")
    with pytest.raises(DatasetError, match="data.json: unknown data format"):
        read_lines(tmp_path / "data.json")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="no x.gt.txt transcriptions"):
        read_lines(tmp_path / "empty")


@needs_hooker
def test_reads_the_shared_hooker_manifest():
    lines = read_lines(HOOKER_MANIFEST)
    assert not lines.problems
    assert [len(lines.split(s).lines) for s in ("train", "valid", "test")] == [2939, 548, 597]
