"""Masking known secret values in text (log lines, errors, details)."""

from __future__ import annotations

from collections.abc import Iterable

MASK = "********"
MIN_SECRET_LENGTH = 4  # shorter values are too common to mask without mangling text


def mask(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every value of ``secrets`` (of 4 characters or more) masked; the
    longest first, so a value that contains another is masked whole."""
    for secret in sorted(set(secrets), key=len, reverse=True):
        if len(secret) >= MIN_SECRET_LENGTH and secret in text:
            text = text.replace(secret, MASK)
    return text
