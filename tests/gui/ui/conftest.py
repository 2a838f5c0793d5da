"""Fixtures shared by the page tests of this folder."""

from __future__ import annotations

import pytest

from tests.support.auth import PASSWORD
from tests.support.qt import Workspace
from windflow_desktop.services.common import ServiceContext
from windflow_desktop.services.stacks import StackService
from windflow_desktop.stores.stacks import StacksStore


@pytest.fixture
def stacks(workspace: Workspace) -> StacksStore:
    """A stacks store over the real service; alice owns "Acme" (not signed in yet)."""
    svc = workspace.services
    workspace.run(svc.auth.setup(username="alice", email="alice@example.test",
                                 password=PASSWORD, organization_name="Acme"))
    return StacksStore(workspace.session, StackService(ServiceContext(svc.backend, svc.bus)))
