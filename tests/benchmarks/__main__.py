"""Run the benchmarks and print one JSON object as the last line."""

from __future__ import annotations

import asyncio
import importlib
import inspect
import json
import pkgutil
import sys
import time
import traceback

from . import REGISTRY


def main(argv: list[str]) -> int:
    pattern = argv[0] if argv else ""
    package = sys.modules[__package__ or "tests.benchmarks"]
    for info in pkgutil.iter_modules(package.__path__):
        if info.name.startswith("bench_"):
            importlib.import_module(f"{package.__name__}.{info.name}")
    results: dict[str, object] = {}
    failed = []
    for name, fn in sorted(REGISTRY.items()):
        if pattern not in name:
            continue
        started = time.perf_counter()
        print(f"# {name} …", file=sys.stderr, flush=True)
        try:
            out = fn()
            if inspect.iscoroutine(out):
                out = asyncio.run(out)
            results.update(out)
        except Exception:
            traceback.print_exc()
            failed.append(name)
            results[f"{name}_error"] = traceback.format_exc(limit=1).strip().splitlines()[-1]
        print(f"# {name} took {time.perf_counter() - started:.1f} s", file=sys.stderr)
    if not results and not failed:
        print(f"no benchmark matches {pattern!r}; known: {', '.join(sorted(REGISTRY))}",
              file=sys.stderr)
    print(json.dumps(results, sort_keys=True))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
