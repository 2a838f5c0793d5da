"""``SessionStore``: who is signed in, in which organization, and the session tokens.

The store calls ``AuthService``; the dialogs and the main window bind to its state and
signals. Tokens stay inside the store (never shown, never logged); "remember me" puts
the refresh token in the keyring through the service.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
import weakref
from typing import Any

from PySide6.QtCore import QObject, Signal

from ..domain.errors import SESSION_ENDED, LoginLockedError, SecretStoreUnavailable, WindFlowError
from ..domain.identity import AuthSession, Principal
from ..domain.models import Membership, Organization, User
from ..services.protocols import AuthApi
from .base import Store

log = logging.getLogger("windflow.stores.session")

# Error codes that mean the session cannot go on: the window asks to sign in again.
SESSION_GONE = frozenset({
    SESSION_ENDED, "ACCOUNT_DISABLED", "TOKEN_REVOKED", "TOKEN_REUSED", "TOKEN_EXPIRED",
})


class SessionStore(Store):
    """Signals (besides those of ``Store``):
    sig_session_changed(): signed in, signed out, organization switched or tokens rotated.
    sig_keyring_unavailable(str): "remember me" could not be honoured; the message says why.
    sig_shared_database(str): several people share this database directly (roles are not
    enforced): the warning to show.
    sig_session_ended(str): the services refused the session (ended elsewhere: signed
        out, password changed, reuse detected, account disabled); the message says why.
        The store is signed out already; the window asks to sign in again.
    """

    sig_session_changed = Signal()
    sig_keyring_unavailable = Signal(str)
    sig_shared_database = Signal(str)
    sig_session_ended = Signal(str)

    def __init__(self, auth: AuthApi, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._auth = auth
        self._session: AuthSession | None = None
        self.needs_setup: bool | None = None
        # How long each refused sign-in was told to wait (see ``login_wait_of``): the
        # base store keeps only (code, message) of an error.
        self._login_waits: weakref.WeakKeyDictionary[asyncio.Task[Any], int] = (
            weakref.WeakKeyDictionary()
        )

    # -- state -----------------------------------------------------------------------

    @property
    def signed_in(self) -> bool:
        return self._session is not None

    @property
    def user(self) -> User | None:
        return self._session.user if self._session else None

    @property
    def organization(self) -> Organization | None:
        return self._session.organization if self._session else None

    @property
    def memberships(self) -> tuple[Membership, ...]:
        return self._session.memberships if self._session else ()

    @property
    def principal(self) -> Principal | None:
        return self._session.principal if self._session else None

    def _set(self, session: AuthSession | None) -> None:
        self._session = session
        self.sig_session_changed.emit()
        self.sig_changed.emit()
        if session is not None:
            self.run("shared_database", lambda: self._warn_if_shared(session.principal))

    async def _warn_if_shared(self, principal: Principal) -> None:
        warning = await self._auth.shared_database_warning(principal)
        if warning:
            self.sig_shared_database.emit(warning)

    # -- actions (each returns the tracked task) -------------------------------------

    def check_setup(self) -> Any:
        async def act() -> bool:
            self.needs_setup = await self._auth.needs_setup()
            self.sig_changed.emit()
            return self.needs_setup

        return self.run("check_setup", act)

    def setup(self, *, username: str, email: str, password: str, organization_name: str,
              full_name: str = "", remember: bool = False) -> Any:
        async def act() -> AuthSession:
            session = await self._auth.setup(
                username=username, email=email, password=password,
                organization_name=organization_name, full_name=full_name,
            )
            self.needs_setup = False
            await self._maybe_remember(session, remember)
            self._set(session)
            return session

        return self.run("setup", act)

    def login(self, login: str, password: str, *, remember: bool = False) -> Any:
        async def act() -> AuthSession:
            try:
                session = await self._auth.login(login, password)
            except LoginLockedError as exc:
                task = asyncio.current_task()
                if task is not None:
                    self._login_waits[task] = exc.retry_after_s
                raise
            await self._maybe_remember(session, remember)
            self._set(session)
            return session

        return self.run("login", act)

    def use(self, session: AuthSession) -> None:
        """Take a session signed in elsewhere (a personal access token, ``--smoke``)."""
        self._set(session)

    def restore_remembered(self) -> Any:
        async def act() -> AuthSession | None:
            session = await self._auth.restore_remembered()
            if session is not None:
                self._set(session)
            return session

        return self.run("restore_remembered", act)

    def logout(self) -> Any:
        async def act() -> None:
            session, self._session = self._session, None
            if session is not None:
                try:
                    await self._auth.logout(session.tokens.refresh_token)
                finally:
                    self._set(None)

        return self.run("logout", act)

    def change_password(self, current_password: str, new_password: str) -> Any:
        async def act() -> AuthSession:
            principal = self._require().principal
            session = await self._auth.change_password(principal, current_password,
                                                       new_password)
            self._set(session)
            return session

        return self.run("change_password", act)

    def switch_org(self, organization_id: uuid.UUID) -> Any:
        async def act() -> AuthSession:
            current = self._require()
            session = await self._auth.switch_organization(
                current.tokens.refresh_token, organization_id
            )
            if await self._auth.has_remembered(current.tokens.refresh_token):
                await self._maybe_remember(session, True)
            self._set(session)
            return session

        return self.run("switch_org", act)

    def unlock(self, password: str) -> Any:
        """Confirm the signed-in user's password (an idle window asks for it)."""

        async def act() -> None:
            await self._auth.confirm_password(self._require().principal, password)

        return self.run("unlock", act)

    def watch(self, *stores: Store) -> None:
        """Sign out when one of ``stores`` (this one too, if given) is refused because the
        session is over. The app wires it; a store does not watch itself from here, as a
        connection to its own method would keep it alive for the cycle collector only."""
        for store in stores:
            store.sig_error.connect(self.check_error)

    def check_error(self, code: str, message: str) -> None:
        """Any store's expected error: one that says the session is over signs out here
        (without asking the services: they refused it already) and says why. Done on the
        loop's next turn, so the failed action's task ends before the sign-out cancels
        the actions of the stores."""
        if code not in SESSION_GONE:
            return
        try:
            asyncio.get_running_loop().call_soon(self._session_gone, code, message)
        except RuntimeError:  # no loop running (a direct call): at once
            self._session_gone(code, message)

    def _session_gone(self, code: str, message: str) -> None:
        if self._session is not None and not self._closed:
            log.info("the session ended elsewhere (%s): signing out", code)
            self._set(None)
            self.sig_session_ended.emit(message)

    def login_wait_of(self, task: asyncio.Task[Any]) -> int | None:
        """Seconds to wait before signing in again when ``task`` (a ``login`` action)
        was refused for too many failed attempts; None otherwise (other error, success,
        still running)."""
        return self._login_waits.get(task)

    # -- helpers ---------------------------------------------------------------------

    def require_principal(self) -> Principal:
        """The signed-in principal, or the plain "not signed in" error every store uses."""
        return self._require().principal

    def _require(self) -> AuthSession:
        if self._session is None:
            raise WindFlowError("you are not signed in", code="NOT_SIGNED_IN")
        return self._session

    async def _maybe_remember(self, session: AuthSession, remember: bool) -> None:
        if not remember:
            return
        try:
            await self._auth.remember(session)
        except SecretStoreUnavailable as exc:
            # Signed in all the same; the window offers to continue without remembering.
            self.sig_keyring_unavailable.emit(exc.message)
