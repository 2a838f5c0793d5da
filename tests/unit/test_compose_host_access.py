"""Compose validation of what a stack may reach on its host: relative paths that leave the
project folder are errors; host paths, privileged mode, the host's PID and network
namespaces, devices and capabilities are named warnings (``report.host_access``)."""

from __future__ import annotations

import pytest

from windflow_desktop.engine.compose_validation import validate_compose

HEAD = "services:\n  web:\n    image: a\n"


@pytest.mark.parametrize("text", [
    HEAD + "    volumes: ['../../:/h']\n",
    HEAD + "    volumes: ['./a/../../x:/h:ro']\n",
    HEAD + "    volumes: [{type: bind, source: ../x, target: /h}]\n",
    HEAD + "    env_file: ../../.windflow/projects/other/.env\n",
    HEAD + "    env_file: [{path: ../x.env}]\n",
    HEAD + "secrets:\n  s: {file: ../../.ssh/id_ed25519}\n",
])
def test_relative_paths_that_leave_the_project_are_errors(text: str) -> None:
    report = validate_compose(text)
    assert not report.ok
    assert any("leaves the project folder" in i.message for i in report.errors), report.issues


@pytest.mark.parametrize(("text", "grant"), [
    (HEAD + "    volumes: ['/etc:/host-etc:ro']\n", "web: host path /etc"),
    (HEAD + "    volumes: ['~/.ssh:/keys']\n", "web: host path ~/.ssh"),
    (HEAD + "    volumes: [{type: bind, source: /var/run/docker.sock, target: /s}]\n",
     "web: host path /var/run/docker.sock"),
    (HEAD + "    env_file: /etc/environment\n", "web: host path /etc/environment"),
    (HEAD + "    privileged: true\n", "web: privileged"),
    (HEAD + "    pid: host\n", "web: pid: host"),
    (HEAD + "    network_mode: host\n", "web: network_mode: host"),
    (HEAD + "    devices: ['/dev/kvm:/dev/kvm']\n", "web: device /dev/kvm"),
    (HEAD + "    cap_add: [SYS_ADMIN, NET_ADMIN]\n", "web: cap_add SYS_ADMIN"),
])
def test_host_access_is_a_named_warning(text: str, grant: str) -> None:
    report = validate_compose(text)
    assert report.ok, report.issues
    assert grant in report.host_access
    assert any(grant.split(": ", 1)[1] in w.message and "host access" in w.message
               for w in report.warnings), report.warnings


def test_paths_inside_the_project_and_named_volumes_need_nothing() -> None:
    text = (HEAD + "    volumes: ['./conf:/conf:ro', 'data:/data', './conf/a/../b:/b']\n"
            "    env_file: [.env.extra]\n    privileged: false\nvolumes:\n  data: {}\n")
    report = validate_compose(text)
    assert report.ok and report.host_access == [], report.issues
