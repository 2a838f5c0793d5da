"""``StackService``: Compose stacks and their immutable revisions.

Every save is a new revision (author, message, time); nothing edits a revision. Restore
copies an old revision into a new one. Export/import carry a stack with its revisions in
a versioned JSON or YAML document (``format: windflow.stack``, ``version: 1``) that never
holds a secret value: secret variables have no defaults (see ``domain.variables``).
"""

from __future__ import annotations

import asyncio
import difflib
import json
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import yaml

from ..domain.compose import ComposeReport
from ..domain.enums import UpdatePolicy
from ..domain.errors import ConflictError, ValidationError
from ..domain.identity import Principal
from ..domain.models import RevisionDiff, Stack, StackRevision
from ..domain.paging import Page, PageRequest
from ..domain.permissions import STACKS_READ, STACKS_WRITE
from ..domain.variables import VariableSpec, parse_spec, spec_dicts
from ..engine.compose_validation import validate_compose
from ..engine.files import read_regular_file
from ..engine.safe_yaml import Limits, YAMLLimitError, load_bounded
from ..repositories.protocols import UnitOfWork
from .common import Scope, ServiceContext, clean_name, free_slug

EXPORT_FORMAT = "windflow.stack"
EXPORT_VERSION = 1
MAX_IMPORT_BYTES = 8 * 1024 * 1024
MAX_IMPORT_REVISIONS = 1_000
# An export is JSON or YAML we did not write: bounded like a Compose file, with room for
# its revisions (aliases may not make 80 KB into 20,000 revisions of 512 KiB each).
IMPORT_LIMITS = Limits(max_depth=32, max_nodes=200_000, max_scalar_bytes=2 * MAX_IMPORT_BYTES)
MAX_TAGS = 20


