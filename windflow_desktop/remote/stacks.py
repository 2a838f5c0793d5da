"""``RemoteStacks``: the ``StacksApi`` over a WindFlow server's ``/stacks`` routes.

The ``principal`` argument of each method is accepted and not sent: the server acts for
the caller of the session's token. Answers are decoded into the same domain types, and
the server's errors arrive as the same domain errors (``ServerSession``)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from ..domain.compose import ComposeReport
from ..domain.enums import UpdatePolicy
from ..domain.identity import Principal
from ..domain.models import RevisionDiff, Stack, StackRevision
from ..domain.paging import Page, PageRequest
from .client import ServerSession
from .decode import decode

T = TypeVar("T")


def page_of(cls: type[T], data: dict[str, Any]) -> Page[T]:
    """A page of ``cls``."""
    page: Page[T] = decode(Page[cls], data)  # type: ignore[valid-type]
    return page


def page_params(page: PageRequest | None) -> dict[str, Any]:
    """A page request as query parameters (the server has no search on these lists)."""
    page = page or PageRequest()
    params: dict[str, Any] = {"limit": page.limit}
    if page.after is not None:
        params["cursor"] = page.after
    return params


class RemoteStacks:
    def __init__(self, session: ServerSession) -> None:
        self._session = session

    async def _call(self, method: str, path: str, *, json: Any = None,
                    params: dict[str, Any] | None = None) -> Any:
        return await self._session.request(method, f"/stacks{path}", json=json,
                                           params=params)

    async def validate(self, compose_yaml: str,
                       variables: Sequence[Mapping[str, Any]] = ()) -> ComposeReport:
        answer = await self._call("POST", "/validate", json={
            "compose_yaml": compose_yaml, "variables": [dict(v) for v in variables]})
        return decode(ComposeReport, answer)

    async def list_stacks(self, principal: Principal, page: PageRequest | None = None, *,
                          archived: bool = False) -> Page[Stack]:
        params = page_params(page) | {"archived": archived}
        return page_of(Stack, await self._call("GET", "", params=params))

    async def get_stack(self, principal: Principal, stack_id: uuid.UUID) -> Stack:
        return decode(Stack, await self._call("GET", f"/{stack_id}"))

    async def revisions(self, principal: Principal, stack_id: uuid.UUID,
                        page: PageRequest | None = None) -> Page[StackRevision]:
        answer = await self._call("GET", f"/{stack_id}/revisions", params=page_params(page))
        return page_of(StackRevision, answer)

    async def get_revision(self, principal: Principal, stack_id: uuid.UUID,
                           number: int | None = None) -> StackRevision:
        which = "current" if not number else str(number)  # 0 is the current one locally
        return decode(StackRevision, await self._call("GET", f"/{stack_id}/revisions/{which}"))

    async def diff(self, principal: Principal, stack_id: uuid.UUID, old: int,
                   new: int) -> RevisionDiff:
        answer = await self._call("GET", f"/{stack_id}/diff", params={"old": old, "new": new})
        return decode(RevisionDiff, answer)

    async def create_stack(self, principal: Principal, *, name: str, compose_yaml: str,
                           variables: Sequence[Mapping[str, Any]] = (), description: str = "",
                           tags: Sequence[str] = (),
                           message: str = "") -> tuple[Stack, StackRevision]:
        answer = await self._call("POST", "", json={
            "name": name, "compose_yaml": compose_yaml,
            "variables": [dict(v) for v in variables], "description": description,
            "tags": list(tags), "message": message})
        return decode(Stack, answer["stack"]), decode(StackRevision, answer["revision"])

    async def update_stack(self, principal: Principal, stack_id: uuid.UUID, *,
                           name: str | None = None, description: str | None = None,
                           tags: Sequence[str] | None = None,
                           host_access: bool | None = None,
                           update_policy: UpdatePolicy | str | None = None) -> Stack:
        # Only what changes is sent: a field left out stays as it is on the server.
        changes: dict[str, Any] = {}
        if name is not None:
            changes["name"] = name
        if description is not None:
            changes["description"] = description
        if tags is not None:
            changes["tags"] = list(tags)
        if host_access is not None:
            changes["host_access"] = host_access
        if update_policy is not None:
            changes["update_policy"] = str(update_policy)
        return decode(Stack, await self._call("PATCH", f"/{stack_id}", json=changes))

    async def save_revision(self, principal: Principal, stack_id: uuid.UUID, *, compose_yaml: str,
                            variables: Sequence[Mapping[str, Any]] = (), message: str = "",
                            expected_revision: int | None = None) -> StackRevision:
        answer = await self._call("POST", f"/{stack_id}/revisions", json={
            "compose_yaml": compose_yaml, "variables": [dict(v) for v in variables],
            "message": message, "expected_revision": expected_revision})
        return decode(StackRevision, answer)

    async def restore(self, principal: Principal, stack_id: uuid.UUID, number: int,
                      message: str | None = None) -> StackRevision:
        answer = await self._call("POST", f"/{stack_id}/restore",
                                  json={"number": number, "message": message})
        return decode(StackRevision, answer)

    async def duplicate(self, principal: Principal, stack_id: uuid.UUID, name: str) -> Stack:
        return decode(Stack, await self._call("POST", f"/{stack_id}/duplicate",
                                              json={"name": name}))

    async def archive(self, principal: Principal, stack_id: uuid.UUID) -> Stack:
        return decode(Stack, await self._call("POST", f"/{stack_id}/archive"))

    async def unarchive(self, principal: Principal, stack_id: uuid.UUID) -> Stack:
        return decode(Stack, await self._call("POST", f"/{stack_id}/unarchive"))

    async def export_stack(self, principal: Principal, stack_id: uuid.UUID,
                           fmt: str = "json") -> str:
        answer = await self._call("GET", f"/{stack_id}/export", params={"fmt": fmt})
        return decode(str, answer["text"])

    async def import_stack(self, principal: Principal, text: str, *,
                           name: str | None = None) -> Stack:
        return decode(Stack, await self._call("POST", "/import",
                                              json={"text": text, "name": name}))


if TYPE_CHECKING:
    from ..services.protocols import StacksApi

    _check: type[StacksApi] = RemoteStacks
