"""The container terminal, end to end on the real engine and sshd: "Open terminal…" on
the Containers page opens a shell (local and SSH targets) whose output is read back from
the widget's pyte screen; typed keys (Ctrl+C too) reach it; a resize of the widget is
what ``stty size`` says; ``exit`` closes the window. A viewer has no such entry. The
same through a WindFlow server (the stores over ``RemoteServices``)."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QMenu
from shiboken6 import isValid

from tests.env.docker import BUSYBOX_IMAGE, DockerEngine
from tests.env.sshd import SshServer
from tests.support.auth import PASSWORD
from tests.support.qt import Workspace
from tests.support.server import bearer, create_owner, running_server
from tests.support.server import sign_in as api_sign_in
from tests.support.target import HostKeyAnswers, engine_settings
from windflow_desktop.domain.enums import Role, TargetAuth, TargetKind
from windflow_desktop.domain.models import Target
from windflow_desktop.domain.targets import TargetSpec
from windflow_desktop.engine import ExecutorPool, KnownHosts
from windflow_desktop.remote.client import ServerSession
from windflow_desktop.remote.services import RemoteServices
from windflow_desktop.services.common import ServiceContext
from windflow_desktop.services.containers import ContainerService
from windflow_desktop.services.targets import TargetService
from windflow_desktop.services.terminal import TerminalService
from windflow_desktop.stores.containers import ContainersStore
from windflow_desktop.stores.session import SessionStore
from windflow_desktop.stores.targets import TargetsStore
from windflow_desktop.stores.terminal import TerminalStore
from windflow_desktop.ui.dialogs.terminal import TerminalDialog
from windflow_desktop.ui.views.containers import ContainersPage
from windflow_desktop.ui.widgets.terminal import TerminalView

pytestmark = pytest.mark.gui
WAIT_MS = 15_000
ENTRY = "Open terminal…"


@dataclass
class Env:
    ws: Workspace
    targets: TargetsStore
    pool: ExecutorPool
    containers: ContainersStore
    terminal: TerminalStore
    local: Target
    ssh: Target
    container_id: str
    settings: QSettings


@pytest.fixture
def env(workspace: Workspace, tmp_path: Path, docker_engine: DockerEngine,
        sshd_server: SshServer) -> Iterator[Env]:
    ws, svc = workspace, workspace.services
    ws.run(ws.session.setup(username="alice", email="alice@example.test", password=PASSWORD,
                            organization_name="Acme"))
    ctx = ServiceContext(svc.backend, svc.bus, clock=svc.clock)
    pool = ExecutorPool(KnownHosts(tmp_path / "known_hosts"), svc.secrets.aget,
                        settings=engine_settings(), confirm_host_key=HostKeyAnswers())
    service = TargetService(ctx, svc.secrets, pool)
    targets = TargetsStore(service, ws.session)
    p = ws.session.require_principal()
    local = ws.run(service.create_target(p, TargetSpec(
        name="laptop", kind=TargetKind.LOCAL, docker_socket=docker_engine.host)))
    ssh = ws.run(service.create_target(p, TargetSpec(
        name="edge", kind=TargetKind.SSH, host=sshd_server.host, port=sshd_server.port,
        username=sshd_server.user, auth=TargetAuth.KEY, key_file=str(sshd_server.client_key))))
    ws.run(targets.load())
    containers = ContainersStore(ContainerService(ctx, pool, svc.secrets), ws.session)
    terminal = TerminalStore(TerminalService(ctx, pool), ws.session)
    container_id = docker_engine.cli("run", "-d", "--network", "none", "--stop-signal",
                                     "SIGKILL", "--name", "shell-box", BUSYBOX_IMAGE,
                                     "sleep", "600").strip()
    try:
        yield Env(ws, targets, pool, containers, terminal, local, ssh, container_id,
                  QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat))
    finally:
        docker_engine.cli("rm", "-f", container_id, check=False)
        for store in (terminal, containers, targets):
            ws.run(store.shutdown())
        ws.run(pool.close())


def _page(qtbot: Any, env: Env, target: Target) -> ContainersPage:
    page = ContainersPage(env.containers, env.targets, env.settings, terminal=env.terminal)
    qtbot.addWidget(page)
    page.resize(1100, 700)
    page.show()
    page.select_target(target.id)
    qtbot.waitUntil(lambda: any(c.id == env.container_id for c in env.containers.containers),
                    timeout=WAIT_MS)
    page._reselect(env.container_id)
    assert page.selected() is not None
    return page


def _entries(menu: QMenu) -> dict[str, bool]:
    return {a.text(): a.isEnabled() for a in menu.actions() if a.text()}


def _type(qtbot: Any, view: TerminalView, text: str) -> None:
    qtbot.keyClicks(view, text)
    qtbot.keyClick(view, Qt.Key.Key_Return)


def _wait_text(qtbot: Any, view: TerminalView, pattern: str) -> re.Match[str]:
    found: list[re.Match[str]] = []

    def seen() -> bool:
        match = re.search(pattern, "\n".join(view.screen_lines()))
        if match:
            found.append(match)
        return match is not None

    qtbot.waitUntil(seen, timeout=WAIT_MS)
    return found[0]


@pytest.mark.parametrize("kind", ["local", "ssh"])
def test_a_terminal_echoes_resizes_interrupts_and_exit_closes_it(
        qtbot: Any, env: Env, kind: str) -> None:
    page = _page(qtbot, env, env.local if kind == "local" else env.ssh)
    menu = page.build_context_menu()
    assert _entries(menu)[ENTRY] is True
    dialog = page.open_terminal()
    assert isinstance(dialog, TerminalDialog)
    view = dialog.view
    qtbot.waitUntil(lambda: dialog.terminal is not None and dialog.terminal.state == "open",
                    timeout=WAIT_MS)

    # The typed line differs from its output: only the shell's answer matches.
    _type(qtbot, view, "echo hel''lo-$((6*7))")
    _wait_text(qtbot, view, r"(?m)^hello-42\s*$")

    # Ctrl+C interrupts a running command.
    _type(qtbot, view, "sleep 30; echo not-interrupted")
    qtbot.wait(300)
    qtbot.keyClick(view, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    _type(qtbot, view, "echo back-$((1+1))")
    _wait_text(qtbot, view, r"(?m)^back-2\s*$")
    assert "not-interrupted" not in "\n".join(view.screen_lines()).replace(
        "echo not-interrupted", "")

    # A new widget size is the shell's size.
    w, h = view.size_for(57, 13)
    dialog.resize(dialog.width() - view.width() + w, dialog.height() - view.height() + h)
    qtbot.waitUntil(lambda: (view.cols, view.rows) == (57, 13), timeout=WAIT_MS)
    _type(qtbot, view, "clear; busybox stty size")
    _wait_text(qtbot, view, r"(?m)^13 57\s*$")

    _type(qtbot, view, "exit")
    qtbot.waitUntil(lambda: not isValid(dialog) or not dialog.isVisible(), timeout=WAIT_MS)
    assert env.terminal.terminals == {}
    audit = [e for e in env.ws.services.bus.events if e.event_type == "container.shell_opened"]
    assert [(e.aggregate_id, e.data["shell"]) for e in audit] == [(env.container_id, "sh")]


def test_a_shell_that_is_missing_keeps_the_window_with_the_reason(
        qtbot: Any, env: Env) -> None:
    page = _page(qtbot, env, env.local)
    dialog = page.open_terminal()
    assert dialog is not None
    dialog.shell_combo.setCurrentText("bash")  # busybox has none: the shell does not start
    qtbot.waitUntil(lambda: "did not start" in dialog.status.text(), timeout=WAIT_MS)
    assert dialog.isVisible()
    dialog.shell_combo.setCurrentText("sh")
    qtbot.waitUntil(lambda: dialog.terminal is not None and dialog.terminal.state == "open",
                    timeout=WAIT_MS)
    dialog.close()
    qtbot.waitUntil(lambda: env.terminal.terminals == {}, timeout=WAIT_MS)


def test_a_container_that_is_gone_says_so_in_the_window(qtbot: Any, env: Env) -> None:
    dialog = TerminalDialog(env.terminal, env.local.id, "0123456789ab", "gone")
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: "did not start" in dialog.status.text(), timeout=WAIT_MS)
    assert dialog.isVisible() and dialog.messages.shown
    assert "0123456789ab" in dialog.messages.text()
    assert env.terminal.terminals == {}
    assert "container.shell_opened" not in env.ws.services.bus.types()


def test_a_viewer_has_no_terminal_entry(qtbot: Any, env: Env) -> None:
    owner = env.ws.session.require_principal()
    env.ws.run(env.ws.services.users.create_user(
        owner, username="vic", email="vic@example.test", password=PASSWORD, role=Role.VIEWER))
    env.ws.run(env.ws.session.login("vic", PASSWORD))
    assert env.ws.session.require_principal().role is Role.VIEWER
    env.ws.run(env.targets.load())
    page = _page(qtbot, env, env.local)
    entries = _entries(page.build_context_menu())
    assert "Follow logs" in entries and ENTRY not in entries
    assert env.terminal.can_exec is False


def test_through_a_server_an_operator_gets_a_terminal(
        qtbot: Any, env: Env, docker_engine: DockerEngine, tmp_path: Path) -> None:
    """A desktop signed in to a WindFlow server (the stores over ``RemoteServices``): an
    operator is offered "Open terminal…" and gets a shell relayed by the server (echo,
    ``stty size`` after a resize, ``exit`` closes the window); a viewer is offered none."""
    home = tmp_path / "server"
    create_owner(home)
    with running_server(home) as server, server.client() as http:
        owner = bearer(api_sign_in(http, "olga")["access_token"])
        for name, role in (("otto", "operator"), ("vera", "viewer")):
            assert http.post("/api/v1/users", headers=owner, json={
                "username": name, "email": f"{name}@example.test", "password": PASSWORD,
                "role": role}).status_code == 201
        made = http.post("/api/v1/targets", headers=owner, json={
            "name": "engine", "kind": "local", "docker_socket": docker_engine.host})
        assert made.status_code == 201, made.text
        target_id = uuid.UUID(made.json()["id"])
        connections: list[ServerSession] = []
        stores: list[Any] = []

        def signed_in(user: str) -> tuple[RemoteServices, SessionStore]:
            connection = ServerSession(server.url)
            connections.append(connection)
            remote = RemoteServices.over(connection)
            session = SessionStore(remote.auth)
            stores.append(session)
            env.ws.run(session.login(user, PASSWORD))
            assert session.signed_in
            return remote, session

        try:
            remote, session = signed_in("otto")
            targets = TargetsStore(remote.targets, session)
            containers = ContainersStore(remote.containers, session)
            terminal = TerminalStore(remote.terminal, session)
            stores[:0] = [terminal, containers, targets]
            assert terminal.can_exec
            env.ws.run(targets.load())
            page = ContainersPage(containers, targets, env.settings, terminal=terminal)
            qtbot.addWidget(page)
            page.resize(1100, 700)
            page.show()
            page.select_target(target_id)
            qtbot.waitUntil(lambda: any(c.id == env.container_id
                                        for c in containers.containers), timeout=WAIT_MS)
            page._reselect(env.container_id)
            assert _entries(page.build_context_menu())[ENTRY] is True
            dialog = page.open_terminal()
            assert isinstance(dialog, TerminalDialog)
            view = dialog.view
            qtbot.waitUntil(lambda: dialog.terminal is not None
                            and dialog.terminal.state == "open", timeout=WAIT_MS)
            _type(qtbot, view, "echo through-the-ser''ver-$((6*7))")
            _wait_text(qtbot, view, r"(?m)^through-the-server-42\s*$")
            w, h = view.size_for(61, 17)
            dialog.resize(dialog.width() - view.width() + w,
                          dialog.height() - view.height() + h)
            qtbot.waitUntil(lambda: (view.cols, view.rows) == (61, 17), timeout=WAIT_MS)
            _type(qtbot, view, "busybox stty size; ls /")
            _wait_text(qtbot, view, r"(?m)^17 61\s*$")
            if shots := os.environ.get("WINDFLOW_SCREENSHOTS"):
                qtbot.wait(200)
                dialog.grab().save(str(Path(shots) / "terminal-through-server.png"))
            _type(qtbot, view, "exit")
            qtbot.waitUntil(lambda: not isValid(dialog) or not dialog.isVisible(),
                            timeout=WAIT_MS)
            assert terminal.terminals == {}

            _, viewer = signed_in("vera")
            assert TerminalStore(remote.terminal, viewer).can_exec is False
        finally:
            for store in stores:
                env.ws.run(store.shutdown())
            for connection in connections:
                env.ws.run(connection.close())


@pytest.mark.parametrize("kind", ["local", "ssh"])
def test_closing_the_window_ends_the_shell_and_what_it_runs(
        qtbot: Any, env: Env, docker_engine: DockerEngine, kind: str) -> None:
    """Neither the Engine API nor ``docker exec`` over SSH ends an exec whose client went
    away: the window's close must, or every closed terminal leaves a shell behind."""
    page = _page(qtbot, env, env.local if kind == "local" else env.ssh)
    dialog = page.open_terminal()
    assert dialog is not None
    qtbot.waitUntil(lambda: dialog.terminal is not None and dialog.terminal.state == "open",
                    timeout=WAIT_MS)
    _type(qtbot, dialog.view, "echo ready-$((2+3)); sleep 4321")
    _wait_text(qtbot, dialog.view, r"(?m)^ready-5\s*$")
    assert "wf-shell-pid" not in "\n".join(dialog.view.screen_lines())

    def processes() -> str:
        return str(docker_engine.cli("top", env.container_id))

    assert "sleep 4321" in processes()
    dialog.close()
    qtbot.waitUntil(lambda: env.terminal.terminals == {}, timeout=WAIT_MS)
    left: list[str] = []

    def ended() -> bool:
        left[:] = [line for line in processes().splitlines()[1:] if "sleep 600" not in line]
        return left == []

    try:
        qtbot.waitUntil(ended, timeout=WAIT_MS)
    except qtbot.TimeoutError as exc:
        raise AssertionError(f"still in the container: {left}") from exc