class StackService:
    """Public API (async; the acting principal first):

    ``list_stacks(p, page=None, archived=False) -> Page[Stack]``, ``get_stack(p, id)``,
    ``create_stack(p, name=, compose_yaml=, variables=(), description="", tags=(),
    message="") -> tuple[Stack, StackRevision]``, ``update_stack(p, id, name=, description=,
    tags=, host_access=) -> Stack``, ``save_revision(p, id, compose_yaml=, variables=, message="",
    expected_revision=None) -> StackRevision``, ``revisions(p, id, page=None)``,
    ``get_revision(p, id, number=None)``, ``diff(p, id, old, new) -> RevisionDiff``,
    ``restore(p, id, number, message=None) -> StackRevision``, ``duplicate(p, id, name)``,
    ``archive(p, id)``, ``unarchive(p, id)``, ``export_stack(p, id, fmt="json") -> str``,
    ``import_stack(p, text, name=None) -> Stack``; and ``validate(text, variables)``
    (no permission: pure, runs in a worker thread).
    """

    def __init__(self, context: ServiceContext) -> None:
        self.ctx = context

    # -- reading ------------------------------------------------------------------------

    async def list_stacks(
        self, principal: Principal, page: PageRequest | None = None, *, archived: bool = False
    ) -> Page[Stack]:
        async with self.ctx.authorized(principal, STACKS_READ) as scope:
            return await scope.uow.stacks.list(scope.org, page or PageRequest(),
                                               archived=archived)

    async def get_stack(self, principal: Principal, stack_id: uuid.UUID) -> Stack:
        async with self.ctx.authorized(principal, STACKS_READ) as scope:
            return await scope.stack(stack_id)

    async def revisions(
        self, principal: Principal, stack_id: uuid.UUID, page: PageRequest | None = None
    ) -> Page[StackRevision]:
        async with self.ctx.authorized(principal, STACKS_READ) as scope:
            await scope.stack(stack_id)
            return await scope.uow.stacks.revisions(stack_id, page or PageRequest())

    async def get_revision(
        self, principal: Principal, stack_id: uuid.UUID, number: int | None = None
    ) -> StackRevision:
        """Revision ``number`` of the stack (its current one by default)."""
        async with self.ctx.authorized(principal, STACKS_READ) as scope:
            stack = await scope.stack(stack_id)
            return await scope.uow.stacks.get_revision(stack_id, number or stack.current_revision)

    async def diff(
        self, principal: Principal, stack_id: uuid.UUID, old: int, new: int
    ) -> RevisionDiff:
        async with self.ctx.authorized(principal, STACKS_READ) as scope:
            await scope.stack(stack_id)
            a = await scope.uow.stacks.get_revision(stack_id, old)
            b = await scope.uow.stacks.get_revision(stack_id, new)
        return diff_revisions(a, b)

    @staticmethod
    async def validate(compose_yaml: str, variables: Sequence[Mapping[str, Any]] = ()
                       ) -> ComposeReport:
        """The validation report for an editor; parsing runs off the event loop."""
        specs = parse_spec(variables)
        return await asyncio.to_thread(validate_compose, compose_yaml, specs)

    # -- writing ------------------------------------------------------------------------

    async def create_stack(
        self,
        principal: Principal,
        *,
        name: str,
        compose_yaml: str,
        variables: Sequence[Mapping[str, Any]] = (),
        description: str = "",
        tags: Sequence[str] = (),
        message: str = "",
    ) -> tuple[Stack, StackRevision]:
        name, tags = _clean_name(name), _clean_tags(tags)
        specs = await _checked(compose_yaml, variables)
        async with self.ctx.authorized(principal, STACKS_WRITE) as scope:
            now = self.ctx.clock()
            stack = await scope.uow.stacks.add(Stack(
                organization_id=scope.org, name=name,
                slug=await _unique_slug(scope.uow, scope.org, name),
                description=description.strip(), tags=tags, created_at=now, updated_at=now,
            ))
            revision = await self._new_revision(scope, stack, compose_yaml, specs,
                                                message or "Created")
            scope.record("stack.created", "stack", stack.id,
                         {"name": stack.name, "revision": revision.number})
            return stack, revision

    async def update_stack(
        self,
        principal: Principal,
        stack_id: uuid.UUID,
        *,
        name: str | None = None,
        description: str | None = None,
        tags: Sequence[str] | None = None,
        host_access: bool | None = None,
        update_policy: UpdatePolicy | str | None = None,
    ) -> Stack:
        """``host_access``: the explicit "this stack needs host access" flag, without
        which a revision with host paths, privileged mode, host namespaces, devices or
        added capabilities is not deployed. ``update_policy``: notify / auto / ignore
        when an image its deployments run has an update; an automatic update acts as
        the person who chose ``auto`` (their rights when it runs)."""
        async with self.ctx.authorized(principal, STACKS_WRITE) as scope:
            stack = await scope.stack(stack_id)
            data: dict[str, Any] = {}
            if name is not None:
                stack.name = _clean_name(name)
            if description is not None:
                stack.description = description.strip()
            if tags is not None:
                stack.tags = _clean_tags(tags)
            if host_access is not None and host_access != stack.host_access:
                stack.host_access = data["host_access"] = bool(host_access)
            if update_policy is not None:
                try:
                    policy = UpdatePolicy(update_policy)
                except ValueError:
                    raise ValidationError(
                        f"unknown update policy {update_policy!r}: notify, auto or ignore",
                        field="update_policy") from None
                if policy is not stack.update_policy or policy is UpdatePolicy.AUTO:
                    stack.update_policy = policy
                    stack.update_policy_by = principal.user_id
                    data["update_policy"] = policy.value
            stack.updated_at = self.ctx.clock()
            stack = await scope.uow.stacks.save(stack)
            scope.record("stack.updated", "stack", stack.id, {"name": stack.name, **data})
            return stack

    async def save_revision(
        self,
        principal: Principal,
        stack_id: uuid.UUID,
        *,
        compose_yaml: str,
        variables: Sequence[Mapping[str, Any]] = (),
        message: str = "",
        expected_revision: int | None = None,
    ) -> StackRevision:
        """A new revision; with ``expected_revision``, refused if someone saved since."""
        specs = await _checked(compose_yaml, variables)
        async with self.ctx.authorized(principal, STACKS_WRITE) as scope:
            stack = await scope.stack(stack_id)
            if expected_revision is not None and stack.current_revision != expected_revision:
                raise ConflictError(
                    f"the stack was saved by someone else meanwhile (revision "
                    f"{stack.current_revision}, you edited {expected_revision}); reload it "
                    "and apply your change again")
            _writable(stack)
            revision = await self._new_revision(scope, stack, compose_yaml, specs, message)
            scope.record("stack.revised", "stack", stack.id,
                         {"name": stack.name, "revision": revision.number})
            return revision

    async def restore(
        self, principal: Principal, stack_id: uuid.UUID, number: int, message: str | None = None
    ) -> StackRevision:
        """Copy revision ``number`` into a new revision (history is never rewritten)."""
        async with self.ctx.authorized(principal, STACKS_WRITE) as scope:
            stack = await scope.stack(stack_id)
            _writable(stack)
            old = await scope.uow.stacks.get_revision(stack_id, number)
            revision = await self._new_revision(
                scope, stack, old.compose_yaml, parse_spec(old.variables),
                message or f"Restored revision {number}")
            scope.record("stack.revised", "stack", stack.id,
                         {"name": stack.name, "revision": revision.number,
                          "restored_from": number})
            return revision

    async def duplicate(self, principal: Principal, stack_id: uuid.UUID, name: str) -> Stack:
        """A new stack whose first revision is the current revision of ``stack_id``."""
        name = _clean_name(name)
        async with self.ctx.authorized(principal, STACKS_WRITE) as scope:
            source = await scope.stack(stack_id)
            current = await scope.uow.stacks.get_revision(stack_id, source.current_revision)
            now = self.ctx.clock()
            stack = await scope.uow.stacks.add(Stack(
                organization_id=scope.org, name=name,
                slug=await _unique_slug(scope.uow, scope.org, name),
                description=source.description, tags=list(source.tags),
                created_at=now, updated_at=now,
            ))
            await self._new_revision(scope, stack, current.compose_yaml,
                                     parse_spec(current.variables),
                                     f"Duplicated from {source.name} revision {current.number}")
            scope.record("stack.created", "stack", stack.id,
                         {"name": stack.name, "duplicated_from": str(source.id)})
            return stack

    async def archive(self, principal: Principal, stack_id: uuid.UUID) -> Stack:
        return await self._set_archived(principal, stack_id, True)

    async def unarchive(self, principal: Principal, stack_id: uuid.UUID) -> Stack:
        return await self._set_archived(principal, stack_id, False)

    async def _set_archived(self, principal: Principal, stack_id: uuid.UUID, on: bool) -> Stack:
        async with self.ctx.authorized(principal, STACKS_WRITE) as scope:
            stack = await scope.stack(stack_id)
            if (stack.archived_at is not None) == on:
                return stack
            now = self.ctx.clock()
            stack.archived_at = now if on else None
            stack.updated_at = now
            stack = await scope.uow.stacks.save(stack)
            scope.record("stack.archived" if on else "stack.unarchived", "stack", stack.id,
                         {"name": stack.name})
            return stack

    # -- export / import ----------------------------------------------------------------

    async def export_stack(
        self, principal: Principal, stack_id: uuid.UUID, fmt: str = "json"
    ) -> str:
        if fmt not in ("json", "yaml"):
            raise ValidationError("export as json or yaml", field="fmt")
        async with self.ctx.authorized(principal, STACKS_READ) as scope:
            stack = await scope.stack(stack_id)
            revisions: list[StackRevision] = []
            after: str | None = None
            while True:
                page = await scope.uow.stacks.revisions(stack_id, PageRequest(500, after))
                revisions.extend(page.items)
                if page.next_cursor is None:
                    break
                after = page.next_cursor
        doc = {
            "format": EXPORT_FORMAT,
            "version": EXPORT_VERSION,
            "stack": {"name": stack.name, "slug": stack.slug, "description": stack.description,
                      "tags": list(stack.tags)},
            "revisions": [
                {"number": r.number, "message": r.message, "created_at": r.created_at.isoformat(),
                 "compose_yaml": r.compose_yaml,
                 # Secret variables never carry a value; parse_spec drops any default.
                 "variables": spec_dicts(parse_spec(r.variables))}
                for r in sorted(revisions, key=lambda r: r.number)
            ],
        }
        if fmt == "json":
            return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
        return str(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True))

    async def import_stack(
        self, principal: Principal, text: str, *, name: str | None = None
    ) -> Stack:
        """A new stack from an export (JSON or YAML), with all its revisions in order (at
        most ``MAX_IMPORT_REVISIONS``)."""
        doc = await asyncio.to_thread(_parse_export, text)
        meta = doc["stack"]
        stack_name = _clean_name(name or str(meta.get("name") or ""))
        revisions = doc["revisions"]
        checked: list[tuple[Mapping[str, Any], list[VariableSpec]]] = []
        for raw in revisions:
            checked.append((raw, await _checked(str(raw["compose_yaml"]),
                                                raw.get("variables") or ())))
        async with self.ctx.authorized(principal, STACKS_WRITE) as scope:
            now = self.ctx.clock()
            stack = await scope.uow.stacks.add(Stack(
                organization_id=scope.org, name=stack_name,
                slug=await _unique_slug(scope.uow, scope.org, stack_name),
                description=str(meta.get("description") or ""),
                tags=_clean_tags(meta.get("tags") or ()), created_at=now, updated_at=now,
            ))
            for raw, specs in checked:
                created = _parse_time(raw.get("created_at")) or now
                await self._new_revision(scope, stack, str(raw["compose_yaml"]), specs,
                                         str(raw.get("message") or ""), created_at=created)
            scope.record("stack.imported", "stack", stack.id,
                         {"name": stack.name, "revisions": len(checked)})
            return stack

    # -- helpers ------------------------------------------------------------------------

    async def _new_revision(
        self, scope: Scope, stack: Stack, compose_yaml: str, specs: Sequence[VariableSpec],
        message: str, *, created_at: datetime | None = None,
    ) -> StackRevision:
        assert scope.principal is not None
        number = stack.current_revision + 1
        revision = await scope.uow.stacks.add_revision(StackRevision(
            stack_id=stack.id, number=number, compose_yaml=compose_yaml,
            variables=spec_dicts(specs), author_id=scope.principal.user_id,
            message=message.strip(), created_at=created_at or self.ctx.clock(),
        ))
        stack.current_revision = number
        stack.updated_at = self.ctx.clock()
        await scope.uow.stacks.save(stack)
        return revision


