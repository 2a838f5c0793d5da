"""``prune_plan``: what a prune of each kind removes and keeps, from one reading."""

from __future__ import annotations

import uuid

from windflow_desktop.domain.containers import (
    DiskKind,
    DiskUsage,
    ImageUsage,
    ManagedProject,
    NetworkUsage,
    VolumeUsage,
    prune_plan,
)

DEPLOYMENT = uuid.uuid4()
USAGE = DiskUsage(
    images=(ImageUsage("sha256:aa", ("old:1",), 900, 700, None),
            ImageUsage("sha256:bb", (), 500, 500, None),
            ImageUsage("sha256:cc", ("web:2",), 800, 0, None, used_by=("web",))),
    volumes=(VolumeUsage("cache", "local", 40, None),
             VolumeUsage("nfs", "nfs", None, None),
             VolumeUsage("db", "local", 90, None, used_by=("web",)),
             VolumeUsage("wf-shop-0123abcd_data", "local", 10, None,
                         projects=("wf-shop-0123abcd",),
                         managed=ManagedProject("wf-shop-0123abcd", "Shop", DEPLOYMENT))),
    networks=(NetworkUsage("n1", "none", "null", builtin=True),
              NetworkUsage("n2", "bridge", "bridge", builtin=True),
              NetworkUsage("n3", "shop_default", "bridge", ("web",)),
              NetworkUsage("n4", "old_default", "bridge")),
)


def test_images_unused_go_with_their_unique_bytes() -> None:
    plan = prune_plan(USAGE, DiskKind.IMAGES)
    assert [(i.name, i.bytes) for i in plan.items] == [("old:1", 700), ("bb", 500)]
    assert plan.bytes == 1200 and plan.kept == ()


def test_volumes_unused_go_but_a_deployments_stay_with_the_reason() -> None:
    plan = prune_plan(USAGE, DiskKind.VOLUMES)
    assert [(i.name, i.bytes) for i in plan.items] == [("cache", 40), ("nfs", 0)]
    assert plan.bytes == 40
    (name, reason), = plan.kept
    assert name == "wf-shop-0123abcd_data"
    assert "stack Shop" in reason and str(DEPLOYMENT)[:8] in reason


def test_networks_only_unattached_and_never_the_engines_own() -> None:
    plan = prune_plan(USAGE, DiskKind.NETWORKS)
    assert [(i.id, i.name, i.bytes) for i in plan.items] == [("n4", "old_default", 0)]
