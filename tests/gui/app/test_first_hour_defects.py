"""The first hour's defects (issue #10, 1 to 8 and #9 item 22), each driven through the
widgets of the whole app on a real engine: see ``first_hour_support``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from tests.env.docker import DockerEngine
from tests.env.keyring_backend import MemoryKeyring
from tests.env.services import free_port
from tests.support.first_hour import BROKEN, VARIABLES, WEB, answering_boxes, running_app
from windflow_desktop.domain.enums import DeploymentStatus

pytestmark = [pytest.mark.gui,
              # tests/env/docker.py leaves dockerd's log file object to the process.
              pytest.mark.filterwarnings("ignore::ResourceWarning"),
              pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")]
# "Update images" is a redeploy that pulls: offered wherever Redeploy is.
REDEPLOYS = {"redeploy", "update"}


def running(engine: DockerEngine, project: str) -> list[str]:
    return engine.cli("ps", "-q", "--filter",
                      f"label=com.docker.compose.project={project}").split()


def test_after_a_rollback_what_runs_can_be_stopped_and_old_rows_say_so(
        qtbot: QtBot, qloop: Any, tmp_path: Path, docker_engine: DockerEngine,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """#10 items 2 and 5: deploy revision 1 twice, then a broken revision 2 that is
    rolled back. The deployment that runs again can be stopped from its row; the
    rolled-back one and the older one offer only what can work; after Remove the
    older row says "removed" and offers only Redeploy."""
    with running_app(qtbot, qloop, tmp_path, docker_engine, monkeypatch) as desk:
        target = desk.add_local_target(docker_engine)
        stack = desk.create_stack()
        port = str(free_port())
        values = {"WEB_PORT": port, "GREETING": "hello"}

        dialog = desk.open_deploy_dialog(stack)
        desk.check_target(dialog, target)
        older = desk.deploy(dialog, **values)
        desk.wait_status(older.id, DeploymentStatus.SUCCEEDED)
        dialog = desk.open_deploy_dialog(stack)
        desk.check_target(dialog, target)
        good = desk.deploy(dialog, **values)
        desk.wait_status(good.id, DeploymentStatus.SUCCEEDED)

        desk.save_revision(BROKEN, "broken")
        dialog = desk.open_deploy_dialog(stack)
        desk.check_target(dialog, target)
        broken = desk.deploy(dialog, **values)
        desk.wait_status(broken.id, DeploymentStatus.ROLLED_BACK)
        assert running(docker_engine, good.project_name)  # revision 1 serves again

        # the rolled-back attempt: nothing to stop through it
        desk.select(broken.id)
        qtbot.waitUntil(lambda: desk.enabled_buttons() == REDEPLOYS, timeout=5000)
        # the older good one is superseded: it can be rolled back to, not stopped
        desk.select(older.id)
        qtbot.waitUntil(lambda: desk.enabled_buttons() == REDEPLOYS | {"rollback"},
                        timeout=5000)
        assert desk.status_shown(older.id) == "superseded"
        # the one that runs: Stop is there, and it works
        desk.select(good.id)
        qtbot.waitUntil(lambda: desk.enabled_buttons() == REDEPLOYS | {"stop", "remove"},
                        timeout=5000)
        assert desk.status_shown(good.id) == "succeeded"
        page = desk.deployments_page
        click = desk.qtbot.mouseClick
        click(page.buttons["stop"], Qt.MouseButton.LeftButton)
        desk.wait_status(good.id, DeploymentStatus.STOPPED)
        assert not page.message.isVisible(), page.message.text()
        assert running(docker_engine, good.project_name) == []
        qtbot.waitUntil(lambda: desk.enabled_buttons() == REDEPLOYS | {"start", "remove"},
                        timeout=5000)

        # Remove: the older row no longer describes anything that exists
        with answering_boxes(qtbot):
            click(page.buttons["remove"], Qt.MouseButton.LeftButton)
            desk.wait_status(good.id, DeploymentStatus.REMOVED)
        qtbot.waitUntil(lambda: desk.status_shown(older.id) == "removed", timeout=5000)
        desk.select(older.id)
        qtbot.waitUntil(lambda: desk.enabled_buttons() == REDEPLOYS, timeout=5000)
        assert not page.message.isVisible(), page.message.text()


def test_notifications_name_the_stack_and_the_target(
        qtbot: QtBot, qloop: Any, tmp_path: Path, docker_engine: DockerEngine,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """#10 item 7: the toast and the notification centre say "Hello web on build box",
    also the next day: the app started again never saw the stack or the target made."""
    keyring = MemoryKeyring()
    with running_app(qtbot, qloop, tmp_path, docker_engine, monkeypatch, keyring) as desk:
        target = desk.add_local_target(docker_engine)
        stack = desk.create_stack()
    with running_app(qtbot, qloop, tmp_path, docker_engine, monkeypatch, keyring) as desk:
        qtbot.waitUntil(lambda: desk.stacks_page.store.rows != [], timeout=30_000)
        dialog = desk.open_deploy_dialog(stack)
        desk.check_target(dialog, target)
        dep = desk.deploy(dialog, WEB_PORT=str(free_port()), GREETING="hi")
        desk.wait_status(dep.id, DeploymentStatus.SUCCEEDED)
        toast = desk.app.shell.tray.toast
        assert toast is not None
        qtbot.waitUntil(lambda: "succeeded" in toast.title.text().lower(), timeout=30_000)
        assert "Hello web on build box" in toast.message.text().replace("\n", " ")
        model = desk.app.shell.tray.centre.list.model()
        texts = [str(model.index(r, 0).data()) for r in range(model.rowCount())]
        assert any("Hello web on build box" in t for t in texts), texts


def test_the_next_deploy_starts_from_the_values_that_run(
        qtbot: QtBot, qloop: Any, tmp_path: Path, docker_engine: DockerEngine,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """#10 item 6: the deploy dialog's variables start from the last deployment of the
    stack on the chosen target; a secret shows as kept (hidden) and is kept untouched."""
    with running_app(qtbot, qloop, tmp_path, docker_engine, monkeypatch) as desk:
        target = desk.add_local_target(docker_engine)
        stack = desk.create_stack()
        port = str(free_port())
        dialog = desk.open_deploy_dialog(stack)
        desk.check_target(dialog, target)
        first = desk.deploy(dialog, WEB_PORT=port, GREETING="hello", API_TOKEN="s3cret-token")
        desk.wait_status(first.id, DeploymentStatus.SUCCEEDED)

        dialog = desk.open_deploy_dialog(stack)
        assert dialog.fields["WEB_PORT"].text() == ""  # no target chosen yet
        desk.check_target(dialog, target)
        qtbot.waitUntil(lambda: dialog.fields["WEB_PORT"].text() == port, timeout=10_000)
        assert dialog.fields["GREETING"].text() == "hello"
        token = dialog.fields["API_TOKEN"]
        assert token.text() == "" and "kept" in token.placeholderText()
        second = desk.deploy(dialog)  # nothing typed
        desk.wait_status(second.id, DeploymentStatus.SUCCEEDED)
        [container] = running(docker_engine, second.project_name)
        env = docker_engine.cli("inspect", "-f", "{{range .Config.Env}}{{println .}}{{end}}",
                                container)
        assert "API_TOKEN=s3cret-token" in env.split() and "GREETING=hello" in env.split()


def test_the_deploy_dialog_lists_only_this_organizations_targets(
        qtbot: QtBot, qloop: Any, tmp_path: Path, docker_engine: DockerEngine,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """#9 item 22: after switching organization, the deploy dialog lists the new one's
    targets only (it kept the first organization's list, loaded once)."""
    with running_app(qtbot, qloop, tmp_path, docker_engine, monkeypatch) as desk:
        desk.add_local_target(docker_engine, "acme box")
        stack = desk.create_stack()
        dialog = desk.open_deploy_dialog(stack)
        qtbot.waitUntil(lambda: desk.listed_targets(dialog) == ["acme box"], timeout=10_000)
        dialog.reject()

        session = desk.app.session
        principal = session.principal
        beta = desk.done(qloop.create_task(
            desk.app.workspace.services.organizations.create(principal, "Beta")))
        desk.done(session.switch_org(beta.id))
        qtbot.waitUntil(lambda: desk.stacks_page.store.rows == [], timeout=10_000)
        desk.add_local_target(docker_engine, "beta box")
        beta_stack = desk.create_stack("Beta web")
        dialog = desk.open_deploy_dialog(beta_stack)
        qtbot.waitUntil(lambda: "beta box" in desk.listed_targets(dialog), timeout=10_000)
        assert desk.listed_targets(dialog) == ["beta box"]


def test_the_containers_page_follows_deployments(
        qtbot: QtBot, qloop: Any, tmp_path: Path, docker_engine: DockerEngine,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """#10 item 3: the Containers page, open on the target, shows the deployment's
    container once it is up, and shows it stopped after Stop, without Refresh."""
    with running_app(qtbot, qloop, tmp_path, docker_engine, monkeypatch) as desk:
        target = desk.add_local_target(docker_engine)
        stack = desk.create_stack()
        desk.window.show_page("containers")
        containers = desk.containers_page
        containers.select_target(target.id)
        qtbot.waitUntil(lambda: containers.store.target_id == target.id and
                        "refresh" not in containers.store._actions, timeout=10_000)
        dialog = desk.open_deploy_dialog(stack)
        desk.check_target(dialog, target)
        dep = desk.deploy(dialog, WEB_PORT=str(free_port()), GREETING="hi")
        desk.wait_status(dep.id, DeploymentStatus.SUCCEEDED)

        def shown(project: str) -> list[str]:
            """The states listed under the project's group on the page."""
            model = containers.model
            for row in range(model.rowCount()):
                head = model.item(row, 0)
                if head.text().startswith(project):
                    return [head.child(r, 2).text() for r in range(head.rowCount())]
            return []

        qtbot.waitUntil(lambda: shown(dep.project_name) == ["running"], timeout=10_000)

        desk.select(dep.id)
        qtbot.mouseClick(desk.deployments_page.buttons["stop"], Qt.MouseButton.LeftButton)
        desk.wait_status(dep.id, DeploymentStatus.STOPPED)
        qtbot.waitUntil(lambda: shown(dep.project_name) == ["exited"], timeout=10_000)


def test_an_error_goes_when_the_next_action_succeeds(
        qtbot: QtBot, qloop: Any, tmp_path: Path, docker_engine: DockerEngine,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """#10 item 8: Stop fails while the engine cannot be reached (its socket is gone); the
    error shows. The engine is back, Stop again succeeds: the error goes with it."""
    socket_path = docker_engine.host.removeprefix("unix://")
    link = tmp_path / "engine.sock"
    link.symlink_to(socket_path)
    with running_app(qtbot, qloop, tmp_path, docker_engine, monkeypatch) as desk:
        target = desk.add_local_target_at(f"unix://{link}")
        stack = desk.create_stack()
        dialog = desk.open_deploy_dialog(stack)
        desk.check_target(dialog, target)
        dep = desk.deploy(dialog, WEB_PORT=str(free_port()), GREETING="hi")
        desk.wait_status(dep.id, DeploymentStatus.SUCCEEDED)
        page = desk.deployments_page
        desk.select(dep.id)

        link.unlink()  # the engine goes away
        qtbot.mouseClick(page.buttons["stop"], Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: page.message.shown, timeout=30_000)
        qtbot.waitUntil(lambda: page.buttons["stop"].isEnabled(), timeout=30_000)
        assert desk.row(dep.id).status is DeploymentStatus.SUCCEEDED

        link.symlink_to(socket_path)  # and comes back
        qtbot.mouseClick(page.buttons["stop"], Qt.MouseButton.LeftButton)
        desk.wait_status(dep.id, DeploymentStatus.STOPPED)
        qtbot.waitUntil(lambda: not page.message.shown, timeout=10_000)


def test_unsaved_stack_edits_are_asked_about(
        qtbot: QtBot, qloop: Any, tmp_path: Path, docker_engine: DockerEngine,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """#10 item 4: edits in the stack editor are marked unsaved (title and list) and not
    thrown away without a question: another stack, New stack and Quit ask Save /
    Discard / Cancel in a box that does not block the app."""
    with running_app(qtbot, qloop, tmp_path, docker_engine, monkeypatch) as desk:
        first = desk.create_stack("Alpha")
        second = desk.create_stack("Beta")
        desk.window.show_page("stacks")
        page = desk.stacks_page

        def click_stack(stack_id: Any) -> None:
            position = page.model.position(stack_id)
            assert position is not None
            index = page.proxy.mapFromSource(page.model.index(position, 0))
            qtbot.mouseClick(page.table.viewport(), Qt.MouseButton.LeftButton,
                             pos=page.table.visualRect(index).center())

        def shown_stack() -> Any:
            return page.store.selected.id if page.store.selected is not None else None

        def list_name(stack_id: Any) -> str:
            position = page.model.position(stack_id)
            assert position is not None
            return str(page.model.index(position, 0).data())

        click_stack(first.id)
        qtbot.waitUntil(lambda: shown_stack() == first.id and
                        "Alpha" in page.title.text(), timeout=10_000)
        assert "unsaved" not in page.title.text() and list_name(first.id) == "Alpha"
        page.editor.moveCursor(page.editor.textCursor().MoveOperation.End)
        qtbot.keyClick(page.editor, Qt.Key.Key_Return)
        qtbot.keyClicks(page.editor, "# a comment of mine")
        edited = page.editor.toPlainText()
        assert "unsaved" in page.title.text() and list_name(first.id) != "Alpha"

        # another stack: asked; Cancel keeps the edits on screen
        click_stack(second.id)
        box = desk.question()
        box.button(box.StandardButton.Cancel).click()
        assert shown_stack() == first.id and page.editor.toPlainText() == edited
        # again: Save saves them as a new revision, then the other stack shows
        click_stack(second.id)
        box = desk.question()
        box.button(box.StandardButton.Save).click()
        qtbot.waitUntil(lambda: shown_stack() == second.id, timeout=10_000)
        assert "unsaved" not in page.title.text() and list_name(first.id) == "Alpha"
        saved = desk.done(qloop.create_task(
            desk.app.workspace.services.stacks.get_revision(desk.app.session.principal,
                                                            first.id)))
        assert saved.number == 2 and "# a comment of mine" in saved.compose_yaml

        # New stack: Discard throws the edits away
        qtbot.keyClick(page.editor, Qt.Key.Key_Return)
        qtbot.keyClicks(page.editor, "# x")
        qtbot.mouseClick(page.new_button, Qt.MouseButton.LeftButton)
        box = desk.question()
        box.button(box.StandardButton.Discard).click()
        qtbot.waitUntil(lambda: page.title.text() == "New stack", timeout=10_000)

        # another window saves a revision of the stack being edited: the edits stay
        click_stack(second.id)
        qtbot.waitUntil(lambda: "Beta" in page.title.text(), timeout=10_000)
        page.editor.moveCursor(page.editor.textCursor().MoveOperation.End)
        qtbot.keyClick(page.editor, Qt.Key.Key_Return)
        qtbot.keyClicks(page.editor, "# mine")
        edited = page.editor.toPlainText()
        desk.done(qloop.create_task(desk.app.workspace.services.stacks.save_revision(
            desk.app.session.principal, second.id, compose_yaml=WEB + "# theirs\n",
            variables=VARIABLES, message="elsewhere")))
        qtbot.waitUntil(lambda: "revision 2" in page.title.text(), timeout=10_000)
        assert page.editor.toPlainText() == edited and "unsaved" in page.title.text()
        assert "saved elsewhere" in page.message.text()

        # Quit from the tray menu: asked too; Cancel keeps the app running
        qtbot.keyClick(page.editor, Qt.Key.Key_Return)
        qtbot.keyClicks(page.editor, "# more")
        desk.app.shell.tray.sig_quit_requested.emit()
        box = desk.question()
        box.button(box.StandardButton.Cancel).click()
        assert not desk.app.quit_requested.is_set()
