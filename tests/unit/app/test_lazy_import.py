"""``engine.lazy.lazy_import``: the module's code runs at the first attribute read, not
at the import; in a bundle (``sys.frozen``) it is imported at once."""

from __future__ import annotations

import subprocess
import sys


def _run(code: str) -> str:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip()


def test_the_code_runs_at_the_first_attribute_read() -> None:
    # ``this`` prints the Zen of Python when its code runs.
    out = _run(
        "from windflow_desktop.engine.lazy import lazy_import\n"
        "m = lazy_import('this')\n"
        "print('imported')\n"
        "m.s\n")
    assert out.startswith("imported\nThe Zen of Python"), out


def test_a_bundle_imports_at_once() -> None:
    out = _run(
        "import sys\n"
        "sys.frozen = True\n"
        "from windflow_desktop.engine.lazy import lazy_import\n"
        "m = lazy_import('this')\n"
        "print('imported')\n")
    assert out.startswith("The Zen of Python") and out.endswith("imported"), out
