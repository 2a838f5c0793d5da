"""A deployment row whose project name was tampered with (``../..``) can neither remove
nor write anything outside the projects folder: the pipeline refuses it with a clear
error and deletes nothing (real SQLite workspace, local executor, temporary root)."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from tests.env.docker import DockerEngine
from tests.support.deploy import STACK, VARIABLES, DeployGraph, local_deploy_graph
from windflow_desktop.domain.compose import project_name
from windflow_desktop.domain.enums import DeploymentStatus
from windflow_desktop.domain.errors import ValidationError
from windflow_desktop.domain.models import Deployment
from windflow_desktop.engine.compose import ComposeProject
from windflow_desktop.engine.executor import LocalExecutor

HOSTILE = ["../..", "../../..", "wf-web-12345678/../..", "wf-x-1234567/..", "/etc",
           "wf-web-1234abcd ", "wf-Web-1234abcd", ""]


async def _tampered(g: DeployGraph, target_id: uuid.UUID, name: str,
                    status: DeploymentStatus) -> Deployment:
    """A deployment row as the database holds it, with ``name`` as its project."""
    stack, revision = await g.stacks.create_stack(
        g.admin, name=f"Web {uuid.uuid4().hex[:6]}", compose_yaml=STACK, variables=VARIABLES)
    async with g.backend.unit_of_work() as uow:
        dep = await uow.deployments.add(Deployment(
            organization_id=g.org_id, stack_id=stack.id, revision_id=revision.id,
            target_id=target_id, project_name=name, status=status,
            variables={"GREETING": "x", "WEB_PORT": "1"}))
        await uow.commit()
    return dep


@pytest.mark.parametrize("name", HOSTILE)
def test_a_project_outside_its_root_cannot_be_made(name: str, tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="not a WindFlow project name"):
        ComposeProject(LocalExecutor(), name, str(tmp_path / "projects"))
    good = project_name("Web app", uuid.uuid4(), uuid.uuid4())
    project = ComposeProject(LocalExecutor(), good, f"{tmp_path}//projects/")
    assert project.directory == f"{tmp_path}/projects/{good}"
    for root in ("relative/projects", f"{tmp_path}/a/../../projects", "/", ""):
        with pytest.raises(ValidationError, match="not an absolute path"):
            ComposeProject(LocalExecutor(), good, root)


async def test_remove_with_a_tampered_project_name_deletes_nothing(
        docker_engine: DockerEngine, tmp_path: Path) -> None:
    # The projects root is three levels down, so "../.." points at a folder of this test.
    root = tmp_path / "home" / "user" / "projects"
    root.mkdir(parents=True)
    precious = tmp_path / "home" / "precious.txt"
    precious.write_text("the user's file")
    async with local_deploy_graph(tmp_path, docker_engine) as (g, target):
        g.core.settings.projects_root = lambda t: str(root)
        removed = await _tampered(g, target.id, "../..", DeploymentStatus.SUCCEEDED)
        with pytest.raises(ValidationError, match="not a WindFlow project name"):
            await g.deployments.remove(g.admin, removed.id, volumes=True)
        assert precious.read_text() == "the user's file"
        assert root.is_dir()
        after = await g.core.get(removed.id)
        assert after.status is DeploymentStatus.SUCCEEDED  # nothing claims it was removed

        # A run of such a row fails before anything is written anywhere.
        pending = await _tampered(g, target.id, "../../evil", DeploymentStatus.PENDING)
        ran = await g.core.run(pending.id)
        assert ran.status is DeploymentStatus.FAILED
        assert "not a WindFlow project name" in (ran.error or "")
        assert not (tmp_path / "home" / "evil").exists()
        assert precious.read_text() == "the user's file"
