"""Deleting a target or an organization deletes the keyring entries of what went with
it: the target's own secret and the secret variables of its deployments (after the
commit), and nothing of the targets and organizations that stay."""

from __future__ import annotations

import uuid
from pathlib import Path

from tests.env.keyring_backend import MemoryKeyring
from tests.env.services import free_port
from tests.support.auth import RecordingBus, add_member, add_org
from tests.support.deploy import STACK, VARIABLES
from windflow_desktop.domain.enums import DeploymentStatus, Role, TargetAuth, TargetKind
from windflow_desktop.domain.identity import Principal
from windflow_desktop.domain.models import Target
from windflow_desktop.domain.targets import TargetSpec
from windflow_desktop.engine import ExecutorPool, KnownHosts
from windflow_desktop.repositories.sql.backend import SqlBackend
from windflow_desktop.security.secrets import SecretStore
from windflow_desktop.services.common import ServiceContext
from windflow_desktop.services.deploy.core import DeploymentCore
from windflow_desktop.services.deploy.values import SECRET_REF
from windflow_desktop.services.deployments import DeploymentService
from windflow_desktop.services.organizations import OrganizationService
from windflow_desktop.services.stacks import StackService
from windflow_desktop.services.targets import TargetService


class World:
    def __init__(self, backend: SqlBackend, folder: Path) -> None:
        self.keyring = MemoryKeyring()
        secrets = SecretStore(self.keyring)
        ctx = ServiceContext(backend, RecordingBus())
        self.pool = ExecutorPool(KnownHosts(folder / "known_hosts"), secrets.aget)
        self.targets = TargetService(ctx, secrets, self.pool)
        self.stacks = StackService(ctx)
        self.deployments = DeploymentService(
            ctx, DeploymentCore(backend, ctx.bus, self.pool, secrets), secrets)
        self.orgs = OrganizationService(ctx, secrets)

    async def ssh_target(self, owner: Principal, name: str) -> Target:
        """An SSH target with a password, on a port where nothing listens."""
        return await self.targets.create_target(owner, TargetSpec(
            name=name, kind=TargetKind.SSH, host="127.0.0.1", port=free_port(),
            username="nobody", auth=TargetAuth.PASSWORD), secret=f"pw-{name}-{uuid.uuid4()}")

    async def deployed(self, owner: Principal, target: Target) -> list[str]:
        """Two deployments on ``target`` (they fail: it is unreachable) whose generated
        secret values stay in the keyring; their refs."""
        stack, _ = await self.stacks.create_stack(
            owner, name=f"Web {uuid.uuid4().hex[:6]}", compose_yaml=STACK,
            variables=VARIABLES)
        refs = []
        for _ in range(2):
            rollout = await self.deployments.deploy(
                owner, stack.id, [target.id], variables={"GREETING": "hi", "WEB_PORT": "8080"})
            [dep] = await rollout.wait()
            assert dep.status is DeploymentStatus.FAILED
            refs.append(str(dep.variables["ADMIN_PASSWORD"][SECRET_REF]))  # type: ignore[index]
        return refs


async def test_deleting_a_target_or_an_organization_deletes_their_secrets(
        backend: SqlBackend, tmp_path: Path) -> None:
    w = World(backend, tmp_path)
    try:
        org = await add_org(backend, f"Acme{uuid.uuid4().hex[:6]}")
        owner = await add_member(backend, org.id, f"o{uuid.uuid4().hex[:6]}", Role.OWNER)
        other_org = await add_org(backend, f"Other{uuid.uuid4().hex[:6]}")
        stranger = await add_member(backend, other_org.id, f"s{uuid.uuid4().hex[:6]}",
                                    Role.OWNER)
        gone, kept, elsewhere = (await w.ssh_target(owner, "gone"),
                                 await w.ssh_target(owner, "kept"),
                                 await w.ssh_target(stranger, "elsewhere"))
        gone_refs = [gone.secret_ref, *await w.deployed(owner, gone)]
        kept_refs = [kept.secret_ref, *await w.deployed(owner, kept)]
        elsewhere_refs = [elsewhere.secret_ref, *await w.deployed(stranger, elsewhere)]
        assert set(w.keyring.names()) == {*gone_refs, *kept_refs, *elsewhere_refs}

        await w.targets.delete_target(owner, gone.id)
        assert set(w.keyring.names()) == {*kept_refs, *elsewhere_refs}

        await w.orgs.delete(owner, org.id)
        assert set(w.keyring.names()) == set(elsewhere_refs)
    finally:
        await w.deployments.shutdown()
        await w.pool.close()
