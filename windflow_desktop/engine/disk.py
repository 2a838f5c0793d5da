"""A target's images, volumes and networks through its Docker Engine API: one reading
(``read_usage``), removing one (``remove``), and carrying out a prune plan (``prune``).

Why a prune removes item by item instead of calling the engine's ``…/prune``: the engine's
image prune (``dangling=false``) also untags every tag but one of an image a container
uses, and its volume prune cannot leave out the volumes of several Compose projects (its
``label!=`` filters must all match to exclude). Removing the planned items one by one
removes exactly what the plan showed. The bytes freed are still the engine's: for images
its total of layer bytes before and after (``/system/df``), for volumes the sizes it
reported for the volumes it removed (what its own prune adds up).
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from typing import Any

from ..domain.containers import (
    DiskKind,
    DiskUsage,
    ImageUsage,
    NetworkUsage,
    PrunePlan,
    PruneResult,
    VolumeUsage,
)
from ..domain.errors import NotFoundError, TargetUnreachableError, WindFlowError
from .docker_api import COMPOSE_PROJECT, DockerApi
from .errors import DockerUnavailableError

BUILTIN_NETWORKS = frozenset({"bridge", "host", "none"})


async def read_usage(api: DockerApi) -> DiskUsage:
    """Images, volumes and networks with the containers that use them (two requests)."""
    df = await api.disk_usage()
    networks = await api.networks()
    containers = [c for c in df.get("Containers") or [] if isinstance(c, dict)]
    return DiskUsage(
        images=tuple(_image(raw, containers) for raw in df.get("Images") or []),
        volumes=tuple(_volume(raw, containers) for raw in df.get("Volumes") or []),
        networks=tuple(_network(raw, containers) for raw in networks),
        layers_bytes=int(df.get("LayersSize") or 0),
    )


async def remove(api: DockerApi, kind: DiskKind, ref: str, *, force: bool = False) -> None:
    """Remove one image (by tag or id), volume or network; the engine's refusal (in use,
    say) comes back as a ``DockerApiError`` in its own words."""
    if kind is DiskKind.IMAGES:
        await api.remove_image(ref, force=force)
    elif kind is DiskKind.VOLUMES:
        await api.remove_volume(ref)
    else:
        await api.remove_network(ref)


async def prune(api: DockerApi, plan: PrunePlan, layers_before: int) -> PruneResult:
    """Remove every item of ``plan``; ``layers_before``: the engine's layer bytes when the
    plan was made (images only)."""
    removed: list[str] = []
    failed: list[tuple[str, str]] = []
    freed = 0
    for item in plan.items:
        try:
            if item.kind is DiskKind.IMAGES:
                await _remove_image(api, item.id)
            else:
                await remove(api, item.kind, item.id)
        except NotFoundError:
            pass  # gone meanwhile (an untagged parent goes with its child): not ours
        except WindFlowError as exc:
            failed.append((item.name, exc.message))
            if isinstance(exc, TargetUnreachableError | DockerUnavailableError):
                break  # the rest would fail the same way, each after a timeout
            continue
        else:
            freed += item.bytes
        removed.append(item.name)
    if plan.kind is DiskKind.IMAGES and removed:
        try:
            after = int((await api.disk_usage()).get("LayersSize") or 0)
            freed = max(0, layers_before - after)
        except WindFlowError:
            pass  # the engine went away: the plan's bytes of what it removed
    return PruneResult(plan.kind, tuple(removed), freed, tuple(failed))


async def _remove_image(api: DockerApi, image_id: str) -> None:
    """Each tag, then the image itself (by id, never forced: a container that started
    using it meanwhile makes the engine refuse)."""
    for tag in await api.image_tags(image_id):
        await api.remove_image(tag)
    with contextlib.suppress(NotFoundError):  # its last tag took it
        await api.remove_image(image_id)


def _tags(value: Any) -> tuple[str, ...]:
    return tuple(str(t) for t in value or () if t and t != "<none>:<none>")


def _names(container: dict[str, Any]) -> str:
    names = container.get("Names") or [str(container.get("Id", ""))[:12]]
    return str(names[0]).lstrip("/")


def _image(raw: dict[str, Any], containers: list[dict[str, Any]]) -> ImageUsage:
    image_id = str(raw.get("Id", ""))
    size = int(raw.get("Size") or 0)
    shared = int(raw.get("SharedSize") or 0)
    return ImageUsage(
        id=image_id,
        tags=_tags(raw.get("RepoTags")),
        size_bytes=size,
        unique_bytes=max(0, size - max(0, shared)),  # -1: the engine did not compute it
        created=_epoch(raw.get("Created")),
        used_by=tuple(sorted(_names(c) for c in containers if c.get("ImageID") == image_id)),
    )


def _volume(raw: dict[str, Any], containers: list[dict[str, Any]]) -> VolumeUsage:
    name = str(raw.get("Name", ""))
    users = [c for c in containers
             if any(m.get("Type") == "volume" and m.get("Name") == name
                    for m in c.get("Mounts") or [])]
    projects = {str((c.get("Labels") or {}).get(COMPOSE_PROJECT) or "") for c in users}
    projects.add(str((raw.get("Labels") or {}).get(COMPOSE_PROJECT) or ""))
    projects.discard("")
    size = (raw.get("UsageData") or {}).get("Size")
    return VolumeUsage(
        name=name,
        driver=str(raw.get("Driver", "")),
        size_bytes=int(size) if isinstance(size, int) and size >= 0 else None,
        created=_iso(raw.get("CreatedAt")),
        used_by=tuple(sorted(_names(c) for c in users)),
        projects=tuple(sorted(projects)),
    )


def _network(raw: dict[str, Any], containers: list[dict[str, Any]]) -> NetworkUsage:
    name = str(raw.get("Name", ""))
    attached = [c for c in containers
                if name in ((c.get("NetworkSettings") or {}).get("Networks") or {})]
    return NetworkUsage(
        id=str(raw.get("Id", "")),
        name=name,
        driver=str(raw.get("Driver", "")),
        containers=tuple(sorted(_names(c) for c in attached)),
        builtin=name in BUILTIN_NETWORKS or bool(raw.get("Ingress")),
    )


def _epoch(value: Any) -> datetime | None:
    return datetime.fromtimestamp(value, UTC) if isinstance(value, int) and value > 0 else None


def _iso(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
