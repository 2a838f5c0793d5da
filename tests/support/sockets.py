"""Open connections to a unix socket, as the kernel lists them (``/proc/net/unix``): an
accepted connection carries the listening socket's path, so the connections a server
(dockerd) holds open to any client — this process, sshd forwarding for it — can be
counted without asking the server."""

from __future__ import annotations

import time
from pathlib import Path

CONNECTED = "03"


def connections_to(socket: Path) -> int:
    """How many connected sockets are bound to ``socket``'s path right now."""
    wanted, count = str(socket), 0
    for line in Path("/proc/net/unix").read_text().splitlines()[1:]:
        fields = line.split()
        if len(fields) >= 8 and fields[7] == wanted and fields[5] == CONNECTED:
            count += 1
    return count


def settled_connections(socket: Path, seconds: float = 1.0) -> int:
    """The fewest connections to ``socket`` seen over ``seconds``: a client that just
    finished (a ``docker`` command, a closed request) leaves its connection for a moment
    on the server's side, and a baseline must not count it."""
    deadline, lowest = time.monotonic() + seconds, connections_to(socket)
    while time.monotonic() < deadline and lowest > 0:
        time.sleep(0.05)
        lowest = min(lowest, connections_to(socket))
    return lowest
