"""A request's query parameters as the server's routes read them: a ``PageRequest`` as
``limit``/``cursor``/``search``, and nothing for a value left out (an empty parameter is
not the same as none)."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any

from ..domain.paging import PageRequest


def query(page: PageRequest | None = None, **values: Any) -> dict[str, Any]:
    """``page`` and ``values`` as query parameters; ``None`` values are left out, ids,
    enums and times written the way the server parses them."""
    out: dict[str, Any] = {}
    if page is not None:
        values = {"limit": page.limit, "cursor": page.after, "search": page.search, **values}
    for key, value in values.items():
        if value is None:
            continue
        if isinstance(value, Enum):
            value = value.value
        elif isinstance(value, datetime):
            value = value.isoformat()
        out[key] = value if isinstance(value, str | int | float) else str(value)
    return out
