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


@pytest.mark.parametrize(("text", "grant"), [
    # A named volume the local driver binds to a host folder is a bind mount in disguise.
    (HEAD + "    volumes: ['data:/data']\nvolumes:\n  data:\n    driver: local\n"
            "    driver_opts: {type: none, o: bind, device: /etc}\n",
     "volume data: host path /etc"),
    # Joining the engine's "host" network is network_mode: host by another name.
    (HEAD + "    networks: [outside]\nnetworks:\n  outside: {external: true, name: host}\n",
     "network outside: the host's network"),
    (HEAD + "    networks: [host]\nnetworks:\n  host: {external: true}\n",
     "network host: the host's network"),
    (HEAD + "    cgroup: host\n", "web: cgroup: host"),
    (HEAD + "    security_opt: ['seccomp:unconfined']\n", "web: security_opt seccomp:unconfined"),
    (HEAD + "    security_opt: ['apparmor=unconfined']\n",
     "web: security_opt apparmor=unconfined"),
    # A build context is read from the host and sent to the engine.
    ("services:\n  web:\n    build: /etc\n", "web: host path /etc"),
    ("services:\n  web:\n    build: {context: /root}\n", "web: host path /root"),
    # An included or extended file is a Compose file this check never sees.
    ("include: [/srv/other/compose.yaml]\n" + HEAD, "include: host path /srv/other/compose.yaml"),
    (HEAD + "  b:\n    image: a\n    extends: {file: /srv/base.yaml, service: x}\n",
     "b: host path /srv/base.yaml"),
])
def test_host_access_in_other_spellings_is_a_named_warning(text: str, grant: str) -> None:
    report = validate_compose(text)
    assert report.ok, report.issues
    assert grant in report.host_access, report.host_access


@pytest.mark.parametrize("text", [
    "services:\n  web:\n    build: ../..\n",
    "services:\n  web:\n    build: {context: ../x}\n",
    "include: [../other/compose.yaml]\n" + HEAD,
])
def test_build_and_include_paths_that_leave_the_project_are_errors(text: str) -> None:
    report = validate_compose(text)
    assert any("leaves the project folder" in i.message for i in report.errors), report.issues


def test_ordinary_networks_builds_and_options_need_nothing() -> None:
    text = ("services:\n  web:\n    build: {context: ./app}\n    networks: [front]\n"
            "    security_opt: ['no-new-privileges:true']\n    cgroup: private\n"
            "networks:\n  front: {}\n  shared: {external: true, name: proxy}\n"
            "volumes:\n  nfs:\n    driver_opts: {type: nfs, o: 'addr=10.0.0.1', "
            "device: ':/export'}\n")
    report = validate_compose(text)
    assert report.ok and report.host_access == [], (report.issues, report.host_access)
