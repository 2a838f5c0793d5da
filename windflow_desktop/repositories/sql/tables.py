"""Tables of the workspace database and their imperative mapping onto the domain classes.

This module is the schema's source of truth for Alembic's autogenerate; every change
here needs a new revision in ``migrations/versions``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Dialect,
    Enum,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    Uuid,
    false,
    select,
    text,
)
from sqlalchemy.orm import column_property, registry

from ...domain import identity as ident
from ...domain import models as m
from ...domain.enums import (
    DeploymentStage,
    DeploymentStatus,
    LogStream,
    Role,
    TargetAuth,
    TargetKind,
    TargetStatus,
    UpdatePolicy,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores aware datetimes as UTC and always gives back aware UTC datetimes (SQLite too)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; use datetime.now(UTC)")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _enum(enum_type: Any) -> Enum:
    # Stored as plain strings (no native PG enum): adding a value needs no type migration.
    return Enum(
        enum_type,
        native_enum=False,
        create_constraint=False,
        length=32,
        values_callable=lambda e: [member.value for member in e],
    )


def _created() -> Column[Any]:
    return Column("created_at", UTCDateTime(), nullable=False)


organizations = Table(
    "organizations",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("slug", String(100), nullable=False, unique=True),
    _created(),
)

users = Table(
    "users",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("username", String(150), nullable=False, unique=True),
    Column("email", String(320), nullable=False, unique=True),
    Column("full_name", String(200), nullable=False, default=""),
    Column("password_hash", String(500), nullable=False, default=""),
    Column("is_active", Boolean, nullable=False, default=True),
    Column("is_superuser", Boolean, nullable=False, default=False),
    Column("last_login", UTCDateTime()),
    _created(),
)

memberships = Table(
    "memberships",
    metadata,
    Column("user_id", Uuid, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column(
        "organization_id",
        Uuid,
        ForeignKey("organizations.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("role", _enum(Role), nullable=False),
    _created(),
    Index(None, "organization_id", "role"),
)

targets = Table(
    "targets",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column(
        "organization_id", Uuid, ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False
    ),
    Column("name", String(200), nullable=False),
    Column("kind", _enum(TargetKind), nullable=False),
    Column("host", String(255), nullable=False, default=""),
    Column("port", Integer),
    Column("username", String(100), nullable=False, default=""),
    Column("auth", _enum(TargetAuth), nullable=False),
    Column("secret_ref", String(255)),
    Column("docker_socket", String(500)),
    Column("tls", JSON, nullable=False),
    Column("labels", JSON, nullable=False),
    Column("status", _enum(TargetStatus), nullable=False),
    Column("last_seen", UTCDateTime()),
    _created(),
    Column("updated_at", UTCDateTime(), nullable=False),
    UniqueConstraint("organization_id", "name"),
    Index(None, "organization_id", "status"),
)

target_capabilities = Table(
    "target_capabilities",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("target_id", Uuid, ForeignKey("targets.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(50), nullable=False),
    Column("available", Boolean, nullable=False),
    Column("version", String(100), nullable=False, default=""),
    Column("details", JSON, nullable=False),
    Column("scanned_at", UTCDateTime(), nullable=False),
    UniqueConstraint("target_id", "kind"),
)

stacks = Table(
    "stacks",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column(
        "organization_id", Uuid, ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False
    ),
    Column("name", String(200), nullable=False),
    Column("slug", String(100), nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("tags", JSON, nullable=False),
    Column("archived_at", UTCDateTime()),
    Column("current_revision", Integer, nullable=False, default=0),
    _created(),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("host_access", Boolean, nullable=False, default=False, server_default=false()),
    Column("update_policy", _enum(UpdatePolicy), nullable=False, default=UpdatePolicy.NOTIFY,
           server_default=UpdatePolicy.NOTIFY.value),
    Column("update_policy_by", Uuid),  # no foreign key: see migration 0011
    UniqueConstraint("organization_id", "slug"),
    Index(None, "organization_id", "archived_at", "name"),
)

stack_revisions = Table(
    "stack_revisions",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("stack_id", Uuid, ForeignKey("stacks.id", ondelete="CASCADE"), nullable=False),
    Column("number", Integer, nullable=False),
    Column("compose_yaml", Text, nullable=False),
    Column("variables", JSON, nullable=False),
    Column("author_id", Uuid, ForeignKey("users.id", ondelete="SET NULL")),
    Column("message", Text, nullable=False, default=""),
    _created(),
    UniqueConstraint("stack_id", "number"),
)

deployments = Table(
    "deployments",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column(
        "organization_id", Uuid, ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False
    ),
    Column("stack_id", Uuid, ForeignKey("stacks.id", ondelete="CASCADE"), nullable=False),
    Column(
        "revision_id", Uuid, ForeignKey("stack_revisions.id", ondelete="RESTRICT"), nullable=False
    ),
    Column("target_id", Uuid, ForeignKey("targets.id", ondelete="CASCADE"), nullable=False),
    Column("project_name", String(100), nullable=False),
    Column("variables", JSON, nullable=False),
    Column("status", _enum(DeploymentStatus), nullable=False),
    Column("stage", _enum(DeploymentStage)),
    Column("error", Text),
    Column("actor_id", Uuid, ForeignKey("users.id", ondelete="SET NULL")),
    Column("started_at", UTCDateTime()),
    Column("finished_at", UTCDateTime()),
    _created(),
    Column("runner", String(200)),
    Column("heartbeat_at", UTCDateTime()),
    Column("pull_images", Boolean, nullable=False, server_default=false()),
    Column("attempt", Integer, nullable=False, server_default="0"),
    Column("config_hashes", JSON, nullable=False, server_default=text("'{}'")),
    Column("image_ids", JSON, nullable=False, server_default=text("'{}'")),
    Column("cancel_requested_at", UTCDateTime()),
    Index(None, "organization_id", "status", "created_at"),
    Index(None, "organization_id", "created_at"),
    Index(None, "target_id", "stack_id", "created_at"),
)

deployment_logs = Table(
    "deployment_logs",
    metadata,
    Column(
        "deployment_id",
        Uuid,
        ForeignKey("deployments.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("ts", UTCDateTime(), nullable=False),
    Column("stream", _enum(LogStream), nullable=False),
    Column("line", Text, nullable=False),
)

deployment_stages = Table(
    "deployment_stages",
    metadata,
    Column(
        "deployment_id",
        Uuid,
        ForeignKey("deployments.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("stage", String(32), nullable=False),
    Column("started_at", UTCDateTime(), nullable=False),
    Column("finished_at", UTCDateTime()),
    Column("outcome", String(16), nullable=False),
    Column("detail", Text, nullable=False, default=""),
)

audit_events = Table(
    "audit_events",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("organization_id", Uuid, ForeignKey("organizations.id", ondelete="CASCADE")),
    Column("actor_id", Uuid, ForeignKey("users.id", ondelete="SET NULL")),
    Column("type", String(100), nullable=False),
    Column("aggregate_type", String(50), nullable=False),
    Column("aggregate_id", String(100), nullable=False),
    Column("data", JSON, nullable=False),
    Column("ts", UTCDateTime(), nullable=False),
    Index(None, "organization_id", "ts"),
    Index(None, "organization_id", "type", "ts"),
    Index(None, "aggregate_type", "aggregate_id"),
)

# Sign-in sessions and throttling (no secret here: tokens are known by jti only).
refresh_tokens = Table(
    "refresh_tokens",
    metadata,
    Column("jti", String(64), primary_key=True),
    Column("user_id", Uuid, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("family_id", Uuid, nullable=False),
    Column("organization_id", Uuid, ForeignKey("organizations.id", ondelete="CASCADE")),
    Column("issued_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    Column("used_at", UTCDateTime()),
    Column("revoked_at", UTCDateTime()),
    Index(None, "family_id"),
    Index(None, "user_id"),
    Index(None, "expires_at"),
)

# Personal access tokens: the hash only (the token is shown once, when made).
access_tokens = Table(
    "access_tokens",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("user_id", Uuid, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column(
        "organization_id", Uuid, ForeignKey("organizations.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("name", String(100), nullable=False),
    Column("prefix", String(20), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("scopes", JSON),
    _created(),
    Column("expires_at", UTCDateTime(), nullable=False),
    Column("last_used_at", UTCDateTime()),
    Column("revoked_at", UTCDateTime()),
    Index(None, "user_id"),
)

login_throttles = Table(
    "login_throttles",
    metadata,
    Column("key", String(100), primary_key=True),
    Column("failures", Integer, nullable=False, default=0),
    Column("last_failure_at", UTCDateTime()),
    Column("locked_until", UTCDateTime()),
    # Set on a successful sign-in from this bucket's source: a known source is not held
    # by the account-wide lock that strangers' failures set.
    Column("last_success_at", UTCDateTime()),
)

# An invitation into an organization, pending until the invited user accepts or declines.
invitations = Table(
    "invitations",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column(
        "organization_id", Uuid, ForeignKey("organizations.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("user_id", Uuid, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("role", _enum(Role), nullable=False),
    Column("invited_by", Uuid, ForeignKey("users.id", ondelete="SET NULL")),
    _created(),
    UniqueConstraint("organization_id", "user_id"),
    Index(None, "user_id"),
)

workspace_meta = Table(
    "workspace_meta",
    metadata,
    Column("key", String(100), primary_key=True),
    Column("value", Text, nullable=False),
)

# A server's secrets (no OS keyring there), sealed: ``ciphertext`` under the key ``key_id``.
sealed_secrets = Table(
    "sealed_secrets",
    metadata,
    Column("name", String(255), primary_key=True),
    Column("key_id", String(32), nullable=False),
    Column("ciphertext", Text, nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)

mapper_registry = registry(metadata=metadata)
_MAPPED = (
    (m.Organization, organizations),
    (m.User, users),
    (m.Membership, memberships),
    (m.Target, targets),
    (m.TargetCapability, target_capabilities),
    (m.Stack, stacks),
    (m.StackRevision, stack_revisions),
    (m.Deployment, deployments),
    (m.DeploymentLog, deployment_logs),
    (m.DeploymentStageRecord, deployment_stages),
    (m.AuditEvent, audit_events),
    (ident.RefreshTokenRecord, refresh_tokens),
    (ident.LoginThrottle, login_throttles),
    (ident.Invitation, invitations),
    (ident.AccessToken, access_tokens),
)


def _read_only_properties() -> dict[type, dict[str, Any]]:
    """Columns read with a row but never written: a deployment's revision number (the
    service sets it on a new row; every SELECT reads it from its revision)."""
    number = (select(stack_revisions.c.number)
              .where(stack_revisions.c.id == deployments.c.revision_id)
              .correlate_except(stack_revisions).scalar_subquery())
    return {m.Deployment: {"revision_number": column_property(number)}}


def map_domain() -> None:
    """Map the domain dataclasses onto the tables (idempotent)."""
    extra = _read_only_properties()
    for cls, table in _MAPPED:
        if not hasattr(cls, "__mapper__"):
            mapper_registry.map_imperatively(cls, table, properties=extra.get(cls, {}))


map_domain()
