"""Config dataclasses read from JSON or TOML: their types checked, their lists made tuples."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from hwr.errors import ConfigError
from hwr.settings import checked_fields


@dataclass(frozen=True)
class Example:
    sizes: tuple[int, ...] = ()
    pools: tuple[tuple[int, int], ...] = ()
    rates: tuple[float, ...] | None = None
    paths: str | tuple[str, ...] = ""
    history: list = None  # type: ignore[assignment]


def test_lists_become_the_tuples_their_fields_declare_at_every_depth():
    fields = checked_fields(
        Example,
        {"sizes": [1, 2], "pools": [[2, 2], [3, 1]], "rates": [0.5], "paths": ["a", "b"], "history": [{"x": 1}]},
        "example",
    )
    assert Example(**fields) == Example((1, 2), ((2, 2), (3, 1)), (0.5,), ("a", "b"), [{"x": 1}])
    assert type(fields["history"]) is list  # a field that declares a list keeps it
    assert checked_fields(Example, {"rates": None, "paths": "a"}, "example") == {"rates": None, "paths": "a"}


@pytest.mark.parametrize(
    "data, message",
    [
        ({"size": [1]}, "unknown example settings: size"),
        ({"sizes": [1, "2"]}, r"example setting sizes must be a list of \(an integer\), got \[1, '2'\]"),
        ({"pools": [[2, 2, 2]]}, "example setting pools must be a list of"),
    ],
)
def test_a_wrong_setting_is_one_clear_error(data, message):
    with pytest.raises(ConfigError, match=message):
        checked_fields(Example, data, "example")
