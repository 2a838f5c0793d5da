"""``windflow deploy|status|logs``: a WindFlow server driven from CI, with a personal
access token (``WINDFLOW_SERVER_URL``, ``WINDFLOW_SERVER_TOKEN``; ``WINDFLOW_CA_FILE``
for a server with a certificate of its own CA).

``windflow deploy STACK --to TARGET [--to …] [--var NAME=VALUE …] [--revision N]
[--wait]`` — stack and targets by name or id. With ``--wait`` it prints each
deployment's log as it comes and ends with the outcome, after the checks that follow a
success (a service that falls over in them is rolled back). Exit codes: 0 succeeded,
1 failed or cancelled, 3 rolled back, 2 the command could not be carried out (no server,
no such stack, a refused token…)."""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from collections.abc import Sequence
from typing import Any

from .domain.deployment_flow import StageName
from .domain.enums import DeploymentStatus
from .domain.errors import NotFoundError, ValidationError, WindFlowError
from .domain.identity import Principal
from .domain.models import Deployment
from .domain.paging import PageRequest

EXIT = {DeploymentStatus.SUCCEEDED: 0, DeploymentStatus.ROLLED_BACK: 3}
POLL_S = 0.5
WATCH_APPEARS_S = 5.0  # a success with no watch record after this long has no watch
WATCH_LIMIT_S = 600.0


async def run(command: str, args: Any, out: Any = sys.stdout) -> int:
    """One CI command; its exit code."""
    from .remote.auth import RemoteAuth
    from .remote.client import ServerSession
    from .remote.services import RemoteServices

    url = os.environ.get("WINDFLOW_SERVER_URL", "").strip().rstrip("/")
    token = os.environ.get("WINDFLOW_SERVER_TOKEN", "").strip()
    if not url or not token:
        raise ValidationError("set WINDFLOW_SERVER_URL and WINDFLOW_SERVER_TOKEN (a personal "
                              "access token: Settings → Access tokens in the app)")
    session = ServerSession(url, ca_file=os.environ.get("WINDFLOW_CA_FILE") or None)
    try:
        me = (await RemoteAuth(session).sign_in_with_token(token)).principal
        services = RemoteServices.over(session)
        if command == "deploy":
            return await _deploy(services, me, args, out)
        if command == "status":
            dep = await services.deployments.get(me, _uuid(args.deployment, "deployment"))
            print(_line(dep), file=out)
            return _exit(dep)
        return await _logs(services, me, _uuid(args.deployment, "deployment"), args.follow,
                           out)
    finally:
        await session.close()


async def _deploy(services: Any, me: Principal, args: Any, out: Any) -> int:
    stack = await _named(services.stacks.list_stacks, me, args.stack, "stack")
    targets = [await _named(services.targets.list_targets, me, t, "target")
               for t in args.to]
    variables = dict(_pair(v) for v in args.var)
    rollout = await services.deployments.deploy(me, stack.id, [t.id for t in targets],
                                                variables=variables, revision=args.revision)
    for dep in rollout.deployments:
        print(f"deployment {dep.id} of {stack.name} to "
              f"{next(t.name for t in targets if t.id == dep.target_id)}: {dep.status}",
              file=out, flush=True)
    if not args.wait:
        return 0
    ends = await asyncio.gather(*(_follow(services, me, dep.id, out, prefix=len(targets) > 1)
                                  for dep in rollout.deployments))
    return max((_exit(dep) for dep in ends), key=lambda code: (code != 0, code))


