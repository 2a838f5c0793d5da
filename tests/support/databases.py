"""Helpers shared by the tests (a test imports no other test module nor a conftest),
cut out of ``tests/integration/conftest.py``."""

from __future__ import annotations

from pathlib import Path


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"
