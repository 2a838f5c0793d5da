"""Test-wide settings: offscreen Qt, no crash dialogs, fixtures for real services, and
markers by folder and fixture (``tests/support/markers.py``)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support.markers import apply_markers

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["WINDFLOW_CRASH_DIALOGS"] = "0"


@pytest.hookimpl(tryfirst=True)  # before -m selects on them
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    apply_markers(items, Path(__file__).parent)


# Fixture plugins for real services; each module starts its service on loopback.
pytest_plugins: list[str] = ["tests.env.postgres", "tests.env.redis", "tests.env.docker",
                             "tests.env.sshd", "tests.env.registry",
                             "tests.support.target",
                             "tests.support.qt"]
