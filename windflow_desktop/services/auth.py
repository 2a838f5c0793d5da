"""``AuthService``: first-run setup, sign-in with lockout, token refresh with rotation,
sign-out, password change, and the remembered session in the keyring.

Tokens are signed with the workspace key kept in the ``SecretStore``; the database keeps
only each refresh token's ``jti`` (no token, no key). Argon2 work runs in a thread so the
Qt loop stays responsive.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import uuid
from collections.abc import Sequence
from datetime import timedelta

from ..domain.enums import Role
from ..domain.errors import (
    AuthenticationError,
    ConflictError,
    LoginLockedError,
    NotFoundError,
    SecretStoreUnavailable,
    ValidationError,
)
from ..domain.identity import (
    AuthSession,
    Principal,
    RefreshTokenRecord,
    TokenClaims,
    TokenType,
    check_password_policy,
)
from ..domain.models import Membership, Organization, User
from ..domain.paging import PageRequest
from ..repositories.protocols import UnitOfWork
from ..security.passwords import PasswordHasher
from ..security.secrets import (
    SecretStore,
    remembered_session_name,
    signing_key_name,
)
from ..security.tokens import ACCESS_TTL, TokenIssuer, generate_signing_key
from .common import (
    ServiceContext,
    clean_email,
    clean_org_name,
    clean_username,
    confirm_session,
    public_user,
    session_ended,
    unique_slug,
)
from .login_throttle import (
    BAD_CREDENTIALS,
    LOCKOUT_BASE,
    LOCKOUT_MAX,
    LOCKOUT_THRESHOLD,
    Buckets,
    LoginThrottlePolicy,
    bad_credentials,
)

log = logging.getLogger("windflow.auth")

WORKSPACE_ID_KEY = "workspace_id"
LOCAL_SOURCE = "local"
__all__ = ["BAD_CREDENTIALS", "AuthService", "AuthSession"]


class AuthService:
    """Public API (all async):

    ``needs_setup()``, ``setup(username, email, password, organization_name, full_name)``,
    ``login(login, password, organization_id=None)``, ``refresh(refresh_token,
    organization_id=None)``, ``switch_organization(refresh_token, organization_id)``,
    ``logout(refresh_token)``, ``change_password(principal, current, new)``,
    ``confirm_password(principal, password)`` (unlocking an idle window),
    ``authenticate(access_token) -> Principal``, ``remember(session)``,
    ``restore_remembered()``, ``forget_remembered()``, ``workspace_id()``.
    """

    def __init__(
        self,
        context: ServiceContext,
        secrets: SecretStore,
        *,
        hasher: PasswordHasher | None = None,
        lockout_threshold: int = LOCKOUT_THRESHOLD,
        lockout_base: timedelta = LOCKOUT_BASE,
        lockout_max: timedelta = LOCKOUT_MAX,
        client_id: str = LOCAL_SOURCE,
        access_ttl: timedelta = ACCESS_TTL,
    ) -> None:
        self.ctx = context
        self._access_ttl = access_ttl
        self.secrets = secrets
        self.hasher = hasher or PasswordHasher()
        self._throttle = LoginThrottlePolicy(
            threshold=lockout_threshold, base=lockout_base, maximum=lockout_max
        )
        # Where this service's sign-ins come from when the caller does not say (the
        # desktop's installation id): the throttle counts failures per source.
        self.client_id = client_id
        self._workspace_id: str | None = None
        self._issuer: TokenIssuer | None = None
        self._signing_key: str | None = None
        self._key_lock = asyncio.Lock()

    # -- workspace identity and signing key ------------------------------------------

    async def workspace_id(self) -> str:
        """The id of this workspace (made on first use and kept in the database)."""
        if self._workspace_id is None:
            async with self.ctx.backend.unit_of_work() as uow:
                value = await uow.workspace_meta.get(WORKSPACE_ID_KEY)
                if value is None:
                    value = str(uuid.uuid4())
                    await uow.workspace_meta.set(WORKSPACE_ID_KEY, value)
                    await uow.commit()
            self._workspace_id = value
        return self._workspace_id

    async def issuer(self) -> TokenIssuer:
        """The token issuer with the workspace signing key (generated on first run)."""
        async with self._key_lock:
            if self._issuer is None:
                name = signing_key_name(await self.workspace_id())
                key = await self.secrets.aget(name)
                if key is None:
                    key = generate_signing_key()
                    await self.secrets.aset(name, key)
                    log.info("generated a new workspace signing key")
                self._signing_key = key
                self._issuer = TokenIssuer(key, clock=self.ctx.clock,
                                           access_ttl=self._access_ttl)
            return self._issuer

    # -- first run -------------------------------------------------------------------

    async def needs_setup(self) -> bool:
        async with self.ctx.backend.unit_of_work() as uow:
            return await uow.users.count() == 0

    async def setup(
        self,
        *,
        username: str,
        email: str,
        password: str,
        organization_name: str,
        full_name: str = "",
    ) -> AuthSession:
        """Create the owner account and the first organization (only in an empty workspace)."""
        username, email = clean_username(username), clean_email(email)
        org_name = clean_org_name(organization_name)
        check_password_policy(password)
        if not await self.needs_setup():
            raise ConflictError("this workspace is already set up: sign in instead")
        issuer = await self.issuer()
        password_hash = await asyncio.to_thread(self.hasher.hash, password)
        async with self.ctx.transaction() as scope:
            uow = scope.uow
            if await uow.users.count() > 0:
                raise ConflictError("this workspace is already set up: sign in instead")
            now = self.ctx.clock()
            org = await uow.organizations.add(
                Organization(name=org_name, slug=await unique_slug(uow, org_name), created_at=now)
            )
            user = await uow.users.add(
                User(
                    username=username,
                    email=email,
                    full_name=full_name.strip(),
                    password_hash=password_hash,
                    is_superuser=True,
                    last_login=now,
                    created_at=now,
                )
            )
            await uow.memberships.save(Membership(user.id, org.id, Role.OWNER, created_at=now))
            scope.organization_id = org.id
            scope.record("organization.created", "organization", org.id, {"name": org.name},
                         actor_id=user.id)
            scope.record("user.created", "user", user.id,
                         {"username": user.username, "role": Role.OWNER.value, "setup": True},
                         actor_id=user.id)
            session = await self._open_session(uow, issuer, user, org.id, family=uuid.uuid4())
        log.info("workspace set up with owner %s", username)
        return session

    # -- sign in ---------------------------------------------------------------------

    async def login(
        self,
        login: str,
        password: str,
        *,
        organization_id: uuid.UUID | None = None,
        source: str | None = None,
    ) -> AuthSession:
        """Sign in by username or email from ``source`` (this installation's client id by
        default). Raises ``AuthenticationError`` (bad credentials, or a disabled account:
        the same answer) or ``LoginLockedError`` (wait ``retry_after_s``)."""
        if not login.strip() or not password:
            raise AuthenticationError("enter your username or email and your password")
        issuer = await self.issuer()
        async with self.ctx.backend.unit_of_work() as uow:
            user = await uow.users.get_by_login(login)
            buckets = self._buckets(user, login, source)
            known = await self._throttle.check(uow, buckets, self.ctx.clock())
        # The password is checked outside any transaction: a slow hash holds no lock.
        if user is None:
            await asyncio.to_thread(self.hasher.burn, password)
            ok = False
        else:
            ok = await asyncio.to_thread(self.hasher.verify, user.password_hash, password)
        if not ok or user is None:
            raise await self._failed(buckets, known, user, "user.login_failed")
        if not user.is_active:
            # The right password of a disabled account gets the same answer as a wrong
            # one, and counts like one (confirming it would tell a guesser they found it);
            # the audit says it was refused.
            raise await self._failed(buckets, known, user, "user.login_refused")
        rehashed = None
        if self.hasher.needs_rehash(user.password_hash):
            rehashed = await asyncio.to_thread(self.hasher.hash, password)
        async with self.ctx.transaction() as scope:
            uow = scope.uow
            user = await uow.users.get(user.id)
            if not user.is_active:  # disabled while the password was being checked
                raise bad_credentials()
            await self._throttle.succeeded(uow, buckets, self.ctx.clock())
            if rehashed is not None:
                user.password_hash = rehashed
                log.info("password hash of %s upgraded to the current parameters",
                         user.username)
            user.last_login = self.ctx.clock()
            await uow.users.save(user)
            org_id = await self._choose_org(uow, user, organization_id, None)
            session = await self._open_session(uow, issuer, user, org_id, uuid.uuid4())
            scope.organization_id = org_id
            scope.record("user.logged_in", "user", user.id, {"username": user.username},
                         actor_id=user.id)
        log.info("%s signed in", session.user.username)
        return session

    def _buckets(self, user: User | None, login: str, source: str | None) -> Buckets:
        # Unknown logins are throttled too (no user enumeration), by a keyed digest: the
        # typed text may be a password typed into the wrong field, so it is never stored.
        return Buckets.of(
            user.id if user is not None else None, login, source or self.client_id,
            key=(self._signing_key or "").encode(),
        )

    async def _failed(
        self, buckets: Buckets, known: bool, user: User | None, event_type: str
    ) -> AuthenticationError:
        """Count the failure (its own short transaction) and say what the caller hears."""
        async with self.ctx.transaction() as scope:
            failures, lock = await self._throttle.failed(
                scope.uow, buckets, self.ctx.clock(), known=known
            )
            if user is not None:
                scope.record(event_type, "user", user.id,
                             {"failures": failures, "locked": lock is not None}, actor_id=None)
        if lock is not None:
            log.warning("sign-in locked for %d s after %d failures", lock.total_seconds(),
                        failures)
            return LoginLockedError(math.ceil(lock.total_seconds()))
        return bad_credentials()

    async def _choose_org(
        self,
        uow: UnitOfWork,
        user: User,
        wanted: uuid.UUID | None,
        previous: uuid.UUID | None,
    ) -> uuid.UUID | None:
        memberships = sorted(await uow.memberships.for_user(user.id), key=lambda m: m.created_at)
        member_of = {m.organization_id for m in memberships}
        if wanted is not None:
            if wanted in member_of:
                return wanted
            raise AuthenticationError(
                "you are not a member of that organization", code="NOT_A_MEMBER"
            )
        if previous is not None and previous in member_of:
            return previous
        return memberships[0].organization_id if memberships else None

    async def _open_session(
        self,
        uow: UnitOfWork,
        issuer: TokenIssuer,
        user: User,
        organization_id: uuid.UUID | None,
        family: uuid.UUID,
    ) -> AuthSession:
        pair = issuer.issue_pair(user.id, organization_id, family)
        await uow.refresh_tokens.add(_record(pair.refresh, family))
        memberships = tuple(await uow.memberships.for_user(user.id))
        role = next((m.role for m in memberships if m.organization_id == organization_id), None)
        org = await uow.organizations.get(organization_id) if organization_id else None
        return AuthSession(
            user=public_user(user),
            principal=Principal(user.id, organization_id, role, user.is_superuser, family),
            organization=org,
            memberships=memberships,
            tokens=pair,
        )

    # -- tokens ----------------------------------------------------------------------

    async def refresh(
        self, refresh_token: str, *, organization_id: uuid.UUID | None = None
    ) -> AuthSession:
        """Rotate: the refresh token is spent and a new pair is issued. Presenting a spent
        token again revokes its whole family (someone copied it)."""
        issuer = await self.issuer()
        claims = issuer.verify(refresh_token, TokenType.REFRESH)
        failure: AuthenticationError | None = None
        session: AuthSession | None = None
        async with self.ctx.transaction() as scope:
            uow = scope.uow
            now = self.ctx.clock()
            record = await uow.refresh_tokens.get(claims.jti)
            if record is None or record.user_id != claims.sub:
                raise AuthenticationError(
                    "this session is not known here: sign in again", code="TOKEN_REVOKED"
                )
            if record.revoked_at is not None:
                raise AuthenticationError(
                    "this session was ended: sign in again", code="TOKEN_REVOKED"
                )
            if record.used_at is not None or not await uow.refresh_tokens.mark_used(
                claims.jti, now
            ):
                await uow.refresh_tokens.revoke_family(record.family_id, now)
                scope.record("session.reuse_detected", "user", record.user_id,
                             {"family": str(record.family_id)}, actor_id=None)
                log.warning("a spent refresh token was presented again; session revoked")
                failure = AuthenticationError(
                    "this session token was already used, so the session was ended for "
                    "safety: sign in again",
                    code="TOKEN_REUSED",
                )
            else:
                user = await _active_user(uow, record.user_id)
                if user is None:
                    await uow.refresh_tokens.revoke_family(record.family_id, now)
                    failure = AuthenticationError(
                        "this account is disabled: ask an administrator",
                        code="ACCOUNT_DISABLED",
                    )
                else:
                    org_id = await self._choose_org(
                        uow, user, organization_id, record.organization_id
                    )
                    session = await self._open_session(uow, issuer, user, org_id,
                                                       record.family_id)
        if failure is not None:
            raise failure
        assert session is not None
        return session

    async def switch_organization(
        self, refresh_token: str, organization_id: uuid.UUID
    ) -> AuthSession:
        """A new pair for another organization the user belongs to (rotates the token)."""
        return await self.refresh(refresh_token, organization_id=organization_id)

    async def authenticate(self, access_token: str) -> Principal:
        """The principal of a valid access token, with the role as it is now."""
        claims = (await self.issuer()).verify(access_token, TokenType.ACCESS)
        async with self.ctx.backend.unit_of_work() as uow:  # one read
            standing = await uow.users.standing(claims.sub, claims.org, claims.sid)
        if standing is None or not standing.user.is_active:
            raise AuthenticationError(
                "this account is disabled or gone: sign in again", code="ACCOUNT_DISABLED"
            )
        if not standing.session_live:
            raise session_ended()
        user = standing.user
        return Principal(user.id, claims.org, standing.role, user.is_superuser, claims.sid)

    async def logout(self, refresh_token: str) -> None:
        """Revoke the session of ``refresh_token`` and forget the remembered session."""
        try:
            claims: TokenClaims | None = (await self.issuer()).verify(
                refresh_token, TokenType.REFRESH
            )
        except AuthenticationError:
            claims = None  # expired or foreign: nothing left to revoke
        if claims is not None:
            async with self.ctx.transaction() as scope:
                record = await scope.uow.refresh_tokens.get(claims.jti)
                if record is not None and record.user_id == claims.sub:
                    await scope.uow.refresh_tokens.revoke_family(
                        record.family_id, self.ctx.clock()
                    )
                    scope.organization_id = record.organization_id
                    scope.record("user.logged_out", "user", record.user_id, {},
                                 actor_id=record.user_id)
        await self.forget_remembered(only_if=refresh_token)

    async def logout_everywhere(self, principal: Principal) -> None:
        """End every sign-in session of the principal's account (personal access tokens
        are revoked one by one, where they are listed)."""
        async with self.ctx.transaction(principal) as scope:
            await scope.uow.refresh_tokens.revoke_user(principal.user_id, self.ctx.clock())
            scope.organization_id = principal.organization_id
            scope.record("user.logged_out_everywhere", "user", principal.user_id, {})

    # -- password --------------------------------------------------------------------

    async def change_password(
        self, principal: Principal, current_password: str, new_password: str
    ) -> AuthSession:
        """Change the principal's own password; every other session of the user ends.
        Returns a fresh session (and re-remembers it if a session was remembered)."""
        check_password_policy(new_password, field="new_password")
        if new_password == current_password:
            raise ValidationError("the new password is the same as the current one",
                                  field="new_password")
        issuer = await self.issuer()
        buckets = await self._check_own_password(principal, current_password,
                                                  "user.password_change_failed")
        new_hash = await asyncio.to_thread(self.hasher.hash, new_password)
        async with self.ctx.transaction(principal) as scope:
            uow = scope.uow
            user = await _active_user(uow, principal.user_id)
            if user is None:
                raise AuthenticationError("this account is disabled or gone: sign in again",
                                          code="ACCOUNT_DISABLED")
            await self._throttle.succeeded(uow, buckets, self.ctx.clock())
            user.password_hash = new_hash
            await uow.users.save(user)
            await uow.refresh_tokens.revoke_user(user.id, self.ctx.clock())
            org_id = await self._choose_org(uow, user, None, principal.organization_id)
            scope.organization_id = org_id
            scope.record("user.password_changed", "user", user.id, {})
            session = await self._open_session(uow, issuer, user, org_id, uuid.uuid4())
        if await self._remembered_token() is not None:
            await self.remember(session)
        log.info("%s changed their password", session.user.username)
        return session

    async def confirm_password(self, principal: Principal, password: str) -> None:
        """Check the principal's own password (unlocking an idle window): throttled like
        sign-in; raises ``AuthenticationError`` (wrong, session ended) or
        ``LoginLockedError``."""
        buckets = await self._check_own_password(principal, password, "user.unlock_failed")
        async with self.ctx.transaction(principal) as scope:
            await self._throttle.succeeded(scope.uow, buckets, self.ctx.clock())

    async def _check_own_password(
        self, principal: Principal, password: str, failed_event: str
    ) -> Buckets:
        """Verify the principal's current password under the sign-in throttle (guessing
        it in an open window is no cheaper than at the sign-in); the buckets it used."""
        await self.issuer()  # the throttle's digests are keyed with the signing key
        async with self.ctx.transaction(principal) as scope:
            user = await _active_user(scope.uow, principal.user_id)
            if user is None:
                raise AuthenticationError("this account is disabled or gone: sign in again",
                                          code="ACCOUNT_DISABLED")
            buckets = self._buckets(user, "", None)
            known = await self._throttle.check(scope.uow, buckets, self.ctx.clock())
        if not await asyncio.to_thread(self.hasher.verify, user.password_hash, password):
            failure = await self._failed(buckets, known, user, failed_event)
            if not isinstance(failure, LoginLockedError):
                failure = AuthenticationError("the current password is wrong",
                                              code="BAD_CREDENTIALS")
            raise failure
        return buckets

    # -- remembered session (keyring) ------------------------------------------------

    async def _remembered_token(self) -> str | None:
        try:
            return await self.secrets.aget(remembered_session_name(await self.workspace_id()))
        except SecretStoreUnavailable:
            return None

    async def remember(self, session: AuthSession) -> None:
        """Keep the refresh token in the keyring so the next start skips the sign-in.
        Raises ``SecretStoreUnavailable`` when there is no keyring."""
        name = remembered_session_name(await self.workspace_id())
        await self.secrets.aset(name, session.tokens.refresh_token)

    async def restore_remembered(self) -> AuthSession | None:
        """The remembered session, rotated (None when nothing valid is remembered)."""
        token = await self._remembered_token()
        if token is None:
            return None
        try:
            session = await self.refresh(token)
        except AuthenticationError as exc:
            log.info("the remembered session cannot be used (%s); forgetting it", exc.code)
            await self.forget_remembered()
            return None
        except NotFoundError:
            await self.forget_remembered()
            return None
        await self.remember(session)
        return session

    async def has_remembered(self, refresh_token: str | None = None) -> bool:
        """Whether a session is remembered (that of ``refresh_token``, when given)."""
        token = await self._remembered_token()
        return token is not None and (refresh_token is None or token == refresh_token)

    async def purge_expired_sessions(self) -> int:
        """Drop the records of refresh tokens past their expiry (they verify as expired
        anyway, so reuse detection loses nothing); returns how many went."""
        async with self.ctx.backend.unit_of_work() as uow:
            purged = await uow.refresh_tokens.purge_expired(self.ctx.clock())
            await uow.commit()
        if purged:
            log.info("purged %d expired session records", purged)
        return purged

    async def forget_remembered(self, *, only_if: str | None = None) -> None:
        """Forget the remembered session (only if it is ``only_if``, when given)."""
        token = await self._remembered_token()
        if token is None or (only_if is not None and token != only_if):
            return
        with contextlib.suppress(SecretStoreUnavailable):
            await self.secrets.adelete(remembered_session_name(await self.workspace_id()))

    async def shared_database_warning(self, principal: Principal) -> str | None:
        """What to tell someone signed in to a database several people share directly
        (not through a server): anyone holding its settings can change roles, so the
        roles are not enforced. None on a one-person or SQLite workspace."""
        if str(self.ctx.backend.description).startswith("sqlite") or \
                principal.organization_id is None:
            return None
        async with self.ctx.backend.unit_of_work() as uow:
            members = await uow.users.list(PageRequest(limit=2),
                                           organization_id=principal.organization_id)
        if len(members.items) < 2:
            return None
        return ("Several people share this database directly, so roles are not enforced: "
                "anyone with its settings can change them. For a team, run a WindFlow "
                "server (windflow serve) and sign in to it instead.")

    async def memberships(self, principal: Principal) -> Sequence[Membership]:
        return (await self.whoami(principal))[1]

    async def whoami(self, principal: Principal) -> tuple[User, Sequence[Membership]]:
        """The principal's own account (no password hash) and memberships: anyone may
        ask about themselves, whatever their role or their token's scopes."""
        async with self.ctx.backend.unit_of_work() as uow:
            await confirm_session(uow, principal)
            user = await _active_user(uow, principal.user_id)
            if user is None:
                raise AuthenticationError("this account is disabled or gone: sign in again",
                                          code="ACCOUNT_DISABLED")
            memberships = tuple(await uow.memberships.for_user(principal.user_id))
            await uow.commit()  # ends the transaction without expiring what we return
            return public_user(user), memberships


def _record(claims: TokenClaims, family: uuid.UUID) -> RefreshTokenRecord:
    return RefreshTokenRecord(
        jti=claims.jti,
        user_id=claims.sub,
        family_id=family,
        organization_id=claims.org,
        issued_at=claims.iat,
        expires_at=claims.exp,
    )


async def _active_user(uow: UnitOfWork, user_id: uuid.UUID) -> User | None:
    try:
        user = await uow.users.get(user_id)
    except NotFoundError:
        return None
    return user if user.is_active else None
