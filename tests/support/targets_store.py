"""A targets store over the real target service of a test workspace, with its own
executor pool (known hosts under ``tmp_path``) and host-key questions."""

from __future__ import annotations

from pathlib import Path

from tests.support.auth import PASSWORD
from tests.support.qt import Workspace
from tests.support.target import engine_settings
from windflow_desktop.engine import ExecutorPool, KnownHosts
from windflow_desktop.services.common import ServiceContext
from windflow_desktop.services.targets import TargetService
from windflow_desktop.stores.host_keys import HostKeyQuestions
from windflow_desktop.stores.targets import TargetsStore


def target_service(ws: Workspace, tmp_path: Path, host_keys: HostKeyQuestions | None = None
                   ) -> TargetService:
    svc = ws.services
    pool = ExecutorPool(KnownHosts(tmp_path / "known_hosts"), svc.secrets.aget,
                        settings=engine_settings(),
                        confirm_host_key=host_keys.ask if host_keys else None)
    return TargetService(ServiceContext(svc.backend, svc.bus, clock=svc.clock), svc.secrets,
                         pool)


def alices_targets(ws: Workspace, tmp_path: Path
                   ) -> tuple[TargetsStore, ExecutorPool, HostKeyQuestions]:
    """alice owns "Acme" (set up, not signed in); her targets store, loaded when she is."""
    ws.run(ws.session.setup(username="alice", email="alice@example.test", password=PASSWORD,
                            organization_name="Acme"))
    host_keys = HostKeyQuestions()
    service = target_service(ws, tmp_path, host_keys)
    targets = TargetsStore(service, ws.session)
    ws.run(targets.load())
    return targets, service.pool, host_keys
