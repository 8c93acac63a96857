"""The lexicon: which words of the texts it knows, and whether a labelling ends in one."""

from __future__ import annotations

from hwr.decoders.lexicon import Lexicon

SPACE = 9


def test_it_knows_every_word_between_separators_and_no_empty_one():
    lexicon = Lexicon([[1, 2, SPACE, 3], [SPACE, SPACE, 4, SPACE]], separator=SPACE)
    assert lexicon.words == {(1, 2), (3,), (4,)}


def test_a_labelling_ends_a_known_word_only_when_its_last_word_is_whole():
    lexicon = Lexicon([[1, 2, SPACE, 3]], separator=SPACE)
    assert lexicon.ends_known_word([1, 2])
    assert lexicon.ends_known_word([3, SPACE, 1, 2])
    assert not lexicon.ends_known_word([5, 1, 2])  # a known word's tail is not the word
    assert not lexicon.ends_known_word([1])
    assert not lexicon.ends_known_word([1, 2, SPACE])  # nothing after the separator yet
    assert not lexicon.ends_known_word([])


def test_without_a_separator_each_line_is_one_word():
    lexicon = Lexicon([[1, 2, 3]], separator=None)
    assert lexicon.words == {(1, 2, 3)}
    assert lexicon.ends_known_word([1, 2, 3]) and not lexicon.ends_known_word([2, 3])
