"""``ConnectionGate`` over ``ConnectionStore``: through a server whose event stream is not
live, the held buttons are disabled with a tooltip saying why, whatever their page asks
meanwhile; once live again each button is as its page last wanted it, with its own
tooltip. On this computer nothing is ever held."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtWidgets import QApplication, QPushButton

from windflow_desktop.events import BusState
from windflow_desktop.events.dispatch import Listeners
from windflow_desktop.stores.connection import ConnectionStore
from windflow_desktop.stores.event_bridge import EventBridge
from windflow_desktop.ui.widgets.connection_gate import ConnectionGate

pytestmark = pytest.mark.gui
URL = "https://windflow.example:8443"
SAID = (f"The server at {URL} cannot be reached (the connection to it was cut) — actions "
        "come back when it does")


class Bus(Listeners):
    """A bus whose state the test sets (``reason`` as the server's event stream has it)."""

    def __init__(self) -> None:
        super().__init__()
        self.state = BusState.RECONNECTING
        self.reason = "connecting"

    def set(self, state: BusState, reason: str) -> None:
        self.state, self.reason = state, reason
        self._state_callbacks.emit(state)


@pytest.fixture
def bus(qapp: QApplication) -> Iterator[Bus]:
    yield Bus()


def test_held_buttons_wait_for_the_server_and_come_back_as_their_page_wants(
    bus: Bus
) -> None:
    bridge = EventBridge(bus)  # type: ignore[arg-type]
    connection = ConnectionStore(bridge, server=URL, reason=lambda: bus.reason)
    assert connection.online  # not live yet, but it just answered the sign-in
    bus.set(BusState.RECONNECTING, "it refuses connections: is it running?")
    assert not connection.online
    assert connection.reason == "it refuses connections: is it running?"
    bus.set(BusState.CONNECTED, "live")
    assert connection.online and connection.offline_message == ""

    deploy, delete, stay_off = QPushButton("Deploy"), QPushButton("Delete"), QPushButton("X")
    deploy.setToolTip("Deploy this stack")
    stay_off.setEnabled(False)
    gate = ConnectionGate(connection)
    gate.hold(deploy, delete, stay_off)
    assert deploy.isEnabled() and deploy.toolTip() == "Deploy this stack"

    bus.set(BusState.RECONNECTING, "the connection to it was cut")
    assert not connection.online
    assert connection.offline_message == SAID
    for button in (deploy, delete, stay_off):
        assert not button.isEnabled()
        assert button.toolTip() == SAID
    # The page's own rules keep running meanwhile: noted, not shown.
    stay_off.setEnabled(True)
    delete.setEnabled(False)
    deploy.setToolTip("Deploy Web")
    assert not stay_off.isEnabled() and stay_off.toolTip() == SAID
    assert deploy.toolTip() == SAID

    bus.set(BusState.CONNECTED, "live")
    assert connection.online
    assert deploy.isEnabled() and deploy.toolTip() == "Deploy Web"
    assert stay_off.isEnabled() and not delete.isEnabled()
    assert delete.toolTip() == ""
    # Online, the gate stays out of the page's way.
    deploy.setEnabled(False)
    assert not deploy.isEnabled()
    deploy.setEnabled(True)
    assert deploy.isEnabled()
    bridge.close()


def test_a_button_held_while_offline_is_disabled_at_once(bus: Bus) -> None:
    bridge = EventBridge(bus)  # type: ignore[arg-type]
    connection = ConnectionStore(bridge, server=URL, reason=lambda: bus.reason)
    bus.set(BusState.RECONNECTING, "the connection to it was cut")
    button = QPushButton("New stack")
    ConnectionGate(connection).hold(button)
    assert not button.isEnabled() and button.toolTip() == SAID
    bus.set(BusState.CONNECTED, "live")
    assert button.isEnabled() and button.toolTip() == ""
    bridge.close()


def test_this_computer_is_always_online(bus: Bus) -> None:
    bridge = EventBridge(bus)  # type: ignore[arg-type]
    connection = ConnectionStore(bridge)  # no server: the local workspace
    button = QPushButton("Deploy")
    ConnectionGate(connection).hold(button)
    for state in (BusState.RECONNECTING, BusState.STALLED, BusState.CLOSED):
        bus.set(state, "redis is away")
        assert connection.online and button.isEnabled() and button.toolTip() == ""
    bridge.close()
