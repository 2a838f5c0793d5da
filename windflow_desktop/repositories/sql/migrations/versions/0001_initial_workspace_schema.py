"""initial workspace schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-26 11:49:07.770640
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    
    op.create_table('organizations',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('slug', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_organizations')),
    sa.UniqueConstraint('slug', name=op.f('uq_organizations_slug'))
    )
    op.create_table('users',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('username', sa.String(length=150), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('full_name', sa.String(length=200), nullable=False),
    sa.Column('password_hash', sa.String(length=500), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('is_superuser', sa.Boolean(), nullable=False),
    sa.Column('last_login', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('email', name=op.f('uq_users_email')),
    sa.UniqueConstraint('username', name=op.f('uq_users_username'))
    )
    op.create_table('audit_events',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('organization_id', sa.Uuid(), nullable=True),
    sa.Column('actor_id', sa.Uuid(), nullable=True),
    sa.Column('type', sa.String(length=100), nullable=False),
    sa.Column('aggregate_type', sa.String(length=50), nullable=False),
    sa.Column('aggregate_id', sa.String(length=100), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('ts', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_audit_events_actor_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_audit_events_organization_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_events'))
    )
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_events_aggregate_type_aggregate_id'), ['aggregate_type', 'aggregate_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_events_organization_id_ts'), ['organization_id', 'ts'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_events_organization_id_type_ts'), ['organization_id', 'type', 'ts'], unique=False)

    op.create_table('memberships',
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('organization_id', sa.Uuid(), nullable=False),
    sa.Column('role', sa.Enum('viewer', 'operator', 'admin', 'owner', name='role', native_enum=False, length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_memberships_organization_id_organizations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_memberships_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'organization_id', name=op.f('pk_memberships'))
    )
    with op.batch_alter_table('memberships', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_memberships_organization_id_role'), ['organization_id', 'role'], unique=False)

    op.create_table('stacks',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('organization_id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('slug', sa.String(length=100), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('tags', sa.JSON(), nullable=False),
    sa.Column('archived_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('current_revision', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_stacks_organization_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stacks')),
    sa.UniqueConstraint('organization_id', 'slug', name=op.f('uq_stacks_organization_id_slug'))
    )
    with op.batch_alter_table('stacks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_stacks_organization_id_archived_at_name'), ['organization_id', 'archived_at', 'name'], unique=False)

    op.create_table('targets',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('organization_id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.Enum('local', 'ssh', 'docker_tcp', name='targetkind', native_enum=False, length=32), nullable=False),
    sa.Column('host', sa.String(length=255), nullable=False),
    sa.Column('port', sa.Integer(), nullable=True),
    sa.Column('username', sa.String(length=100), nullable=False),
    sa.Column('auth', sa.Enum('none', 'agent', 'key', 'password', name='targetauth', native_enum=False, length=32), nullable=False),
    sa.Column('secret_ref', sa.String(length=255), nullable=True),
    sa.Column('docker_socket', sa.String(length=500), nullable=True),
    sa.Column('tls', sa.JSON(), nullable=False),
    sa.Column('labels', sa.JSON(), nullable=False),
    sa.Column('status', sa.Enum('unknown', 'online', 'offline', 'error', name='targetstatus', native_enum=False, length=32), nullable=False),
    sa.Column('last_seen', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_targets_organization_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_targets')),
    sa.UniqueConstraint('organization_id', 'name', name=op.f('uq_targets_organization_id_name'))
    )
    with op.batch_alter_table('targets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_targets_organization_id_status'), ['organization_id', 'status'], unique=False)

    op.create_table('stack_revisions',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('stack_id', sa.Uuid(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('compose_yaml', sa.Text(), nullable=False),
    sa.Column('variables', sa.JSON(), nullable=False),
    sa.Column('author_id', sa.Uuid(), nullable=True),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_stack_revisions_author_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['stack_id'], ['stacks.id'], name=op.f('fk_stack_revisions_stack_id_stacks'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stack_revisions')),
    sa.UniqueConstraint('stack_id', 'number', name=op.f('uq_stack_revisions_stack_id_number'))
    )
    op.create_table('target_capabilities',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('target_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.String(length=50), nullable=False),
    sa.Column('available', sa.Boolean(), nullable=False),
    sa.Column('version', sa.String(length=100), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('scanned_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['target_id'], ['targets.id'], name=op.f('fk_target_capabilities_target_id_targets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_target_capabilities')),
    sa.UniqueConstraint('target_id', 'kind', name=op.f('uq_target_capabilities_target_id_kind'))
    )
    op.create_table('deployments',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('organization_id', sa.Uuid(), nullable=False),
    sa.Column('stack_id', sa.Uuid(), nullable=False),
    sa.Column('revision_id', sa.Uuid(), nullable=False),
    sa.Column('target_id', sa.Uuid(), nullable=False),
    sa.Column('project_name', sa.String(length=100), nullable=False),
    sa.Column('variables', sa.JSON(), nullable=False),
    sa.Column('status', sa.Enum('pending', 'running', 'succeeded', 'failed', 'rolled_back', 'cancelled', 'stopped', 'removed', name='deploymentstatus', native_enum=False, length=32), nullable=False),
    sa.Column('stage', sa.Enum('preflight', 'validate', 'pull', 'up', 'health', 'done', name='deploymentstage', native_enum=False, length=32), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('actor_id', sa.Uuid(), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_deployments_actor_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_deployments_organization_id_organizations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['revision_id'], ['stack_revisions.id'], name=op.f('fk_deployments_revision_id_stack_revisions'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['stack_id'], ['stacks.id'], name=op.f('fk_deployments_stack_id_stacks'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['target_id'], ['targets.id'], name=op.f('fk_deployments_target_id_targets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deployments'))
    )
    with op.batch_alter_table('deployments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_deployments_organization_id_created_at'), ['organization_id', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_deployments_organization_id_status_created_at'), ['organization_id', 'status', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_deployments_target_id_stack_id_created_at'), ['target_id', 'stack_id', 'created_at'], unique=False)

    op.create_table('deployment_logs',
    sa.Column('deployment_id', sa.Uuid(), nullable=False),
    sa.Column('seq', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('ts', sa.DateTime(timezone=True), nullable=False),
    sa.Column('stream', sa.Enum('stdout', 'stderr', 'system', name='logstream', native_enum=False, length=32), nullable=False),
    sa.Column('line', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['deployment_id'], ['deployments.id'], name=op.f('fk_deployment_logs_deployment_id_deployments'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('deployment_id', 'seq', name=op.f('pk_deployment_logs'))
    )
    


def downgrade() -> None:
    
    op.drop_table('deployment_logs')
    with op.batch_alter_table('deployments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_deployments_target_id_stack_id_created_at'))
        batch_op.drop_index(batch_op.f('ix_deployments_organization_id_status_created_at'))
        batch_op.drop_index(batch_op.f('ix_deployments_organization_id_created_at'))

    op.drop_table('deployments')
    op.drop_table('target_capabilities')
    op.drop_table('stack_revisions')
    with op.batch_alter_table('targets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_targets_organization_id_status'))

    op.drop_table('targets')
    with op.batch_alter_table('stacks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_stacks_organization_id_archived_at_name'))

    op.drop_table('stacks')
    with op.batch_alter_table('memberships', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_memberships_organization_id_role'))

    op.drop_table('memberships')
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_events_organization_id_type_ts'))
        batch_op.drop_index(batch_op.f('ix_audit_events_organization_id_ts'))
        batch_op.drop_index(batch_op.f('ix_audit_events_aggregate_type_aggregate_id'))

    op.drop_table('audit_events')
    op.drop_table('users')
    op.drop_table('organizations')
    
