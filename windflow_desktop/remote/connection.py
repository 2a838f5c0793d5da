"""``ServerConnection``: what stands below the stores when the desktop works through a
WindFlow server — one ``ServerSession``, the remote services and the server's event
stream. It opens no database, no Redis and no SSH connection: the server reaches the
targets. The same shape as the local ``Workspace`` (open, services, bus, close), so the
app builds the same stores and windows over either."""

from __future__ import annotations

import logging

import httpx

from .client import SecretStore, ServerSession, TokenKeeper
from .errors import from_transport
from .events import RemoteBus
from .services import RemoteServices

log = logging.getLogger("windflow.remote")


class ServerConnection:
    def __init__(self, url: str, secrets: SecretStore, *, username: str = "",
                 ca_file: str | None = None) -> None:
        self.url = url.rstrip("/")
        self.session = ServerSession(self.url, ca_file=ca_file or None,
                                     keeper=TokenKeeper(secrets, self.url, username))
        self.services = RemoteServices.over(self.session)
        self.bus = RemoteBus(self.session)
        self.keyring_missing = False

    @property
    def description(self) -> str:
        return f"Server: {self.url}"

    async def open(self) -> None:
        """Check that the server answers (its health check, no sign-in needed): an
        unreachable server or an untrusted certificate is said in words here."""
        try:
            response = await self.session.http.get(f"{self.url}/healthz", auth=None)
        except httpx.TransportError as exc:
            raise from_transport(exc, self.url) from exc
        if response.status_code >= 400:
            from .errors import from_response

            raise from_response(response)
        log.info("connected to %s", self.url)

    async def start_bus(self) -> None:
        """The event stream needs a signed-in caller: it starts with ``signed_in``."""

    async def signed_in(self) -> None:
        await self.bus.start()

    async def housekeeping(self) -> None:
        """The server settles what earlier runs left; nothing to do here."""

    async def close(self) -> None:
        await self.bus.close()
        await self.session.close()
