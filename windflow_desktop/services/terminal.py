"""``TerminalService``: an interactive shell in a container of a target, on every target
kind (the Engine API's exec for local and TCP targets, ``docker exec -it`` over SSH).

Opening one needs ``containers:exec`` (operator and up) and is audited once the shell
runs: ``container.shell_opened`` with who (the actor), the target, the container (the
aggregate id) and the shell — never what is typed or shown. The permission check and the
target lookup happen in a unit of work; the session itself holds no transaction.
"""

from __future__ import annotations

import re
import uuid

from ..domain.errors import ValidationError
from ..domain.events import ShellOpened
from ..domain.identity import Principal
from ..domain.permissions import CONTAINERS_EXEC
from ..domain.terminal import TerminalSession
from ..engine.pool import ExecutorPool
from ..engine.terminal import open_terminal
from .common import ServiceContext

SHELLS = ("sh", "bash")
CONTAINER_REF = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")  # an id or a name
MAX_COLS, MAX_ROWS = 1000, 500


class TerminalService:
    """Public API: ``open(p, target_id, container_id, shell="sh", cols=80, rows=24)
    -> TerminalSession`` (the caller closes it)."""

    available = True  # (a server's client says False: see ``remote/terminal.py``)

    def __init__(self, context: ServiceContext, pool: ExecutorPool) -> None:
        self.ctx = context
        self.pool = pool

    async def open(self, principal: Principal, target_id: uuid.UUID, container_id: str,
                   shell: str = "sh", *, cols: int = 80, rows: int = 24) -> TerminalSession:
        if shell not in SHELLS:
            raise ValidationError(f"choose a shell among {', '.join(SHELLS)}", field="shell")
        if not CONTAINER_REF.fullmatch(container_id):
            # Never an option of ``docker exec`` (``--privileged``) on an SSH target.
            raise ValidationError("choose a container (its id or name)", field="container_id")
        cols, rows = max(2, min(cols, MAX_COLS)), max(2, min(rows, MAX_ROWS))
        async with self.ctx.authorized(principal, CONTAINERS_EXEC) as scope:
            target = await scope.target(target_id)
        session = await open_terminal(self.pool, target, container_id, shell,
                                      cols=cols, rows=rows)
        try:
            async with self.ctx.authorized(principal, CONTAINERS_EXEC) as scope:
                scope.record(ShellOpened.TYPE, "container", container_id,
                             ShellOpened(str(target.id), target.name, shell).to_data())
        except BaseException:
            await session.close()  # no shell without its audit row
            raise
        return session
