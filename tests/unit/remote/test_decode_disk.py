"""A target's disk reads back whole through ``server/serialize.plain`` and
``remote/decode``: the frozen value types with their tuples (tuples of pairs included),
enums, optional times and a deployment's UUID come back equal, not as lists or strings."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from windflow_desktop.domain.containers import (
    DiskKind,
    DiskUsage,
    ImageUsage,
    ManagedProject,
    NetworkUsage,
    PruneItem,
    PrunePlan,
    PruneResult,
    VolumeUsage,
)
from windflow_desktop.remote.decode import decode
from windflow_desktop.server.serialize import plain

WHEN = datetime(2026, 12, 5, 15, 30, 1, 250000, tzinfo=UTC)


def test_disk_usage_round_trips() -> None:
    usage = DiskUsage(
        images=(ImageUsage("sha256:" + "a" * 64, ("localhost/busybox:latest", "x:1"),
                           4_000_000, 1_000, WHEN, ("web-1",)),
                ImageUsage("sha256:" + "b" * 64, (), 10, 10, None)),
        volumes=(VolumeUsage("data", "local", None, WHEN, ("db-1",), ("wf-shop-1a2b3c4d",),
                             ManagedProject("wf-shop-1a2b3c4d", "Shop", uuid.uuid4())),
                 VolumeUsage("stray", "local", 123, None,
                             managed=ManagedProject("wf-other-00000000")),
                 VolumeUsage("free", "local", 0, None)),
        networks=(NetworkUsage("n1", "bridge", "bridge", builtin=True),
                  NetworkUsage("n2", "shop_default", "bridge", ("web-1", "db-1"))),
        layers_bytes=4_000_010)
    back = decode(DiskUsage, plain(usage))
    assert back == usage
    assert isinstance(back.volumes[0].managed, ManagedProject)
    assert isinstance(back.volumes[0].managed.deployment_id, uuid.UUID)
    assert back.images[0].created == WHEN and back.volumes[0].protected


def test_prune_plan_and_result_round_trip() -> None:
    plan = PrunePlan(DiskKind.VOLUMES,
                     (PruneItem(DiskKind.VOLUMES, "free", "free", 512),),
                     (("data", "kept: it belongs to stack Shop"),))
    back = decode(PrunePlan, plain(plan))
    assert back == plan and back.bytes == 512
    assert isinstance(back.kind, DiskKind) and isinstance(back.kept[0], tuple)
    result = PruneResult(DiskKind.IMAGES, ("sha256:" + "c" * 64,), 2048,
                         (("busy", "conflict: image is being used"),))
    assert decode(PruneResult, plain(result)) == result
    assert decode(PruneResult, plain(PruneResult(DiskKind.NETWORKS, (), 0))).failed == ()
