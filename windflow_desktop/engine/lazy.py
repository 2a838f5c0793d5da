"""Client libraries loaded on their first use. aiodocker with aiohttp costs a process
about 20 MB of memory and a quarter second at start, and is needed only once a Docker
engine is contacted: a server may run for days without (its resident memory), and a
window shows sooner. The standard library's ``LazyLoader`` runs the module's code at the
first attribute read."""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType


def lazy_import(name: str) -> ModuleType:
    """``name`` as a module whose code runs when one of its attributes is first read (at
    once when it was imported already)."""
    known = sys.modules.get(name)
    if known is not None:
        return known
    if getattr(sys, "frozen", False):
        # The desktop bundle imports at once: its own importer, not the one this is
        # tested with, and a window contacts its engine at start anyway.
        return importlib.import_module(name)
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        raise ModuleNotFoundError(f"No module named {name!r}", name=name)
    loader = importlib.util.LazyLoader(spec.loader)
    spec.loader = loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    loader.exec_module(module)
    return module
