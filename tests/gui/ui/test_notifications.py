"""Notifications: events in → notifications out (one pop-up per batch), overall state,
per-kind mute kept in QSettings, the tray path and the no-tray path (toast + centre),
closing the window, the settings section, and light/dark."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication, QLabel, QMainWindow, QSystemTrayIcon

from tests.support.a11y import actionable_widgets
from windflow_desktop.domain.events import Event
from windflow_desktop.events import LocalBus
from windflow_desktop.stores.event_bridge import EventBridge
from windflow_desktop.stores.notifications import (
    Notification,
    NotificationKind,
    NotificationsStore,
    OverallState,
)
from windflow_desktop.ui.theme import DARK, LIGHT, ThemeController, theme_for
from windflow_desktop.ui.tray import TrayController
from windflow_desktop.ui.views.notifications import NotificationCentre, NotificationSettings

pytestmark = pytest.mark.gui

ORG = "6f1c7a52-0000-4000-8000-000000000001"


def ev(event_type: str, aggregate_id: str, org: str = ORG, **data: Any) -> Event:
    return Event(event_type, event_type.split(".")[0], aggregate_id, data,
                 organization_id=org)


def target_online(tid: str, name: str) -> Event:
    return ev("target.status_changed", tid, name=name, **{"from": "offline", "to": "online"})


def target_offline(tid: str, name: str, before: str = "online", to: str = "offline") -> Event:
    return ev("target.status_changed", tid, name=name, **{"from": before, "to": to})


@pytest.fixture
def settings(tmp_path: Path) -> QSettings:
    return QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def store(settings: QSettings) -> NotificationsStore:
    return NotificationsStore(settings, organization_id=ORG)


def collect(store: NotificationsStore) -> list[Notification]:
    seen: list[Notification] = []
    store.sig_notified.connect(seen.append)
    return seen


def test_deployments_and_targets_become_notifications(store: NotificationsStore) -> None:
    seen = collect(store)
    states: list[str] = []
    store.sig_state_changed.connect(states.append)
    store.apply_events([ev("target.created", "t1", name="web-01"),
                        ev("stack.created", "s1", name="shop-api")])
    store.apply_events([ev("deployment.created", "d1", stack_id="s1", target_id="t1",
                           status="pending")])
    assert store.state is OverallState.DEPLOYING and not seen
    store.apply_events([ev("deployment.stage_changed", "d1", status="running", stage="up"),
                        ev("deployment.log", "d1", line="Creating web ... done")])
    assert not seen and store.last_deployments[0].status == "running"
    store.apply_events([ev("deployment.finished", "d1", status="failed", error="exit 1",
                           stack_id="s1", target_id="t1")])
    assert [n.kind for n in seen] == [NotificationKind.DEPLOYMENT_FAILED]
    assert seen[0].title == "Deployment failed"
    assert seen[0].message == "shop-api on web-01 failed: exit 1"
    assert (seen[0].aggregate_type, seen[0].aggregate_id) == ("deployment", "d1")
    assert store.state is OverallState.FAILURE
    store.apply_events([ev("deployment.created", "d2", stack_id="s1", target_id="t1",
                           status="pending"),
                        ev("deployment.finished", "d2", status="rolled_back",
                           stack_id="s1", target_id="t1", error=None)])
    assert seen[-1].kind is NotificationKind.DEPLOYMENT_ROLLED_BACK
    store.apply_events([ev("deployment.finished", "d3", status="succeeded", stack_id="s1",
                           target_id="t1")])
    assert seen[-1].kind is NotificationKind.DEPLOYMENT_SUCCEEDED
    assert store.state is OverallState.OK  # the same stack on the same target is fine again
    assert [d.id for d in store.last_deployments] == ["d3", "d2", "d1"]

    store.apply_events([target_offline("t1", "web-01")])
    assert seen[-1].kind is NotificationKind.TARGET_OFFLINE
    assert seen[-1].title == "web-01 is offline"
    assert store.state is OverallState.TARGET_OFFLINE
    count = len(seen)
    store.apply_events([target_offline("t1", "web-01", before="offline", to="error")])
    assert len(seen) == count  # still down: nothing new
    store.apply_events([target_online("t1", "web-01")])
    assert seen[-1].kind is NotificationKind.TARGET_ONLINE
    assert store.state is OverallState.OK
    assert states == ["deploying", "failure", "ok", "target_offline", "ok"]
    assert [n.kind for n in store.recent][:2] == [NotificationKind.TARGET_ONLINE,
                                                   NotificationKind.TARGET_OFFLINE]
    assert store.unread_count == len(store.recent) == 5
    store.mark_all_read()
    assert store.unread_count == 0


def test_a_storm_is_one_popup_and_other_orgs_are_ignored(store: NotificationsStore) -> None:
    seen = collect(store)
    batch = [ev("deployment.finished", f"d{i}", status="failed", stack_id=f"s{i}",
                target_id="t") for i in range(40)]
    batch.append(ev("deployment.finished", "x", org="someone-else", status="failed"))
    store.apply_events(batch)
    assert len(seen) == 1 and seen[0].count == 40
    assert seen[0].title == "40 deployments failed" and seen[0].aggregate_id == ""
    assert len(store.recent) == 40 and store.recent[0].aggregate_id == "d39"
    store.acknowledge_failures()
    assert store.state is OverallState.OK


def test_mute_is_kept_and_respected(store: NotificationsStore, settings: QSettings) -> None:
    seen = collect(store)
    store.set_muted(NotificationKind.DEPLOYMENT_FAILED, True)
    store.apply_events([ev("deployment.finished", "d1", status="failed")])
    assert not seen and not store.recent
    assert store.state is OverallState.FAILURE  # muted, but still a failure
    store.apply_events([ev("deployment.finished", "d2", status="succeeded")])
    assert [n.kind for n in seen] == [NotificationKind.DEPLOYMENT_SUCCEEDED]
    settings.sync()
    again = NotificationsStore(QSettings(settings.fileName(), QSettings.Format.IniFormat))
    assert again.is_muted(NotificationKind.DEPLOYMENT_FAILED)
    assert not again.is_muted(NotificationKind.DEPLOYMENT_SUCCEEDED)


def test_settings_section_mutes(store: NotificationsStore, qtbot: Any) -> None:
    section = NotificationSettings(store, tray_available=False)
    qtbot.addWidget(section)
    box = section.checkboxes[NotificationKind.TARGET_ONLINE]
    assert box.isChecked()
    box.click()
    assert store.is_muted(NotificationKind.TARGET_ONLINE)
    store.set_muted(NotificationKind.TARGET_ONLINE, False)
    assert box.isChecked()
    assert "no system tray" in section.where_label.text()
    assert all(w.accessibleName() for w in actionable_widgets(section))


@pytest.fixture
def window(qtbot: Any) -> QMainWindow:
    w = QMainWindow()
    w.resize(900, 600)
    qtbot.addWidget(w)
    w.show()
    return w


def test_no_tray_goes_to_toast_and_centre(store: NotificationsStore, settings: QSettings,
                                          window: QMainWindow, qtbot: Any, arun: Any,
                                          qtmodeltester: Any) -> None:
    assert not QSystemTrayIcon.isSystemTrayAvailable()  # offscreen, as in TESTENV.md
    centre = NotificationCentre(store)
    qtbot.addWidget(centre)
    qtmodeltester.check(centre.model)
    tray = TrayController(window, store, centre, settings)
    assert not tray.tray_available and tray.toast is not None
    opened: list[tuple[str, str]] = []
    tray.sig_open_object.connect(lambda t, i: opened.append((t, i)))

    bus = LocalBus()
    arun(bus.start())
    bridge = EventBridge(bus)
    bridge.sig_events_received.connect(store.apply_events)
    arun(bus.publish(ev("target.created", "t9", name="db-01")))
    arun(bus.publish(target_offline("t9", "db-01")))
    qtbot.waitUntil(lambda: tray.toast is not None and tray.toast.isVisible(), timeout=3000)
    assert tray.toast.title.text() == "db-01 is offline"
    assert centre.model.rowCount() == 1 and "1 unread" in centre.heading.text()

    qtbot.mouseClick(tray.toast, Qt.MouseButton.LeftButton)
    assert opened == [("target", "t9")] and not tray.toast.isVisible()
    centre.list.activated.emit(centre.model.index(0, 0))
    assert opened[-1] == ("target", "t9")

    arun(bus.publish(ev("deployment.finished", "d5", status="succeeded")))
    qtbot.waitUntil(lambda: centre.model.rowCount() == 2, timeout=3000)
    assert centre.model.row(0).aggregate_id == "d5"
    assert [n.kind for n in tray.messages_shown] == [NotificationKind.TARGET_OFFLINE,
                                                     NotificationKind.DEPLOYMENT_SUCCEEDED]
    centre.mark_read_button.click()
    assert centre.heading.text() == "Notifications" and store.unread_count == 0

    quits: list[int] = []
    tray.sig_quit_requested.connect(lambda: quits.append(1))
    assert tray.handle_close_request() is False and quits == [1]
    assert all(w.accessibleName() for w in actionable_widgets(centre))
    tray.close()
    tray.close()  # idempotent
    bridge.close()
    arun(bus.close())


def test_tray_menu_state_and_close_to_tray(store: NotificationsStore, settings: QSettings,
                                           window: QMainWindow, qtbot: Any) -> None:
    centre = NotificationCentre(store)
    qtbot.addWidget(centre)
    tray = TrayController(window, store, centre, settings, tray_available=True)
    assert tray.tray is not None and tray.toast is None
    assert tray.tray.toolTip() == "WindFlow — All good"
    store.apply_events([ev("target.created", "t1", name="web-01"),
                        ev("stack.created", "s1", name="shop-api"),
                        ev("deployment.created", "d1", stack_id="s1", target_id="t1",
                           status="pending")])
    assert tray.tray.toolTip() == "WindFlow — Deployment in progress"
    assert tray.deployment_entries() == ["…  shop-api on web-01 — pending"]
    store.apply_events([ev("deployment.finished", "d1", status="failed",
                           stack_id="s1", target_id="t1")])
    assert tray.tray.toolTip() == "WindFlow — A deployment failed"
    assert tray.deployment_entries() == ["✗  shop-api on web-01 — failed"]
    assert [n.kind for n in tray.messages_shown] == [NotificationKind.DEPLOYMENT_FAILED]
    assert tray.menu is not None and tray.menu.accessibleName()
    texts = [a.text() for a in tray.menu.actions() if not a.isSeparator()]
    assert texts[0] in ("Hide WindFlow", "Show WindFlow") and texts[-1] == "Quit WindFlow"
    opened: list[tuple[str, str]] = []
    tray.sig_open_object.connect(lambda t, i: opened.append((t, i)))
    next(a for a in tray.menu.actions() if "shop-api" in a.text()).trigger()
    assert opened == [("deployment", "d1")]

    assert tray.handle_close_request() is True
    assert not window.isVisible()
    assert settings.value("tray/hint_shown", False, type=bool)
    tray.toggle_window()
    assert window.isVisible()
    quits: list[int] = []
    tray.sig_quit_requested.connect(lambda: quits.append(1))
    tray.quit_action.trigger()
    assert quits == [1]
    tray.close()


def test_theme_follows_the_scheme(qapp: QApplication, qtbot: Any) -> None:
    original = qapp.palette()
    theme = ThemeController(qapp)
    changes: list[str] = []
    theme.sig_theme_changed.connect(changes.append)
    try:
        theme.start()  # offscreen: the scheme is unknown → light
        assert theme_for(qapp.palette()) is LIGHT
        styled = QLabel("Heading")
        styled.setStyleSheet("font-weight: 600;")  # as other pages do
        qtbot.addWidget(styled)
        styled.show()
        theme.apply_scheme(Qt.ColorScheme.Dark)
        assert theme_for(qapp.palette()) is DARK and theme.theme.dark
        assert styled.palette().color(QPalette.ColorRole.WindowText).lightness() > 128
        theme.apply_scheme(Qt.ColorScheme.Light)
        assert changes[-2:] == ["dark", "light"]
    finally:
        theme.stop()
        qapp.setPalette(original)
