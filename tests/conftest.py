"""Test-wide settings: offscreen Qt, no crash dialogs, fixtures for real services."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["WINDFLOW_CRASH_DIALOGS"] = "0"

# Fixture plugins for real services; each module starts its service on loopback.
pytest_plugins: list[str] = ["tests.env.postgres", "tests.env.redis", "tests.env.docker",
                             "tests.env.sshd", "tests.env.registry",
                             "tests.integration.target_support"]
