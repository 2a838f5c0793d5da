"""``TargetService``: the machines of the principal's organization — add, edit, delete,
connection test, capability scan and health checks.

Network work never happens inside a database transaction: a call reads the target in one
permission-checked unit of work, reaches the target, then writes the outcome (status,
``last_seen``, capabilities) in another. ``target.status_changed`` is published only when
the status really changes. Passwords and key passphrases go to the keyring through
``SecretStore``; the database keeps only their name (``Target.secret_ref``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import re
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from ..domain.enums import TargetAuth, TargetKind, TargetStatus
from ..domain.errors import ConflictError, NotFoundError, ValidationError, WindFlowError
from ..domain.events import TargetStatusChanged
from ..domain.identity import Principal
from ..domain.models import Target, TargetCapability
from ..domain.paging import Page, PageRequest
from ..domain.permissions import TARGETS_READ, TARGETS_SCAN, TARGETS_WRITE
from ..domain.targets import ConnectionReport, HealthResult, ScanOutcome, TargetSpec
from ..engine.errors import status_for
from ..engine.pool import ExecutorPool, local_socket_url
from ..engine.probe import StepCallback, check_connection
from ..engine.scanner import ScanResult, bounded, scan_target
from ..security.secrets import SecretStore
from .common import Scope, ServiceContext
from .secret_refs import delete_secrets, deployments_secret_refs

log = logging.getLogger("windflow.services.targets")

_NAME = re.compile(r"^[^\x00-\x1f]{1,100}$")
_HOST = re.compile(r"^[A-Za-z0-9._:\-\[\]%]{1,253}$")
_UNCHANGED = object()
DEFAULT_CONCURRENCY = 16


def secret_name(target_id: uuid.UUID) -> str:
    return f"target/{target_id}/secret"


def fresh_secret_name(target_id: uuid.UUID) -> str:
    """A new keyring name for a changed secret (the old one stays until the commit)."""
    return f"target/{target_id}/secret/{uuid.uuid4().hex[:12]}"


class TargetService:
    """Public API (all async, the acting principal first):

    ``list_targets(p, page=None, status=None, kind=None) -> Page[Target]`` (to show:
    the page may be shared with other readers — never change it),
    ``get_target(p, id) -> Target``, ``capabilities(p, id) -> list[TargetCapability]``,
    ``create_target(p, spec, secret=None) -> Target``,
    ``update_target(p, id, spec, secret=<unchanged>) -> Target``,
    ``delete_target(p, id)``,
    ``test_connection(p, id, on_step=None) -> ConnectionReport`` (saves the status),
    ``test_draft(p, spec, secret=None, on_step=None) -> ConnectionReport`` (unsaved),
    ``scan(p, id) -> ScanOutcome``, ``scan_many(p, ids=None) -> {id: ScanOutcome|error}``,
    ``check_health(p, ids=None) -> list[HealthResult]``,
    ``forget_host_key(p, id) -> bool``.
    """

    def __init__(
        self,
        context: ServiceContext,
        secrets: SecretStore,
        pool: ExecutorPool,
        *,
        concurrency: int = DEFAULT_CONCURRENCY,
    ) -> None:
        self.ctx = context
        self.secrets = secrets
        self.pool = pool
        self.concurrency = concurrency
        # Results of concurrent scans are written one at a time (SQLite has one writer).
        self._write_lock = asyncio.Lock()

    # -- reading -----------------------------------------------------------------------

    async def list_targets(
        self,
        principal: Principal,
        page: PageRequest | None = None,
        *,
        status: TargetStatus | None = None,
        kind: TargetKind | None = None,
    ) -> Page[Target]:
        async with self.ctx.authorized(principal, TARGETS_READ) as scope:
            # Shown only (the caller never gets to change a shared page).
            return await scope.uow.targets.browse(
                scope.org, page or PageRequest(limit=1000), status=status, kind=kind
            )

    async def get_target(self, principal: Principal, target_id: uuid.UUID) -> Target:
        async with self.ctx.authorized(principal, TARGETS_READ) as scope:
            return await scope.target(target_id)

    async def capabilities(
        self, principal: Principal, target_id: uuid.UUID
    ) -> list[TargetCapability]:
        async with self.ctx.authorized(principal, TARGETS_READ) as scope:
            await scope.target(target_id)
            return list(await scope.uow.targets.capabilities(target_id))

    # -- writing -----------------------------------------------------------------------

    async def create_target(
        self, principal: Principal, spec: TargetSpec, secret: str | None = None
    ) -> Target:
        spec = clean_spec(spec, secret_given=bool(secret))
        target_id = uuid.uuid4()
        async with self.ctx.authorized(principal, TARGETS_WRITE) as scope:
            await _unique_name(scope, spec.name)
            target = _apply(Target(organization_id=scope.org, name=spec.name, id=target_id),
                            spec)
            if secret:
                # Before the row commits: a failing keyring leaves no target without it.
                await self.secrets.aset(secret_name(target_id), secret)
                target.secret_ref = secret_name(target_id)
            target.created_at = target.updated_at = self.ctx.clock()
            try:
                target = await scope.uow.targets.add(target)
            except WindFlowError:
                if secret:
                    await self.secrets.adelete(secret_name(target_id))
                raise
            scope.record("target.created", "target", target.id, _summary(target))
            return target

    async def update_target(
        self,
        principal: Principal,
        target_id: uuid.UUID,
        spec: TargetSpec,
        secret: Any = _UNCHANGED,
    ) -> Target:
        """Change the target; ``secret`` is kept unless given (``None`` or ``""`` drops it).

        A stored secret is kept only while the host, port, username and sign-in method
        stay the same: otherwise it must be entered again (``ValidationError`` on
        ``secret``), so a saved password is never sent to another server. A new secret is
        written under a new keyring name and the old one removed only after the commit."""
        new_ref: str | None = None
        try:
            async with self.ctx.authorized(principal, TARGETS_WRITE) as scope:
                target = await scope.target(target_id)
                old_ref = target.secret_ref
                if secret is _UNCHANGED and old_ref:
                    draft = clean_spec(spec, secret_given=True)
                    if not _same_endpoint(target, draft):
                        if _needs_secret_again(target, draft):
                            raise _secret_again(target, draft)
                        secret = None  # the new sign-in method does not use it: drop it
                has_secret = bool(secret) if secret is not _UNCHANGED else bool(old_ref)
                spec = clean_spec(spec, secret_given=has_secret)
                if spec.name != target.name:
                    await _unique_name(scope, spec.name)
                _apply(target, spec)
                if secret is not _UNCHANGED:
                    if secret:
                        new_ref = fresh_secret_name(target_id)
                        await self.secrets.aset(new_ref, str(secret))
                        target.secret_ref = new_ref
                    else:
                        target.secret_ref = None
                target.updated_at = self.ctx.clock()
                target.status = TargetStatus.UNKNOWN
                target = await scope.uow.targets.save(target)
                scope.record("target.updated", "target", target.id, _summary(target))
        except BaseException:
            if new_ref is not None:
                await self._drop_secret(new_ref, target_id)
            raise
        if old_ref and old_ref != target.secret_ref:
            await self._drop_secret(old_ref, target_id)
        await self.pool.forget(target_id)
        return target

    async def _drop_secret(self, ref: str, target_id: uuid.UUID) -> None:
        try:
            await self.secrets.adelete(ref)
        except WindFlowError:
            log.warning("an unused secret of target %s could not be removed", target_id)

    async def delete_target(self, principal: Principal, target_id: uuid.UUID) -> None:
        """Delete the target with its deployments; after the commit, their keyring
        entries and the target's own secret go too."""
        async with self.ctx.authorized(principal, TARGETS_WRITE) as scope:
            target = await scope.target(target_id)
            refs = await deployments_secret_refs(scope.uow, scope.org, target_id=target_id)
            await scope.uow.targets.delete(target_id)
            scope.record("target.deleted", "target", target_id, {"name": target.name})
        await self.pool.forget(target_id)
        if target.secret_ref:
            refs.append(target.secret_ref)
        await delete_secrets(self.secrets, refs, f"deleted target {target_id}")

    async def forget_host_key(self, principal: Principal, target_id: uuid.UUID) -> bool:
        """Drop the stored host key of an SSH target (after a legitimate key change)."""
        async with self.ctx.authorized(principal, TARGETS_WRITE) as scope:
            target = await scope.target(target_id)
            scope.record("target.host_key_forgotten", "target", target_id,
                         {"name": target.name, "host": target.host})
        await self.pool.forget(target_id)
        return await self.pool.known_hosts.remove(target.host, target.port)

    async def trust_host_key(self, principal: Principal, target_id: uuid.UUID,
                             fingerprint: str, accept: Callable[[Target], bool]) -> Target:
        """``principal`` trusts the host key ``fingerprint`` of an SSH target (on a server,
        where no dialog asks): ``accept`` lets the next connection take it, or says it
        is not the key that host offered (``ConflictError``, nothing recorded)."""
        async with self.ctx.authorized(principal, TARGETS_WRITE) as scope:
            target = await scope.target(target_id)
            if target.kind is not TargetKind.SSH:
                raise ValidationError(f"{target.name} is not an SSH target", field="kind")
            if not accept(target):
                raise ConflictError(f"{target.name} has no pending host key with that "
                                    "fingerprint: test the connection first, then trust "
                                    "the key it offered")
            scope.record("target.host_key_trusted", "target", target_id,
                         {"name": target.name, "host": target.host,
                          "fingerprint": fingerprint})
            return target

    # -- reaching targets ----------------------------------------------------------------

    async def test_connection(
        self, principal: Principal, target_id: uuid.UUID, on_step: StepCallback | None = None
    ) -> ConnectionReport:
        """The step-by-step test of a saved target; its status is updated."""
        target = await self._read(principal, TARGETS_SCAN, target_id)
        report = await check_connection(self.pool, target, on_step=on_step)
        await self._set_status(principal, TARGETS_SCAN, target_id, report.status,
                               report.error)
        return report

    async def test_draft(
        self,
        principal: Principal,
        spec: TargetSpec,
        secret: str | None = None,
        on_step: StepCallback | None = None,
        *,
        target_id: uuid.UUID | None = None,
    ) -> ConnectionReport:
        """Test a target before it is saved (the add/edit wizard); nothing is stored,
        except a host key the user accepts. ``target_id`` reuses a saved target's secret."""
        saved: Target | None = None
        async with self.ctx.authorized(principal, TARGETS_WRITE) as scope:
            if target_id is not None:
                saved = await scope.target(target_id)
            org = scope.org
        if not secret and saved is not None and saved.secret_ref:
            # The saved secret only goes to the server it was entered for.
            wanted = clean_spec(spec, secret_given=True)
            if _same_endpoint(saved, wanted):
                secret = await self.secrets.aget(saved.secret_ref)
            elif _needs_secret_again(saved, wanted):
                raise _secret_again(saved, wanted)
        spec = clean_spec(spec, secret_given=bool(secret))
        draft = _apply(Target(organization_id=org, name=spec.name), spec)
        if draft.kind is not TargetKind.SSH:
            return await check_connection(self.pool, draft, on_step=on_step)
        ssh = await self.pool.ephemeral_ssh(draft, secret)
        try:
            return await check_connection(self.pool, draft, ssh=ssh, on_step=on_step)
        finally:
            await ssh.close()

    async def scan(self, principal: Principal, target_id: uuid.UUID) -> ScanOutcome:
        """Scan the target and store its capabilities; a failure updates its status and
        is raised."""
        target = await self._read(principal, TARGETS_SCAN, target_id)
        return await self._scan_one(principal, target)

    async def scan_many(
        self, principal: Principal, target_ids: Iterable[uuid.UUID] | None = None
    ) -> dict[uuid.UUID, ScanOutcome | WindFlowError]:
        """Scan several targets (all of the organization by default), at most
        ``concurrency`` at once; each result is the outcome or the error."""
        async with self.ctx.authorized(principal, TARGETS_SCAN) as scope:
            targets = await _targets(scope, target_ids)
        results = await bounded(targets, lambda t: self._scan_one(principal, t),
                                self.concurrency)
        out: dict[uuid.UUID, ScanOutcome | WindFlowError] = {}
        for target, result in zip(targets, results, strict=True):
            if isinstance(result, BaseException) and not isinstance(result, WindFlowError):
                result = WindFlowError(f"scanning {target.name} failed: {result}")
            out[target.id] = result
        return out

    async def _scan_one(self, principal: Principal, target: Target) -> ScanOutcome:
        try:
            result: ScanResult = await scan_target(self.pool, target)
        except WindFlowError as exc:
            await self._set_status(principal, TARGETS_SCAN, target.id, status_for(exc),
                                   exc.message)
            raise
        docker = result.get("docker")
        status = TargetStatus.ONLINE if docker and docker.available else TargetStatus.ERROR
        error = "" if status is TargetStatus.ONLINE else str(
            (docker.details.get("reason") if docker else "") or "Docker is not usable"
        )
        async with self._write_lock, self.ctx.authorized(principal, TARGETS_SCAN) as scope:
            fresh = await scope.target(target.id)
            now = self.ctx.clock()
            caps = [dataclasses.replace(c, target_id=fresh.id, scanned_at=now)
                    for c in result.capabilities]
            await scope.uow.targets.set_capabilities(fresh.id, caps)
            self._status_into(scope, fresh, status, error, now)
            fresh = await scope.uow.targets.save(fresh)
            scope.record("target.scanned", "target", fresh.id, {
                "name": fresh.name,
                "docker": result.docker_version,
                "compose_v2": _version(result, "compose_v2"),
                "compose_v1": _version(result, "compose_v1"),
            })
        return ScanOutcome(fresh, tuple(caps))

    async def check_health(
        self, principal: Principal, target_ids: Iterable[uuid.UUID] | None = None
    ) -> list[HealthResult]:
        """Check each target's engine (all of the organization by default) and update
        status and ``last_seen``; ``target.status_changed`` only for real changes."""
        async with self.ctx.authorized(principal, TARGETS_READ) as scope:
            targets = await _targets(scope, target_ids)

        async def one(target: Target) -> HealthResult:
            try:
                async with self.pool.docker(target) as api:
                    await api.ping()
                status, error = TargetStatus.ONLINE, ""
            except WindFlowError as exc:
                status, error = status_for(exc), exc.message
            return await self._set_status(principal, TARGETS_READ, target.id, status, error)

        results = await bounded(targets, one, self.concurrency)
        return [r for r in results if isinstance(r, HealthResult)]

    # -- helpers -------------------------------------------------------------------------

    async def _read(self, principal: Principal, permission: str,
                    target_id: uuid.UUID) -> Target:
        async with self.ctx.authorized(principal, permission) as scope:
            return await scope.target(target_id)

    async def _set_status(
        self, principal: Principal, permission: str, target_id: uuid.UUID,
        status: TargetStatus, error: str = "",
    ) -> HealthResult:
        async with self._write_lock, self.ctx.authorized(principal, permission) as scope:
            try:
                target = await scope.target(target_id)
            except NotFoundError:  # deleted meanwhile
                return HealthResult(target_id, status, False, error)
            now = self.ctx.clock()
            changed = self._status_into(scope, target, status, error, now)
            await scope.uow.targets.save(target)
            return HealthResult(target_id, status, changed, error, target.last_seen)

    @staticmethod
    def _status_into(scope: Scope, target: Target, status: TargetStatus, error: str,
                     now: datetime) -> bool:
        old = target.status
        if status is TargetStatus.ONLINE:
            target.last_seen = now
        if old is status:
            return False
        target.status = status
        payload = TargetStatusChanged(target.name, old.value, status.value,
                                      error[:500] if error else None)
        scope.record(payload.TYPE, "target", target.id, payload.to_data(), actor_id=None)
        return True


