"""The activity trail says an adoption and a kept change in words, and a deployment
recorded as it runs is not "queued"."""

from __future__ import annotations

from datetime import UTC, datetime

from windflow_desktop.domain.activity import ActivityEntry
from windflow_desktop.stores.activity import describe


def _entry(event_type: str, **data: object) -> ActivityEntry:
    return ActivityEntry("1", datetime.now(UTC), event_type, "stack", "s", None, "", data)


def test_adoption_words() -> None:
    assert describe(_entry("stack.adopted", name="Shop", project="shopx",
                           target_name="laptop", revision=1)) == \
        "Stack Shop adopted from project shopx on laptop (revision 1)"
    assert describe(_entry("stack.change_kept", name="Shop", project="wf-shop-0123abcd",
                           target_name="laptop", revision=2)) == \
        ("Stack Shop kept the changes made by hand to project wf-shop-0123abcd on laptop "
         "(revision 2)")
    assert describe(_entry("deployment.created", project="shopx", status="succeeded")) == \
        "Deployment of shopx recorded as it runs"
    assert describe(_entry("deployment.created", project="shopx", status="pending")) == \
        "Deployment of shopx queued"
