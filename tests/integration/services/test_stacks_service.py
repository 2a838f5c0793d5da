"""StackService on SQLite and PostgreSQL: immutable revisions, diff, restore, duplicate,
archive, export/import without secret values, permissions and organization scope."""

from __future__ import annotations

import json

import pytest
import yaml

from tests.support.auth import Clock, RecordingBus, add_member, add_org
from windflow_desktop.domain.compose import ComposeValidationError
from windflow_desktop.domain.enums import Role
from windflow_desktop.domain.errors import (
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from windflow_desktop.domain.identity import Principal
from windflow_desktop.repositories.sql.backend import SqlBackend
from windflow_desktop.services.common import ServiceContext
from windflow_desktop.services.stacks import StackService

V1 = """\
services:
  web:
    image: localhost/busybox
    command: ["httpd", "-f", "-p", "8080"]
    ports: ["${WEB_PORT}:8080"]
    environment:
      ADMIN_PASSWORD: ${ADMIN_PASSWORD}
"""
V2 = V1.replace('"8080"]', '"8081"]').replace(":8080", ":8081")
VARS = [{"name": "WEB_PORT", "default": "18080", "required": True},
        {"name": "ADMIN_PASSWORD", "secret": True, "generator": "password",
         "description": "admin password"}]


async def _setup(backend: SqlBackend) -> tuple[StackService, RecordingBus, Principal, Principal]:
    bus = RecordingBus()
    svc = StackService(ServiceContext(backend, bus, clock=Clock()))
    org = await add_org(backend, "Acme")
    admin = await add_member(backend, org.id, "ada", Role.ADMIN)
    viewer = await add_member(backend, org.id, "vic", Role.VIEWER)
    return svc, bus, admin, viewer


async def test_revisions_are_immutable_diffable_and_restorable(backend: SqlBackend) -> None:
    svc, bus, admin, viewer = await _setup(backend)
    stack, r1 = await svc.create_stack(admin, name="  Web  app ", compose_yaml=V1,
                                       variables=VARS, tags=["Web", "web", "prod"])
    assert (stack.name, stack.slug, stack.tags, r1.number) == ("Web app", "web-app",
                                                               ["web", "prod"], 1)
    r2 = await svc.save_revision(admin, stack.id, compose_yaml=V2, variables=VARS,
                                 message="port 8081", expected_revision=1)
    assert r2.number == 2 and r2.author_id == admin.user_id and r2.message == "port 8081"
    with pytest.raises(ConflictError, match="someone else"):
        await svc.save_revision(admin, stack.id, compose_yaml=V1, variables=VARS,
                                expected_revision=1)
    diff = await svc.diff(viewer, stack.id, 1, 2)
    assert '-    ports: ["${WEB_PORT}:8080"]' in diff.compose
    assert '+    ports: ["${WEB_PORT}:8081"]' in diff.compose and diff.variables == ""
    assert (await svc.diff(viewer, stack.id, 2, 2)).unchanged
    r3 = await svc.restore(admin, stack.id, 1)
    assert r3.number == 3 and r3.compose_yaml == V1 and "Restored revision 1" in r3.message
    first = await svc.get_revision(viewer, stack.id, 1)
    assert first.compose_yaml == V1 and first.message == "Created"  # never rewritten
    page = await svc.revisions(viewer, stack.id)
    assert [r.number for r in page.items] == [3, 2, 1]
    assert (await svc.get_stack(viewer, stack.id)).current_revision == 3
    assert bus.types() == ["stack.created", "stack.revised", "stack.revised"]


async def test_invalid_input_is_refused_with_a_place(backend: SqlBackend) -> None:
    svc, _, admin, _ = await _setup(backend)
    with pytest.raises(ComposeValidationError) as info:
        await svc.create_stack(admin, name="x", compose_yaml="services:\n  w: [\n")
    assert info.value.issues[0].line >= 2
    with pytest.raises(ComposeValidationError, match="UNDECLARED"):
        await svc.create_stack(admin, name="x",
                               compose_yaml="services:\n  w:\n    image: ${UNDECLARED}\n")
    with pytest.raises(ValidationError, match="cannot have a default"):
        await svc.create_stack(admin, name="x", compose_yaml=V1, variables=[
            {"name": "WEB_PORT"}, {"name": "ADMIN_PASSWORD", "secret": True,
                                   "default": "hunter2"}])
    with pytest.raises(ValidationError, match="needs a name"):
        await svc.create_stack(admin, name="  ", compose_yaml=V1, variables=VARS)
    assert (await svc.list_stacks(admin)).items == ()


async def test_duplicate_archive_and_scope(backend: SqlBackend) -> None:
    svc, bus, admin, viewer = await _setup(backend)
    stack, _ = await svc.create_stack(admin, name="Web", compose_yaml=V1, variables=VARS)
    await svc.save_revision(admin, stack.id, compose_yaml=V2, variables=VARS)
    copy = await svc.duplicate(admin, stack.id, "Web")
    assert copy.slug == "web-2" and copy.current_revision == 1
    assert (await svc.get_revision(admin, copy.id)).compose_yaml == V2
    await svc.archive(admin, stack.id)
    assert [s.name for s in (await svc.list_stacks(viewer)).items] == ["Web"]
    assert [s.id for s in (await svc.list_stacks(viewer, archived=True)).items] == [stack.id]
    with pytest.raises(ConflictError, match="archived"):
        await svc.save_revision(admin, stack.id, compose_yaml=V1, variables=VARS)
    await svc.unarchive(admin, stack.id)
    await svc.save_revision(admin, stack.id, compose_yaml=V1, variables=VARS)
    assert "stack.archived" in bus.types() and "stack.unarchived" in bus.types()
    with pytest.raises(PermissionDeniedError):
        await svc.save_revision(viewer, stack.id, compose_yaml=V1, variables=VARS)
    other = await add_org(backend, "Other")
    stranger = await add_member(backend, other.id, "eve", Role.OWNER)
    with pytest.raises(NotFoundError):
        await svc.get_stack(stranger, stack.id)


async def test_slugs_of_names_without_letters_are_stack_slugs(backend: SqlBackend) -> None:
    svc, _bus, admin, _viewer = await _setup(backend)
    first, _ = await svc.create_stack(admin, name="!!!", compose_yaml=V1, variables=VARS)
    second, _ = await svc.create_stack(admin, name="???", compose_yaml=V1, variables=VARS)
    assert (first.slug, second.slug) == ("stack", "stack-2")


@pytest.mark.parametrize("fmt", ["json", "yaml"])
async def test_export_import_round_trip_without_secret_values(
    backend: SqlBackend, fmt: str
) -> None:
    svc, _, admin, _ = await _setup(backend)
    stack, _ = await svc.create_stack(admin, name="Web", compose_yaml=V1, variables=VARS,
                                      description="the web", tags=["prod"])
    await svc.save_revision(admin, stack.id, compose_yaml=V2, variables=VARS, message="m2")
    text = await svc.export_stack(admin, stack.id, fmt)
    doc = json.loads(text) if fmt == "json" else yaml.safe_load(text)
    assert doc["format"] == "windflow.stack" and doc["version"] == 1
    assert [r["number"] for r in doc["revisions"]] == [1, 2]
    secret = next(v for v in doc["revisions"][0]["variables"] if v["name"] == "ADMIN_PASSWORD")
    assert secret == {"name": "ADMIN_PASSWORD", "description": "admin password",
                      "secret": True, "generator": "password"}
    imported = await svc.import_stack(admin, text, name="Web copy")
    assert imported.current_revision == 2 and imported.tags == ["prod"]
    r2 = await svc.get_revision(admin, imported.id, 2)
    assert r2.compose_yaml == V2 and r2.message == "m2"
    doc["revisions"][0]["variables"][1]["default"] = "leaked"
    with pytest.raises(ValidationError, match="never contain secret values"):
        await svc.import_stack(admin, json.dumps(doc))
    with pytest.raises(ValidationError, match="version"):
        await svc.import_stack(admin, json.dumps({**doc, "version": 99}))
    with pytest.raises(ValidationError, match="not a WindFlow"):
        await svc.import_stack(admin, "just: text")
