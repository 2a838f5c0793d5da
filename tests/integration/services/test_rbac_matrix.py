"""RBAC matrix of the users and organizations services: every role (and a superuser) x
every method x own vs other organization (the other services' matrix is
``test_rbac_matrix_resources.py``). Allowed calls succeed; denied calls raise
PermissionDeniedError; an object of another organization is never returned (NotFoundError
when reached through one's own organization). Runs on SQLite and PostgreSQL through the
``backend`` fixture.

Expectations are written out here by hand (lowest role per method), not derived from
``domain/permissions.py``, so a wrong table entry fails this test.
"""

from __future__ import annotations

import inspect
import itertools
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest

from tests.support.auth import PASSWORD, Services, add_member, add_org, build_services
from windflow_desktop.domain.enums import Role
from windflow_desktop.domain.errors import NotFoundError, PermissionDeniedError
from windflow_desktop.domain.identity import Invitation, Principal
from windflow_desktop.domain.models import User, utcnow
from windflow_desktop.repositories.sql.backend import SqlBackend
from windflow_desktop.services.organizations import OrganizationService
from windflow_desktop.services.users import UserService

_n = itertools.count()

# Lowest role allowed to call each method in its own organization (None: any member).
LOWEST_ROLE: dict[str, Role | None] = {
    "users.list_users": Role.VIEWER,
    "users.get_user": Role.VIEWER,
    "users.create_user": Role.ADMIN,
    "users.add_member": Role.ADMIN,
    "users.change_role": Role.ADMIN,
    "users.disable_user": Role.ADMIN,
    "users.enable_user": Role.ADMIN,
    "users.remove_member": Role.ADMIN,
    "orgs.list": None,
    "orgs.create": None,
    "orgs.get": Role.VIEWER,
    "orgs.members": Role.VIEWER,
    "orgs.rename": Role.OWNER,
    "orgs.delete": Role.OWNER,
    # One's own invitations: any signed-in user, whatever their role.
    "orgs.invitations": None,
    "orgs.accept_invitation": None,
    "orgs.decline_invitation": None,
}
# Methods a superuser may call on another organization (*:read_all); nobody else may.
SUPERUSER_READS_OTHER = {"users.list_users", "users.get_user", "orgs.get", "orgs.members"}


@dataclass
class World:
    svc: Services
    actor: Principal
    own: uuid.UUID
    other: uuid.UUID
    other_member: uuid.UUID

    async def victim(self, org: uuid.UUID | None = None) -> uuid.UUID:
        p = await add_member(self.svc.backend, org or self.own, f"victim{next(_n)}", Role.VIEWER)
        return p.user_id

    async def loner(self) -> str:
        """A user in no organization; returns their username."""
        name = f"loner{next(_n)}"
        async with self.svc.backend.unit_of_work() as uow:
            await uow.users.add(User(username=name, email=f"{name}@example.test"))
            await uow.commit()
        return name

    async def invitation(self, user_id: uuid.UUID | None = None) -> uuid.UUID:
        """A pending invitation of ``user_id`` (the actor by default) as a viewer into a
        new organization, sent by its owner; returns its id."""
        n = next(_n)
        org = await add_org(self.svc.backend, f"Inviting{n}")
        sender = await add_member(self.svc.backend, org.id, f"sender{n}", Role.OWNER)
        async with self.svc.backend.unit_of_work() as uow:
            sent = await uow.invitations.add(Invitation(
                organization_id=org.id, user_id=user_id or self.actor.user_id,
                role=Role.VIEWER, invited_by=sender.user_id, created_at=utcnow(),
            ))
            await uow.commit()
        return sent.id


Call = Callable[[World], Awaitable[Any]]


