"""``windflow``: the server and its administration, beside the desktop's
``windflow-desktop``. ``windflow serve`` runs the API (needs the ``server`` extra);
``windflow create-owner USERNAME --org NAME`` makes the first owner of an empty
workspace, the password read from standard input (there is no self-registration);
``windflow deploy|status|logs`` drive a server from CI (see ``ci.py``)."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence
from typing import Any

from . import __version__
from .config import Settings


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="windflow", description=__doc__.split("\n\n")[0])
    parser.add_argument("--version", action="version", version=f"windflow {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the API over the workspace")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8765)
    serve.add_argument("--tls-cert", help="certificate file (PEM); with --tls-key: HTTPS")
    serve.add_argument("--tls-key", help="private key file (PEM)")
    serve.add_argument("--trusted-proxy", action="append", default=[], metavar="ADDRESS",
                       help="a reverse proxy whose X-Forwarded-For is believed (repeat for "
                       "more; none by default: the peer's own address counts)")
    owner = commands.add_parser("create-owner", help="the first owner of an empty workspace")
    owner.add_argument("username")
    owner.add_argument("--org", required=True, help="the organization's name")
    owner.add_argument("--email", help="their email address (default: USERNAME@localhost."
                       "localdomain, to change in the app)")
    commands.add_parser("rotate-key", help="seal every secret under a new server key")
    worker = commands.add_parser("worker", help="run deployments from the job queue "
                                 "(needs WINDFLOW_REDIS_URL and the server's database "
                                 "and key)")
    # `windflow serve` alone starts its own worker with this: the queue is the deployment
    # rows, the events go back to the server over a pipe.
    worker.add_argument("--embedded", action="store_true", help=argparse.SUPPRESS)
    from .ci import CI_COMMANDS, add_commands

    add_commands(commands)
    args = parser.parse_args(argv)
    if args.command in CI_COMMANDS:  # a client of a server: no workspace of its own
        from .ci import main as ci_main

        return ci_main(args.command, args)

    from .domain.errors import WindFlowError
    from .logging_setup import start_process

    settings = start_process("windflow")
    if settings is None:
        return 2
    try:
        if args.command == "create-owner":
            return asyncio.run(_create_owner(settings, args.username, args.org, args.email))
        if args.command == "rotate-key":
            return asyncio.run(_rotate_key(settings))
        if args.command == "worker":
            return asyncio.run(_worker(settings, embedded=args.embedded))
        return _serve(settings, args)
    except WindFlowError as exc:
        print(f"windflow: {exc.message}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"windflow: {exc}", file=sys.stderr)
        return 2


GRACE_S = 3


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    if bool(args.tls_cert) != bool(args.tls_key):
        print("windflow: give both --tls-cert and --tls-key, or neither", file=sys.stderr)
        return 2
    try:
        from .server.app import create_app
        from .server.routes.terminal import MAX_MESSAGE_BYTES
        from .server.serving import serve
    except ImportError:
        print("windflow: the server needs its extra: pip install 'windflow-desktop[server]'",
              file=sys.stderr)
        return 2
    # Without Redis, deployments run on a worker child process (WINDFLOW_EMBEDDED_WORKER=0:
    # in the API process, as before).
    app = create_app(settings, embedded_worker=os.environ.get(
        "WINDFLOW_EMBEDDED_WORKER", "1") != "0")
    # Sign-in throttling is per client address: only a configured proxy may name it.
    serve(app, host=args.host, port=args.port, log_level="warning",
          ssl_certfile=args.tls_cert, ssl_keyfile=args.tls_key, access_log=False,
          proxy_headers=bool(args.trusted_proxy),
          forwarded_allow_ips=",".join(args.trusted_proxy) or "",
          # Event streams end at the signal; what else is still open (a terminal)
          # is cut after this long.
          timeout_graceful_shutdown=GRACE_S,
          # A WebSocket message (the container terminal's) is never buffered whole
          # past this (1009); the desktop sends a long paste in pieces.
          ws_max_size=MAX_MESSAGE_BYTES + 1024)
    return 0


async def _worker(settings: Settings, *, embedded: bool = False) -> int:
    """Take deployment jobs until SIGTERM/SIGINT (the running one finishes its stages, or
    is handed back to the queue after the grace period). ``embedded``: the child of
    ``windflow serve`` without Redis (see ``server.embedded_worker``)."""
    import signal

    from .services.deploy.worker import Worker
    from .workspace import Workspace

    if not settings.redis_url and not embedded:
        print("windflow: a worker needs WINDFLOW_REDIS_URL (the job queue)", file=sys.stderr)
        return 2
    lease_s = float(os.environ.get("WINDFLOW_WORKER_LEASE_S", "30"))
    max_deliveries = int(os.environ.get("WINDFLOW_WORKER_MAX_DELIVERIES", "3"))
    grace_s = float(os.environ.get("WINDFLOW_WORKER_GRACE_S", "20"))
    # Workers publish events; the server's feed reads them in its own consumer group.
    workspace = Workspace(settings, sealed_secrets=True, database_clock=True,
                          bus_group="-workers")
    await workspace.open()
    queue: Any = None
    pipes: Any = None
    try:
        if embedded:
            from .server.embedded_worker import ChildPipes
            from .services.deploy.embedded_jobs import RowJobs

            pipes = ChildPipes(workspace.bus)
            await pipes.open()
            queue = RowJobs(workspace.backend, workspace.clock, pipes.report,
                            wake=pipes.wake, lease_s=lease_s)
        else:
            from .events.redis_jobs import JobQueue

            queue = JobQueue(settings.redis_url or "", lease_s=lease_s)
        await workspace.start_bus()
        worker = Worker(workspace.services.deployments.core, queue,
                        max_deliveries=max_deliveries, grace_s=grace_s)
        if "WINDFLOW_WORKER_WATCH_S" in os.environ:  # tests, benchmarks: a shorter watch
            worker.core.context.settings.watch_s = float(os.environ["WINDFLOW_WORKER_WATCH_S"])
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, lambda: asyncio.ensure_future(worker.drain()))
        if pipes is not None:  # the server's end closed (it died): drain and go
            orphaned = asyncio.create_task(pipes.parent_gone.wait())
            orphaned.add_done_callback(lambda _: asyncio.ensure_future(worker.drain()))
        print(f"windflow worker {worker.id} ready", flush=True)
        await worker.serve()
    finally:
        if queue is not None:
            await queue.close()
        await workspace.close()
        if pipes is not None:
            await pipes.close()
    return 0


async def _create_owner(settings: Settings, username: str, org: str, email: str) -> int:
    from .workspace import Workspace

    password = sys.stdin.readline().rstrip("\n")
    workspace = Workspace(settings, sealed_secrets=True)
    await workspace.open()
    try:
        auth = workspace.services.auth
        if not await auth.needs_setup():
            print("windflow: this workspace has users already; an owner adds people",
                  file=sys.stderr)
            return 2
        await auth.setup(username=username, email=email or f"{username}@localhost.localdomain",
                         password=password, organization_name=org, full_name=username)
    finally:
        await workspace.close()
    print(f"{username} is the owner of {org}")
    return 0


async def _rotate_key(settings: Settings) -> int:
    """A new sealing key first in the key file (the old ones still open), every secret
    sealed again under it, then the old keys dropped: a cut at any point leaves every
    secret readable."""
    from .security.sealing import KEY_FILE, write_keys
    from .services.sealed_secrets import rotated
    from .workspace import Workspace

    if os.environ.get("WINDFLOW_SERVER_KEY"):
        print("windflow: the key comes from WINDFLOW_SERVER_KEY: rotate it where it is kept",
              file=sys.stderr)
        return 2
    workspace = Workspace(settings, sealed_secrets=True)
    await workspace.open()
    try:
        store = workspace.secrets
        path = settings.home / KEY_FILE
        store.sealer = rotated(store.sealer)
        write_keys(path, store.sealer.keys)
        count = await store.reseal()
        write_keys(path, store.sealer.keys[:1])
    finally:
        await workspace.close()
    print(f"{count} secrets sealed under the new key {store.sealer.key_id}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
