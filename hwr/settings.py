"""Reading config dataclasses back from the JSON in model files, refusing settings they don't have."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from hwr.errors import ConfigError


def checked_fields(cls: type, data: dict[str, Any], what: str) -> dict[str, Any]:
    """A copy of ``data``; a ``ValueError`` names any key that is not a field of the dataclass ``cls``."""
    unknown = set(data) - {f.name for f in fields(cls)}
    if unknown:
        raise ConfigError(f"unknown {what} settings: {', '.join(sorted(unknown))}")
    return dict(data)
