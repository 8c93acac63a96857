"""Synthetic handwriting: deterministic for a seed, texts disjoint across splits, readable manifest."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from cli.main import app
from hwr.data.readers import read_lines
from hwr.errors import ConfigError
from hwr.synth import TextSource, available_fonts, generate_dataset, render_line
from hwr.synth.render import missing_glyphs
from hwr.synth.text import CorpusSource


def test_text_source_is_seeded_and_covers_its_charset():
    a, b = TextSource(5).unique_lines(300), TextSource(5).unique_lines(300)
    assert a == b and len(set(a)) == 300
    assert all(0 < len(line) <= 40 for line in a)
    assert set("".join(TextSource(0).unique_lines(3000))) == set(TextSource.charset) | {" "}


def test_fonts_cover_the_charset_and_render_dark_ink_on_light_paper():
    fonts = available_fonts()
    assert fonts and all(f.is_file() for f in fonts)
    assert missing_glyphs(fonts[0], TextSource.charset) == ""
    assert missing_glyphs(fonts[0], "\u4e00") == "\u4e00"
    image = render_line("Dear Hooker", fonts[0], np.random.default_rng(0))
    assert image.dtype == np.uint8 and image.shape[1] > 2 * image.shape[0]
    assert np.median(image) > 150 and image.min() < 100


def test_dataset_is_deterministic_and_splits_share_no_text(tmp_path):
    manifest = generate_dataset(tmp_path / "a", 60, seed=3, valid_fraction=0.2, test_fraction=0.2)
    again = generate_dataset(tmp_path / "b", 60, seed=3, valid_fraction=0.2, test_fraction=0.2)
    assert manifest.read_text() == again.read_text()
    for name in ("000000.png", "000059.png"):
        assert (tmp_path / "a/images" / name).read_bytes() == (tmp_path / "b/images" / name).read_bytes()
    lines = read_lines(manifest)
    assert not lines.problems and len(lines.lines) == 60
    texts = {s: {line.text for line in lines.split(s).lines} for s in ("train", "valid", "test")}
    assert [len(texts[s]) for s in ("train", "valid", "test")] == [36, 12, 12]
    assert not texts["train"] & texts["test"] and not texts["train"] & texts["valid"]


def test_a_broken_font_file_is_named(tmp_path):
    import pytest

    (tmp_path / "bad.ttf").write_bytes(b"not a font")
    with pytest.raises(ValueError, match=r"bad\.ttf: not a usable font file"):
        generate_dataset(tmp_path / "out", 2, fonts=[tmp_path / "bad.ttf"])


def test_a_corpus_gives_runs_of_its_own_words_in_their_order():
    corpus = ["Je soussigné André René Vaugon", "né à Marolles-les-Braults le dix huit", "lègue à ma femme"]
    texts = CorpusSource(corpus, seed=3).unique_lines(40)
    assert CorpusSource(corpus, seed=3).unique_lines(40) == texts and len(set(texts)) == 40
    for text in texts:
        assert any(f" {text} " in f" {line} " for line in corpus), text  # consecutive words of one line
    with pytest.raises(ConfigError, match="could not make 1000 distinct lines"):
        CorpusSource(corpus, seed=3).unique_lines(1000)  # the corpus has fewer runs than that


def test_synth_from_a_corpus_leaves_out_texts_no_font_draws(tmp_path):
    corpus = tmp_path / "wills.txt"
    corpus.write_text("Je lègue à ma femme tous mes biens\nfait à Versailles le dix mai\nſ ſ ſ\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["synth", str(tmp_path / "out"), "--lines", "30", "--text", str(corpus)])
    assert result.exit_code == 0, result.output
    assert "no font draws ſ: texts with them are left out" in result.output
    table = pd.read_csv(tmp_path / "out/lines.tsv", sep="\t", keep_default_na=False)
    assert len(table) == 30 and not any("ſ" in text for text in table["text"])
    assert {"è", "à"} & set("".join(table["text"]))  # French as written
