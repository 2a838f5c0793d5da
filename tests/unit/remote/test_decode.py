"""The desktop reads back what the server writes: every value type the stores show goes
through ``server/serialize`` and ``remote/decode`` unchanged; an answer it cannot read is
a clear error, never a half-filled object."""

from __future__ import annotations

import uuid
from dataclasses import asdict

import pytest

from windflow_desktop.domain.enums import DeploymentStatus, Role, TargetKind, TargetStatus
from windflow_desktop.domain.identity import Member, Principal
from windflow_desktop.domain.models import Deployment, Stack, Target, User, utcnow
from windflow_desktop.domain.paging import Page
from windflow_desktop.remote.decode import DecodeError, decode
from windflow_desktop.server.serialize import deployment_json, plain, stack_json, target_json


def test_round_trips() -> None:
    org = uuid.uuid4()
    target = Target(organization_id=org, name="edge", kind=TargetKind.SSH, port=2222,
                    labels={"zone": "a"}, status=TargetStatus.ONLINE, last_seen=utcnow())
    back = decode(Target, target_json(target))
    assert asdict(back) == asdict(target)
    stack = Stack(organization_id=org, name="Web", slug="web", tags=["prod"],
                  current_revision=3)
    assert asdict(decode(Stack, stack_json(stack))) == asdict(stack)
    dep = Deployment(organization_id=org, stack_id=stack.id, revision_id=uuid.uuid4(),
                     target_id=target.id, project_name="wf-web", created_at=utcnow(),
                     status=DeploymentStatus.FAILED, error="boom")
    assert decode(Deployment, deployment_json(dep)).error == "boom"
    principal = Principal(uuid.uuid4(), org, Role.OPERATOR, scopes=frozenset({"x:read"}))
    assert decode(Principal, plain(principal)) == principal
    other = Stack(organization_id=org, name="Api", slug="api")
    page = decode(Page[Stack], plain(Page((stack, other), "next")))
    assert page.next_cursor == "next" and [s.id for s in page.items] == [stack.id, other.id]


def test_unknown_keys_are_ignored_and_missing_ones_refused() -> None:
    user = User(username="ada", email="ada@example.test", password_hash="")
    raw = plain(user)
    raw["added_by_a_newer_server"] = 1
    assert decode(User, raw).username == "ada"
    del raw["username"]
    with pytest.raises(DecodeError, match=r"User\.username is missing"):
        decode(User, raw)


def test_a_wrong_type_is_a_clear_error() -> None:
    member = plain(Member(User(username="ada", email="a@x.test", password_hash=""),
                          uuid.uuid4(), Role.ADMIN, utcnow()))
    member["role"] = "emperor"
    with pytest.raises(DecodeError, match="not a Member this version can read"):
        decode(Member, member)