def own_calls() -> dict[str, Call]:
    async def create_user(w: World) -> Any:
        n = next(_n)
        return await w.svc.users.create_user(w.actor, username=f"new{n}",
                                             email=f"new{n}@x.test", password=PASSWORD)

    return {
        "users.list_users": lambda w: w.svc.users.list_users(w.actor),
        "users.get_user": lambda w: _then(w.victim(), lambda v: w.svc.users.get_user(w.actor, v)),
        "users.create_user": create_user,
        "users.add_member": lambda w: _then(
            w.loner(), lambda name: w.svc.users.add_member(w.actor, name, Role.VIEWER)),
        "users.change_role": lambda w: _then(
            w.victim(), lambda v: w.svc.users.change_role(w.actor, v, Role.OPERATOR)),
        "users.disable_user": lambda w: _then(
            w.victim(), lambda v: w.svc.users.disable_user(w.actor, v)),
        "users.enable_user": lambda w: _then(
            w.victim(), lambda v: w.svc.users.enable_user(w.actor, v)),
        "users.remove_member": lambda w: _then(
            w.victim(), lambda v: w.svc.users.remove_member(w.actor, v)),
        "orgs.list": lambda w: w.svc.orgs.list(w.actor),
        "orgs.create": lambda w: w.svc.orgs.create(w.actor, f"Made {next(_n)}"),
        "orgs.get": lambda w: w.svc.orgs.get(w.actor, w.own),
        "orgs.members": lambda w: w.svc.orgs.members(w.actor, w.own),
        "orgs.rename": lambda w: w.svc.orgs.rename(w.actor, w.own, f"Renamed {next(_n)}"),
        "orgs.delete": lambda w: w.svc.orgs.delete(w.actor, w.own),
        "orgs.invitations": lambda w: _then(
            w.invitation(), lambda _: w.svc.orgs.invitations(w.actor)),
        "orgs.accept_invitation": lambda w: _then(
            w.invitation(), lambda i: w.svc.orgs.accept_invitation(w.actor, i)),
        "orgs.decline_invitation": lambda w: _then(
            w.invitation(), lambda i: w.svc.orgs.decline_invitation(w.actor, i)),
    }


def other_org_calls() -> dict[str, Call]:
    """The same methods aimed at the other organization, by its id or by its objects."""
    o = lambda w: w.other  # noqa: E731
    return {
        "users.list_users": lambda w: w.svc.users.list_users(w.actor, organization_id=o(w)),
        "users.get_user": lambda w: w.svc.users.get_user(w.actor, w.other_member,
                                                         organization_id=o(w)),
        "users.change_role": lambda w: w.svc.users.change_role(w.actor, w.other_member,
                                                               Role.OPERATOR),
        "users.disable_user": lambda w: w.svc.users.disable_user(w.actor, w.other_member),
        "users.enable_user": lambda w: w.svc.users.enable_user(w.actor, w.other_member),
        "users.remove_member": lambda w: w.svc.users.remove_member(w.actor, w.other_member),
        "orgs.get": lambda w: w.svc.orgs.get(w.actor, o(w)),
        "orgs.members": lambda w: w.svc.orgs.members(w.actor, o(w)),
        "orgs.rename": lambda w: w.svc.orgs.rename(w.actor, o(w), "Hijacked"),
        "orgs.delete": lambda w: w.svc.orgs.delete(w.actor, o(w)),
    }


# Calls above that name only the other org's user (not the org): they run in the actor's
# own organization, where that user is not a member.
VIA_OWN_SCOPE = {
    "users.change_role", "users.disable_user", "users.enable_user", "users.remove_member",
}

# Other-org objects reached through one's own organization: never returned.
OTHER_OBJECT_IN_OWN_SCOPE = {
    "users.get_user": lambda w: w.svc.users.get_user(w.actor, w.other_member),
    # Someone else's invitation is not there for the actor to answer.
    "orgs.accept_invitation": lambda w: _then(
        w.invitation(w.other_member), lambda i: w.svc.orgs.accept_invitation(w.actor, i)),
    "orgs.decline_invitation": lambda w: _then(
        w.invitation(w.other_member), lambda i: w.svc.orgs.decline_invitation(w.actor, i)),
}


async def _then(first: Awaitable[Any], then: Callable[[Any], Awaitable[Any]]) -> Any:
    return await then(await first)


def _allowed_own(role: Role, method: str) -> bool:
    lowest = LOWEST_ROLE[method]
    return lowest is None or role.rank >= lowest.rank


def _ids_in(result: Any) -> set[uuid.UUID]:
    """Organization ids of everything a call returned."""
    items = getattr(result, "items", None)
    things = list(items) if items is not None else [result]
    ids = set()
    for thing in things:
        if hasattr(thing, "organization_id"):
            ids.add(thing.organization_id)
        elif hasattr(thing, "slug"):  # an Organization
            ids.add(thing.id)
    return ids


