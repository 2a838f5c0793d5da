"""Entry point: ``windflow-desktop`` / ``python -m windflow_desktop``."""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time

_STARTED = time.monotonic()


def main(argv: list[str] | None = None) -> int:
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="windflow-desktop",
        description="WindFlow Desktop: deploy containers and Compose stacks onto your machines.",
    )
    parser.add_argument("--version", action="version", version=f"windflow-desktop {__version__}")
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="start on the workspace in WINDFLOW_HOME, wait for the first painted window, "
        "print {ready_ms, version} as JSON and exit",
    )
    args = parser.parse_args(argv)

    from .logging_setup import start_process

    settings = start_process("windflow-desktop")
    if settings is None:
        return 2
    from . import crash_report

    crashed = crash_report.take_previous(settings.home)
    crash_report.enable(settings.home)
    if crashed is not None:
        settings = dataclasses.replace(
            settings, notices=(*settings.notices, crash_report.notice(crashed)))

    from .app import run_app

    return run_app(settings, smoke=args.smoke, started=_STARTED)


if __name__ == "__main__":
    sys.exit(main())
