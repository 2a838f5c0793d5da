"""``windflow``: the server and its administration, beside the desktop's
``windflow-desktop``. ``windflow serve`` runs the API (needs the ``server`` extra);
``windflow create-owner USERNAME --org NAME`` makes the first owner of an empty
workspace, the password read from standard input (there is no self-registration)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

from . import __version__


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="windflow", description=__doc__.split("\n\n")[0])
    parser.add_argument("--version", action="version", version=f"windflow {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the API over the workspace")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8765)
    serve.add_argument("--tls-cert", help="certificate file (PEM); with --tls-key: HTTPS")
    serve.add_argument("--tls-key", help="private key file (PEM)")
    owner = commands.add_parser("create-owner", help="the first owner of an empty workspace")
    owner.add_argument("username")
    owner.add_argument("--org", required=True, help="the organization's name")
    owner.add_argument("--email", help="their email address (default: USERNAME@localhost."
                       "localdomain, to change in the app)")
    args = parser.parse_args(argv)

    from .private_files import restrict_umask

    restrict_umask()
    from .config import load_settings, log_level_number
    from .domain.errors import WindFlowError
    from .logging_setup import configure_logging

    try:
        settings = load_settings()
        configure_logging(settings.log_dir, log_level_number(settings))
        if args.command == "create-owner":
            return asyncio.run(_create_owner(settings, args.username, args.org, args.email))
        return _serve(settings, args)
    except WindFlowError as exc:
        print(f"windflow: {exc.message}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"windflow: {exc}", file=sys.stderr)
        return 2


def _serve(settings: object, args: argparse.Namespace) -> int:
    if bool(args.tls_cert) != bool(args.tls_key):
        print("windflow: give both --tls-cert and --tls-key, or neither", file=sys.stderr)
        return 2
    try:
        import uvicorn

        from .server.app import create_app
    except ImportError:
        print("windflow: the server needs its extra: pip install 'windflow-desktop[server]'",
              file=sys.stderr)
        return 2
    app = create_app(settings)  # type: ignore[arg-type]
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning",
                ssl_certfile=args.tls_cert, ssl_keyfile=args.tls_key, access_log=False)
    return 0


async def _create_owner(settings: object, username: str, org: str, email: str) -> int:
    from .workspace import Workspace

    password = sys.stdin.readline().rstrip("\n")
    workspace = Workspace(settings)  # type: ignore[arg-type]
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


if __name__ == "__main__":
    sys.exit(main())