def diff_revisions(a: StackRevision, b: StackRevision) -> RevisionDiff:
    def lines(text: str) -> list[str]:
        return text.splitlines(keepends=True)

    def spec_text(r: StackRevision) -> str:
        return str(yaml.safe_dump(r.variables, sort_keys=False)) if r.variables else ""

    compose = "".join(difflib.unified_diff(
        lines(a.compose_yaml), lines(b.compose_yaml),
        f"revision {a.number}/compose.yaml", f"revision {b.number}/compose.yaml"))
    variables = "".join(difflib.unified_diff(
        lines(spec_text(a)), lines(spec_text(b)),
        f"revision {a.number}/variables", f"revision {b.number}/variables"))
    return RevisionDiff(a.number, b.number, compose, variables)



def _writable(stack: Stack) -> None:
    if stack.archived_at is not None:
        raise ConflictError(f"the stack {stack.name} is archived; unarchive it to change it")


async def _checked(compose_yaml: str, variables: Sequence[Mapping[str, Any]]
                   ) -> list[VariableSpec]:
    specs = parse_spec(variables)
    report = await asyncio.to_thread(validate_compose, compose_yaml, specs)
    report.raise_for_errors()
    return specs


def _clean_name(name: str) -> str:
    return clean_name(name, "stack")


