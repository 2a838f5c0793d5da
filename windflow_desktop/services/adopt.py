"""``AdoptService``: the Compose projects and plain containers of a target that WindFlow
does not manage (``discover``), taking a running project over as a stack without
recreating a container (``adopt``), and keeping a change made by hand to a managed
project as a new revision of its stack (``keep``).

Adopting records, it never acts on the target: the stack's first revision is the
project's compose file as it is on the target (``AdoptSource.FILES``; its ``.env`` gives
the values that run), or, when the files are gone, unreadable, several, or name paths
relative to their folder, a text rebuilt from the containers as the engine runs them
(``AdoptSource.ENGINE``, only when asked for); and a succeeded deployment record of the
project under its own name. A later deploy of the stack keeps that name (see
``deploy.standing.project_of``) and keeps its files in WindFlow's own folder — which is why
relative paths are refused from the files: they would point elsewhere from there."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

from ..domain.adopt import (
    CONFIG_FILES_LABEL,
    WORKING_DIR_LABEL,
    Adopted,
    AdoptSource,
    FilesUnreadableError,
    Unmanaged,
    UnmanagedProject,
)
from ..domain.containers import ContainerInfo
from ..domain.enums import DeploymentStatus
from ..domain.errors import ConflictError, NotFoundError, PermissionDeniedError, ValidationError
from ..domain.events import DeploymentCreated
from ..domain.identity import Principal
from ..domain.models import Deployment, Stack, StackRevision, Target
from ..domain.permissions import (
    DEPLOYMENTS_CREATE,
    DEPLOYMENTS_MANAGE,
    STACKS_WRITE,
    TARGETS_READ,
)
from ..domain.variables import parse_spec, spec_dicts
from ..engine.adopt import (
    EngineView,
    compose_from_containers,
    infer_variables,
    inspect_project,
    read_project_files,
    relative_paths,
)
from ..engine.compose import env_file_text, reserved_variables
from ..engine.compose_validation import validate_compose
from ..engine.pool import ExecutorPool
from ..engine.project_names import ADOPTED_NAME, PROJECT_NAME
from ..security.secrets import SecretStore
from .common import Scope, ServiceContext
from .deploy.values import stored_secret
from .stacks import _clean_name, _unique_slug

# A project is held while its newest deployment is in one of these (a removed one's
# project is gone; if its containers run again, someone started them outside WindFlow).
HOLDING = [s for s in DeploymentStatus if s is not DeploymentStatus.REMOVED]


class AdoptService:
    """Public API (async; the acting principal first): ``discover(p, target_id) ->
    Unmanaged`` (viewer+), ``adopt(p, target_id, project, stack_name, source="files") ->
    Adopted`` (operator+; a revision that needs host access also needs stacks:write),
    ``keep(p, deployment_id) -> Adopted`` (operator+)."""

    def __init__(self, context: ServiceContext, pool: ExecutorPool,
                 secrets: SecretStore) -> None:
        self.ctx = context
        self.pool = pool
        self.secrets = secrets

    # -- discovery ------------------------------------------------------------------------

    async def discover(self, principal: Principal, target_id: uuid.UUID) -> Unmanaged:
        """The target's projects no deployment of this organization holds (with their
        containers) and its containers of no project, from one list of the engine."""
        async with self.ctx.authorized(principal, TARGETS_READ) as scope:
            target = await scope.target(target_id)
            held = await _held_projects(scope, target_id)
        async with self.pool.docker(target) as api:
            containers = await api.containers(all=True)
        return unmanaged_of(target_id, containers, held)

    # -- adopting -------------------------------------------------------------------------

    async def adopt(self, principal: Principal, target_id: uuid.UUID, project: str,
                    stack_name: str, source: AdoptSource | str = AdoptSource.FILES
                    ) -> Adopted:
        async with self.ctx.authorized(principal, DEPLOYMENTS_CREATE) as scope:
            source = AdoptSource(source)
            name = _clean_name(stack_name)
            if not ADOPTED_NAME.match(project) or PROJECT_NAME.match(project):
                raise ValidationError(
                    f"{project[:80]!r} cannot be adopted: a project name WindFlow keeps must "
                    "be lowercase letters, digits, '_' and '-' (at most 63), and not look "
                    "like one WindFlow makes (wf-<name>-<8 hex>)", field="project")
            target = await scope.target(target_id)
            if project in await _held_projects(scope, target_id):
                raise ConflictError(f"{project} on {target.name} is already managed by "
                                    "WindFlow")
        found = await self._project(target, project)
        if found is None:
            raise NotFoundError("Compose project", project)
        text, specs, values, notes = await self._read(target, found, source)
        report = await asyncio.to_thread(validate_compose, text, parse_spec(specs))
        report.raise_for_errors()
        await self._allow_host_access(principal, report.host_access)
        dep_id = uuid.uuid4()
        stored, refs = await self._store_values(dep_id, specs, values)
        try:
            async with self.ctx.authorized(principal, DEPLOYMENTS_CREATE) as scope:
                target = await scope.target(target_id)
                if project in await _held_projects(scope, target_id):  # adopted meanwhile
                    raise ConflictError(f"{project} on {target.name} is already managed by "
                                        "WindFlow")
                now = self.ctx.clock()
                stack = await scope.uow.stacks.add(Stack(
                    organization_id=scope.org, name=name,
                    slug=await _unique_slug(scope.uow, scope.org, name),
                    description=f"Adopted from the Compose project {project} on "
                                f"{target.name}", created_at=now, updated_at=now,
                    host_access=bool(report.host_access)))
                revision = await self._revision(scope, stack, text, specs,
                                                _message(source, found))
                dep = await self._record(scope, stack, revision, target, project, dep_id,
                                         stored)
                scope.record("stack.adopted", "stack", stack.id, {
                    "name": stack.name, "revision": revision.number, "project": project,
                    "target_id": str(target.id), "target_name": target.name,
                    "deployment_id": str(dep.id), "source": source.value,
                    "containers": len(found.containers)})
        except BaseException:
            await self._forget(refs)
            raise
        return Adopted(stack.id, stack.name, revision.number, dep.id, project, source,
                       tuple(notes))

    async def keep(self, principal: Principal, deployment_id: uuid.UUID) -> Adopted:
        """What runs now in a managed deployment's project (rebuilt from its containers)
        as a new revision of its stack, and a succeeded deployment record of it: the
        change made by hand becomes what WindFlow deploys from now on."""
        async with self.ctx.authorized(principal, DEPLOYMENTS_MANAGE) as scope:
            dep = await scope.deployment(deployment_id)
            stack = await scope.stack(dep.stack_id)
            target = await scope.target(dep.target_id)
            holder = await scope.uow.deployments.last_with_status(
                dep.stack_id, dep.target_id, list(DeploymentStatus))
            if holder is None or holder.id != dep.id or \
                    dep.status is not DeploymentStatus.SUCCEEDED:
                raise ConflictError("only the succeeded deployment that holds a project can "
                                    "keep the changes made to it by hand")
            if stack.archived_at is not None:
                raise ConflictError(f"the stack {stack.name} is archived")
        executor = await self.pool.executor(target)
        containers, images = await inspect_project(executor, dep.project_name)
        if not containers:
            raise ConflictError(f"nothing runs in {dep.project_name} on {target.name}: "
                                "there is no change to keep (put it back instead)")
        view = compose_from_containers(dep.project_name, containers, images)
        specs, values = _engine_variables(view)
        report = await asyncio.to_thread(validate_compose, view.compose_yaml,
                                         parse_spec(specs))
        report.raise_for_errors()
        if report.host_access and not stack.host_access:
            await self._allow_host_access(principal, report.host_access)
        new_id = uuid.uuid4()
        stored, refs = await self._store_values(new_id, specs, values)
        try:
            async with self.ctx.authorized(principal, DEPLOYMENTS_MANAGE) as scope:
                stack = await scope.stack(dep.stack_id)
                target = await scope.target(dep.target_id)
                if report.host_access:
                    stack.host_access = True
                revision = await self._revision(
                    scope, stack, view.compose_yaml, specs,
                    f"Kept the changes made by hand to {dep.project_name} on {target.name}")
                kept = await self._record(scope, stack, revision, target, dep.project_name,
                                          new_id, stored, replaces=dep)
                scope.record("stack.change_kept", "stack", stack.id, {
                    "name": stack.name, "revision": revision.number,
                    "project": dep.project_name, "target_id": str(target.id),
                    "target_name": target.name, "deployment_id": str(kept.id),
                    "replaces": str(dep.id)})
        except BaseException:
            await self._forget(refs)
            raise
        return Adopted(stack.id, stack.name, revision.number, kept.id, dep.project_name,
                       AdoptSource.ENGINE, tuple(view.notes))

    # -- helpers --------------------------------------------------------------------------

    async def _project(self, target: Target, project: str) -> UnmanagedProject | None:
        async with self.pool.docker(target) as api:
            containers = await api.containers(all=True)
        return unmanaged_of(target.id, containers, set()).project(project)

    async def _read(self, target: Target, found: UnmanagedProject, source: AdoptSource
                    ) -> tuple[str, list[dict[str, Any]], dict[str, str], list[str]]:
        """The revision's text, its variables spec, the values that run and notes."""
        executor = await self.pool.executor(target)
        if source is AdoptSource.FILES:
            files = await read_project_files(executor, found.name, found.working_dir,
                                             found.config_files)
            relative = relative_paths(files.compose_yaml)
            if relative:
                raise FilesUnreadableError(
                    f"{files.compose_path} names paths relative to its folder "
                    f"({'; '.join(relative[:5])}); WindFlow keeps a stack's files in a "
                    "folder of its own, where these would point elsewhere: make them "
                    "absolute in the file, or adopt the project as the engine runs it "
                    "(\"from the engine\": the paths as the containers use them)")
            specs, values, notes = infer_variables(files.compose_yaml, files.env)
            problems = reserved_variables(s["name"] for s in specs)
            if problems:
                raise ValidationError(problems[0].message, field="variables")
            return files.compose_yaml, specs, values, notes
        containers, images = await inspect_project(executor, found.name)
        view = compose_from_containers(found.name, containers, images)
        specs, values = _engine_variables(view)
        return view.compose_yaml, specs, values, view.notes

    async def _allow_host_access(self, principal: Principal, grants: Sequence[str]) -> None:
        """A revision that reaches into its host needs someone who may say so."""
        if not grants:
            return
        try:
            async with self.ctx.authorized(principal, STACKS_WRITE):
                pass  # the check itself: claimed rights, then the stored ones
        except PermissionDeniedError as exc:
            raise PermissionDeniedError(
                f"what runs needs host access ({', '.join(grants)}): adopting it needs "
                f"stacks:write as well; {exc.message}") from exc

    async def _store_values(self, dep_id: uuid.UUID, specs: Sequence[Mapping[str, Any]],
                            values: Mapping[str, str]) -> tuple[dict[str, object], list[str]]:
        """The deployment row's variables: secret values go to the keyring."""
        env_file_text(values)  # refuse values a redeploy's .env could not carry, now
        secret = {s["name"] for s in specs if s.get("secret")}
        stored: dict[str, object] = {}
        refs: list[str] = []
        for name, value in values.items():
            if name in secret:
                ref = f"deployment/{dep_id}/var/{name}"
                refs.append(ref)
                await self.secrets.aset(ref, value)
                stored[name] = stored_secret(ref)
            else:
                stored[name] = value
        return stored, refs

    async def _forget(self, refs: Sequence[str]) -> None:
        for ref in refs:
            with contextlib.suppress(Exception):  # best effort: the failure is what matters
                await self.secrets.adelete(ref)

    async def _revision(self, scope: Scope, stack: Stack, text: str,
                        specs: Sequence[Mapping[str, Any]], message: str) -> StackRevision:
        assert scope.principal is not None
        number = stack.current_revision + 1
        revision = await scope.uow.stacks.add_revision(StackRevision(
            stack_id=stack.id, number=number, compose_yaml=text,
            variables=spec_dicts(parse_spec(specs)), author_id=scope.principal.user_id,
            message=message, created_at=self.ctx.clock()))
        stack.current_revision = number
        stack.updated_at = self.ctx.clock()
        await scope.uow.stacks.save(stack)
        return revision

    async def _record(self, scope: Scope, stack: Stack, revision: StackRevision,
                      target: Target, project: str, dep_id: uuid.UUID,
                      stored: dict[str, object], *, replaces: Deployment | None = None
                      ) -> Deployment:
        """A succeeded deployment record of what runs; newer than the one it ``replaces``
        even on a clock that did not move (the project's newest is the one that counts)."""
        assert scope.principal is not None
        now = self.ctx.clock()
        if replaces is not None and now <= replaces.created_at:
            now = replaces.created_at + timedelta(milliseconds=1)
        dep = await scope.uow.deployments.add(Deployment(
            organization_id=scope.org, stack_id=stack.id, revision_id=revision.id,
            target_id=target.id, project_name=project, variables=stored,
            status=DeploymentStatus.SUCCEEDED, actor_id=scope.principal.user_id, id=dep_id,
            created_at=now, started_at=now, finished_at=now,
            revision_number=revision.number))
        scope.record(DeploymentCreated.TYPE, "deployment", dep.id, DeploymentCreated(
            stack_id=str(stack.id), target_id=str(target.id), stack_name=stack.name,
            target_name=target.name, project=project, status=dep.status.value).to_data())
        return dep


