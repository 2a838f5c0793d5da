"""One round of update checks over an organization's targets (``UpdateSweep``) and what
the stacks' update policies made of it: the images reported (those of ``ignore`` stacks
left out) and the automatic updates of ``auto`` stacks (``AutoUpdate``), each in words."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from .containers import ImageUpdate


class AutoOutcome(StrEnum):
    UPDATED = "updated"          # redeployed with the new image; healthy after its watch
    FAILED = "failed"            # the update ended badly; the old image runs again
    NOT_STARTED = "not_started"  # an earlier target of the same stack failed: left as is
    REFUSED = "refused"          # could not start (who chose auto lost the right, …)


@dataclass(frozen=True)
class AutoUpdate:
    """One deployment an ``auto`` stack's rollout dealt with (in the rollout's order)."""

    stack_id: uuid.UUID
    stack_name: str
    target_id: uuid.UUID
    target_name: str
    deployment_id: uuid.UUID          # the deployment that ran the old image
    outcome: AutoOutcome
    images: tuple[str, ...] = ()
    new_deployment_id: uuid.UUID | None = None
    message: str = ""

    def __str__(self) -> str:
        where = f"{self.stack_name} on {self.target_name}"
        if self.outcome is AutoOutcome.UPDATED:
            return f"{where} was updated automatically ({', '.join(self.images)})"
        if self.outcome is AutoOutcome.NOT_STARTED:
            return f"{where} was not updated: {self.message}"
        return f"the automatic update of {where} failed: {self.message}"


@dataclass(frozen=True)
class UpdateSweep:
    """The latest round: per target the images it runs (``ignore`` stacks' left out), the
    targets that could not be checked and why, and the automatic updates it started."""

    results: dict[uuid.UUID, tuple[ImageUpdate, ...]] = field(default_factory=dict)
    problems: dict[uuid.UUID, str] = field(default_factory=dict)
    automatic: tuple[AutoUpdate, ...] = ()
    checked_at: datetime | None = None
