"""What the deployment service refuses before anything is recorded, on a real SQLite
workspace: a variable the Compose file requires (``${API_TOKEN:?…}``) left empty, and a
stack that reaches into its host (host paths, privileged, devices, capabilities…)
without its "needs host access" flag or without ``stacks:write``. Refused means: no
deployment row, no audit row, nothing staged on the target."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from tests.support.auth import add_member
from tests.support.databases import sqlite_url
from tests.support.deploy import DeployGraph, build_graph
from windflow_desktop.domain.compose import ComposeValidationError
from windflow_desktop.domain.enums import Role
from windflow_desktop.domain.errors import PermissionDeniedError, ValidationError
from windflow_desktop.domain.models import StackRevision
from windflow_desktop.domain.paging import PageRequest
from windflow_desktop.domain.variables import parse_spec
from windflow_desktop.engine.executor import LocalExecutor
from windflow_desktop.repositories.sql.backend import SqlBackend

NEEDS_TOKEN = """\
services:
  api:
    image: localhost/busybox
    environment:
      API_TOKEN: "${API_TOKEN:?set the API token}"
"""
HOST = """\
services:
  agent:
    image: localhost/busybox
    privileged: true
    volumes: ["/var/run/docker.sock:/var/run/docker.sock"]
    cap_add: [NET_ADMIN]
"""


async def _nothing_recorded(g: DeployGraph, projects: Path) -> None:
    assert list((await g.deployments.list_deployments(g.admin)).items) == []
    async with g.backend.unit_of_work() as uow:
        audit = await uow.audit.list(g.org_id, PageRequest(100), type_prefix="deployment.")
    assert list(audit.items) == []
    assert not projects.exists()  # noqa: ASYNC240 - nothing staged on the target


async def test_a_variable_the_file_requires_is_refused_empty_before_anything_is_recorded(
        tmp_path: Path) -> None:
    backend = SqlBackend(sqlite_url(tmp_path / "w.db"))
    await backend.open()
    try:
        g = await build_graph(backend, tmp_path / "projects")
        target = await g.add_target("here", LocalExecutor())
        stack, _ = await g.stacks.create_stack(
            g.admin, name="api", compose_yaml=NEEDS_TOKEN,
            variables=[{"name": "API_TOKEN", "secret": True}])
        for given in ({}, {"API_TOKEN": ""}, {"API_TOKEN": None}):
            with pytest.raises(ValidationError) as info:
                await g.deployments.deploy(g.admin, stack.id, [target.id], variables=given)
            assert info.value.field == "API_TOKEN"
            assert "API_TOKEN" in info.value.message and "set the API token" in \
                info.value.message
        with pytest.raises(ValidationError, match="API_TOKEN"):  # per-target override too
            await g.deployments.deploy(g.admin, stack.id, [target.id],
                                       variables={"API_TOKEN": "t"},
                                       overrides={target.id: {"API_TOKEN": ""}})
        await _nothing_recorded(g, tmp_path / "projects")
        assert g.keyring.values() == []  # no secret was stored on the way
    finally:
        await backend.close()


async def test_host_access_needs_the_stack_flag_and_stacks_write(tmp_path: Path) -> None:
    backend = SqlBackend(sqlite_url(tmp_path / "w.db"))
    await backend.open()
    try:
        g = await build_graph(backend, tmp_path / "projects")
        target = await g.add_target("here", LocalExecutor())
        del g.executors.by_target[target.id]  # unreachable: nothing ever runs there
        stack, _ = await g.stacks.create_stack(g.admin, name="agent", compose_yaml=HOST)
        assert stack.host_access is False
        with pytest.raises(ValidationError) as info:
            await g.deployments.deploy(g.admin, stack.id, [target.id])
        message = info.value.message
        for grant in ("agent: privileged", "agent: host path /var/run/docker.sock",
                      "agent: cap_add NET_ADMIN"):
            assert grant in message
        assert "needs host access" in message
        await _nothing_recorded(g, tmp_path / "projects")

        operator = await add_member(backend, g.org_id, "ops", Role.OPERATOR)
        with pytest.raises(PermissionDeniedError):  # setting the flag is stacks:write
            await g.stacks.update_stack(operator, stack.id, host_access=True)
        flagged = await g.stacks.update_stack(g.admin, stack.id, host_access=True)
        assert flagged.host_access is True
        assert (await g.stacks.get_stack(operator, stack.id)).host_access is True  # stored
        with pytest.raises(PermissionDeniedError, match="stacks:write"):
            await g.deployments.deploy(operator, stack.id, [target.id])
        await _nothing_recorded(g, tmp_path / "projects")
        # A window still holding an admin's principal after a demotion to operator: the
        # stored role counts, not the one the principal claims.
        demoted = await add_member(backend, g.org_id, "was-admin", Role.OPERATOR)
        stale = replace(demoted, role=Role.ADMIN)
        with pytest.raises(PermissionDeniedError, match="stacks:write"):
            await g.deployments.deploy(stale, stack.id, [target.id])
        await _nothing_recorded(g, tmp_path / "projects")

        rollout = await g.deployments.deploy(g.admin, stack.id, [target.id])
        assert len(rollout.deployments) == 1  # recorded; its pipeline then runs
        [dep] = await rollout.wait()
        assert "cannot be reached" in (dep.error or "")
    finally:
        await backend.close()


async def test_a_revision_saved_before_the_rules_is_refused_before_anything_is_recorded(
        tmp_path: Path) -> None:
    backend = SqlBackend(sqlite_url(tmp_path / "w.db"))
    await backend.open()
    try:
        g = await build_graph(backend, tmp_path / "projects")
        target = await g.add_target("here", LocalExecutor())
        stack, _ = await g.stacks.create_stack(g.admin, name="old", compose_yaml=HOST)
        async with backend.unit_of_work() as uow:  # as an older version let it be saved
            await uow.stacks.add_revision(StackRevision(
                stack_id=stack.id, number=2, compose_yaml=HOST.replace(
                    "/var/run/docker.sock:", "../../.windflow:"), author_id=g.admin.user_id))
            row = await uow.stacks.get(stack.id)
            row.current_revision, row.host_access = 2, True
            await uow.stacks.save(row)
            await uow.commit()
        with pytest.raises(ComposeValidationError, match="leaves the project folder"):
            await g.deployments.deploy(g.admin, stack.id, [target.id])
        await _nothing_recorded(g, tmp_path / "projects")
    finally:
        await backend.close()


def test_generated_values_are_secret_unless_the_spec_says_otherwise() -> None:
    generated, plain, explicit = parse_spec([
        {"name": "PW", "generator": "password"},
        {"name": "ID", "generator": "uuid", "secret": False},
        {"name": "TOKEN", "generator": "hex", "secret": True},
    ])
    assert (generated.secret, plain.secret, explicit.secret) == (True, False, True)
    assert generated.to_dict() == {"name": "PW", "secret": True, "generator": "password"}
    assert plain.to_dict() == {"name": "ID", "secret": False, "generator": "uuid"}
    assert parse_spec([plain.to_dict()])[0].secret is False  # round trip keeps the choice
