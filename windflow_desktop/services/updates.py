"""``UpdateService``: for every image the running containers of a target use, whether
its registry has another image behind the same tag now — the digest that runs against
the registry's, through the Registry HTTP API (no pull). Registry credentials, when a
registry needs them, are the secret ``registry/<host>`` (``user:password``)."""

from __future__ import annotations

import asyncio
import functools
import uuid
from collections import defaultdict
from collections.abc import Mapping

from ..domain.containers import ContainerInfo, ImageUpdate, ManagedProject, UpdateState
from ..domain.identity import Principal
from ..domain.models import Target
from ..domain.permissions import TARGETS_READ
from ..engine.pool import ExecutorPool
from ..engine.registry import RegistryClient, RegistryError, parse_reference
from ..security.secrets import SecretStore
from .common import ServiceContext
from .disk import managed_projects

CONCURRENT_REQUESTS = 16  # registry requests under way at once in one check


def registry_secret_name(registry: str) -> str:
    return f"registry/{registry}"


class UpdateService:
    def __init__(self, context: ServiceContext, pool: ExecutorPool,
                 secrets: SecretStore) -> None:
        self.ctx = context
        self.pool = pool
        self.secrets = secrets

    async def check(self, principal: Principal, target_id: uuid.UUID
                    ) -> tuple[ImageUpdate, ...]:
        """One line per image reference the target's running containers use."""
        async with self.ctx.authorized(principal, TARGETS_READ) as scope:
            target = await scope.target(target_id)
            projects = await managed_projects(scope, target_id)
        return await self.inspect(target, projects)

    async def inspect(self, target: Target, projects: Mapping[str, ManagedProject | None]
                      ) -> tuple[ImageUpdate, ...]:
        """``check`` once the target and its managed projects were read (and the right
        to read them checked, or the server's own schedule asks)."""
        groups: dict[str, list[ContainerInfo]] = defaultdict(list)
        async with self.pool.docker(target) as api:
            for container in await api.containers(all=False):
                image = container.image
                if image.startswith("sha256:"):  # its tag moved on: the name it was run by
                    config = (await api.inspect(container.id)).get("Config") or {}
                    image = str(config.get("Image") or image)
                groups[image].append(container)
            # The digests of the image each runs — by id: the tag may have moved since.
            names = sorted(groups)
            found = await asyncio.gather(*(api.repo_digests(groups[i][0].image_id or i)
                                           for i in names))
            digests = dict(zip(names, found, strict=True))
        # The registries are asked at once (a bound on how many at a time); the client
        # asks one token per repository and reuses it for all of its tags.
        client = RegistryClient(self._credentials)
        bound = asyncio.Semaphore(CONCURRENT_REQUESTS)

        async def one(image: str) -> ImageUpdate:
            async with bound:
                return await self._one(client, image, groups[image], digests[image],
                                       projects)

        try:
            return tuple(await asyncio.gather(*(one(image) for image in names)))
        finally:
            await client.close()

    async def _one(self, client: RegistryClient, image: str,
                   containers: list[ContainerInfo], running: tuple[str, ...],
                   projects: Mapping[str, ManagedProject | None]) -> ImageUpdate:
        in_projects = sorted({c.project for c in containers if c.project})
        managed = [projects.get(p) for p in in_projects]
        line = functools.partial(
            ImageUpdate, image, tuple(sorted(c.name for c in containers)),
            tuple(in_projects),
            tuple(sorted({m.deployment_id for m in managed
                          if m is not None and m.deployment_id is not None}, key=str)),
            running=running)
        ref = parse_reference(image)
        if ref is None:
            return line(UpdateState.UNKNOWN, message="pinned by digest: nothing moves under it")
        # The digests this image has in the tag's own repository (a push elsewhere of the
        # same image adds digests of other repositories).
        have = {digest for name, _, digest in (d.rpartition("@") for d in running)
                if (where := parse_reference(name)) is not None
                and (where.registry, where.repository) == (ref.registry, ref.repository)}
        if not have:
            return line(UpdateState.UNKNOWN, message=f"never pulled from {ref.registry}: "
                                                     "no registry digest to compare")
        try:
            latest = await client.current_digest(ref)
        except RegistryError as exc:
            return line(UpdateState.FAILED, message=exc.message)
        return line(UpdateState.CURRENT if latest in have else UpdateState.AVAILABLE,
                    latest=latest)

    async def _credentials(self, registry: str) -> tuple[str, str] | None:
        value = await self.secrets.aget(registry_secret_name(registry))
        if not value or ":" not in value:
            return None
        user, _, password = value.partition(":")
        return user, password
