"""Pagination and filter value objects shared by every repository list."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")

MAX_PAGE_SIZE = 1000


@dataclass(frozen=True)
class PageRequest:
    """Keyset page: ``after`` is the opaque cursor of the previous page's last row."""

    limit: int = 100
    after: str | None = None
    search: str | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.limit <= MAX_PAGE_SIZE:
            from .errors import ValidationError

            raise ValidationError(f"page size must be 1..{MAX_PAGE_SIZE}", field="limit")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: Sequence[T] = field(default_factory=tuple)
    next_cursor: str | None = None

    @property
    def has_more(self) -> bool:
        return self.next_cursor is not None
