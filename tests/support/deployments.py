"""A Deployments store over the real services with no target to reach: for pages that
show deployments written straight into the workspace (nothing runs)."""

from __future__ import annotations

from typing import Any

from tests.env.keyring_backend import MemoryKeyring
from tests.support.qt import Workspace
from windflow_desktop.domain.models import Target
from windflow_desktop.security.secrets import SecretStore
from windflow_desktop.services.common import ServiceContext
from windflow_desktop.services.deploy.core import DeploymentCore
from windflow_desktop.services.deployments import DeploymentService
from windflow_desktop.stores.deployments import DeploymentsStore


class NoExecutors:
    async def executor(self, target: Target) -> object:
        raise AssertionError("no deployment runs in this test")


async def no_targets(principal: object) -> list[Target]:
    return []


def offline_deployments(ws: Workspace, service_class: type[DeploymentService] =
                        DeploymentService, **store_options: Any
                        ) -> tuple[DeploymentsStore, DeploymentService]:
    svc = ws.services
    secrets = SecretStore(MemoryKeyring())
    core = DeploymentCore(svc.backend, svc.bus, NoExecutors(), secrets)  # type: ignore[arg-type]
    service = service_class(ServiceContext(svc.backend, svc.bus), core, secrets)
    return DeploymentsStore(ws.session, service, no_targets, **store_options), service