async def _follow(services: Any, me: Principal, deployment_id: uuid.UUID, out: Any, *,
                  prefix: bool) -> Deployment:
    """Print the log until the deployment has ended and its after-success checks too."""
    seq, mark = 0, f"[{str(deployment_id)[:8]}] " if prefix else ""
    loop = asyncio.get_running_loop()
    settled_since: float | None = None
    deadline = loop.time() + WATCH_LIMIT_S
    while True:
        for line in await services.deployments.logs(me, deployment_id, after_seq=seq):
            print(f"{mark}{line.line}", file=out, flush=True)
            seq = line.seq
        dep = await services.deployments.get(me, deployment_id)
        if dep.status.is_terminal:
            if dep.status is not DeploymentStatus.SUCCEEDED:
                break
            watch = [s for s in await services.deployments.stages(me, deployment_id)
                     if s.stage == StageName.WATCH]
            if watch and all(s.finished_at is not None for s in watch):
                break
            settled_since = settled_since if settled_since is not None else loop.time()
            if not watch and loop.time() - settled_since > WATCH_APPEARS_S:
                break
        if loop.time() > deadline:
            break
        await asyncio.sleep(POLL_S)
    for line in await services.deployments.logs(me, deployment_id, after_seq=seq):
        print(f"{mark}{line.line}", file=out, flush=True)
    dep = await services.deployments.get(me, deployment_id)
    print(f"{mark}{_line(dep)}", file=out, flush=True)
    return dep  # type: ignore[no-any-return]


async def _logs(services: Any, me: Principal, deployment_id: uuid.UUID, follow: bool,
                out: Any) -> int:
    if follow:
        return _exit(await _follow(services, me, deployment_id, out, prefix=False))
    seq = 0
    while batch := await services.deployments.logs(me, deployment_id, after_seq=seq):
        for line in batch:
            print(line.line, file=out)
            seq = line.seq
    return 0


async def _named(lister: Any, me: Principal, name: str, kind: str) -> Any:
    """The stack or target called ``name`` (or with that id) the caller can see."""
    wanted = _maybe_uuid(name)
    after: str | None = None
    while True:
        page = await lister(me, PageRequest(limit=500, after=after))
        for item in page.items:
            if item.id == wanted or item.name == name:
                return item
        if page.next_cursor is None:
            raise NotFoundError(kind, name, message=f"there is no {kind} called {name}")
        after = page.next_cursor


def _line(dep: Deployment) -> str:
    error = f": {dep.error}" if dep.error else ""
    return f"deployment {dep.id} {dep.status}{error}"


def _exit(dep: Deployment) -> int:
    return EXIT.get(dep.status, 1)


def _pair(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise ValidationError(f"--var takes NAME=VALUE, not {text!r}", field="var")
    return name, value


def _maybe_uuid(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text)
    except ValueError:
        return None


def _uuid(text: str, kind: str) -> uuid.UUID:
    value = _maybe_uuid(text)
    if value is None:
        raise ValidationError(f"give the {kind}'s id, not {text!r}", field=kind)
    return value


def add_commands(commands: Any) -> None:
    """The CI commands on the ``windflow`` parser."""
    deploy = commands.add_parser("deploy", help="deploy a stack on a server's targets")
    deploy.add_argument("stack", help="the stack's name or id")
    deploy.add_argument("--to", action="append", required=True, metavar="TARGET",
                        help="a target's name or id (repeat for more)")
    deploy.add_argument("--var", action="append", default=[], metavar="NAME=VALUE")
    deploy.add_argument("--revision", type=int)
    deploy.add_argument("--wait", action="store_true",
                        help="follow the log and exit with the outcome (0 succeeded, "
                             "1 failed, 3 rolled back)")
    status = commands.add_parser("status", help="a deployment's status (exit code as --wait)")
    status.add_argument("deployment")
    logs = commands.add_parser("logs", help="a deployment's log")
    logs.add_argument("deployment")
    logs.add_argument("--follow", action="store_true")


CI_COMMANDS: Sequence[str] = ("deploy", "status", "logs")


def main(command: str, args: Any) -> int:
    try:
        return asyncio.run(run(command, args))
    except WindFlowError as exc:
        print(f"windflow: {exc.message}", file=sys.stderr)
        return 2
