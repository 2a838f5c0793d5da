"""The SSH key file must be a regular file of at most 64 KiB, opened without following a
symbolic link: a device, a FIFO, a link, a folder or a huge file is a clear validation
error before any connection is tried — never a read without end or a blocked loop."""

from __future__ import annotations

import contextlib
import os
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from windflow_desktop.domain.enums import TargetAuth
from windflow_desktop.domain.errors import ValidationError
from windflow_desktop.engine.ssh import KnownHosts, SshEndpoint, SshSettings, SshTarget

SETTINGS = SshSettings(connect_timeout_s=2.0, command_timeout_s=5, config_paths=[])


@pytest.fixture(scope="module")
def real_key(tmp_path_factory: pytest.TempPathFactory) -> Path:
    key = tmp_path_factory.mktemp("keys") / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)],
                   check=True)
    return key


@contextlib.contextmanager
def unblocked_after(fifo: Path, seconds: float = 3.0) -> Iterator[None]:
    """A safety valve for code that would block reading ``fifo``: after ``seconds``, a
    writer opens and closes it (the reader then sees its end). Not needed by the code
    under test; it only keeps a wrong implementation from hanging the whole run."""
    done = threading.Event()

    def valve() -> None:
        pause = seconds
        while not done.wait(pause):  # as often as a reader opens it again
            with contextlib.suppress(OSError):
                os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
            pause = 0.2

    thread = threading.Thread(target=valve, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


async def _connect_with(key_file: str, tmp_path: Path) -> None:
    # Port 9 on loopback: nothing listens; the key must be refused before that matters.
    target = SshTarget(SshEndpoint("127.0.0.1", 9, "nobody", TargetAuth.KEY,
                                   key_file=key_file),
                       KnownHosts(tmp_path / "known_hosts"), settings=SETTINGS)
    try:
        await target.run("true")
    finally:
        await target.close()


async def test_a_device_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="not a regular file") as info:
        await _connect_with("/dev/zero", tmp_path)
    assert info.value.field == "key_file"


async def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    fifo = tmp_path / "key.fifo"
    os.mkfifo(fifo)
    with unblocked_after(fifo), pytest.raises(ValidationError, match="not a regular file"):
        await _connect_with(str(fifo), tmp_path)


async def test_a_symbolic_link_is_refused(tmp_path: Path, real_key: Path) -> None:
    link = tmp_path / "id_link"
    link.symlink_to(real_key)
    with pytest.raises(ValidationError, match="symbolic link"):
        await _connect_with(str(link), tmp_path)


@pytest.fixture
def big_key(tmp_path: Path, real_key: Path) -> Path:
    big = tmp_path / "big_key"
    big.write_bytes(real_key.read_bytes() + b"#" * (64 * 1024))
    return big


async def test_a_big_file_and_a_folder_are_refused(tmp_path: Path, big_key: Path) -> None:
    big = big_key
    with pytest.raises(ValidationError, match="larger than 64 KiB"):
        await _connect_with(str(big), tmp_path)
    with pytest.raises(ValidationError, match="not a regular file"):
        await _connect_with(str(tmp_path), tmp_path)
    with pytest.raises(ValidationError, match="does not exist"):
        await _connect_with(str(tmp_path / "nothing"), tmp_path)
