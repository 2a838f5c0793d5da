"""``RemoteAdopt`` against a real ``windflow serve`` and a real Docker engine: a project
started by hand with ``docker compose`` is listed as not managed, adopted through the
server (the stack's text is the file's, no container recreated), then its change by hand
kept as a new revision; a viewer sees it but is refused the adoption."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.env.docker import DockerEngine
from tests.support.adopt import APP, compose_up, ids_of, remove
from tests.support.server import PASSWORD, Server, bearer, create_owner, running_server, sign_in
from windflow_desktop.domain.adopt import AdoptSource, FilesUnreadableError
from windflow_desktop.domain.enums import DeploymentStatus, Role, TargetKind
from windflow_desktop.domain.errors import PermissionDeniedError, ValidationError
from windflow_desktop.domain.identity import Principal
from windflow_desktop.domain.targets import TargetSpec
from windflow_desktop.remote.adopt import RemoteAdopt
from windflow_desktop.remote.client import ServerSession
from windflow_desktop.remote.deployments import RemoteDeployments
from windflow_desktop.remote.stacks import RemoteStacks
from windflow_desktop.remote.targets import RemoteTargets

NOBODY = Principal(uuid.uuid4(), uuid.uuid4(), Role.VIEWER)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    home = tmp_path_factory.mktemp("server")
    create_owner(home)
    with running_server(home) as server, server.client() as http:
        owner = bearer(sign_in(http, "olga")["access_token"])
        made = http.post("/api/v1/users", headers=owner, json={
            "username": "vera", "email": "vera@example.test", "password": PASSWORD})
        assert made.status_code == 201, made.text
        yield server


async def test_adopt_and_keep_through_the_server(server: Server, docker_engine: DockerEngine,
                                                 tmp_path: Path) -> None:
    folder = tmp_path / "by-hand"
    folder.mkdir()
    (folder / "compose.yaml").write_text(APP)
    (folder / ".env").write_text("DB_PASSWORD=hunter2\n")
    await asyncio.to_thread(compose_up, docker_engine, folder, "remotex", tmp_path)
    olga, vera = ServerSession(server.url), ServerSession(server.url)
    try:
        await olga.login("olga", PASSWORD)
        await vera.login("vera", PASSWORD)
        target = await RemoteTargets(olga).create_target(NOBODY, TargetSpec(
            name=f"engine-{uuid.uuid4().hex[:6]}", kind=TargetKind.LOCAL,
            docker_socket=docker_engine.host))

        found = await RemoteAdopt(vera).discover(NOBODY, target.id)
        project = found.project("remotex")
        assert project is not None and project.working_dir == str(folder)
        assert {c.service for c in project.containers} == {"web", "worker"}
        with pytest.raises(PermissionDeniedError):
            await RemoteAdopt(vera).adopt(NOBODY, target.id, "remotex", "Mine")
        with pytest.raises(ValidationError, match=r"Not-A-Name.* cannot be adopted"):
            await RemoteAdopt(olga).adopt(NOBODY, target.id, "Not-A-Name", "Mine")

        before = await asyncio.to_thread(ids_of, docker_engine, "remotex")
        adopted = await RemoteAdopt(olga).adopt(NOBODY, target.id, "remotex", "Remote shop")
        assert adopted.source is AdoptSource.FILES and adopted.revision == 1
        assert await asyncio.to_thread(ids_of, docker_engine, "remotex") == before
        revision = await RemoteStacks(olga).get_revision(NOBODY, adopted.stack_id)
        assert revision.compose_yaml == APP
        dep = await RemoteDeployments(olga).get(NOBODY, adopted.deployment_id)
        assert dep.status is DeploymentStatus.SUCCEEDED and dep.project_name == "remotex"
        assert (await RemoteAdopt(olga).discover(NOBODY, target.id)).project("remotex") is None

        # Files gone: the reason comes back through the server with its code.
        (folder / "gone").mkdir()
        (folder / "gone" / "compose.yaml").write_text(APP)
        await asyncio.to_thread(compose_up, docker_engine, folder / "gone", "remotegone",
                                tmp_path)
        (folder / "gone" / "compose.yaml").unlink()
        with pytest.raises(ValidationError, match="is gone") as refused:
            await RemoteAdopt(olga).adopt(NOBODY, target.id, "remotegone", "Gone")
        assert refused.value.code == FilesUnreadableError.code
        assert refused.value.field == "files"

        docker_engine.cli("rm", "-f", before["worker"])  # a change by hand
        with pytest.raises(PermissionDeniedError):
            await RemoteAdopt(vera).keep(NOBODY, adopted.deployment_id)
        kept = await RemoteAdopt(olga).keep(NOBODY, adopted.deployment_id)
        assert kept.revision == 2 and kept.source is AdoptSource.ENGINE
        newest = await RemoteStacks(olga).get_revision(NOBODY, adopted.stack_id)
        assert newest.number == 2 and "worker" not in newest.compose_yaml
    finally:
        await olga.close()
        await vera.close()
        await asyncio.to_thread(remove, docker_engine, "remotex")
        await asyncio.to_thread(remove, docker_engine, "remotegone")
