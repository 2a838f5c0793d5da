"""Every secret of the app goes through ``SecretStore``, which keeps it in the OS keyring.

Secrets are the workspace signing key, the remembered refresh token, and later target
passwords and key passphrases; the database keeps only their names. When no keyring is
available the store raises ``SecretStoreUnavailable`` with a plain explanation, and the
app may choose ``SecretStore.memory_only()``: secrets then live in this process only and
are forgotten at exit. There is no fallback that writes a secret to disk in clear, and a
backend that would (``keyrings.alt``'s file keyrings, or anything below keyring's own
priority bar that ``PYTHON_KEYRING_BACKEND`` may name) counts as no keyring at all.

keyring calls block (D-Bus, the macOS Keychain…): async code uses the ``a*`` methods,
which run them in a worker thread.
"""

from __future__ import annotations

import asyncio
import logging
import threading

import keyring
import keyring.backend
import keyring.errors
from keyring.backends import fail, null

from ..domain.errors import SecretStoreUnavailable

log = logging.getLogger("windflow.security")

SERVICE_NAME = "windflow-desktop"

NO_KEYRING_MESSAGE = (
    "No system keyring is available, so WindFlow cannot keep passwords or remember your "
    "session safely. Unlock or install a keyring (GNOME Keyring, KWallet, macOS Keychain, "
    "Windows Credential Manager), or continue without remembering secrets: they will be "
    "asked for again after a restart. WindFlow never stores them in clear text."
)


def signing_key_name(workspace_id: str) -> str:
    return f"workspace/{workspace_id}/signing-key"


def remembered_session_name(workspace_id: str) -> str:
    return f"workspace/{workspace_id}/remembered-refresh-token"


# Backends known to write secrets to a file in clear (or under a key kept beside them).
_CLEAR_TEXT_MODULES = ("keyrings.alt.file", "keyrings.alt.file_base", "keyrings.alt.pyfs")
_CLEAR_TEXT_NAMES = ("Plaintext", "Unencrypted", "Base64")
# keyring's own bar: a backend below it is never chosen by discovery, only by name.
MIN_PRIORITY = 1.0
# A backend that keeps secrets in process memory only (a test double) says so with this
# class attribute; it is accepted whatever its priority, as it writes nothing anywhere.
MEMORY_ONLY_FLAG = "windflow_memory_only"


def refusal_of(backend: keyring.backend.KeyringBackend) -> str | None:
    """Why ``backend`` may not keep our secrets (None: it may)."""
    cls = type(backend)
    name = f"{cls.__module__}.{cls.__qualname__}"
    if isinstance(backend, fail.Keyring | null.Keyring):
        return f"{name} stores nothing"
    chained = getattr(backend, "backends", None)
    if chained is not None:  # the chainer writes to its first backend that accepts
        return refusal_of(chained[0]) if chained else "the keyring chain is empty"
    if cls.__module__.startswith(_CLEAR_TEXT_MODULES) or any(
        word in cls.__name__ for word in _CLEAR_TEXT_NAMES
    ):
        return f"{name} keeps secrets in a file in clear"
    if getattr(cls, MEMORY_ONLY_FLAG, False) is True:
        return None
    try:
        priority = float(cls.priority)
    except Exception:  # a backend whose priority property raises is not viable
        return f"{name} is not usable here"
    if priority < MIN_PRIORITY:
        return f"{name} has priority {priority:g}, below keyring's bar of {MIN_PRIORITY:g}"
    return None


def _usable(backend: keyring.backend.KeyringBackend) -> bool:
    reason = refusal_of(backend)
    if reason is not None:
        log.warning("keyring backend refused: %s", reason)
    return reason is None


class SecretStore:
    """Named secrets of one application in a keyring backend (or in memory only)."""

    def __init__(
        self,
        backend: keyring.backend.KeyringBackend | None = None,
        *,
        service: str = SERVICE_NAME,
    ) -> None:
        self._backend = backend
        self._service = service
        self._memory: dict[str, str] | None = None
        self._lock = threading.Lock()

    @classmethod
    def memory_only(cls, *, service: str = SERVICE_NAME) -> SecretStore:
        """A store that keeps secrets in this process only (chosen when no keyring exists)."""
        store = cls(service=service)
        store._memory = {}
        return store

    def __repr__(self) -> str:
        kind = "memory-only" if self._memory is not None else type(self._keyring_or_none()).__name__
        return f"SecretStore({kind})"

    @property
    def persistent(self) -> bool:
        """True when secrets survive a restart (a real keyring), False in memory-only mode."""
        return self._memory is None

    def _keyring_or_none(self) -> keyring.backend.KeyringBackend | None:
        try:
            return self._backend or keyring.get_keyring()
        except Exception:  # keyring's own discovery can fail in odd environments
            log.exception("keyring discovery failed")
            return None

    def available(self) -> bool:
        """True when secrets can be stored (memory-only counts: it never persists them)."""
        if self._memory is not None:
            return True
        backend = self._keyring_or_none()
        return backend is not None and _usable(backend)

    def _keyring(self) -> keyring.backend.KeyringBackend:
        backend = self._keyring_or_none()
        if backend is None or not _usable(backend):
            raise SecretStoreUnavailable(NO_KEYRING_MESSAGE)
        return backend

    def get(self, name: str) -> str | None:
        if self._memory is not None:
            with self._lock:
                return self._memory.get(name)
        backend = self._keyring()
        try:
            return backend.get_password(self._service, name)
        except keyring.errors.KeyringError as exc:
            raise SecretStoreUnavailable(
                f"{NO_KEYRING_MESSAGE} (the keyring refused to read: {type(exc).__name__})"
            ) from exc

    def set(self, name: str, value: str) -> None:
        if self._memory is not None:
            with self._lock:
                self._memory[name] = value
            return
        backend = self._keyring()
        try:
            backend.set_password(self._service, name, value)
        except keyring.errors.KeyringError as exc:
            raise SecretStoreUnavailable(
                f"{NO_KEYRING_MESSAGE} (the keyring refused to store: {type(exc).__name__})"
            ) from exc
        log.debug("secret %s stored in the keyring", name)

    def delete(self, name: str) -> None:
        """Forget ``name``; forgetting a secret that is not there is not an error."""
        if self._memory is not None:
            with self._lock:
                self._memory.pop(name, None)
            return
        backend = self._keyring()
        try:
            backend.delete_password(self._service, name)
        except keyring.errors.PasswordDeleteError:
            pass
        except keyring.errors.KeyringError as exc:
            raise SecretStoreUnavailable(
                f"{NO_KEYRING_MESSAGE} (the keyring refused to delete: {type(exc).__name__})"
            ) from exc

    async def aget(self, name: str) -> str | None:
        return await asyncio.to_thread(self.get, name)

    async def aset(self, name: str, value: str) -> None:
        await asyncio.to_thread(self.set, name, value)

    async def adelete(self, name: str) -> None:
        await asyncio.to_thread(self.delete, name)

    async def aavailable(self) -> bool:
        return await asyncio.to_thread(self.available)
