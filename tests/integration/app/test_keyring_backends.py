"""Keyring backends that keep secrets in clear are refused: the workspace falls back to
memory-only secrets with the no-keyring notice, and nothing reaches the clear backend.

``keyrings.alt`` is not a dependency: ``PlaintextKeyring`` below mimics its file backend
(same module and class name, same priority, a file written in clear)."""

from __future__ import annotations

import os
from pathlib import Path

import keyring.backend
import keyring.core
import keyring.errors
import pytest

from tests.env.keyring_backend import MemoryKeyring
from windflow_desktop.config import load_settings
from windflow_desktop.security.secrets import SecretStore
from windflow_desktop.workspace import Workspace

CLEAR_FILE: dict[str, Path] = {}


class PlaintextKeyring(keyring.backend.KeyringBackend):
    """Like ``keyrings.alt.file.PlaintextKeyring``: every secret in a file, in clear."""

    priority = 0.5  # type: ignore[assignment]  # keyrings.alt's own value

    def _file(self) -> Path:
        return CLEAR_FILE["path"]

    def get_password(self, service: str, username: str) -> str | None:
        for line in self._file().read_text().splitlines() if self._file().exists() else []:
            key, _, value = line.partition("=")
            if key == f"{service}/{username}":
                return value
        return None

    def set_password(self, service: str, username: str, password: str) -> None:
        with self._file().open("a") as file:
            file.write(f"{service}/{username}={password}\n")

    def delete_password(self, service: str, username: str) -> None:
        raise keyring.errors.PasswordDeleteError(username)


PlaintextKeyring.__module__ = "keyrings.alt.file"


class HighPriorityPlaintext(PlaintextKeyring):
    """A clear-text file backend that claims a high priority: refused by its kind."""

    priority = 5  # type: ignore[assignment]


HighPriorityPlaintext.__name__ = HighPriorityPlaintext.__qualname__ = "PlaintextKeyring"


class LowPriorityKeyring(MemoryKeyring):
    """Any backend below keyring's own bar (priority < 1) that does not say it is
    memory-only: ``PYTHON_KEYRING_BACKEND`` can name one, keyring's discovery never would."""

    windflow_memory_only = False


@pytest.fixture(autouse=True)
def clear_file(tmp_path: Path) -> Path:
    CLEAR_FILE["path"] = tmp_path / "keyring_pass.cfg"
    return CLEAR_FILE["path"]


@pytest.mark.parametrize("backend", [PlaintextKeyring, HighPriorityPlaintext,
                                     LowPriorityKeyring])
def test_clear_or_low_priority_backends_are_refused(backend: type) -> None:
    store = SecretStore(backend())
    assert not store.available()


def test_memory_test_backend_and_real_keyrings_are_accepted() -> None:
    assert SecretStore(MemoryKeyring()).available()


def _use_env_backend(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", name)
    monkeypatch.setattr(keyring.core, "_keyring_backend", None)


@pytest.mark.parametrize("name", [f"{__name__}.PlaintextKeyring",
                                  f"{__name__}.LowPriorityKeyring"])
async def test_workspace_falls_back_to_memory_with_the_notice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clear_file: Path, name: str
) -> None:
    _use_env_backend(monkeypatch, name)
    home = tmp_path / "home"
    workspace = Workspace(load_settings({"WINDFLOW_HOME": str(home)}))
    await workspace.open()
    try:
        assert workspace.keyring_missing
        assert not workspace.secrets.persistent
        await workspace.services.auth.setup(
            username="alice", email="a@x.test", password="correct horse battery staple",
            organization_name="Acme")
        await workspace.secrets.aset("probe", "s3cret-value")
    finally:
        await workspace.close()
    assert not os.path.exists(clear_file)  # noqa: ASYNC240 (after the loop work)


async def test_env_chosen_memory_test_backend_is_still_accepted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _use_env_backend(monkeypatch, "tests.env.keyring_backend.MemoryKeyring")
    workspace = Workspace(load_settings({"WINDFLOW_HOME": str(tmp_path / "home")}))
    await workspace.open()
    try:
        assert not workspace.keyring_missing
        assert workspace.secrets.persistent
    finally:
        await workspace.close()
