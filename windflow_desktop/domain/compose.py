"""What a check of a Compose file found: issues with their place, services, images,
published ports and the variables the text uses. Plain values, shared by the engine
(which produces them) and the screens (which mark the lines)."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

from .errors import ValidationError
from .slugs import slug_of

MAX_ISSUES = 200  # a report lists at most this many issues, then says how many more


@dataclass(frozen=True)
class Issue:
    severity: str  # "error" | "warning"
    message: str
    line: int  # 1-based; 0 when the problem is not at a place in the text
    column: int  # 1-based
    path: str = ""

    def __str__(self) -> str:
        where = f"line {self.line}, column {self.column}: " if self.line else ""
        return f"{where}{self.message}"


@dataclass(frozen=True)
class VariableUse:
    name: str
    line: int
    column: int
    default: str | None  # the text after ``:-``/``-``
    required_message: str | None  # the text after ``:?``/``?`` ('' when none)


@dataclass
class ComposeReport:
    issues: list[Issue] = field(default_factory=list)
    services: list[str] = field(default_factory=list)
    images: dict[str, str] = field(default_factory=dict)  # service -> image (may hold ${…})
    published_ports: list[tuple[str, int, str]] = field(default_factory=list)  # ip, port, proto
    variables: list[VariableUse] = field(default_factory=list)
    # What the stack reaches on its host, one name per grant ("web: privileged",
    # "web: host path /etc"); deploying it needs the stack's host access flag.
    host_access: list[str] = field(default_factory=list)
    _dropped: list[int] = field(default_factory=lambda: [0, 0], repr=False)  # all, errors
    _granted: set[str] = field(default_factory=set, repr=False)

    def add(self, issue: Issue) -> None:
        """Record ``issue``; past ``MAX_ISSUES`` only count it (see ``close``)."""
        if len(self.issues) < MAX_ISSUES:
            self.issues.append(issue)
            return
        self._dropped[0] += 1
        self._dropped[1] += issue.severity == "error"

    def close(self) -> None:
        """Append one issue saying how many were not listed (an error if any was)."""
        dropped, errors = self._dropped
        if dropped:
            self.issues.append(Issue("error" if errors else "warning",
                                     f"… and {dropped} more issues not shown", 0, 0))
            self._dropped[:] = [0, 0]

    def grant_host_access(self, grant: str) -> None:
        if grant not in self._granted:
            self._granted.add(grant)
            self.host_access.append(grant)

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "error"]

    @property
    def warnings(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def raise_for_errors(self) -> None:
        if self.errors:
            raise ComposeValidationError(self.errors)


class ComposeValidationError(ValidationError):
    """The Compose file or the variables break a rule; ``issues`` says where."""

    code = "COMPOSE_INVALID"

    def __init__(self, issues: Sequence[Issue]) -> None:
        first = issues[0]
        more = f" (and {len(issues) - 1} more)" if len(issues) > 1 else ""
        super().__init__(f"{first}{more}", field="compose_yaml")
        self.issues = list(issues)


def project_name(stack_slug: str, stack_id: uuid.UUID, target_id: uuid.UUID) -> str:
    """Stable per (stack, target): a redeploy updates the same Compose project in place."""
    digest = hashlib.sha1(f"{stack_id}/{target_id}".encode()).hexdigest()[:8]
    slug = slug_of(stack_slug, limit=30, fallback="stack")
    return f"wf-{slug}-{digest}"
