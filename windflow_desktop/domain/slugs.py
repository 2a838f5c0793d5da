"""Slugs: lower-case letters, digits and dashes, for URLs-like names and Compose
projects."""

from __future__ import annotations

import re

_NOT_SLUG = re.compile(r"[^a-z0-9]+")


def slug_of(text: str, *, limit: int, fallback: str) -> str:
    """``text`` as a slug of at most ``limit`` characters (``fallback`` when nothing of it
    is left)."""
    return _NOT_SLUG.sub("-", text.strip().lower()).strip("-")[:limit] or fallback