# -- module helpers ----------------------------------------------------------------------



async def _targets(scope: Scope, ids: Iterable[uuid.UUID] | None) -> list[Target]:
    if ids is not None:
        return [await scope.target(i) for i in ids]
    found: list[Target] = []
    after: str | None = None
    while True:
        page = await scope.uow.targets.list(scope.org, PageRequest(limit=1000, after=after))
        found.extend(page.items)
        if page.next_cursor is None:
            return found
        after = page.next_cursor


async def _unique_name(scope: Scope, name: str) -> None:
    page = await scope.uow.targets.list(scope.org, PageRequest(limit=1000, search=name))
    if any(t.name.lower() == name.lower() for t in page.items):
        raise ConflictError(f"a target named {name!r} already exists")


def _apply(target: Target, spec: TargetSpec) -> Target:
    target.name = spec.name
    target.kind = spec.kind
    target.host = spec.host
    target.port = spec.port
    target.username = spec.username
    target.auth = spec.auth
    target.docker_socket = spec.docker_socket or None
    tls: dict[str, Any] = {}
    if spec.kind is TargetKind.SSH and spec.key_file:
        tls["ssh_key_file"] = spec.key_file
    if spec.kind is TargetKind.DOCKER_TCP:
        if spec.insecure:
            tls["insecure"] = True
        else:
            tls.update({k: v for k, v in (("ca_file", spec.ca_file),
                                          ("cert_file", spec.cert_file),
                                          ("key_file", spec.client_key_file)) if v})
    target.tls = tls
    target.labels = dict(spec.labels)
    return target