def _clean_tags(tags: Sequence[str]) -> list[str]:
    out: list[str] = []
    for tag in tags:
        text = str(tag).strip().lower()
        if text and text not in out:
            out.append(text[:50])
    if len(out) > MAX_TAGS:
        raise ValidationError(f"at most {MAX_TAGS} tags", field="tags")
    return out


async def _unique_slug(uow: UnitOfWork, org_id: uuid.UUID, name: str) -> str:
    """A slug no stack of the organization has, archived ones included."""
    existing: set[str] = set()
    for archived in (False, True):
        after: str | None = None
        while True:
            page = await uow.stacks.list(org_id, PageRequest(1000, after, search=None),
                                         archived=archived)
            existing.update(s.slug for s in page.items)
            if page.next_cursor is None:
                break
            after = page.next_cursor

    async def taken(slug: str) -> bool:
        return slug in existing

    return await free_slug(name, taken, limit=80, fallback="stack")


def read_import_file(path: str) -> str:
    """The text of an export file, its size checked before reading (blocking: run it in a
    worker thread). Only a regular file of at most ``MAX_IMPORT_BYTES``; never follows a
    FIFO or a device (``read_regular_file``; a link to the file is fine here)."""
    data = read_regular_file(path, MAX_IMPORT_BYTES, follow_links=True)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValidationError(f"the file is not UTF-8 text: {exc.reason} at byte "
                              f"{exc.start}", field="file") from exc


