"""A stand-in app process for the crash test: deploys one stack to the local target and
waits (the test SIGKILLs it during ``up``).

    python -m tests.support.deploy_child DB_URL STACK_ID TARGET_ID DOCKER_HOST \
        DOCKER_CONFIG PROJECTS_ROOT PORT
"""

from __future__ import annotations

import asyncio
import sys
import uuid
from pathlib import Path

from tests.env.keyring_backend import MemoryKeyring
from tests.support.deploy import Executors, RecordingBus
from windflow_desktop.domain.enums import Role
from windflow_desktop.domain.identity import Principal
from windflow_desktop.engine.executor import LocalExecutor
from windflow_desktop.repositories.sql.backend import SqlBackend
from windflow_desktop.security.secrets import SecretStore
from windflow_desktop.services.common import ServiceContext
from windflow_desktop.services.deploy.context import PipelineSettings
from windflow_desktop.services.deploy.core import DeploymentCore
from windflow_desktop.services.deployments import DeploymentService


async def main(argv: list[str]) -> None:
    url, stack_id, target_id, host, config, root, port, user_id, org_id = argv
    backend = SqlBackend(url)
    await backend.open()
    executors = Executors()
    executors.by_target[uuid.UUID(target_id)] = LocalExecutor(
        env={"DOCKER_HOST": host, "DOCKER_CONFIG": config})
    secrets = SecretStore(MemoryKeyring())
    bus = RecordingBus()
    core = DeploymentCore(backend, bus, executors, secrets,
                                  settings=PipelineSettings(projects_root=lambda t: root))
    service = DeploymentService(ServiceContext(backend, bus), core, secrets)
    principal = Principal(uuid.UUID(user_id), uuid.UUID(org_id), Role.ADMIN)
    rollout = await service.deploy(principal, uuid.UUID(stack_id), [uuid.UUID(target_id)],
                                   variables={"GREETING": "crash", "WEB_PORT": port})
    await rollout.wait()
    Path(root, "child-finished").write_text("yes")  # noqa: ASYNC240 - the last act


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
