"""Which Compose project names WindFlow runs under on a target, and which folder (right
under the projects root) holds each one's files.

A project name must look like ``wf-<slug>-<8 hex>`` (``PROJECT_NAME``, what
``project_name`` makes), or be the plain Compose name of a project adopted as it ran
(``ADOPTED_NAME``; its files go to the folder ``adopted_folder`` names — a
``wf-adopted-<8 hex>`` folder, never the one the project came from). The root must be
an absolute, normalised path: a name read back from the database can never point the
folder (which Remove deletes) anywhere but right under the projects root.
"""

from __future__ import annotations

import hashlib
import posixpath
import re

from ..domain.errors import ValidationError

PROJECT_NAME = re.compile(r"^wf-[a-z0-9-]{1,40}-[0-9a-f]{8}$")
# An adopted project keeps the name it ran under (Compose's own rule for a name, shorter).
ADOPTED_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


def check_project_name(name: str) -> str:
    """``name`` when it is a project name WindFlow makes, else ``ValidationError``."""
    if not PROJECT_NAME.match(name):
        raise ValidationError(
            f"{name[:80]!r} is not a WindFlow project name (wf-<name>-<8 hex digits>); "
            "nothing was done on the target", field="project_name")
    return name


def is_adopted_name(name: str) -> bool:
    """True for the name of a project WindFlow adopted as it ran (not one it makes)."""
    return not PROJECT_NAME.match(name) and bool(ADOPTED_NAME.match(name))


def adopted_folder(name: str) -> str:
    """The folder (a WindFlow project name) of the files of the adopted project ``name``:
    WindFlow never writes into the folder the project came from."""
    return f"wf-adopted-{hashlib.sha256(f'adopted/{name}'.encode()).hexdigest()[:8]}"


def check_running_name(name: str) -> str:
    """``name`` when a WindFlow project may run under it: one WindFlow makes, or the name
    an adopted project kept; else ``ValidationError`` (as ``check_project_name``)."""
    if PROJECT_NAME.match(name) or ADOPTED_NAME.match(name):
        return name
    return check_project_name(name)


def check_root(root: str) -> str:
    """The projects root, normalised; it must be absolute and hold no ``..``."""
    clean = posixpath.normpath(root) if root else ""
    if not clean.startswith("/") or ".." in root.split("/") or clean == "/":
        raise ValidationError(f"the projects folder {root!r} is not an absolute path "
                              "inside a home or data folder", field="projects_root")
    return clean
