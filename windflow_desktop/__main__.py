"""Entry point: ``windflow-desktop`` / ``python -m windflow_desktop``."""

from __future__ import annotations

import argparse
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

    from .private_files import restrict_umask

    restrict_umask()  # before the first file: the data folder is the user's alone
    from .config import load_settings, log_level_number
    from .domain.errors import ConfigurationError
    from .logging_setup import configure_logging

    try:
        settings = load_settings()
        configure_logging(settings.log_dir, log_level_number(settings))
    except ConfigurationError as exc:
        print(f"windflow-desktop: {exc.message}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"windflow-desktop: cannot write the log file ({exc})", file=sys.stderr)
        return 2

    from .app import run_app

    return run_app(settings, smoke=args.smoke, started=_STARTED)


if __name__ == "__main__":
    sys.exit(main())
