"""The FastAPI application: the workspace opened for the life of the server (database,
bus, secrets, services — the same graph the desktop builds, without Qt), the routes
under ``/api/v1``, the error tree as HTTP, capped bodies."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse

from .. import __version__
from ..config import Settings
from ..domain.paging import PageRequest
from ..services.database_clock import DatabaseClock
from ..workspace import Workspace
from . import errors
from .feed import EventFeed, FeedStore, RedisStore, RingStore
from .host_keys import HostKeyDecisions
from .limits import BodyLimit
from .principals import PrincipalCache
from .routes import (
    activity,
    adopt,
    auth,
    containers,
    deployments,
    disk,
    events,
    organizations,
    people,
    stacks,
    stats,
    targets,
    terminal,
    updates,
    workers,
)

log = logging.getLogger("windflow.server")
API = "/api/v1"


def create_app(settings: Settings, *, secrets: Any = None,
               embedded_worker: bool = False) -> FastAPI:
    """The server over the workspace ``settings`` name; its secrets sealed in the
    database under the server's key (``secrets``: another store, for tests). Without
    Redis and with ``embedded_worker``, deployments run on one ``windflow worker`` child
    process (``server.embedded_worker``), else in this process."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # No one answers a dialog here: new host keys wait for a decision through the API.
        app.state.host_keys = host_keys = HostKeyDecisions()
        workspace = Workspace(settings, secrets=secrets, sealed_secrets=True,
                              database_clock=True, confirm_host_key=host_keys,
                              scheduled_updates=True)
        await workspace.open()
        if _sole_writer(settings, workspace):
            workspace.backend.remember_reads()
        app.state.workspace = workspace
        jobs = _job_queue(settings)
        if jobs is not None:  # deployments run on `windflow worker` processes
            workspace.services.deployments.use_queue(jobs)
        supervisor = None
        if jobs is None and embedded_worker:
            supervisor, jobs = _embedded_worker(workspace)
        app.state.jobs = jobs
        app.state.embedded_worker = supervisor
        store, redis = await _feed_store(settings)
        app.state.feed = feed = EventFeed(workspace.bus, store)
        app.state.principals = principals = PrincipalCache(workspace.bus)
        feed.start()  # before the bus starts: no event is missed
        try:
            await workspace.start_bus()
            # What a previous run left running is settled now, by the one process that
            # touches this workspace; expired sessions go.
            await workspace.housekeeping()
            if supervisor is not None:
                await supervisor.start()
            resync = asyncio.create_task(_keep_in_time(workspace.clock), name="clock")
            # The update checks of every organization run here, on the server's schedule
            # (the desktops read the latest round); the first soon after the start.
            interval = settings.updates_interval_s
            checks = asyncio.create_task(workspace.services.update_sweeps.run_schedule(
                interval, first_after_s=min(interval, 30.0)), name="update-checks")
            try:
                yield
            finally:
                resync.cancel()
                checks.cancel()
                await asyncio.gather(resync, checks, return_exceptions=True)
                await workspace.services.update_sweeps.shutdown()
        finally:
            if supervisor is not None:
                await supervisor.stop()
            principals.close()
            feed.close()
            await workspace.close()
            if redis is not None:
                await redis.aclose()
            if jobs is not None:
                await jobs.close()

    app = FastAPI(title="WindFlow", version=__version__, lifespan=lifespan,
                  openapi_url=f"{API}/openapi.json", docs_url=None, redoc_url=None)
    errors.install(app)
    app.add_middleware(BodyLimit)
    api = APIRouter(prefix=API)
    # adopt before deployments: its /deployments/{id}/keep is not one of their actions.
    for routes in (auth, organizations, targets, stacks, adopt, deployments, people,
                   activity, events, updates, stats, disk, workers, terminal):
        api.include_router(routes.router)
    api.include_router(containers.router)
    app.include_router(api)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    @app.get("/readyz")
    async def readyz(request: Request) -> JSONResponse:
        workspace: Workspace = request.app.state.workspace
        try:
            async with workspace.backend.unit_of_work() as uow:
                await uow.organizations.list(PageRequest(limit=1))
        except Exception as exc:
            log.warning("not ready: %s", exc)
            return JSONResponse(errors.error_body("NOT_READY", "the database does not "
                                                  "answer"), 503)
        return JSONResponse({"status": "ready"})

    return app


def _sole_writer(settings: Settings, workspace: Workspace) -> bool:
    """The embedded set-up: this process is the only one that writes people and targets
    (its embedded worker writes deployments only; no other server), so a user's standing
    and a targets list can be remembered until they are written
    (repositories/sql/read_cache.py). A team's database has other writers."""
    return not settings.redis_url and workspace.backend.engine.dialect.name == "sqlite"


def _job_queue(settings: Settings) -> Any:
    """The deployments' job queue on a team's Redis, else None (deployments run in this
    process, as before)."""
    if not settings.redis_url:
        return None
    from ..events.redis_jobs import JobQueue

    return JobQueue(settings.redis_url)


def _embedded_worker(workspace: Workspace) -> tuple[Any, Any]:
    """The supervisor of the worker child process and the queue over the deployment
    rows it reads; the deployments service enqueues there."""
    from .embedded_worker import EmbeddedWorker

    lease_s, grace_s = worker_timing()
    supervisor = EmbeddedWorker(workspace.bus, workspace.backend, workspace.clock,
                                lease_s=lease_s, grace_s=grace_s)
    workspace.services.deployments.use_queue(supervisor.jobs)
    return supervisor, supervisor.jobs


def worker_timing() -> tuple[float, float]:
    """A worker's lease and SIGTERM grace period (seconds), from the environment."""
    return (float(os.environ.get("WINDFLOW_WORKER_LEASE_S", "30")),
            float(os.environ.get("WINDFLOW_WORKER_GRACE_S", "20")))


async def _feed_store(settings: Settings) -> tuple[FeedStore, Any]:
    """The live feed's memory: a Redis stream on a team's Redis (clients resume across
    restarts), else a ring in this process."""
    if not settings.redis_url:
        return RingStore(), None
    import redis.asyncio

    client = redis.asyncio.from_url(settings.redis_url)
    store = RedisStore(client)
    await store.start()
    return store, client


async def _keep_in_time(clock: DatabaseClock, every_s: float = 300.0) -> None:
    """Read the database's time again now and then (this machine's clock may drift)."""
    while True:
        await asyncio.sleep(every_s)
        try:
            await clock.sync()
        except Exception:
            log.warning("could not read the database's time; keeping the last offset",
                        exc_info=True)
