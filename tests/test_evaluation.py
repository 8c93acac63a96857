"""Evaluation: totals match the per-line report; characters outside the alphabet are errors, and reported."""

from __future__ import annotations

import torch

from hwr.data.alphabet import Alphabet
from hwr.data.images import Preprocessing
from hwr.data.readers import LineSet, read_lines
from hwr.evaluation import evaluate
from hwr.model_file import Model
from hwr.network import MDLSTMNetwork
from hwr.network_config import NetworkConfig
from hwr.synth import generate_dataset


def blank_model(alphabet: Alphabet) -> Model:
    """A model that always outputs the blank: every reference character is one deletion."""
    network = MDLSTMNetwork(NetworkConfig(len(alphabet), hidden_sizes=(2,), subsample_sizes=(), subsample_blocks=()))
    with torch.no_grad():
        network.output.weight.zero_()
        network.output.bias.fill_(-10).index_fill_(0, torch.tensor([0]), 10)
    return Model(network, alphabet, Preprocessing(height=16))


def test_unknown_characters_count_as_errors_and_are_listed(tmp_path):
    lines = read_lines(generate_dataset(tmp_path, 6, seed=0))
    alphabet = Alphabet("abc")
    result = evaluate(blank_model(alphabet), lines)
    texts = [line.text for line in lines.lines]
    assert result.totals.chars == sum(len(" ".join(t.split())) for t in texts)
    assert result.totals.cer == 1.0 and result.totals.wer == 1.0
    assert result.unknown == alphabet.unknown(texts) and result.unknown["e"] > 0
    assert result.report["char_edits"].sum() == result.totals.char_edits
    assert list(result.report["hypothesis"]) == [""] * 6


def test_unreadable_images_are_skipped_and_reported(tmp_path):
    lines = read_lines(generate_dataset(tmp_path, 3, seed=0))
    lines.lines[1].image.write_bytes(b"")
    result = evaluate(blank_model(Alphabet("abc")), LineSet(lines.lines))
    assert len(result.report) == 2 and len(result.problems) == 1 and "empty file" in result.problems[0]
