"""``AccessTokensStore``: the signed-in user's personal access tokens (for CI and
scripts): list them with when each was last used, make one (its text is shown once, by
``sig_created``), revoke one."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QObject, Signal

from ..domain.identity import AccessToken, Principal
from ..services.protocols import AccessTokensApi
from .base import OrganizationStore

DEFAULT_DAYS = 90


class AccessTokensStore(OrganizationStore):
    """Signals: sig_tokens_changed(): ``tokens`` was replaced; sig_created(str, str): a
    token was made — its name and its text (shown once, never kept here)."""

    sig_tokens_changed = Signal()
    sig_created = Signal(str, str)

    def __init__(self, session: Any, service: AccessTokensApi,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._service = service
        self.tokens: tuple[AccessToken, ...] = ()
        self._follow(session)

    def _switch(self, principal: Principal | None) -> None:
        self.tokens = ()
        self.sig_tokens_changed.emit()

    def load(self) -> Any:
        async def act() -> Sequence[AccessToken]:
            found = await self._service.list(self._require())
            self.tokens = tuple(sorted((t for t in found if t.revoked_at is None),
                                       key=lambda t: t.created_at, reverse=True))
            self.sig_tokens_changed.emit()
            return self.tokens

        return self.run("load", act)

    def create(self, name: str, expires_in_days: int = DEFAULT_DAYS) -> Any:
        async def act() -> AccessToken:
            record, text = await self._service.create(self._require(), name.strip(),
                                                      expires_in_days)
            self.sig_created.emit(record.name, text)
            await self.load()
            return record

        return self.run("create", act)

    def revoke(self, token_id: uuid.UUID) -> Any:
        async def act() -> None:
            await self._service.revoke(self._require(), token_id)
            await self.load()

        return self.run("revoke", act)
