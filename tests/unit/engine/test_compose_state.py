"""Container uptime for the health settle window: Docker's StartedAt and the target's
clock (``date +%s.%N``, or whole seconds where ``%N`` is missing)."""

from __future__ import annotations

from windflow_desktop.engine.container_state import container_state, epoch_seconds, started_epoch


def test_started_at_parses_nanoseconds_and_offsets() -> None:
    utc = started_epoch("2024-05-01T12:26:08.555814465Z")
    assert utc is not None and abs(utc - 1714566368.555814465) < 1e-6
    assert started_epoch("2024-05-01T14:26:08.555814465+02:00") == utc
    assert started_epoch("2024-05-01T12:26:08Z") == 1714566368.0
    assert started_epoch("0001-01-01T00:00:00Z") is None  # never started
    assert started_epoch("yesterday") is None


def test_target_clock_never_overstates() -> None:
    assert epoch_seconds("1714566368.25\n") == 1714566368.25
    assert epoch_seconds("1714566368.%N") == 1714566368.0  # floored
    assert epoch_seconds("") is None


def test_uptime_from_the_same_command() -> None:
    raw = {"Name": "/p-web-1", "RestartCount": 1,
           "Config": {"Labels": {"com.docker.compose.service": "web"}},
           "State": {"Status": "running", "StartedAt": "2024-05-01T12:26:08.5Z"}}
    state = container_state(raw, 1714566368.75)
    assert state.service == "web" and state.restart_count == 1
    assert state.started_at == "2024-05-01T12:26:08.5Z"
    assert state.uptime_s is not None and abs(state.uptime_s - 0.25) < 1e-6
    assert container_state(raw, None).uptime_s is None
