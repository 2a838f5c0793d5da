"""The layers of ARCHITECTURE.md, checked on every import of the package: arrows point
down only, nothing below ``stores/`` imports Qt, ``ui/`` goes through stores."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[3] / "windflow_desktop"
CORE = ("domain", "security", "repositories", "events", "engine", "services")
# The composition roots (the desktop app, the workspace, the server and its command):
# nothing imports them.
ROOT = {"app", "workspace", "server", "cli"}
# For each layer, the layers of ours it must not import.
FORBIDDEN = {
    "domain": {"security", "repositories", "events", "engine", "services", "stores", "ui"},
    "security": {"repositories", "events", "engine", "services", "stores", "ui"},
    "repositories": {"events", "engine", "services", "stores", "ui"},
    "events": {"repositories", "engine", "services", "stores", "ui"},
    "engine": {"security", "repositories", "events", "services", "stores", "ui"},
    "services": {"stores", "ui"},
    # The windows see data only through stores, and stores only through services and the
    # domain (the event bridge also subscribes to the bus).
    "stores": {"ui", "repositories", "engine", "security", "server", "remote"},
    "ui": {"services", "repositories", "engine", "events", "security", "server", "remote"},
    # The desktop's client of a server: it reaches no database, Redis or target itself.
    "remote": {"repositories", "engine", "security", "stores", "ui"},
}
FORBIDDEN = {layer: banned | ROOT for layer, banned in FORBIDDEN.items()}
# The server builds on the Qt-free workspace, never on the desktop's stores or windows.
FORBIDDEN["server"] = {"stores", "ui", "app", "cli"}


def imports_of(path: Path) -> list[str]:
    """Absolute module names imported by ``path`` (relative imports resolved)."""
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    package = parts[:-1]
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                module = ".".join((*base, node.module)) if node.module else ".".join(base)
            else:
                module = node.module or ""
            names.append(module)
    return names


def layer_of(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "windflow_desktop" or len(parts) < 2:
        return None
    return parts[1]


SOURCES = sorted(
    p for p in PACKAGE.rglob("*.py") if "migrations" not in p.parts and p.parent != PACKAGE
)


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_point_down(path: Path) -> None:
    layer = path.relative_to(PACKAGE).parts[0]
    imported = imports_of(path)
    wrong = sorted({m for m in imported if layer_of(m) in FORBIDDEN.get(layer, set())})
    assert not wrong, f"{layer}/ must not import {wrong}"
    if layer in (*CORE, "server", "remote"):
        qt = sorted({m for m in imported if m.split(".")[0] in {"PySide6", "qasync"}})
        assert not qt, f"{layer}/ is below stores/ and must not import Qt: {qt}"
