"""What runs on a target that WindFlow did not deploy (Compose projects and plain
containers, from the engine's Compose labels), and what adopting one made."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from enum import StrEnum

from .containers import ContainerInfo
from .errors import ValidationError

# The labels Compose puts on every container of a project.
PROJECT_LABEL = "com.docker.compose.project"
WORKING_DIR_LABEL = "com.docker.compose.project.working_dir"
CONFIG_FILES_LABEL = "com.docker.compose.project.config_files"
SERVICE_LABEL = "com.docker.compose.service"
NUMBER_LABEL = "com.docker.compose.container-number"
# The names WindFlow gives its projects (``engine.project_names.PROJECT_NAME``): such a
# project was deployed by WindFlow from another workspace or server, and is not adopted here.
_WINDFLOW_NAME = re.compile(r"^wf-[a-z0-9-]{1,40}-[0-9a-f]{8}$")


class FilesUnreadableError(ValidationError):
    """A project's compose files are gone or cannot be read on the target, or cannot be
    taken as they are (several of them, paths relative to their folder); ``message``
    says which and why, and that adopting from the engine's view still works."""

    code = "ADOPT_FILES_UNREADABLE"

    def __init__(self, message: str) -> None:
        super().__init__(message, field="files")


class AdoptSource(StrEnum):
    """Where an adopted revision's Compose text comes from."""

    FILES = "files"      # the project's compose file, as it is on the target (the default)
    ENGINE = "engine"    # rebuilt from the containers as the engine runs them (the files
    #                      are gone, unreadable, several, or use relative paths)


@dataclass(frozen=True)
class UnmanagedProject:
    """A Compose project on a target that no deployment of this organization holds."""

    name: str
    working_dir: str
    config_files: tuple[str, ...]
    containers: tuple[ContainerInfo, ...]

    @property
    def running(self) -> int:
        return sum(1 for c in self.containers if c.running)

    @property
    def windflow_named(self) -> bool:
        """Named as WindFlow names its projects: deployed from another workspace."""
        return bool(_WINDFLOW_NAME.match(self.name))


@dataclass(frozen=True)
class Unmanaged:
    """Everything on a target WindFlow does not manage: projects, then plain containers."""

    target_id: uuid.UUID
    projects: tuple[UnmanagedProject, ...] = ()
    containers: tuple[ContainerInfo, ...] = ()

    def project(self, name: str) -> UnmanagedProject | None:
        return next((p for p in self.projects if p.name == name), None)


@dataclass(frozen=True)
class Adopted:
    """What adopting (or keeping a change) made: a stack revision and a deployment record
    of what runs, without touching a container."""

    stack_id: uuid.UUID
    stack_name: str
    revision: int
    deployment_id: uuid.UUID
    project: str
    source: AdoptSource
    notes: tuple[str, ...] = ()   # what the user should know ("FOO is secret", …)
