"""Who trusts a new SSH host key on a server: nobody is there to answer a dialog, so a
connection to a host whose key is not known yet is refused, and the key it offered is
kept as pending; someone with ``targets:write`` trusts that exact fingerprint through
the API, and the next connection takes it (and it goes to the known-hosts file). A
changed key is never taken: the engine refuses it before asking."""

from __future__ import annotations

from dataclasses import dataclass

from ..domain.models import HostKeyPrompt

MAX_PENDING = 1_000


@dataclass(frozen=True)
class PendingKey:
    host: str
    port: int
    key_type: str
    fingerprint: str


class HostKeyDecisions:
    def __init__(self) -> None:
        self._pending: dict[tuple[str, int], PendingKey] = {}
        self._trusted: set[tuple[str, int, str]] = set()

    async def __call__(self, prompt: HostKeyPrompt) -> bool:
        """The pool's question: yes only for a fingerprint someone trusted."""
        where = (prompt.host, prompt.port)
        if (*where, prompt.fingerprint) in self._trusted:
            self._trusted.discard((*where, prompt.fingerprint))
            self._pending.pop(where, None)
            return True
        if len(self._pending) >= MAX_PENDING:
            self._pending.clear()
        self._pending[where] = PendingKey(prompt.host, prompt.port, prompt.key_type,
                                          prompt.fingerprint)
        return False

    def pending(self, host: str, port: int) -> PendingKey | None:
        return self._pending.get((host, port))

    def trust(self, host: str, port: int, fingerprint: str) -> bool:
        """Trust ``fingerprint`` for the next connection to host:port, if it is the one
        that host offered; False when it is not pending."""
        pending = self._pending.get((host, port))
        if pending is None or pending.fingerprint != fingerprint:
            return False
        self._trusted.add((host, port, fingerprint))
        return True
