"""``TerminalSession``: an interactive shell in a container, as the layers above the
engine see it (``engine/terminal.py`` has the two kinds: the Engine API's exec and
``docker exec -it`` over SSH)."""

from __future__ import annotations

from typing import Protocol


class TerminalSession(Protocol):
    """Bytes in (``write``), bytes out (``read``: the next chunk, ``b""`` once the shell
    ended), a size (``resize``); ``exit_code`` once it ended (None when it could not be
    told); ``close()`` ends it (idempotent)."""

    exit_code: int | None

    async def read(self) -> bytes: ...
    async def write(self, data: bytes) -> None: ...
    async def resize(self, cols: int, rows: int) -> None: ...
    async def close(self) -> None: ...
