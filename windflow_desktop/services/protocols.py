"""What the desktop's stores ask of the services, as typed protocols.

The local services (``services/*.py``) satisfy them as they are; the client of a WindFlow
server (``remote/``) implements the same ones over HTTP, so a store never knows which
mode it is in. ``ServiceApis`` is the set a desktop is built over (``build_stores``).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from typing import Any, Protocol

from ..domain.compose import ComposeReport
from ..domain.containers import ContainerInfo
from ..domain.enums import DeploymentStatus, Role, TargetKind, TargetStatus
from ..domain.identity import Member, PendingInvitation, Principal
from ..domain.models import (
    Deployment,
    DeploymentLog,
    DeploymentStageRecord,
    DeployPreview,
    Membership,
    Organization,
    PreviousValues,
    RevisionDiff,
    Stack,
    StackRevision,
    Target,
    TargetCapability,
)
from ..domain.paging import Page, PageRequest
from ..domain.targets import ConnectionReport, HealthResult, ScanOutcome, StepResult, TargetSpec
from .activity import ActivityEntry, ActivityFilters, Actor
from .auth import AuthSession
from .dashboard import DashboardSummary
from .deploy.rollouts import Rollout

StepCallback = Callable[[StepResult], None]


class AuthApi(Protocol):
    """What the stores ask of the auth service (``services/auth.py``)."""

    async def needs_setup(self) -> bool: ...
    async def setup(
        self,
        *,
        username: str,
        email: str,
        password: str,
        organization_name: str,
        full_name: str = "",
    ) -> AuthSession: ...
    async def login(
        self,
        login: str,
        password: str,
        *,
        organization_id: uuid.UUID | None = None,
        source: str | None = None,
    ) -> AuthSession: ...
    async def refresh(
        self, refresh_token: str, *, organization_id: uuid.UUID | None = None
    ) -> AuthSession: ...
    async def switch_organization(
        self, refresh_token: str, organization_id: uuid.UUID
    ) -> AuthSession: ...
    async def logout(self, refresh_token: str) -> None: ...
    async def change_password(
        self, principal: Principal, current_password: str, new_password: str
    ) -> AuthSession: ...
    async def confirm_password(self, principal: Principal, password: str) -> None: ...
    async def remember(self, session: AuthSession) -> None: ...
    async def restore_remembered(self) -> AuthSession | None: ...
    async def has_remembered(self, refresh_token: str | None = None) -> bool: ...
    async def shared_database_warning(self, principal: Principal) -> str | None: ...
    async def memberships(self, principal: Principal) -> Sequence[Membership]: ...


class UsersApi(Protocol):
    """What the stores ask of the users service (``services/users.py``)."""

    async def create_user(
        self,
        principal: Principal,
        *,
        username: str,
        email: str,
        password: str,
        role: Role = Role.VIEWER,
        full_name: str = "",
    ) -> Member: ...
    async def add_member(self, principal: Principal, login: str, role: Role) -> None: ...
    async def change_role(self, principal: Principal, user_id: uuid.UUID, role: Role) -> Member: ...
    async def disable_user(self, principal: Principal, user_id: uuid.UUID) -> Member: ...
    async def enable_user(self, principal: Principal, user_id: uuid.UUID) -> Member: ...
    async def remove_member(self, principal: Principal, user_id: uuid.UUID) -> None: ...


class OrganizationsApi(Protocol):
    """What the stores ask of the organizations service (``services/organizations.py``)."""

    async def list(
        self, principal: Principal, page: PageRequest | None = None
    ) -> Page[Organization]: ...
    async def get(self, principal: Principal, organization_id: uuid.UUID) -> Organization: ...
    async def members(
        self, principal: Principal, organization_id: uuid.UUID, page: PageRequest | None = None
    ) -> Page[Member]: ...
    async def invitations(self, principal: Principal) -> tuple[PendingInvitation, ...]: ...
    async def accept_invitation(self, principal: Principal,
                                invitation_id: uuid.UUID) -> Membership: ...
    async def decline_invitation(self, principal: Principal, invitation_id: uuid.UUID) -> None: ...


class TargetsApi(Protocol):
    """What the stores ask of the targets service (``services/targets.py``)."""

    @property
    def concurrency(self) -> int: ...

    async def list_targets(
        self,
        principal: Principal,
        page: PageRequest | None = None,
        *,
        status: TargetStatus | None = None,
        kind: TargetKind | None = None,
    ) -> Page[Target]: ...
    async def get_target(self, principal: Principal, target_id: uuid.UUID) -> Target: ...
    async def capabilities(
        self, principal: Principal, target_id: uuid.UUID
    ) -> list[TargetCapability]: ...
    async def create_target(
        self, principal: Principal, spec: TargetSpec, secret: str | None = None
    ) -> Target: ...
    async def update_target(
        self,
        principal: Principal,
        target_id: uuid.UUID,
        spec: TargetSpec,
        secret: Any = ...,
    ) -> Target: ...
    async def delete_target(self, principal: Principal, target_id: uuid.UUID) -> None: ...
    async def forget_host_key(self, principal: Principal, target_id: uuid.UUID) -> bool: ...
    async def test_connection(
        self, principal: Principal, target_id: uuid.UUID, on_step: StepCallback | None = None
    ) -> ConnectionReport: ...
    async def test_draft(
        self,
        principal: Principal,
        spec: TargetSpec,
        secret: str | None = None,
        on_step: StepCallback | None = None,
        *,
        target_id: uuid.UUID | None = None,
    ) -> ConnectionReport: ...
    async def scan(self, principal: Principal, target_id: uuid.UUID) -> ScanOutcome: ...
    async def check_health(
        self, principal: Principal, target_ids: Iterable[uuid.UUID] | None = None
    ) -> list[HealthResult]: ...


class ContainersApi(Protocol):
    """What the stores ask of the containers service (``services/containers.py``)."""

    async def list_containers(self, principal: Principal,
                              target_id: uuid.UUID) -> list[ContainerInfo]: ...
    async def start(self, principal: Principal, target_id: uuid.UUID,
                    container_id: str) -> None: ...
    async def stop(self, principal: Principal, target_id: uuid.UUID, container_id: str,
                   *, grace_s: int = 10) -> None: ...
    async def restart(self, principal: Principal, target_id: uuid.UUID, container_id: str,
                      *, grace_s: int = 10) -> None: ...
    async def remove(self, principal: Principal, target_id: uuid.UUID, container_id: str,
                     *, force: bool = False) -> None: ...
    async def logs(self, principal: Principal, target_id: uuid.UUID, container_id: str,
                   *, tail: int = 200) -> list[str]: ...
    def follow_logs(self, principal: Principal, target_id: uuid.UUID,
                    container_id: str, *, tail: int = 100) -> AsyncIterator[str]: ...


class StacksApi(Protocol):
    """What the stores ask of the stacks service (``services/stacks.py``)."""

    async def validate(self, compose_yaml: str, variables: Sequence[Mapping[str, Any]] = ()
                       ) -> ComposeReport: ...

    async def list_stacks(
        self, principal: Principal, page: PageRequest | None = None, *, archived: bool = False
    ) -> Page[Stack]: ...
    async def get_stack(self, principal: Principal, stack_id: uuid.UUID) -> Stack: ...
    async def revisions(
        self, principal: Principal, stack_id: uuid.UUID, page: PageRequest | None = None
    ) -> Page[StackRevision]: ...
    async def get_revision(
        self, principal: Principal, stack_id: uuid.UUID, number: int | None = None
    ) -> StackRevision: ...
    async def diff(
        self, principal: Principal, stack_id: uuid.UUID, old: int, new: int
    ) -> RevisionDiff: ...
    async def create_stack(
        self,
        principal: Principal,
        *,
        name: str,
        compose_yaml: str,
        variables: Sequence[Mapping[str, Any]] = (),
        description: str = "",
        tags: Sequence[str] = (),
        message: str = "",
    ) -> tuple[Stack, StackRevision]: ...
    async def update_stack(
        self,
        principal: Principal,
        stack_id: uuid.UUID,
        *,
        name: str | None = None,
        description: str | None = None,
        tags: Sequence[str] | None = None,
        host_access: bool | None = None,
    ) -> Stack: ...
    async def save_revision(
        self,
        principal: Principal,
        stack_id: uuid.UUID,
        *,
        compose_yaml: str,
        variables: Sequence[Mapping[str, Any]] = (),
        message: str = "",
        expected_revision: int | None = None,
    ) -> StackRevision: ...
    async def restore(
        self, principal: Principal, stack_id: uuid.UUID, number: int, message: str | None = None
    ) -> StackRevision: ...
    async def duplicate(self, principal: Principal, stack_id: uuid.UUID, name: str) -> Stack: ...
    async def archive(self, principal: Principal, stack_id: uuid.UUID) -> Stack: ...
    async def unarchive(self, principal: Principal, stack_id: uuid.UUID) -> Stack: ...
    async def export_stack(
        self, principal: Principal, stack_id: uuid.UUID, fmt: str = "json"
    ) -> str: ...
    async def import_stack(
        self, principal: Principal, text: str, *, name: str | None = None
    ) -> Stack: ...


class ActivityApi(Protocol):
    """What the stores ask of the activity service (``services/activity.py``)."""

    async def list(
        self,
        principal: Principal,
        page: PageRequest | None = None,
        filters: ActivityFilters | None = None,
        *,
        organization_id: uuid.UUID | None = None,
    ) -> Page[ActivityEntry]: ...
    async def actors(self, principal: Principal) -> tuple[Actor, ...]: ...


class DashboardApi(Protocol):
    """What the stores ask of the dashboard service (``services/dashboard.py``)."""

    async def summary(self, principal: Principal, *,
                      organization_id: uuid.UUID | None = None) -> DashboardSummary: ...


class DeploymentsApi(Protocol):
    """What the stores ask of the deployments service (``services/deployments.py``)."""

    async def list_deployments(
        self, principal: Principal, page: PageRequest | None = None, *,
        status: Sequence[DeploymentStatus] | None = None,
        target_id: uuid.UUID | None = None, stack_id: uuid.UUID | None = None,
    ) -> Page[Deployment]: ...
    async def get(self, principal: Principal, deployment_id: uuid.UUID) -> Deployment: ...
    async def logs(self, principal: Principal, deployment_id: uuid.UUID, *,
                   after_seq: int = 0, limit: int = 1000) -> Sequence[DeploymentLog]: ...
    async def log_page(self, principal: Principal, deployment_id: uuid.UUID, *,
                       before_seq: int | None = None, limit: int = 1000
                       ) -> Sequence[DeploymentLog]: ...
    async def stages(self, principal: Principal, deployment_id: uuid.UUID
                     ) -> Sequence[DeploymentStageRecord]: ...
    async def previous_values(self, principal: Principal, stack_id: uuid.UUID,
                              target_id: uuid.UUID) -> PreviousValues: ...
    async def preview(self, principal: Principal, stack_id: uuid.UUID, target_id: uuid.UUID,
                      variables: Mapping[str, str | None] | None = None,
                      revision: int | None = None) -> DeployPreview: ...
    async def deploy(
        self,
        principal: Principal,
        stack_id: uuid.UUID,
        target_ids: Sequence[uuid.UUID],
        *,
        variables: Mapping[str, str | None] | None = None,
        overrides: Mapping[uuid.UUID, Mapping[str, str | None]] | None = None,
        revision: int | None = None,
        parallel: int = 4,
        stop_on_failure: bool = False,
    ) -> Rollout: ...
    async def redeploy(self, principal: Principal, deployment_id: uuid.UUID, *,
                       variables: Mapping[str, str | None] | None = None,
                       revision: int | None = None) -> Rollout: ...
    async def rollback(self, principal: Principal, deployment_id: uuid.UUID) -> Rollout: ...
    async def cancel(self, principal: Principal, deployment_id: uuid.UUID) -> Deployment: ...
    async def stop(self, principal: Principal, deployment_id: uuid.UUID) -> Deployment: ...
    async def start(self, principal: Principal, deployment_id: uuid.UUID) -> Deployment: ...
    async def remove(self, principal: Principal, deployment_id: uuid.UUID, *,
                     volumes: bool = False) -> Deployment: ...
    async def current_deployments(self, principal: Principal) -> Sequence[Deployment]: ...
    async def shutdown(self) -> None: ...


class ServiceApis(Protocol):
    """The services one desktop is built over (local: ``workspace.Services``)."""

    @property
    def auth(self) -> AuthApi: ...
    @property
    def users(self) -> UsersApi: ...
    @property
    def organizations(self) -> OrganizationsApi: ...
    @property
    def targets(self) -> TargetsApi: ...
    @property
    def containers(self) -> ContainersApi: ...
    @property
    def stacks(self) -> StacksApi: ...
    @property
    def deployments(self) -> DeploymentsApi: ...
    @property
    def activity(self) -> ActivityApi: ...
    @property
    def dashboard(self) -> DashboardApi: ...
