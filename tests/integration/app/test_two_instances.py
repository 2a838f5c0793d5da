"""Teams on one Redis: two instances of the app's graph (``tests.support.two_instances``)
share one real PostgreSQL database and one real Redis. A target and a stack created in
one are in the other's table model, live: no reload, no action in the other instance.

How fast is the benchmark's figure (``make bench BENCH=ui_two_instances``, goal: within
one second); the waits here only bound a hang, as a timed test on a shared machine would
fail on the machine's hiccups, not on the code's.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.env.postgres import PostgresServer
from tests.support.qt import arun, qloop  # noqa: F401 - fixtures (qasync loop on Qt)
from tests.support.two_instances import (
    COMPOSE,
    close_instance,
    open_instance,
    sign_in_both,
    spin_until,
)
from windflow_desktop.domain.enums import TargetKind
from windflow_desktop.domain.targets import TargetSpec
from windflow_desktop.workspace import client_id

pytestmark = [pytest.mark.postgres, pytest.mark.gui]

LIVE_S = 10.0  # a hang, not a slow moment


@pytest.fixture
def shared(postgres_server: PostgresServer, redis_url: str, arun: Any) -> Iterator[str]:  # noqa: F811
    """A fresh database on the test PostgreSQL (made on the qasync loop)."""
    url: str = arun(postgres_server.create_database())
    name = url.rsplit("/", 1)[1]
    yield url
    arun(postgres_server.drop_database(name))


def test_a_change_in_one_instance_is_in_the_others_table_live(
    shared: str, redis_url: str, arun: Any, tmp_path: Path,  # noqa: F811
) -> None:
    a = open_instance(tmp_path / "alice-pc", shared, redis_url, arun)
    b = open_instance(tmp_path / "bob-pc", shared, redis_url, arun)
    try:
        assert client_id(tmp_path / "alice-pc") != client_id(tmp_path / "bob-pc")
        assert a.bridge.state.value == b.bridge.state.value == "connected"
        sign_in_both(a, b, arun)
        assert b.targets_page.model.rowCount() == 0

        # 1. a target added in A
        task = a.targets.save(TargetSpec(name="build-box", kind=TargetKind.LOCAL))
        target_s = spin_until(lambda: task.done() and task.result() is not None and
                              b.targets_page.model.position(task.result().id) is not None,
                              LIVE_S)
        target = task.result()
        row = b.targets_page.model.row(b.targets_page.model.position(target.id))
        assert row.name == "build-box"

        # 2. a stack created in A
        task = a.stacks.create(name="Shop", compose_yaml=COMPOSE, variables=[])
        stack_s = spin_until(lambda: any(s.name == "Shop" for s in b.stacks_page.model.rows()),
                             LIVE_S)
        stack = arun(task)
        assert stack is not None and b.stacks_page.model.position(stack.id) is not None

        # 3. and back: B renames the target; A's table follows
        spec = TargetSpec.of(target)
        task = b.targets.save(TargetSpec(**{**spec.__dict__, "name": "build-box-2"}),
                              target_id=target.id)
        back_s = spin_until(
            lambda: (pos := a.targets_page.model.position(target.id)) is not None
            and a.targets_page.model.row(pos).name == "build-box-2", LIVE_S)
        assert arun(task) is not None

        # the dashboards of both follow too
        spin_until(lambda: b.dashboard.summary is not None
                   and b.dashboard.summary.stacks == 1
                   and b.dashboard.summary.targets.total == 1, LIVE_S)
        print(f"\ntwo instances: target {target_s * 1000:.0f} ms, stack {stack_s * 1000:.0f} ms,"
              f" back {back_s * 1000:.0f} ms")
    finally:
        close_instance(b, arun)
        close_instance(a, arun)
