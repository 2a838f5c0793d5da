"""StackService against hostile input on a real SQLite workspace: deep nesting, huge
integers and foreign YAML tags in a Compose file or in a stack export, too many
revisions, and export files too large (or not files at all). Each is a validation error
with a message (and a line where there is one); nothing is created."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.support.auth import Clock, RecordingBus, add_member, add_org
from windflow_desktop.domain.compose import ComposeValidationError
from windflow_desktop.domain.enums import Role
from windflow_desktop.domain.errors import ValidationError
from windflow_desktop.domain.identity import Principal
from windflow_desktop.repositories.sql.backend import SqlBackend
from windflow_desktop.services.common import ServiceContext
from windflow_desktop.services.stacks import (
    MAX_IMPORT_BYTES,
    MAX_IMPORT_REVISIONS,
    StackService,
    read_import_file,
)

GOOD = "services:\n  web:\n    image: localhost/busybox\n"


async def _setup(backend: SqlBackend) -> tuple[StackService, Principal]:
    svc = StackService(ServiceContext(backend, RecordingBus(), clock=Clock()))
    org = await add_org(backend, "Acme")
    return svc, await add_member(backend, org.id, "ada", Role.ADMIN)


def _export(*revisions: dict[str, object]) -> dict[str, object]:
    return {"format": "windflow.stack", "version": 1, "stack": {"name": "Imported"},
            "revisions": list(revisions)}


async def _nothing_created(svc: StackService, admin: Principal) -> None:
    assert list((await svc.list_stacks(admin)).items) == []


@pytest.mark.parametrize("compose", [
    "[" * 10_000,
    "[" * 5_000,
    GOOD + "    command: !!python/object/apply:os.system ['id']\n",
])
async def test_hostile_compose_files_are_validation_errors_on_save_and_import(
        sqlite_backend: SqlBackend, compose: str) -> None:
    svc, admin = await _setup(sqlite_backend)
    with pytest.raises(ComposeValidationError) as info:
        await svc.create_stack(admin, name="x", compose_yaml=compose)
    assert info.value.issues[0].line >= 1
    report = await svc.validate(compose)  # what the editor shows
    assert not report.ok and report.errors[0].line >= 1
    with pytest.raises(ComposeValidationError):
        await svc.import_stack(admin, json.dumps(_export(
            {"number": 1, "compose_yaml": compose})))
    await _nothing_created(svc, admin)


def _deep_through_aliases(levels: int) -> str:
    """Each anchor 30 deep holds an alias of the one before: every node is within the
    nesting cap where it is written, the expanded value is ``30 * levels`` deep."""
    chain = ["x-a0: &a0 " + "[" * 30 + "x" + "]" * 30]
    chain += [f"x-a{k}: &a{k} " + "[" * 30 + f"*a{k - 1}" + "]" * 30
              for k in range(1, levels)]
    return ("format: windflow.stack\nversion: 1\n" + "\n".join(chain)
            + f"\nstack: {{name: *a{levels - 1}}}\nrevisions:\n"
            "  - number: 1\n    compose_yaml: 'services: {w: {image: a}}'\n")


@pytest.mark.parametrize(("text", "needle"), [
    ("[" * 10_000, "nest"),
    (_deep_through_aliases(80), "nest"),  # 2,400 deep once expanded: str() would recurse
    ("format: windflow.stack\nversion: 1\nstack: {name: x}\nrevisions:\n"
     f"  - number: {'9' * 5000}\n    compose_yaml: 'services: {{w: {{image: a}}}}'\n",
     "line 5"),
    ("format: windflow.stack\nversion: 1\nstack: !!python/object/apply:os.system [id]\n"
     "revisions: []\n", "tag"),
    ("format: windflow.stack\nversion: 1\nstack: {name: x}\nrevisions:\n"
     "  - number: nine\n    compose_yaml: 'services: {w: {image: a}}'\n", "number"),
])
async def test_hostile_exports_are_validation_errors(
        sqlite_backend: SqlBackend, text: str, needle: str) -> None:
    svc, admin = await _setup(sqlite_backend)
    with pytest.raises(ValidationError) as info:
        await svc.import_stack(admin, text)
    assert info.value.field == "file" and needle in info.value.message
    await _nothing_created(svc, admin)


async def test_an_import_holds_at_most_a_thousand_revisions(
        sqlite_backend: SqlBackend) -> None:
    svc, admin = await _setup(sqlite_backend)
    # 80 KB of aliases would make 20,000 revisions.
    text = ("format: windflow.stack\nversion: 1\nstack: {name: x}\n"
            f"r: &r {{number: 1, compose_yaml: '{GOOD}'}}\n"
            f"revisions: [{', '.join(['*r'] * (MAX_IMPORT_REVISIONS + 1))}]\n")
    with pytest.raises(ValidationError, match=f"at most {MAX_IMPORT_REVISIONS} revisions"):
        await svc.import_stack(admin, text)
    await _nothing_created(svc, admin)


def test_an_import_file_is_checked_before_it_is_read(tmp_path: Path) -> None:
    big = tmp_path / "big.json"
    with big.open("wb") as out:  # sparse: its size says too big, no byte is read
        out.truncate(MAX_IMPORT_BYTES + 1)
    with pytest.raises(ValidationError, match="larger than"):
        read_import_file(str(big))
    with pytest.raises(ValidationError, match="not a regular file"):
        read_import_file("/dev/zero")
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(ValidationError, match="not a regular file"):
        read_import_file(str(fifo))  # refused without blocking on an open
    good = tmp_path / "ok.json"
    good.write_text(json.dumps(_export({"number": 1, "compose_yaml": GOOD})), "utf-8")
    assert "windflow.stack" in read_import_file(str(good))
