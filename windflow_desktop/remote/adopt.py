"""``RemoteAdopt``: the server finds, adopts and keeps what runs on its targets
(``AdoptApi`` over HTTP)."""

from __future__ import annotations

import uuid

from ..domain.adopt import Adopted, AdoptSource, Unmanaged
from ..domain.identity import Principal
from .client import ServerSession
from .decode import decode


class RemoteAdopt:
    def __init__(self, session: ServerSession) -> None:
        self.session = session

    async def discover(self, principal: Principal, target_id: uuid.UUID) -> Unmanaged:
        answer = await self.session.request("GET", f"/targets/{target_id}/unmanaged")
        found: Unmanaged = decode(Unmanaged, answer)
        return found

    async def adopt(self, principal: Principal, target_id: uuid.UUID, project: str,
                    stack_name: str, source: AdoptSource | str = AdoptSource.FILES
                    ) -> Adopted:
        answer = await self.session.request(
            "POST", f"/targets/{target_id}/adopt",
            json={"project": project, "stack_name": stack_name,
                  "source": AdoptSource(source).value})
        adopted: Adopted = decode(Adopted, answer)
        return adopted

    async def keep(self, principal: Principal, deployment_id: uuid.UUID) -> Adopted:
        answer = await self.session.request("POST", f"/deployments/{deployment_id}/keep",
                                            json={})
        adopted: Adopted = decode(Adopted, answer)
        return adopted
