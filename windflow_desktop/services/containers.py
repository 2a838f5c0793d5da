"""``ContainerService``: the containers, images, volumes and networks of a target,
through its Docker Engine API (local socket, TCP+TLS, or the SSH-forwarded socket).

Reading needs ``targets:read``; acting on containers and images needs
``containers:manage`` and is audited (``container.started`` …). ``inspect`` masks secret
values (the known secrets of the deployments on that target, and the values of
variables whose names say secret); the raw view needs ``containers:manage``. A
container's log, read or followed, masks the known secrets too. The permission check
and the target lookup happen in a unit of work; the Docker call runs after it (no
transaction is held while the engine works), and the audit row is written once the
action succeeded.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

from ..domain.containers import ContainerInfo, ContainerStats, ImageInfo
from ..domain.errors import WindFlowError
from ..domain.events import DockerObjectActed
from ..domain.identity import Principal
from ..domain.models import Target
from ..domain.permissions import CONTAINERS_MANAGE, TARGETS_READ
from ..engine.docker_api import DockerApi
from ..engine.lines import mask_secrets
from ..engine.pool import ExecutorPool
from ..security.redaction import mask_environment, mask_tree
from ..security.secrets import SecretStore
from .common import ServiceContext
from .secret_refs import deployments_secret_refs

T = TypeVar("T")
log = logging.getLogger("windflow.services.containers")


class ContainerService:
    """Public API (all async, principal and target id first):

    ``list_containers(p, t) -> list[ContainerInfo]``,
    ``inspect(p, t, c, raw=False) -> dict`` (secret values masked unless ``raw``),
    ``start/stop/restart(p, t, c)``, ``remove(p, t, c, force=False)``,
    ``logs(p, t, c, tail=200) -> list[str]``,
    ``follow_logs(p, t, c, tail=100) -> AsyncIterator[str]`` (until cancelled),
    ``stats(p, t, c) -> ContainerStats``, ``images(p, t) -> list[ImageInfo]``,
    ``pull_image(p, t, ref)``, ``remove_image(p, t, ref)``,
    ``volumes(p, t)``, ``networks(p, t)``.
    """

    def __init__(self, context: ServiceContext, pool: ExecutorPool,
                 secrets: SecretStore) -> None:
        self.ctx = context
        self.pool = pool
        self.secrets = secrets

    async def _target(self, principal: Principal, permission: str,
                      target_id: uuid.UUID) -> Target:
        async with self.ctx.authorized(principal, permission) as scope:
            return await scope.target(target_id)

    async def _read(self, principal: Principal, target_id: uuid.UUID,
                    call: Callable[[DockerApi], Awaitable[T]]) -> T:
        target = await self._target(principal, TARGETS_READ, target_id)
        async with self.pool.docker(target) as api:
            return await call(api)

    async def _act(self, principal: Principal, target_id: uuid.UUID, event: str,
                   subject: str, call: Callable[[DockerApi], Awaitable[T]],
                   aggregate: str = "container") -> T:
        target = await self._target(principal, CONTAINERS_MANAGE, target_id)
        async with self.pool.docker(target) as api:
            result = await call(api)
        async with self.ctx.authorized(principal, CONTAINERS_MANAGE) as scope:
            scope.record(event, aggregate, subject,
                         DockerObjectActed(str(target.id), target.name).to_data())
        return result

    # -- containers ------------------------------------------------------------------------

    async def list_containers(self, principal: Principal,
                              target_id: uuid.UUID) -> list[ContainerInfo]:
        return await self._read(principal, target_id, lambda api: api.containers(all=True))

    async def inspect(self, principal: Principal, target_id: uuid.UUID,
                      container_id: str, *, raw: bool = False) -> dict[str, Any]:
        """The engine's description of the container, secret values masked; ``raw``
        (``containers:manage``) leaves them as they are."""
        if raw:
            target = await self._target(principal, CONTAINERS_MANAGE, target_id)
            async with self.pool.docker(target) as api:
                return await api.inspect(container_id)
        target, known = await self._target_and_secrets(principal, target_id)
        async with self.pool.docker(target) as api:
            info = await api.inspect(container_id)
        config = info.get("Config")
        if isinstance(config, dict) and isinstance(config.get("Env"), list):
            config["Env"] = mask_environment(config["Env"], known)
        return dict(mask_tree(info, known))

    async def _target_and_secrets(self, principal: Principal,
                                  target_id: uuid.UUID) -> tuple[Target, list[str]]:
        """The target (``targets:read``) and the secret values of its deployments."""
        async with self.ctx.authorized(principal, TARGETS_READ) as scope:
            target = await scope.target(target_id)
            refs = await deployments_secret_refs(scope.uow, scope.org, target_id=target_id)
        return target, await self._known_values(refs)

    async def _known_values(self, refs: list[str]) -> list[str]:
        """The secret values behind ``refs`` still in the keyring (to mask them)."""
        values: list[str] = []
        for ref in dict.fromkeys(refs):
            try:
                value = await self.secrets.aget(ref)
            except WindFlowError:
                log.warning("a secret could not be read to mask it in an inspect view")
                continue
            if value:
                values.append(value)
        return values

    async def start(self, principal: Principal, target_id: uuid.UUID, container_id: str) -> None:
        await self._act(principal, target_id, "container.started", container_id,
                        lambda api: api.start(container_id))

    async def stop(self, principal: Principal, target_id: uuid.UUID, container_id: str,
                   *, grace_s: int = 10) -> None:
        await self._act(principal, target_id, "container.stopped", container_id,
                        lambda api: api.stop(container_id, grace_s=grace_s))

    async def restart(self, principal: Principal, target_id: uuid.UUID, container_id: str,
                      *, grace_s: int = 10) -> None:
        await self._act(principal, target_id, "container.restarted", container_id,
                        lambda api: api.restart(container_id, grace_s=grace_s))

    async def remove(self, principal: Principal, target_id: uuid.UUID, container_id: str,
                     *, force: bool = False) -> None:
        await self._act(principal, target_id, "container.removed", container_id,
                        lambda api: api.remove(container_id, force=force))

    async def logs(self, principal: Principal, target_id: uuid.UUID, container_id: str,
                   *, tail: int = 200) -> list[str]:
        """The container's last ``tail`` lines, known secret values masked."""
        target, known = await self._target_and_secrets(principal, target_id)
        async with self.pool.docker(target) as api:
            lines = await api.logs(container_id, tail=tail)
        return [mask_secrets(line, known) for line in lines]

    async def follow_logs(self, principal: Principal, target_id: uuid.UUID,
                          container_id: str, *, tail: int = 100) -> AsyncIterator[str]:
        """The container's log lines as they come, until the caller stops iterating
        (cancel the consuming task) or the container's output ends; known secret values
        masked."""
        target, known = await self._target_and_secrets(principal, target_id)
        async with self.pool.docker(target) as api:
            lines = api.follow_logs(container_id, tail=tail)
            async with contextlib.aclosing(lines):
                async for line in lines:
                    yield mask_secrets(line, known)

    async def stats(self, principal: Principal, target_id: uuid.UUID,
                    container_id: str) -> ContainerStats:
        return await self._read(principal, target_id, lambda api: api.stats(container_id))

    # -- images, volumes, networks ---------------------------------------------------------

    async def images(self, principal: Principal, target_id: uuid.UUID) -> list[ImageInfo]:
        return await self._read(principal, target_id, lambda api: api.images())

    async def pull_image(self, principal: Principal, target_id: uuid.UUID,
                         reference: str) -> list[str]:
        return await self._act(principal, target_id, "image.pulled", reference,
                               lambda api: api.pull(reference), aggregate="image")

    async def remove_image(self, principal: Principal, target_id: uuid.UUID,
                           reference: str, *, force: bool = False) -> None:
        await self._act(principal, target_id, "image.removed", reference,
                        lambda api: api.remove_image(reference, force=force),
                        aggregate="image")

    async def volumes(self, principal: Principal,
                      target_id: uuid.UUID) -> list[dict[str, Any]]:
        return await self._read(principal, target_id, lambda api: api.volumes())

    async def networks(self, principal: Principal,
                       target_id: uuid.UUID) -> list[dict[str, Any]]:
        return await self._read(principal, target_id, lambda api: api.networks())