def clean_spec(spec: TargetSpec, *, secret_given: bool) -> TargetSpec:
    """The spec, trimmed and checked; ``ValidationError`` names the offending field."""
    name = " ".join(spec.name.split())
    if not name or not _NAME.match(name):
        raise ValidationError("the target needs a name of 1 to 100 characters", field="name")
    host = spec.host.strip()
    changes: dict[str, Any] = {"name": name, "host": host, "username": spec.username.strip(),
                               "key_file": spec.key_file.strip(),
                               "docker_socket": spec.docker_socket.strip()}
    if spec.port is not None and not 1 <= spec.port <= 65535:
        raise ValidationError("the port must be between 1 and 65535", field="port")
    if spec.kind is TargetKind.LOCAL:
        changes.update(host="", port=None, username="", auth=TargetAuth.NONE, key_file="")
        if changes["docker_socket"]:
            local_socket_url(changes["docker_socket"])  # unix://, npipe:// or a path
    else:
        if not host or not _HOST.match(host):
            raise ValidationError("enter the host name or IP address", field="host")
    if spec.kind is TargetKind.SSH:
        auth = spec.auth if spec.auth is not TargetAuth.NONE else TargetAuth.AGENT
        changes["auth"] = auth
        if auth is TargetAuth.KEY and not changes["key_file"]:
            raise ValidationError("choose the private key file", field="key_file")
        if auth is TargetAuth.PASSWORD and not secret_given:
            raise ValidationError("enter the password", field="secret")
        if auth is not TargetAuth.KEY:
            changes["key_file"] = ""
        socket = changes["docker_socket"]
        if socket and not socket.removeprefix("unix://").startswith("/"):
            raise ValidationError("the remote Docker socket is a path on the host "
                                  "(/var/run/docker.sock or unix:///…)", field="docker_socket")
    if spec.kind is TargetKind.DOCKER_TCP:
        changes.update(username="", auth=TargetAuth.NONE, key_file="")
        if not spec.insecure:
            if not spec.ca_file.strip():
                raise ValidationError(
                    "TLS needs the CA certificate that signed the engine's certificate "
                    "(or choose the insecure plain-TCP mode explicitly)", field="ca_file")
            if bool(spec.cert_file.strip()) != bool(spec.client_key_file.strip()):
                raise ValidationError("give both the client certificate and its key",
                                      field="cert_file")
        changes.update(ca_file=spec.ca_file.strip(), cert_file=spec.cert_file.strip(),
                       client_key_file=spec.client_key_file.strip())
    return dataclasses.replace(spec, **changes)


