"""The alphabet: building, encoding, unknown characters, decoding."""

import pytest

from hwr.data.alphabet import Alphabet


def test_built_from_texts_in_code_point_order_with_blank_zero():
    alphabet = Alphabet.from_texts(["ba", "c a"])
    assert alphabet.characters == (" ", "a", "b", "c")
    assert alphabet.encode("cab") == [4, 2, 3]
    assert alphabet.decode([4, 0, 2, 3]) == "cab"


def test_unknown_characters_are_counted_and_named():
    alphabet = Alphabet.from_texts(["abc"])
    assert alphabet.unknown(["abx", "xy"]) == {"x": 2, "y": 1}
    with pytest.raises(ValueError, match="characters not in the alphabet: 'xy'"):
        alphabet.encode("axy")


def test_invalid_alphabets_are_refused():
    with pytest.raises(ValueError, match="unique"):
        Alphabet(["a", "a"])
    with pytest.raises(ValueError, match="single characters"):
        Alphabet(["ab"])
