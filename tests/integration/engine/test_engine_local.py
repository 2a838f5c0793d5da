"""The local executor: output, exit code, env, stdin, timeout and cancellation stop the
whole process group."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import pytest

from windflow_desktop.engine.errors import CommandTimeoutError
from windflow_desktop.engine.executor import LocalExecutor


async def test_run_collects_streams_and_exit_code() -> None:
    lines: list[tuple[str, str]] = []
    result = await LocalExecutor().run(
        'echo "$A"; cat; echo err >&2; exit 4', env={"A": "x y"}, stdin=b"in\n",
        on_line=lambda s, line: lines.append((s, line)),
    )
    assert (result.exit_code, result.stdout, result.stderr) == (4, "x y\nin", "err")
    assert ("stdout", "x y") in lines and ("stderr", "err") in lines


async def test_timeout_and_cancel_kill_the_process_group(tmp_path: Path) -> None:
    pidfile = tmp_path / "child.pid"
    started = time.monotonic()
    with pytest.raises(CommandTimeoutError):
        await LocalExecutor().run(f"sleep 30 & echo $! > {pidfile}; wait", timeout=0.5)
    assert time.monotonic() - started < 10  # not the 30 s sleep
    child = int(pidfile.read_text())
    await asyncio.sleep(0.1)
    assert not _alive(child)

    task = asyncio.create_task(LocalExecutor().run(f"sleep 30 & echo $! > {pidfile}; wait"))
    await asyncio.sleep(0.3)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.sleep(0.1)
    assert not _alive(int(pidfile.read_text()))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead for our purpose.
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat.rsplit(")", 1)[1].split()[0] != "Z"
