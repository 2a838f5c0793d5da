"""What a check of a Compose file found: issues with their place, services, images,
published ports and the variables the text uses. Plain values, shared by the engine
(which produces them) and the screens (which mark the lines)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from .errors import ValidationError


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