ACTORS = [(r.value, r, False) for r in Role] + [("superuser-viewer", Role.VIEWER, True)]


@pytest.mark.parametrize(("label", "role", "superuser"), ACTORS, ids=[a[0] for a in ACTORS])
async def test_rbac_matrix(backend: SqlBackend, label: str, role: Role, superuser: bool) -> None:
    svc = build_services(backend)
    own, other = await add_org(backend, "Own"), await add_org(backend, "Other")
    await add_member(backend, own.id, "own_owner", Role.OWNER)  # keeps an owner in own
    await add_member(backend, other.id, "other_owner", Role.OWNER)
    other_member = (await add_member(backend, other.id, "other_viewer", Role.VIEWER)).user_id
    actor = await add_member(backend, own.id, f"actor_{label}", role)
    if superuser:
        async with backend.unit_of_work() as uow:
            user = await uow.users.get(actor.user_id)
            user.is_superuser = True
            await uow.users.save(user)
            await uow.commit()
        actor = Principal(actor.user_id, own.id, role, True)
    w = World(svc, actor, own.id, other.id, other_member)

    mismatches: list[str] = []
    seen: list[str] = []

    async def check(case: str, call: Call, allowed: bool, scope_org: uuid.UUID,
                    not_found_ok: bool = False) -> None:
        seen.append(case)
        try:
            result = await call(w)
        except PermissionDeniedError:
            if allowed:
                mismatches.append(f"{case}: denied but should be allowed")
            return
        except NotFoundError:
            if not not_found_ok:
                mismatches.append(f"{case}: NotFoundError")
            return
        if not allowed:
            mismatches.append(f"{case}: allowed but should be denied")
            return
        leaked = _ids_in(result) - {scope_org}
        if case == "own orgs.list" and superuser:
            leaked = set()  # a superuser lists every organization
        if case in ("own orgs.create", "own orgs.accept_invitation"):
            leaked = set()  # the new organization itself, the one joined
        if leaked:
            mismatches.append(f"{case}: returned objects of another organization")

    calls = own_calls()
    for method in [m for m in calls if m != "orgs.delete"] + ["orgs.delete"]:
        if method == "orgs.delete":
            # Others first, then (maybe) delete the own organization last.
            for name, call in other_org_calls().items():
                allowed = superuser and name in SUPERUSER_READS_OTHER
                # Aimed through one's own org, another org's user is simply not there.
                nf = name in VIA_OWN_SCOPE and _allowed_own(role, name)
                await check(f"other {name}", call, allowed, other.id, not_found_ok=nf)
            for name, call in OTHER_OBJECT_IN_OWN_SCOPE.items():
                await check(f"other-object {name}", call, False, own.id,
                            not_found_ok=_allowed_own(role, name))
        await check(f"own {method}", calls[method], _allowed_own(role, method), own.id)

    # The other organization is untouched whatever happened.
    async with backend.unit_of_work() as uow:
        b = await uow.organizations.get(other.id)
        assert b.name == "Other"
        m = await uow.memberships.get(other_member, other.id)
        assert m is not None and m.role is Role.VIEWER
        assert (await uow.users.get(other_member)).is_active
        # Their invitations stay theirs to answer, whatever the actor tried.
        assert len(await uow.invitations.for_user(other_member)) == 2
    assert len(seen) == (len(LOWEST_ROLE) + len(other_org_calls())
                         + len(OTHER_OBJECT_IN_OWN_SCOPE))
    assert not mismatches, "\n".join(mismatches)


def test_rbac_table_covers_every_public_method() -> None:
    """A new public method of the users or organizations service fails here until it
    has a row."""
    services = {"users": UserService, "orgs": OrganizationService}
    public = {
        f"{prefix}.{name}"
        for prefix, cls in services.items()
        for name, fn in inspect.getmembers(cls)
        if not name.startswith("_")
        and (inspect.iscoroutinefunction(fn) or inspect.isasyncgenfunction(fn))
    }
    assert public == set(LOWEST_ROLE) == set(own_calls())
