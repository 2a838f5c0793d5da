"""``RemoteStacks`` against a real ``windflow serve``: every method of ``StacksApi``
through the client, checked against what the server then says over plain HTTP; a viewer
refused, a missing stack not found, bad input a ValidationError naming its field."""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
import yaml

from tests.support.server import (
    Server,
    acme_server,
    bearer,
    sign_in,
    signed_in,
)
from windflow_desktop.domain.errors import (
    AuthenticationError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from windflow_desktop.domain.identity import Principal
from windflow_desktop.domain.models import Stack, StackRevision
from windflow_desktop.domain.paging import PageRequest
from windflow_desktop.remote.client import ServerSession
from windflow_desktop.remote.stacks import RemoteStacks

COMPOSE = "services:\n  web:\n    image: localhost/busybox\n    command: [sleep, '60']\n"
VARIABLES = [{"name": "GREETING", "required": True},
             {"name": "TOKEN", "secret": True, "generator": "password"}]
WITH_VARS = COMPOSE + "    environment:\n      GREETING: ${GREETING}\n      TOKEN: ${TOKEN}\n"
# The principal is not sent: the server acts for the token's caller. Any value will do.
NOBODY = Principal(uuid.uuid4(), uuid.uuid4(), None)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with acme_server(tmp_path_factory.mktemp("server")) as running:
        yield running


@pytest.fixture
async def olga(server: Server) -> AsyncIterator[RemoteStacks]:
    session = await signed_in(server, "olga")
    yield RemoteStacks(session)
    await session.close()


def _values(obj: object) -> dict[str, object]:
    """A domain object's fields (the mapped classes compare by identity)."""
    return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}  # type: ignore[arg-type]


def _http_get(server: Server, path: str) -> dict[str, object]:
    with server.client() as http:
        token = sign_in(http, "olga")["access_token"]
        answer = http.get(f"/api/v1{path}", headers=bearer(token))
        assert answer.status_code == 200, answer.text
        return dict(answer.json())


async def test_a_stack_made_and_changed_through_the_client_is_what_the_server_holds(
        server: Server, olga: RemoteStacks) -> None:
    report = await olga.validate(WITH_VARS, VARIABLES)
    assert report.ok and report.services == ["web"]
    assert {use.name for use in report.variables} == {"GREETING", "TOKEN"}
    broken = await olga.validate("services: [", ())
    assert not broken.ok and broken.errors[0].line >= 1

    stack, first = await olga.create_stack(
        NOBODY, name="Web app", compose_yaml=WITH_VARS, variables=VARIABLES,
        description="the site", tags=["Front", "web"], message="first")
    assert isinstance(stack, Stack) and isinstance(first, StackRevision)
    assert (stack.name, stack.slug, stack.tags, stack.current_revision) == \
        ("Web app", "web-app", ["front", "web"], 1)
    assert (first.number, first.message, first.compose_yaml) == (1, "first", WITH_VARS)
    held = _http_get(server, f"/stacks/{stack.id}")
    assert held["name"] == "Web app" and held["description"] == "the site"
    assert _values(await olga.get_stack(NOBODY, stack.id)) == _values(stack)

    changed = await olga.update_stack(NOBODY, stack.id, description="the new site",
                                      host_access=True)
    assert (changed.name, changed.description, changed.host_access, changed.tags) == \
        ("Web app", "the new site", True, ["front", "web"])  # what was not sent stays
    assert _http_get(server, f"/stacks/{stack.id}")["host_access"] is True

    second = await olga.save_revision(NOBODY, stack.id, compose_yaml=COMPOSE,
                                      message="no variables", expected_revision=1)
    assert second.number == 2 and second.variables == []
    with pytest.raises(ConflictError, match="saved by someone else"):
        await olga.save_revision(NOBODY, stack.id, compose_yaml=COMPOSE + "# late\n",
                                 expected_revision=1)
    assert (await olga.get_revision(NOBODY, stack.id)).number == 2  # the current one
    one = await olga.get_revision(NOBODY, stack.id, 1)
    assert one.compose_yaml == WITH_VARS and [v["name"] for v in one.variables] == \
        ["GREETING", "TOKEN"]
    diff = await olga.diff(NOBODY, stack.id, 1, 2)
    assert (diff.old, diff.new) == (1, 2) and "-    environment:" in diff.compose
    assert "GREETING" in diff.variables

    restored = await olga.restore(NOBODY, stack.id, 1)
    assert (restored.number, restored.message, restored.compose_yaml) == \
        (3, "Restored revision 1", WITH_VARS)
    page = await olga.revisions(NOBODY, stack.id, PageRequest(limit=2))
    assert [r.number for r in page.items] == [3, 2] and page.next_cursor is not None
    rest = await olga.revisions(NOBODY, stack.id, PageRequest(limit=2,
                                                              after=page.next_cursor))
    assert [r.number for r in rest.items] == [1] and rest.next_cursor is None
    assert [r["number"] for r in _http_get(server, f"/stacks/{stack.id}/revisions")[
        "items"]] == [3, 2, 1]  # type: ignore[index]

    copy = await olga.duplicate(NOBODY, stack.id, "Web copy")
    assert copy.id != stack.id and copy.current_revision == 1
    assert (await olga.get_revision(NOBODY, copy.id)).compose_yaml == WITH_VARS

    text = await olga.export_stack(NOBODY, stack.id)
    doc = json.loads(text)
    assert doc["format"] == "windflow.stack" and [r["number"] for r in doc["revisions"]] \
        == [1, 2, 3]
    assert yaml.safe_load(await olga.export_stack(NOBODY, stack.id, "yaml")) == doc
    imported = await olga.import_stack(NOBODY, text, name="Web imported")
    assert imported.name == "Web imported" and imported.current_revision == 3
    assert (await olga.get_revision(NOBODY, imported.id, 2)).compose_yaml == COMPOSE

    archived = await olga.archive(NOBODY, copy.id)
    assert archived.archived_at is not None
    live = await olga.list_stacks(NOBODY, PageRequest(limit=100))
    gone = await olga.list_stacks(NOBODY, archived=True)
    assert copy.id not in {s.id for s in live.items}
    assert [s.id for s in gone.items] == [copy.id]
    assert {stack.id, imported.id} <= {s.id for s in live.items}
    assert (await olga.unarchive(NOBODY, copy.id)).archived_at is None
    assert copy.id in {s.id for s in (await olga.list_stacks(NOBODY)).items}