def unmanaged_of(target_id: uuid.UUID, containers: Sequence[ContainerInfo],
                 held: set[str]) -> Unmanaged:
    """Group a target's containers: projects not in ``held`` (by Compose project label),
    and containers of no project."""
    projects: dict[str, list[ContainerInfo]] = defaultdict(list)
    plain: list[ContainerInfo] = []
    for container in containers:
        if not container.project:
            plain.append(container)
        elif container.project not in held:
            projects[container.project].append(container)
    found = []
    for name, members in sorted(projects.items()):
        members.sort(key=lambda c: (c.service, c.name))
        labels = next((c.labels for c in members if c.labels.get(CONFIG_FILES_LABEL)),
                      members[0].labels)
        files = tuple(f for f in str(labels.get(CONFIG_FILES_LABEL) or "").split(",") if f)
        found.append(UnmanagedProject(name, str(labels.get(WORKING_DIR_LABEL) or ""), files,
                                      tuple(members)))
    plain.sort(key=lambda c: c.name)
    return Unmanaged(target_id, tuple(found), tuple(plain))


async def _held_projects(scope: Scope, target_id: uuid.UUID) -> set[str]:
    newest = await scope.uow.deployments.newest_per_project(scope.org, list(DeploymentStatus))
    return {d.project_name for d in newest
            if d.target_id == target_id and d.status in HOLDING}


def _engine_variables(view: EngineView) -> tuple[list[dict[str, Any]], dict[str, str]]:
    specs = [{"name": name, "secret": True, "required": True} for name in sorted(view.secrets)]
    return specs, dict(view.secrets)


def _message(source: AdoptSource, found: UnmanagedProject) -> str:
    if source is AdoptSource.FILES:
        return f"Adopted from {', '.join(found.config_files)}"
    return f"Adopted from the containers of {found.name} as the engine runs them"
