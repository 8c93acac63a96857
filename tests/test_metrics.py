"""CER/WER against hand-computed values."""

import pytest

from hwr.metrics import error_rates, line_errors, normalize


def test_cer_is_total_edits_over_total_reference_characters():
    # "kitten" -> "sitting": 3 edits of 6; "abc" -> "abc": 0 of 3  => 3 / 9, not the mean of 0.5 and 0
    counts = error_rates(["kitten", "abc"], ["sitting", "abc"])
    assert (counts.char_edits, counts.chars) == (3, 9)
    assert counts.cer == pytest.approx(3 / 9)


def test_wer_counts_word_edits():
    counts = line_errors("the cat sat on the mat", "the cat sit on mat")
    assert (counts.word_edits, counts.words) == (2, 6)  # one substitution, one deletion
    assert counts.wer == pytest.approx(2 / 6)


def test_normalisation_is_nfc_and_collapsed_whitespace_only():
    assert normalize("  Ever  affy\tyrs ") == "Ever affy yrs"
    assert normalize("e\u0301") == "\u00e9"
    assert line_errors("Dear Hemsley", "dear  Hemsley ").char_edits == 1  # case is kept


def test_empty_reference_and_mismatched_lengths():
    assert error_rates([""], [""]).cer == 0.0
    assert error_rates([""], ["x"]).cer == 1.0
    with pytest.raises(ValueError, match="2 references but 1 hypotheses"):
        error_rates(["a", "b"], ["a"])
