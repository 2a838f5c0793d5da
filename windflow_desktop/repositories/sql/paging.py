"""Keyset pagination and text search that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, false, or_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from ...domain.errors import ValidationError
from ...domain.paging import Page, PageRequest

# (column, descending)
Order = Sequence[tuple[InstrumentedAttribute[Any], bool]]


def search_filter(text: str | None, *columns: InstrumentedAttribute[Any]) -> ColumnElement[bool]:
    """Case-insensitive substring match on any of ``columns``; wildcards are literal."""
    if not text or not text.strip():
        return and_(True)
    needle = text.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return or_(*(col.ilike(f"%{needle}%", escape="\\") for col in columns))


async def keyset_page(
    session: AsyncSession, stmt: Select[Any], order: Order, page: PageRequest
) -> Page[Any]:
    """Run ``stmt`` ordered by ``order`` from ``page.after`` and return one page."""
    if page.after:
        stmt = stmt.where(_after(order, _decode(page.after, len(order))))
    stmt = stmt.order_by(*(col.desc() if desc else col.asc() for col, desc in order))
    rows = list((await session.scalars(stmt.limit(page.limit + 1))).all())
    more = len(rows) > page.limit
    rows = rows[: page.limit]
    cursor = _encode([getattr(rows[-1], col.key) for col, _ in order]) if more else None
    return Page(items=tuple(rows), next_cursor=cursor)


def _after(order: Order, values: list[Any]) -> ColumnElement[bool]:
    # (a, b) > (x, y)  ==  a > x OR (a = x AND b > y), with the direction of each column.
    clause: ColumnElement[bool] = false()
    for i in reversed(range(len(order))):
        col, desc = order[i]
        beyond = col < values[i] if desc else col > values[i]
        clause = or_(beyond, and_(col == values[i], clause)) if i < len(order) - 1 else beyond
    # The same rows, plus a plain range bound on the leading column: an OR alone is not an
    # index range for PostgreSQL, which then filters every newer row of a deep page.
    first, desc = order[0]
    return and_(first <= values[0] if desc else first >= values[0], clause)


def _encode(values: list[Any]) -> str:
    def plain(v: Any) -> Any:
        if isinstance(v, datetime):
            return {"dt": v.isoformat()}
        if isinstance(v, uuid.UUID):
            return {"uuid": str(v)}
        return v

    raw = json.dumps([plain(v) for v in values]).encode()
    return base64.urlsafe_b64encode(raw).decode()


def _decode(cursor: str, size: int) -> list[Any]:
    def typed(v: Any) -> Any:
        if isinstance(v, dict) and "dt" in v:
            return datetime.fromisoformat(v["dt"])
        if isinstance(v, dict) and "uuid" in v:
            return uuid.UUID(v["uuid"])
        return v

    try:
        values = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        if not isinstance(values, list) or len(values) != size:
            raise ValueError("wrong size")
        return [typed(v) for v in values]
    except (ValueError, TypeError, KeyError) as exc:
        raise ValidationError("the page cursor is not valid", field="after") from exc
