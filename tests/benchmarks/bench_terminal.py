"""Container terminal figures (issue 19), on a local target of a dockerd started here.

- ``terminal_echo_p50_ms``: from a key press sent to the terminal widget of the real
  ``TerminalDialog`` (``TerminalStore`` → ``TerminalService`` → the Engine API's exec in
  a busybox ``sh``) to the end of the widget's paint that shows the echoed character
  (goal ≤ 30 ms). The median of 60 presses; also ``_p95_ms`` and ``_max_ms``.
- ``terminal_flood_max_stall_ms``: the longest gap between ticks of a 1 ms ``QTimer``
  while ``head -c 15000000 /dev/urandom | base64`` (20 MB of text) runs in that shell and
  its output is emulated and painted, until the line printed after it shows (goal
  ≤ 50 ms). Also the flood's duration and its throughput (``_mb_per_s``).

- ``terminal_echo_server_p50_ms`` (benchmark ``terminal_server``): the same presses with
  the dialog's store over ``RemoteTerminal`` — through a ``windflow serve`` on loopback
  (its own process) and its WebSocket relay to the same engine. Also ``_p95_ms``,
  ``_max_ms``.

Each runs in a child process (``python -m tests.benchmarks.bench_terminal [server]``);
the local one under the app's own GC policy, as the app is once its workspace is open.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from . import benchmark
from .stall import max_gap_ms, ticker

PRESSES = 60
FLOOD_BYTES = 15_000_000  # 20 MB once in base64


@benchmark("terminal")
def bench_terminal() -> dict[str, float]:
    return _child()


@benchmark("terminal_server")
def bench_terminal_server() -> dict[str, float]:
    return _child("server")


def _child(*args: str) -> dict[str, float]:
    env = dict(os.environ)
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    out = subprocess.run([sys.executable, "-m", "tests.benchmarks.bench_terminal", *args],
                         env=env, capture_output=True, text=True, timeout=900, check=False)
    sys.stderr.write(out.stderr[-4000:])
    lines = out.stdout.strip().splitlines()
    if not lines or not lines[-1].startswith("{"):
        raise RuntimeError(f"the terminal benchmark's child failed (exit {out.returncode})")
    print("\n".join(lines[:-1]), file=sys.stderr)
    results: dict[str, float] = json.loads(lines[-1])
    return results


async def _wait(condition: Any, timeout_s: float) -> None:
    deadline = time.perf_counter() + timeout_s
    while not condition():
        if time.perf_counter() > deadline:
            raise TimeoutError("the terminal did not show what was expected")
        await asyncio.sleep(0.002)


async def _echo_samples(dialog: Any) -> list[float]:
    """Key press → the echoed character painted, ``PRESSES`` times (sorted, in ms), in
    the open ``TerminalDialog`` at a shell prompt."""
    from PySide6.QtCore import QEvent, Qt
    from PySide6.QtGui import QKeyEvent
    from PySide6.QtWidgets import QApplication

    view = dialog.view
    expected: list[str] = []
    painted_at: list[float] = []

    def on_paint() -> None:
        if expected and painted_at == []:
            row = view.term.cursor.y
            if view._line_text(view.term.buffer[row]).rstrip().endswith(expected[0]):
                painted_at.append(time.perf_counter())

    view.sig_painted.connect(on_paint)

    def press(key: Qt.Key, text: str, mods: Qt.KeyboardModifier = Qt.KeyboardModifier
              .NoModifier) -> None:
        QApplication.sendEvent(view, QKeyEvent(QEvent.Type.KeyPress, key, mods, text))

    samples: list[float] = []
    letters = "abcdefghijklmnopqrstuvwxyz"
    typed = ""
    for n in range(PRESSES):
        if n and n % 12 == 0:  # a fresh prompt now and then: Ctrl+C
            expected.clear()
            press(Qt.Key.Key_C, "\x03", Qt.KeyboardModifier.ControlModifier)
            typed = ""
            await asyncio.sleep(0.15)
        ch = letters[n % len(letters)]
        typed += ch
        expected[:] = ["# " + typed]
        painted_at.clear()
        await asyncio.sleep(0.03)  # a person's pace, and the last paint out of the way
        started = time.perf_counter()
        press(Qt.Key(Qt.Key.Key_A + letters.index(ch)), ch)
        await _wait(lambda: bool(painted_at), 10)
        samples.append((painted_at[0] - started) * 1000)
    expected.clear()
    press(Qt.Key.Key_C, "\x03", Qt.KeyboardModifier.ControlModifier)
    await asyncio.sleep(0.2)
    samples.sort()
    return samples


async def _measure(home: Path) -> dict[str, float]:
    from PySide6.QtCore import QEvent
    from PySide6.QtWidgets import QApplication

    from tests.env.docker import BUSYBOX_IMAGE, start_docker
    from tests.support.auth import PASSWORD, build_services
    from windflow_desktop.domain.enums import TargetKind
    from windflow_desktop.domain.targets import TargetSpec
    from windflow_desktop.engine import ExecutorPool, KnownHosts
    from windflow_desktop.gc_policy import GcPolicy
    from windflow_desktop.repositories.sql.backend import SqlBackend
    from windflow_desktop.services.common import ServiceContext
    from windflow_desktop.services.targets import TargetService
    from windflow_desktop.services.terminal import TerminalService
    from windflow_desktop.stores.session import SessionStore
    from windflow_desktop.stores.terminal import TerminalStore
    from windflow_desktop.ui.dialogs.terminal import TerminalDialog

    engine = await asyncio.to_thread(start_docker)
    backend = SqlBackend(f"sqlite+aiosqlite:///{home / 'workspace.db'}")
    await backend.open()
    pool: ExecutorPool | None = None
    try:
        services = build_services(backend)
        session = SessionStore(services.auth)
        await session.setup(username="ada", email="ada@example.test", password=PASSWORD,
                            organization_name="Acme")
        principal = session.require_principal()
        ctx = ServiceContext(backend, services.bus, clock=services.clock)
        pool = ExecutorPool(KnownHosts(home / "known_hosts"), services.secrets.aget)
        target = await TargetService(ctx, services.secrets, pool).create_target(
            principal, TargetSpec(name="here", kind=TargetKind.LOCAL,
                                  docker_socket=engine.host))
        container = (await asyncio.to_thread(
            engine.cli, "run", "-d", "--network", "none", "--stop-signal", "SIGKILL",
            BUSYBOX_IMAGE, "sleep", "3600")).strip()
        store = TerminalStore(TerminalService(ctx, pool), session)
        dialog = TerminalDialog(store, target.id, container, "bench")
        dialog.resize(900, 600)
        dialog.show()
        view = dialog.view
        await _wait(lambda: dialog.terminal is not None and dialog.terminal.state == "open", 20)
        await _wait(lambda: any("# " in line for line in view.screen_lines()), 20)
        policy = GcPolicy()
        policy.start()
        policy.watch(store.sig_busy_changed)

        samples = await _echo_samples(dialog)

        # The flood.
        marker = "flood-2-end"
        command = (f"busybox head -c {FLOOD_BYTES} /dev/urandom | busybox base64; "
                   "echo flood-$((1+1))-end")
        fed = [0]
        terminal = dialog.terminal
        assert terminal is not None
        terminal.sig_output.connect(lambda data: fed.__setitem__(0, fed[0] + len(data)))
        done: list[float] = []

        def on_flood_paint() -> None:
            row = view.term.cursor.y - 1  # the marker, then the next prompt
            if not done and row >= 0 and view._line_text(
                    view.term.buffer[row]).rstrip() == marker:
                done.append(time.perf_counter())

        view.sig_painted.connect(on_flood_paint)
        timer, ticks = ticker()
        timer.start()
        await asyncio.sleep(0.05)
        gc.collect()
        started = time.perf_counter()
        terminal.write(command.encode() + b"\r")
        await _wait(lambda: bool(done), 600)
        finished = done[0]
        await asyncio.sleep(0.05)
        timer.stop()
        stall = max_gap_ms(ticks, started, finished)
        seconds = finished - started
        print(f"# echo: {len(samples)} presses, p50 {statistics.median(samples):.1f} ms, "
              f"max {samples[-1]:.1f} ms; flood: {fed[0] / 1e6:.1f} MB in {seconds:.1f} s, "
              f"longest stall {stall:.1f} ms", flush=True)
        policy.stop()
        dialog.close()
        await asyncio.sleep(0.2)
        await store.shutdown()
        await session.shutdown()
        QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        return {
            "terminal_echo_p50_ms": round(statistics.median(samples), 1),
            "terminal_echo_p95_ms": round(samples[int(len(samples) * 0.95) - 1], 1),
            "terminal_echo_max_ms": round(samples[-1], 1),
            "terminal_flood_max_stall_ms": round(stall, 1),
            "terminal_flood_s": round(seconds, 2),
            "terminal_flood_mb_per_s": round(fed[0] / 1e6 / seconds, 2),
        }
    finally:
        if pool is not None:
            await pool.close()
        await backend.close()
        await asyncio.to_thread(engine.stop)


async def _measure_server(home: Path) -> dict[str, float]:
    """``terminal_echo_server_p50_ms``: the same presses in a ``TerminalDialog`` whose
    store is over ``RemoteTerminal``: desktop → ``windflow serve`` on loopback (its own
    process) → the Engine API's exec, and back."""
    from PySide6.QtCore import QEvent
    from PySide6.QtWidgets import QApplication

    from tests.env.docker import BUSYBOX_IMAGE, start_docker
    from tests.support.server import PASSWORD, create_owner, running_server
    from windflow_desktop.remote.client import ServerSession
    from windflow_desktop.remote.services import RemoteServices
    from windflow_desktop.stores.session import SessionStore
    from windflow_desktop.stores.terminal import TerminalStore
    from windflow_desktop.ui.dialogs.terminal import TerminalDialog

    engine = await asyncio.to_thread(start_docker)
    serving = running_server(home)
    connection: ServerSession | None = None
    try:
        await asyncio.to_thread(create_owner, home)
        server = await asyncio.to_thread(serving.__enter__)
        connection = ServerSession(server.url)
        remote = RemoteServices.over(connection)
        session = SessionStore(remote.auth)
        await session.login("olga", PASSWORD)
        made = await connection.request("POST", "/targets", json={
            "name": "here", "kind": "local", "docker_socket": engine.host})
        container = (await asyncio.to_thread(
            engine.cli, "run", "-d", "--network", "none", "--stop-signal", "SIGKILL",
            BUSYBOX_IMAGE, "sleep", "3600")).strip()
        store = TerminalStore(remote.terminal, session)
        dialog = TerminalDialog(store, uuid.UUID(made["id"]), container, "bench")
        dialog.resize(900, 600)
        dialog.show()
        view = dialog.view
        await _wait(lambda: dialog.terminal is not None and dialog.terminal.state == "open", 30)
        await _wait(lambda: any("# " in line for line in view.screen_lines()), 20)
        samples = await _echo_samples(dialog)
        print(f"# echo through a server: {len(samples)} presses, p50 "
              f"{statistics.median(samples):.1f} ms, max {samples[-1]:.1f} ms", flush=True)
        dialog.close()
        await asyncio.sleep(0.2)
        await store.shutdown()
        await session.shutdown()
        QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        return {
            "terminal_echo_server_p50_ms": round(statistics.median(samples), 1),
            "terminal_echo_server_p95_ms": round(samples[int(len(samples) * 0.95) - 1], 1),
            "terminal_echo_server_max_ms": round(samples[-1], 1),
        }
    finally:
        if connection is not None:
            await connection.close()
        await asyncio.to_thread(serving.__exit__, None, None, None)
        await asyncio.to_thread(engine.stop)


def main() -> None:
    import qasync
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    app.setQuitOnLastWindowClosed(False)  # as the app: closing the terminal is not quitting
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    try:
        with loop, tempfile.TemporaryDirectory() as home:
            measure = _measure_server if sys.argv[1:] == ["server"] else _measure
            results = loop.run_until_complete(measure(Path(home)))
    finally:
        asyncio.set_event_loop(None)
    print(json.dumps(results), flush=True)


if __name__ == "__main__":
    main()
