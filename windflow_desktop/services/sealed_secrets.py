"""``SealedSecretStore``: the secret store of a server — the same calls as the desktop's
keyring store (``aget``/``aset``/``adelete``), each secret sealed in the database under
the server's key. One secret that cannot be opened is an error for that secret only."""

from __future__ import annotations

from ..domain.models import utcnow
from ..repositories.protocols import Backend
from ..security.sealing import Sealer, SealingKey


class SealedSecretStore:
    persistent = True

    def __init__(self, backend: Backend, sealer: Sealer) -> None:
        self._backend = backend
        self.sealer = sealer

    def __repr__(self) -> str:
        return f"SealedSecretStore(key {self.sealer.key_id})"

    async def aavailable(self) -> bool:
        return True

    async def aget(self, name: str) -> str | None:
        async with self._backend.unit_of_work() as uow:
            row = await uow.sealed_secrets.get(name)
        return None if row is None else self.sealer.unseal(name, *row)

    async def aset(self, name: str, value: str) -> None:
        key_id, ciphertext = self.sealer.seal(value)
        async with self._backend.unit_of_work() as uow:
            await uow.sealed_secrets.put(name, key_id, ciphertext, utcnow())
            await uow.commit()

    async def adelete(self, name: str) -> None:
        async with self._backend.unit_of_work() as uow:
            await uow.sealed_secrets.delete(name)
            await uow.commit()

    async def reseal(self, batch: int = 200) -> int:
        """Seal every secret under the sealing key again (after a new key was put first);
        returns how many were resealed. A secret that cannot be opened raises."""
        done = 0
        while True:
            async with self._backend.unit_of_work() as uow:
                rows = await uow.sealed_secrets.sealed_under_other(self.sealer.key_id, batch)
                for name, key_id, ciphertext in rows:
                    value = self.sealer.unseal(name, key_id, ciphertext)
                    await uow.sealed_secrets.put(name, *self.sealer.seal(value), utcnow())
                await uow.commit()
            done += len(rows)
            if len(rows) < batch:
                return done


def rotated(sealer: Sealer) -> Sealer:
    """A sealer with a new sealing key first and the current ones behind it."""
    return Sealer([SealingKey.new(), *sealer.keys])
