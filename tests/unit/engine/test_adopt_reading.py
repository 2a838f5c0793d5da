"""The pure parts of adopting: the ``.env`` parser, the variables inferred from a text's
``${…}`` uses (secret-looking names kept out of the revision), the relative paths that
would break in WindFlow's own folder, a Compose text rebuilt from ``docker inspect``
output, and the refusal of several compose files."""

from __future__ import annotations

import asyncio

import pytest
import yaml

from windflow_desktop.domain.adopt import FilesUnreadableError, UnmanagedProject
from windflow_desktop.domain.variables import VariableSpec
from windflow_desktop.engine.adopt import (
    compose_from_containers,
    infer_variables,
    parse_env_file,
    read_project_files,
    relative_paths,
)
from windflow_desktop.engine.compose_validation import validate_compose
from windflow_desktop.engine.executor import LocalExecutor


def test_env_file_lines() -> None:
    text = ("# comment\nexport A=1\nB='two words'\nC=\"x#y\"\nD=plain # trailing\n"
            "bad line\n E = spaced \n")
    assert parse_env_file(text) == {"A": "1", "B": "two words", "C": "x#y", "D": "plain",
                                    "E": "spaced"}


def test_variables_from_the_text_and_the_env() -> None:
    text = ("services:\n  web:\n    image: \"busybox:${TAG:-1.36}\"\n    environment:\n"
            "      A: \"${GREETING}\"\n      B: \"${DB_PASSWORD:?set it}\"\n"
            "      C: \"$${NOT_A_VARIABLE}\"\n      D: \"${FROM_SHELL}\"\n")
    specs, values, notes = infer_variables(text, {"GREETING": "hi", "DB_PASSWORD": "pw",
                                                  "UNUSED": "x"})
    by_name = {s["name"]: s for s in specs}
    assert set(by_name) == {"TAG", "GREETING", "DB_PASSWORD", "FROM_SHELL"}
    assert by_name["TAG"]["default"] == "1.36" and by_name["GREETING"]["default"] == "hi"
    assert by_name["DB_PASSWORD"] == {"name": "DB_PASSWORD", "required": True, "secret": True}
    assert values == {"TAG": "1.36", "GREETING": "hi", "DB_PASSWORD": "pw"}
    assert any("FROM_SHELL has no value" in n for n in notes)
    assert any("DB_PASSWORD looks like a secret" in n for n in notes)


def test_relative_paths_are_found() -> None:
    text = """\
services:
  a:
    image: x
    build: ./app
    env_file: [conf/a.env, /etc/abs.env]
    volumes: ["./data:/data", "named:/n", "/abs:/abs", "~/home:/h",
              {type: bind, source: logs, target: /logs}]
configs:
  c: {file: ./c.conf}
"""
    found = relative_paths(text)
    assert found == ["a: volume: ./data", "a: volume: logs", "a: build: ./app",
                     "a: env_file: conf/a.env", "config c: ./c.conf"]
    assert relative_paths("services:\n  a:\n    image: x\n    volumes: [\"v:/v\"]\n") == []


def _container(service: str, number: int, **config: object) -> dict[str, object]:
    labels = {"com.docker.compose.project": "shop", "com.docker.compose.service": service,
              "com.docker.compose.container-number": str(number), "keep.me": "yes"}
    return {
        "Name": f"/shop-{service}-{number}", "Image": "sha256:img",
        "Config": {"Image": "localhost/busybox", "Cmd": ["sleep", "9"], "Labels": labels,
                   "Env": ["PATH=/bin", "GREETING=a $dollar", "API_TOKEN=t0k"],
                   "StopSignal": "SIGKILL", **config},
        "HostConfig": {"NetworkMode": "shop_default",
                       "PortBindings": {"80/tcp": [{"HostIp": "127.0.0.1",
                                                    "HostPort": "8080"}]},
                       "RestartPolicy": {"Name": "unless-stopped"}},
        "Mounts": [{"Type": "volume", "Name": "shop_data", "Destination": "/data",
                    "RW": True},
                   {"Type": "bind", "Source": "/srv/conf", "Destination": "/conf",
                    "RW": False}],
        "NetworkSettings": {"Networks": {"shop_default": {}, "shop_back": {}}},
    }


def test_a_compose_text_rebuilt_from_the_engine() -> None:
    image = {"sha256:img": {"Id": "sha256:img",
                            "Config": {"Cmd": ["sh"], "Env": ["PATH=/bin"]}}}
    view = compose_from_containers("shop", [_container("web", 2), _container("web", 1)],
                                   image)
    model = yaml.safe_load(view.compose_yaml)
    web = model["services"]["web"]
    assert web["image"] == "localhost/busybox" and web["command"] == ["sleep", "9"]
    assert web["environment"] == {"GREETING": "a $$dollar", "API_TOKEN": "${API_TOKEN}"}
    assert web["ports"] == ["127.0.0.1:8080:80"] and web["restart"] == "unless-stopped"
    assert web["volumes"] == ["data:/data", "/srv/conf:/conf:ro"]
    assert web["networks"] == ["default", "back"] and web["labels"] == {"keep.me": "yes"}
    assert web["deploy"] == {"replicas": 2} and web["stop_signal"] == "SIGKILL"
    assert model["volumes"] == {"data": {}} and model["networks"] == {"back": {}}
    assert view.secrets == {"API_TOKEN": "t0k"}
    assert "t0k" not in view.compose_yaml
    report = validate_compose(view.compose_yaml, [VariableSpec("API_TOKEN", secret=True)])
    assert not report.errors, report.errors
    assert report.host_access == ["web: host path /srv/conf"]


def test_several_compose_files_or_none_are_refused_from_the_files() -> None:
    with pytest.raises(FilesUnreadableError, match="started from 2 compose files"):
        asyncio.run(read_project_files(LocalExecutor(), "shop", "/srv",
                                       ("/srv/a.yaml", "/srv/b.yaml")))
    with pytest.raises(FilesUnreadableError, match="is gone"):
        asyncio.run(read_project_files(LocalExecutor(), "shop", "/nonexistent-wf",
                                       ("/nonexistent-wf/compose.yaml",)))


def test_a_windflow_named_project_is_told_apart() -> None:
    assert UnmanagedProject("wf-shop-0123abcd", "", (), ()).windflow_named
    assert not UnmanagedProject("shop", "", (), ()).windflow_named
