"""An in-memory keyring backend for tests: explicit, never chosen by keyring's discovery."""

from __future__ import annotations

import keyring.backend
import keyring.errors


class MemoryKeyring(keyring.backend.KeyringBackend):
    """Secrets in a dict; ``values()`` lets a test look at everything that was stored."""

    priority = -1  # type: ignore[assignment]  # never picked by keyring.get_keyring()
    windflow_memory_only = True  # nothing leaves the process: accepted by ``SecretStore``

    def __init__(self) -> None:
        super().__init__()
        self._store: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self._store.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self._store[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        try:
            del self._store[(service, username)]
        except KeyError:
            raise keyring.errors.PasswordDeleteError(username) from None

    def values(self) -> list[str]:
        return list(self._store.values())

    def names(self) -> list[str]:
        return [name for _, name in self._store]
