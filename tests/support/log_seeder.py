"""A deployment that writes its log slowly, from a process of its own — what a ``windflow
worker`` does while the server restarts, without a target to deploy to.

``python -m tests.support.log_seeder HOME STACK_ID TARGET_ID STOP_FILE [PAUSE_S [TAIL]]``
records a running deployment of the stack on the target in the workspace of ``HOME``
(its runner: this process, heartbeat kept fresh, so a server starting meanwhile leaves it
alone), prints its id, then appends numbered lines ("line 00001", …) through the repository call the
pipeline's log writer makes (``append_log_rows``, ``BATCH`` lines every ``PAUSE_S``)
until ``STOP_FILE`` exists; then ``TAIL`` more lines, and the deployment succeeds. It
prints the number of lines written last."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.support.server import COMPOSE
from windflow_desktop.config import load_settings
from windflow_desktop.domain.enums import DeploymentStatus, LogStream
from windflow_desktop.domain.models import Deployment
from windflow_desktop.repositories.sql.backend import SqlBackend
from windflow_desktop.services.deploy.runners import new_runner_id

BATCH = 5  # lines per write
PAUSE_S = 0.02
TAIL = 300
ROOT = Path(__file__).resolve().parents[2]


async def seed(home: Path, stack_id: uuid.UUID, target_id: uuid.UUID, stop: Path, *,
               pause_s: float = PAUSE_S, tail: int = TAIL) -> int:
    settings = load_settings({"WINDFLOW_HOME": str(home)})
    backend = SqlBackend(settings.database_url)
    await backend.open()
    runner = new_runner_id()
    try:
        async with backend.unit_of_work() as uow:
            target = await uow.targets.get(target_id)
            stack = await uow.stacks.get(stack_id)
            revision = await uow.stacks.get_revision(stack_id, stack.current_revision)
            now = datetime.now(UTC)
            dep = await uow.deployments.add(Deployment(
                target.organization_id, stack_id, revision.id, target_id,
                project_name=f"seeded-{uuid.uuid4().hex[:6]}",
                status=DeploymentStatus.RUNNING, started_at=now, runner=runner,
                heartbeat_at=now))
            await uow.commit()
        print(dep.id, flush=True)
        seq = 0
        while tail > 0:
            rows = []
            for _ in range(BATCH):
                seq += 1
                rows.append((seq, datetime.now(UTC), LogStream.STDOUT, f"line {seq:05d}"))
            async with backend.unit_of_work() as uow:
                await uow.deployments.append_log_rows(dep.id, rows)
                await uow.deployments.heartbeat([dep.id], runner, datetime.now(UTC))
                await uow.commit()
            if await asyncio.to_thread(stop.exists):
                tail -= BATCH
            await asyncio.sleep(pause_s)
        async with backend.unit_of_work() as uow:
            done = await uow.deployments.get(dep.id)
            done.status, done.finished_at = DeploymentStatus.SUCCEEDED, datetime.now(UTC)
            await uow.deployments.save(done)
            await uow.commit()
        print(seq, flush=True)
        return seq
    finally:
        await backend.close()


def start_writer(http: Any, auth: dict[str, str], home: Path, stop: Path,
                 *options: str) -> subprocess.Popen[str]:
    """A target and a stack made through the server's API (as its owner ``auth``), then
    this module in a process of its own writing a deployment's log (``options``: PAUSE_S
    and TAIL); its first line on stdout is the deployment's id."""
    target = http.post("/api/v1/targets", headers=auth, json={
        "name": "edge", "kind": "local", "docker_socket": "/nowhere.sock"})
    assert target.status_code == 201, target.text
    stack = http.post("/api/v1/stacks", headers=auth,
                      json={"name": "Web", "compose_yaml": COMPOSE})
    assert stack.status_code == 201, stack.text
    return subprocess.Popen(
        [sys.executable, "-m", "tests.support.log_seeder", str(home),
         stack.json()["stack"]["id"], target.json()["id"], str(stop), *options],
        cwd=ROOT, stdout=subprocess.PIPE, text=True)


if __name__ == "__main__":
    home, stack, target, stop_file = sys.argv[1:5]
    pause, tail_lines = (float(sys.argv[5]) if len(sys.argv) > 5 else PAUSE_S,
                         int(sys.argv[6]) if len(sys.argv) > 6 else TAIL)
    asyncio.run(seed(Path(home), uuid.UUID(stack), uuid.UUID(target), Path(stop_file),
                     pause_s=pause, tail=tail_lines))
