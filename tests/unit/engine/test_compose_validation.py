"""Compose validation: YAML errors with line and column, structure, variables vs spec."""

from __future__ import annotations

import pytest

from windflow_desktop.domain.compose import ComposeValidationError
from windflow_desktop.domain.errors import ValidationError
from windflow_desktop.domain.variables import VariableSpec, parse_spec, resolve_values
from windflow_desktop.engine.compose_validation import (
    MAX_COMPOSE_BYTES,
    check_values,
    validate_compose,
)

GOOD = """\
services:
  web:
    image: localhost/busybox:${TAG:-latest}
    command: ["httpd", "-f", "-p", "8080"]
    ports: ["${WEB_PORT}:8080", "127.0.0.1:9001:9001/udp"]
    volumes: ["data:/data", "./conf:/conf:ro"]
    networks: [back]
    environment:
      GREETING: "${GREETING:?say hello}"
      LITERAL: "$$HOME"
  worker:
    image: localhost/busybox
    depends_on: [web]
volumes:
  data: {}
networks:
  back: {}
"""
SPEC = [VariableSpec("WEB_PORT", required=True), VariableSpec("GREETING"),
        VariableSpec("TAG", default="latest")]


def test_a_good_file_passes_and_reports_what_it_found() -> None:
    report = validate_compose(GOOD, SPEC)
    assert report.ok, report.issues
    assert report.services == ["web", "worker"]
    assert report.images == {"web": "localhost/busybox:${TAG:-latest}",
                             "worker": "localhost/busybox"}
    assert ("127.0.0.1", 9001, "udp") in report.published_ports
    uses = {u.name: u for u in report.variables}
    assert set(uses) == {"TAG", "WEB_PORT", "GREETING"}  # $$HOME is an escape
    assert uses["TAG"].default == "latest"
    assert uses["GREETING"].required_message == "say hello"
    assert uses["WEB_PORT"].line == 5


def test_malformed_yaml_has_line_and_column() -> None:
    report = validate_compose("services:\n  web:\n    image: [oops\n  db: x\n")
    assert not report.ok
    issue = report.errors[0]
    assert issue.line >= 3 and issue.column > 0
    assert "YAML syntax" in issue.message
    with pytest.raises(ComposeValidationError) as info:
        report.raise_for_errors()
    assert info.value.field == "compose_yaml" and "line" in info.value.message


@pytest.mark.parametrize(
    ("text", "needle", "line"),
    [
        ("version: '3'\n", "no 'services'", 1),
        ("services: []\n", "'services' must be a mapping", 1),
        ("services:\n  web:\n    command: x\n", "needs an 'image' or a 'build'", 2),
        ("services:\n  web:\n    image: a\n    ports: ['80:80:80:80']\n", "not a port", 4),
        ("services:\n  web:\n    image: a\n    ports: ['99999:80']\n", "out of range", 4),
        ("services:\n  web:\n    image: a\n    volumes: ['data:/d']\n", "not declared", 4),
        ("services:\n  web:\n    image: a\n    volumes: ['/x:rel']\n", "absolute path", 4),
        ("services:\n  web:\n    image: a\n    networks: [nope]\n", "unknown network", 4),
        ("services:\n  web:\n    image: a\n    depends_on: [db]\n", "unknown service", 4),
        ("services:\n  web:\n    image: a\n    image: b\n", "appears twice", 4),
        ("services:\n  web:\n    image: ${BAD-NAME\n", "invalid interpolation", 3),
        ("services:\n  web:\n    image: ${UNDECLARED}\n", "not declared in the variables", 3),
        ("services:\n  web:\n    image: ${NEED:?give it}\n", "give it", 3),
    ],
)
def test_structure_and_variable_errors(text: str, needle: str, line: int) -> None:
    report = validate_compose(text)
    messages = [str(i) for i in report.errors]
    assert any(needle in m for m in messages), messages
    assert any(i.line == line for i in report.errors), report.errors


def test_alias_bomb_and_size_limit_are_refused() -> None:
    bomb = "a: &a [x,x,x,x,x,x,x,x,x,x]\n"
    for i in range(1, 8):
        bomb += f"{chr(97 + i)}: &{chr(97 + i)} [" + ",".join([f"*{chr(96 + i)}"] * 10) + "]\n"
    report = validate_compose(bomb)
    assert not report.ok and "nodes" in report.errors[0].message
    huge = "services:\n  web:\n    image: a\n" + "# pad\n" * (MAX_COMPOSE_BYTES // 6 + 1)
    assert "larger than" in validate_compose(huge).errors[0].message


def test_unused_declared_variable_is_a_warning_only() -> None:
    report = validate_compose("services:\n  w:\n    image: a\n", [VariableSpec("X")])
    assert report.ok and "not used" in report.warnings[0].message


def test_values_are_checked_against_the_spec_and_the_file() -> None:
    report = validate_compose(GOOD, SPEC)
    problems = check_values(report, SPEC, {"GREETING": "hi"})
    assert [p.message for p in problems] == ["the variable WEB_PORT is required"]
    problems = check_values(report, SPEC, {"WEB_PORT": "8080"})
    assert problems[0].message == "GREETING: say hello" and problems[0].line == 9
    assert check_values(report, SPEC, {"WEB_PORT": "1", "GREETING": "x"}) == []


def test_spec_rules_and_resolution() -> None:
    with pytest.raises(ValidationError, match="cannot have a default"):
        parse_spec([{"name": "DB_PASSWORD", "secret": True, "default": "hunter2"}])
    with pytest.raises(ValidationError, match="twice"):
        parse_spec([{"name": "A"}, {"name": "A"}])
    with pytest.raises(ValidationError, match="not a valid name"):
        parse_spec([{"name": "1A"}])
    with pytest.raises(ValidationError, match="unknown generator"):
        parse_spec([{"name": "A", "generator": "dice"}])
    specs = parse_spec([
        {"name": "PORT", "default": 8080, "required": True},
        {"name": "PW", "secret": True, "generator": "password", "required": True},
        {"name": "OPT"},
    ])
    values = resolve_values(specs, {})
    assert values["PORT"] == "8080" and len(values["PW"]) == 24 and "OPT" not in values
    with pytest.raises(ValidationError) as info:
        resolve_values(parse_spec([{"name": "R", "required": True}]), {})
    assert info.value.field == "R"
    with pytest.raises(ValidationError, match="no variable named"):
        resolve_values(specs, {"NOPE": "1"})
