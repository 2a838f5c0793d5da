"""The scan script's output parser and the error → status mapping (pure functions)."""

from __future__ import annotations

import uuid

from windflow_desktop.domain.enums import TargetStatus
from windflow_desktop.domain.errors import TargetUnreachableError
from windflow_desktop.engine.errors import (
    ConnectionDroppedError,
    DockerUnavailableError,
    HostKeyChangedError,
    TargetAuthError,
    TlsError,
    status_for,
)
from windflow_desktop.engine.scanner import parse_scan

OUTPUT = """@@uname
Linux
6.1.0-18-amd64
aarch64
@@os
PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
ID=debian
VERSION_ID="12"
@@cpus
4
@@mem
MemTotal:        8000000 kB
MemAvailable:    6000000 kB
@@disk
/dev/sda1 100000000 40000000 60000000 40% /
@@docker_host
unix:///run/user/1000/docker.sock
@@docker
{"Client":{"Version":"24.0.7"},"Server":{"Version":"24.0.7","ApiVersion":"1.43","Os":"linux"}}
@rc=0
@@compose2
docker: 'compose' is not a docker command.
See 'docker --help'
@rc=1
@@compose1
sh: 1: docker-compose: not found
@rc=127
@@podman
podman version 4.3.1
@rc=0
"""


def test_parse_scan_reads_every_capability() -> None:
    result = parse_scan(uuid.uuid4(), OUTPUT)
    caps = {c.kind: c for c in result.capabilities}
    assert caps["os"].version == "Debian GNU/Linux 12 (bookworm)"
    assert caps["os"].details["kernel"] == "6.1.0-18-amd64"
    assert caps["arch"].version == "aarch64" and caps["cpus"].version == "4"
    assert caps["memory"].details == {"total_bytes": 8_192_000_000,
                                      "available_bytes": 6_144_000_000}
    assert caps["disk"].details["free_bytes"] == 60_000_000 * 1024
    assert caps["docker"].available and caps["docker"].version == "24.0.7"
    assert caps["docker"].details["api_version"] == "1.43"
    assert not caps["compose_v2"].available
    assert caps["compose_v2"].details["reason"] == "not installed"
    assert not caps["compose_v1"].available
    assert caps["podman"].available and caps["podman"].version == "4.3.1"
    assert result.docker_host == "unix:///run/user/1000/docker.sock"
    assert result.docker_version == "24.0.7"


def test_docker_client_without_engine_is_unavailable_with_reason() -> None:
    text = OUTPUT.replace(
        '{"Client":{"Version":"24.0.7"},"Server":{"Version":"24.0.7","ApiVersion":"1.43",'
        '"Os":"linux"}}\n@rc=0',
        '{"Client":{"Version":"24.0.7"},"Server":null}\n'
        "Cannot connect to the Docker daemon at unix:///x.sock. Is the docker daemon "
        "running?\n@rc=1",
    )
    docker = {c.kind: c for c in parse_scan(uuid.uuid4(), text).capabilities}["docker"]
    assert not docker.available
    assert docker.details["client_version"] == "24.0.7"
    assert "Cannot connect to the Docker daemon" in docker.details["reason"]


def test_status_for_errors() -> None:
    assert status_for(TargetUnreachableError("x")) is TargetStatus.OFFLINE
    assert status_for(ConnectionDroppedError("x")) is TargetStatus.OFFLINE
    assert status_for(TimeoutError()) is TargetStatus.OFFLINE
    for exc in (TargetAuthError("x"), HostKeyChangedError("x"), TlsError("x"),
                DockerUnavailableError("x")):
        assert status_for(exc) is TargetStatus.ERROR