def _same_endpoint(target: Target, spec: TargetSpec) -> bool:
    """Whether a cleaned spec reaches the same account, the same way, as the saved target."""
    return (target.kind, target.host, target.port, target.username, target.auth) == (
        spec.kind, spec.host, spec.port, spec.username, spec.auth)


def _needs_secret_again(target: Target, spec: TargetSpec) -> bool:
    """Whether the spec's sign-in method would use a secret (a password, or the saved key
    passphrase for key auth)."""
    return spec.kind is TargetKind.SSH and (
        spec.auth is TargetAuth.PASSWORD
        or (spec.auth is TargetAuth.KEY and target.auth is TargetAuth.KEY)
    )


def _secret_again(target: Target, spec: TargetSpec) -> ValidationError:
    what = "key passphrase" if spec.auth is TargetAuth.KEY else "password"
    if target.kind is not spec.kind or target.auth is not spec.auth:
        why = "the sign-in method changed"
    elif target.host != spec.host:
        why = "the host changed"
    elif target.port != spec.port:
        why = "the port changed"
    else:
        why = "the username changed"
    return ValidationError(f"enter the {what} again: {why}", field="secret")


def _summary(target: Target) -> dict[str, Any]:
    return {"name": target.name, "kind": target.kind.value, "host": target.host}


def _version(result: ScanResult, kind: str) -> str:
    cap = result.get(kind)
    return cap.version if cap and cap.available else ""
