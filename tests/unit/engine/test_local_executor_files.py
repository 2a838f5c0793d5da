"""LocalExecutor's private copies of a target's TLS files: removed after every command,
whether it ends, fails or is cancelled — also while the copies are still being made."""

from __future__ import annotations

import asyncio
import os
import tempfile
import threading
from pathlib import Path

import pytest

from windflow_desktop.domain.errors import ValidationError
from windflow_desktop.engine import executor as executor_module
from windflow_desktop.engine.executor import LocalExecutor


@pytest.fixture
def temp_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A temporary folder of its own for ``tempfile`` (so leftovers can be counted)."""
    root = tmp_path / "tmp"
    root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(root))
    return root


def entries(folder: Path) -> list[str]:
    return sorted(os.listdir(folder))


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    key = tmp_path / "me.key"
    key.write_text("-----BEGIN PRIVATE KEY-----\nsecret\n-----END PRIVATE KEY-----\n")
    return key


async def test_copies_are_seen_by_the_command_and_removed_after(
        temp_root: Path, key_file: Path) -> None:
    ex = LocalExecutor("t", files={"key.pem": str(key_file)})
    done = await ex.run('cat "$DOCKER_CERT_PATH/key.pem"')
    assert done.ok and "secret" in done.stdout
    assert entries(temp_root) == []


async def test_cancelled_while_copying_leaves_no_copy_behind(
        temp_root: Path, key_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The copy runs in a worker thread, which a cancellation cannot stop: the copy it
    makes must still be removed (it holds a private key)."""
    entered, release = threading.Event(), threading.Event()
    real = executor_module.private_copies

    def held_copies(files: dict[str, str]) -> str:
        folder = real(files)  # the real copy, then held until the task is cancelled
        entered.set()
        release.wait(30)
        return folder

    monkeypatch.setattr(executor_module, "private_copies", held_copies)
    ex = LocalExecutor("t", files={"key.pem": str(key_file)})
    task = asyncio.create_task(ex.run("true"))
    assert await asyncio.to_thread(entered.wait, 30)
    assert len(entries(temp_root)) == 1  # the copy exists now
    task.cancel()  # reaches the task's awaited future at once, before the thread ends
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert entries(temp_root) == []


async def test_a_linked_certificate_is_copied_and_a_device_refused(
        temp_root: Path, key_file: Path, tmp_path: Path) -> None:
    """TLS files are often links (certbot's live/ folder): the copy reads through one, as
    the Docker API's TLS context does; a device or a FIFO is still refused."""
    link = tmp_path / "live-key.pem"
    link.symlink_to(key_file)
    done = await LocalExecutor("t", files={"key.pem": str(link)}).run(
        'cat "$DOCKER_CERT_PATH/key.pem"')
    assert done.ok and "secret" in done.stdout
    with pytest.raises(ValidationError, match="not a regular file"):
        await LocalExecutor("t", files={"ca.pem": "/dev/zero"}).run("true")
    assert entries(temp_root) == []
