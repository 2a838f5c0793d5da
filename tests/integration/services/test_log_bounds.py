"""Output is bounded however a process or a container prints it: one line keeps its
first 16 KiB and a mark saying how long it was (local commands through the executor,
container logs on the real engine, read and followed), and a deployment's stored log
keeps its newest ``max_log_lines`` lines with a note saying how many were trimmed."""

from __future__ import annotations

import asyncio
import sys
import time

import sqlalchemy as sa

from tests.env.docker import BUSYBOX_IMAGE, DockerEngine
from tests.env.keyring_backend import MemoryKeyring
from tests.support.auth import RecordingBus, add_org
from windflow_desktop.domain.enums import DeploymentStatus, LogStream
from windflow_desktop.domain.models import Deployment, Stack, StackRevision, Target
from windflow_desktop.engine.docker_api import DockerApi
from windflow_desktop.engine.executor import LocalExecutor
from windflow_desktop.engine.lines import MARK_ROOM, MAX_LINE_BYTES
from windflow_desktop.repositories.sql.backend import SqlBackend
from windflow_desktop.security.secrets import SecretStore
from windflow_desktop.services.deploy.context import PipelineSettings
from windflow_desktop.services.deploy.core import DeploymentCore
from windflow_desktop.services.deploy.logs import LogWriter

MEGABYTE_LINE = 1024 * 1024
LINES = 200_000
CUT = f"[line cut at 16 KiB of {MEGABYTE_LINE:,} bytes]"
# 200,000 numbered lines, one line of 1 MiB, and 4,000 bytes without a final newline.
PRINTER = (
    "import sys\n"
    "w = sys.stdout.write\n"
    f"w(''.join(f'line {{i}}\\n' for i in range(1, {LINES} + 1)))\n"
    f"w('x' * {MEGABYTE_LINE} + '\\n')\n"
    "w('y' * 4000)\n"
)


def bounded(line: str) -> bool:
    return len(line.encode()) <= MAX_LINE_BYTES + MARK_ROOM


class _NoExecutors:
    async def executor(self, target: Target) -> object:
        raise AssertionError("not used")


async def a_deployment(backend: SqlBackend) -> Deployment:
    org = await add_org(backend, "Acme")
    async with backend.unit_of_work() as uow:
        target = await uow.targets.add(Target(organization_id=org.id, name="here"))
        stack = await uow.stacks.add(Stack(organization_id=org.id, name="Web", slug="web",
                                           current_revision=1))
        rev = await uow.stacks.add_revision(StackRevision(stack.id, 1, "services: {}"))
        dep = await uow.deployments.add(Deployment(
            organization_id=org.id, stack_id=stack.id, revision_id=rev.id,
            target_id=target.id, project_name="wf-web-12345678",
            status=DeploymentStatus.RUNNING))
        await uow.commit()
    return dep


async def test_a_deployments_log_keeps_bounded_lines_and_its_newest_lines(
        sqlite_backend: SqlBackend) -> None:
    dep = await a_deployment(sqlite_backend)
    bus = RecordingBus()
    core = DeploymentCore(sqlite_backend, bus, _NoExecutors(),  # type: ignore[arg-type]
                                  SecretStore(MemoryKeyring()),
                                  settings=PipelineSettings(max_log_lines=100_000))
    logs = LogWriter(core.context, dep, 0, [])
    logs.start()
    result = await LocalExecutor().run([sys.executable, "-c", PRINTER], on_line=logs.add,
                                       timeout=300)
    await logs.close()
    assert result.ok, result.stderr
    assert all(bounded(line) for line in result.stdout.splitlines())

    total = LINES + 2
    async with sqlite_backend.unit_of_work() as uow:
        session = uow.deployments.session  # type: ignore[attr-defined]
        count, low, high, longest = (await session.execute(sa.text(
            "SELECT count(*), min(seq), max(seq), max(length(line)) FROM deployment_logs "
            "WHERE deployment_id = :d"), {"d": dep.id.hex})).one()
        rows = await uow.deployments.logs_before(dep.id, limit=2)
        [note] = await uow.deployments.logs(dep.id, after_seq=0, limit=1)
    assert (count, low, high) == (100_001, total - 100_000, total)
    assert longest <= MAX_LINE_BYTES + MARK_ROOM
    assert note.stream is LogStream.SYSTEM
    assert note.line == (f"… {total - 100_000:,} older lines were trimmed: a deployment "
                         "keeps its newest 100,000 lines")
    megabyte, tail = rows
    assert megabyte.line.startswith("x" * MAX_LINE_BYTES) and megabyte.line.endswith(CUT)
    assert tail.line == "y" * 4000  # under the cap, no final newline: whole
    published = [line for e in bus.events for _, _, _, line in e.data["lines"]]
    assert len(published) == total and all(bounded(line) for line in published)


async def test_container_logs_cut_a_megabyte_line(docker_engine: DockerEngine) -> None:
    script = ('s=x; i=0; while [ $i -lt 20 ]; do s=$s$s; i=$((i+1)); done; echo "$s"; '
              f'seq 1 {LINES}; exec sleep 600')
    container_id = docker_engine.cli(
        "run", "-d", "--network", "none", "--stop-signal", "SIGKILL", BUSYBOX_IMAGE,
        "sh", "-c", script).strip()
    try:
        api = DockerApi(docker_engine.host)
        try:
            deadline = time.monotonic() + 60
            while (await api.logs(container_id, tail=1)) != [str(LINES)]:
                assert time.monotonic() < deadline, "the container did not print its lines"
                await asyncio.sleep(0.1)
            # The engine stores a long line as 16 KiB pieces (one log entry each): ask
            # for more entries than lines to get the whole line back.
            lines = await api.logs(container_id, tail=LINES + 1000)
            assert len(lines) == LINES + 1
            assert lines[0].startswith("x" * MAX_LINE_BYTES) and lines[0].endswith(CUT)
            assert all(bounded(line) for line in lines)
            assert lines[1:4] == ["1", "2", "3"]

            followed: list[str] = []
            stream = api.follow_logs(container_id, tail=LINES + 1000)
            async for line in stream:
                followed.append(line)
                if len(followed) == 3:
                    break
            await stream.aclose()
            assert followed[0].endswith(CUT) and followed[1:] == ["1", "2"]
        finally:
            await api.close()
    finally:
        docker_engine.cli("rm", "-f", container_id, check=False)