def _parse_export(text: str) -> dict[str, Any]:
    if len(text.encode("utf-8")) > MAX_IMPORT_BYTES:
        raise ValidationError(f"the file is larger than {MAX_IMPORT_BYTES // 2**20} MiB",
                              field="file")
    try:
        doc = load_bounded(text, IMPORT_LIMITS)  # JSON is YAML too
    except YAMLLimitError as exc:
        where = f" (line {exc.line}, column {exc.column})" if exc.line else ""
        raise ValidationError(f"not a WindFlow stack export: {exc.message}{where}",
                              field="file") from exc
    if not isinstance(doc, dict) or doc.get("format") != EXPORT_FORMAT:
        raise ValidationError("not a WindFlow stack export (format windflow.stack)",
                              field="file")
    version = doc.get("version")
    if not isinstance(version, int) or version > EXPORT_VERSION or version < 1:
        raise ValidationError(
            f"this export has version {version!r}; this WindFlow reads version "
            f"{EXPORT_VERSION} and older", field="file")
    if not isinstance(doc.get("stack"), dict):
        raise ValidationError("the export has no 'stack'", field="file")
    revisions = doc.get("revisions")
    if not isinstance(revisions, list) or not revisions:
        raise ValidationError("the export has no revisions", field="file")
    if len(revisions) > MAX_IMPORT_REVISIONS:
        raise ValidationError(f"the export has {len(revisions)} revisions; an import takes "
                              f"at most {MAX_IMPORT_REVISIONS} revisions", field="file")
    for position, raw in enumerate(revisions, start=1):
        if not isinstance(raw, dict) or not isinstance(raw.get("compose_yaml"), str):
            raise ValidationError(f"revision #{position} has no compose_yaml", field="file")
        number = raw.get("number", 0)
        if isinstance(number, bool) or not isinstance(number, int | None):
            raise ValidationError(f"revision #{position}: its number {number!r} is not a "
                                  "whole number", field="file")
        for var in raw.get("variables") or ():
            if isinstance(var, dict) and var.get("secret") and var.get("default"):
                raise ValidationError(
                    f"revision #{position}: the secret variable {var.get('name')} carries a "
                    "value; exports never contain secret values", field="file")
    revisions.sort(key=lambda r: r.get("number") or 0)
    return doc


def _parse_time(value: Any) -> datetime | None:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return None
