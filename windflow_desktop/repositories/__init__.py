"""Repository protocols per aggregate; ``sql/`` implements them, a remote backend can too."""

from .protocols import (
    AuditRepository,
    Backend,
    DeploymentRepository,
    MembershipRepository,
    OrganizationRepository,
    StackRepository,
    TargetRepository,
    UnitOfWork,
    UserRepository,
)

__all__ = [
    "AuditRepository",
    "Backend",
    "DeploymentRepository",
    "MembershipRepository",
    "OrganizationRepository",
    "StackRepository",
    "TargetRepository",
    "UnitOfWork",
    "UserRepository",
]
