"""Where a deployment goes on a target: its Compose and home (from a fresh scan when
there is one), the projects folder, and the Compose project there."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from ...domain.errors import DeploymentError
from ...domain.models import Target
from ...engine.compose import ComposeProject, TargetFacts, TargetPlace, facts_of, locate, probe_host
from ...engine.executor import Executor
from .context import DeployContext


async def scanned_compose(ctx: DeployContext, target: Target) -> tuple[str | None, str] | None:
    """(flavour, version) from the stored scan when it is fresh and found a Compose;
    None sends preflight to ask the target (a scan that found none is re-checked)."""
    async with ctx.backend.unit_of_work() as uow:
        caps = {c.kind: c for c in await uow.targets.capabilities(target.id)}
    now = ctx.clock()
    for kind, flavour in (("compose_v2", "v2"), ("compose_v1", "v1")):
        cap = caps.get(kind)
        if cap is None or (now - cap.scanned_at).total_seconds() > ctx.settings.scan_fresh_s:
            return None
        if cap.available:
            return flavour, f"{cap.version} (scan)".strip()
    return None


async def place_of(ctx: DeployContext, executor: Executor, target: Target) -> TargetPlace:
    """The target's home and Compose: from a fresh scan (else asked), unless the
    settings force a flavour."""
    place = await locate(executor, known_compose=await scanned_compose(ctx, target))
    forced = ctx.settings.compose_flavour
    if forced and place.compose and forced != place.compose:
        place = replace(place, compose=forced, compose_version="(forced by settings)")
    return place


async def facts(ctx: DeployContext, executor: Executor, target: Target) -> TargetFacts:
    """``place_of`` and the live host facts (disk, memory, ports) side by side."""
    place, host = await asyncio.gather(place_of(ctx, executor, target), probe_host(executor))
    return facts_of(place, host)


def projects_root(ctx: DeployContext, target: Target, home: str) -> tuple[str, tuple[str, ...]]:
    """The projects folder of ``target`` and the folders above it that must be the
    user's own (``~/.windflow`` for the default root)."""
    configured = ctx.settings.projects_root(target)
    if configured:
        return configured, ()
    if not home.startswith("/"):
        raise DeploymentError(f"{target.name} gave no usable home folder ({home!r})")
    return f"{home}/.windflow/projects", (f"{home}/.windflow",)


def project_at(ctx: DeployContext, executor: Executor, target: Target, name: str,
               place: TargetPlace) -> ComposeProject:
    """The Compose project ``name`` in the target's projects folder (a name that is not
    one WindFlow makes is refused: ``ValidationError``)."""
    root, guarded = projects_root(ctx, target, place.home)
    return ComposeProject(executor, name, root, flavour=place.compose or "v2",
                          guarded=guarded)


def place_from(facts: TargetFacts) -> TargetPlace:
    return TargetPlace(facts.compose, facts.compose_version, facts.home)
