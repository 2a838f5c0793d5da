"""Markers a test gets from where it lives and what it uses, so that a run can leave out
what this machine cannot start: ``pytest -m "not docker and not sshd"``.

``gui``: every test under ``tests/gui/``. ``docker``, ``sshd``, ``postgres``, ``redis``:
every test that uses the fixture starting that service (``tests/env/``), directly or
through other fixtures (``item.fixturenames`` is the whole closure: a test of
``target_world`` needs ``docker_engine`` and ``sshd_server``). Tests that reach a service
through a parametrized fixture's ``getfixturevalue`` carry the marker on that parameter
instead (``tests/integration/conftest.py``'s ``DATABASES``).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pytest

BY_FIXTURE: dict[str, frozenset[str]] = {
    "docker": frozenset({"docker_engine"}),
    "sshd": frozenset({"sshd_server"}),
    "postgres": frozenset({"postgres_server", "postgres_url"}),
    "redis": frozenset({"redis_server", "redis_server_module", "redis_url"}),
}
BY_FOLDER: dict[str, str] = {"gui": "gui"}  # first folder under tests/ -> marker


def markers_for(path: Path, fixturenames: Iterable[str], tests_root: Path) -> list[str]:
    """The markers a test at ``path`` using ``fixturenames`` gets, sorted."""
    used = set(fixturenames)
    marks = {name for name, fixtures in BY_FIXTURE.items() if used & fixtures}
    try:
        folder = path.relative_to(tests_root).parts[0]
    except (ValueError, IndexError):
        folder = ""
    if folder in BY_FOLDER:
        marks.add(BY_FOLDER[folder])
    return sorted(marks)


def apply_markers(items: Iterable[pytest.Item], tests_root: Path) -> None:
    for item in items:
        fixturenames = getattr(item, "fixturenames", ())
        for name in markers_for(item.path, fixturenames, tests_root):
            if item.get_closest_marker(name) is None:
                item.add_marker(name)
