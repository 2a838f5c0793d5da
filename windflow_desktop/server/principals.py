"""Who a bearer token is, remembered for a few seconds: checking a token costs three
database reads, and every service call checks the principal against the database again
anyway (in the same transaction as the action: a stale entry here can never grant a
right, at worst answer 403 a moment longer). Any event about people (accounts,
memberships, organizations, sign-outs) forgets everything at once."""

from __future__ import annotations

import time
from typing import Any

import jwt

from ..domain.events import Event
from ..domain.identity import Principal
from ..events.protocol import EventBus, Subscription
from ..services.access_tokens import is_access_token

TTL_S = 5.0
MAX_ENTRIES = 10_000
PEOPLE = ("user", "membership", "organization", "invitation")


class PrincipalCache:
    def __init__(self, bus: EventBus, ttl_s: float = TTL_S) -> None:
        self._ttl = ttl_s
        self._entries: dict[str, tuple[Principal, float]] = {}
        self._subscription: Subscription = bus.subscribe(self._heard)

    def _heard(self, event: Event) -> None:
        if event.aggregate_type in PEOPLE or event.event_type.startswith(PEOPLE):
            self._entries.clear()

    async def principal(self, services: Any, token: str) -> Principal:
        now = time.monotonic()
        known = self._entries.get(token)
        if known is not None and known[1] > now:
            return known[0]
        source = services.access_tokens if is_access_token(token) else services.auth
        principal: Principal = await source.authenticate(token)
        if len(self._entries) >= MAX_ENTRIES:
            self._entries.clear()
        # Never remembered past the token's own expiry: an expired token is refused.
        self._entries[token] = (principal, now + min(self._ttl, _lifetime_left(token)))
        return principal

    def close(self) -> None:
        self._subscription.cancel()
        self._entries.clear()


def _lifetime_left(token: str) -> float:
    """Seconds until a session token expires (it was verified just before; an access
    token of a person's own is not a JWT and has no expiry here)."""
    try:
        exp = jwt.decode(token, options={"verify_signature": False}).get("exp")
    except jwt.PyJWTError:
        return TTL_S
    return max(0.0, float(exp) - time.time()) if exp is not None else TTL_S