async def test_errors_are_the_domains_own(server: Server, olga: RemoteStacks) -> None:
    stack, _ = await olga.create_stack(NOBODY, name="Guarded", compose_yaml=COMPOSE)
    with pytest.raises(NotFoundError):
        await olga.get_stack(NOBODY, uuid.uuid4())
    with pytest.raises(NotFoundError):
        await olga.get_revision(NOBODY, stack.id, 9)
    with pytest.raises(ValidationError) as blank:
        await olga.create_stack(NOBODY, name="   ", compose_yaml=COMPOSE)
    assert blank.value.field == "name"
    with pytest.raises(ValidationError) as empty:  # refused by the request's own rules
        await olga.update_stack(NOBODY, stack.id, name="")
    assert empty.value.field == "name"
    with pytest.raises(ValidationError) as invalid:
        await olga.save_revision(NOBODY, stack.id, compose_yaml="services: [")
    assert (invalid.value.field, invalid.value.code) == ("compose_yaml", "COMPOSE_INVALID")
    with pytest.raises(ValidationError) as fmt:
        await olga.export_stack(NOBODY, stack.id, "toml")
    assert fmt.value.field == "fmt"
    with pytest.raises(ValidationError) as not_export:
        await olga.import_stack(NOBODY, "just: text\n")
    assert not_export.value.field == "file"
    await olga.archive(NOBODY, stack.id)
    with pytest.raises(ConflictError, match="archived"):
        await olga.restore(NOBODY, stack.id, 1)

    session = await signed_in(server, "vera")
    vera = RemoteStacks(session)
    try:
        assert stack.id in {s.id for s in (await vera.list_stacks(
            NOBODY, archived=True)).items}  # a viewer reads
        assert (await vera.validate(COMPOSE)).ok
        for refused in (vera.create_stack(NOBODY, name="Mine", compose_yaml=COMPOSE),
                        vera.duplicate(NOBODY, stack.id, "Mine"),
                        vera.update_stack(NOBODY, stack.id, name="Mine"),
                        vera.unarchive(NOBODY, stack.id)):
            with pytest.raises(PermissionDeniedError):
                await refused
    finally:
        await session.close()

    # Validation stores nothing, yet it is only for someone signed in.
    anonymous = ServerSession(server.url)
    try:
        with pytest.raises(AuthenticationError):
            await RemoteStacks(anonymous).validate(COMPOSE)
    finally:
        await anonymous.close()
