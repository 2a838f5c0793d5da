"""Helpers shared by the tests (a test imports no other test module nor a conftest),
cut out of ``tests/unit/app/test_config.py``."""

from __future__ import annotations

from pathlib import Path


def unwritable_home(tmp_path: Path) -> Path:
    """A folder this process cannot create or write, even as root (its parent is a file)."""
    blocker = tmp_path / "blocker"
    blocker.write_text("a file, not a folder")
    return blocker / "home"
