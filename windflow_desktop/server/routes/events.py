"""``GET /api/v1/events``: Server-Sent Events, only the caller's organization's (and the
caller's own account's), ``Last-Event-ID`` resuming with no gap and no duplicate, a ping
every 15 s. The caller is checked again against the database at each ping and whenever
an event about people arrives: a removed member or an ended session stops receiving at
once (the stream ends with an ``error`` event)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from fastapi.responses import StreamingResponse

from ...domain.errors import WindFlowError
from ...domain.events import Event
from ...domain.identity import Principal
from ..deps import Caller, Services
from ..feed import EventFeed, Numbered, Reset, sse_frame

router = APIRouter(tags=["events"])
PING_S = 15.0
_PEOPLE = ("user", "membership", "organization")


@router.get("/events")
async def events(request: Request, caller: Caller, services: Services,
                 last_event_id: Annotated[str | None, Header(max_length=64)] = None
                 ) -> StreamingResponse:
    feed: EventFeed = request.app.state.feed
    token = request.headers["authorization"].split(" ", 1)[1]
    return StreamingResponse(_stream(feed, caller, services, token, last_event_id),
                             media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


async def _stream(feed: EventFeed, caller: Principal, services: Any, token: str,
                  last_event_id: str | None) -> AsyncIterator[str]:
    with feed.listening() as queue:  # first: what arrives while the backlog is read waits
        try:
            backlog = await feed.missed(last_event_id)
        except Reset:
            yield sse_frame("reset", feed.last_id, {"reason": "reload: the events since your "
                                                 "last one cannot be replayed"})
            return
        seen_up_to = backlog[-1].id if backlog else last_event_id
        yield "retry: 2000\n\n"
        if not backlog:  # where this stream starts, to resume from
            yield sse_frame("ready", feed.last_id, {})
        for missed in backlog:
            if _for(caller, missed.event):
                yield missed.frame
        while True:
            try:
                numbered: Numbered | None = await asyncio.wait_for(queue.get(), PING_S)
            except TimeoutError:
                now = await _still(services, token)
                if now is None:
                    yield sse_frame("error", None, {"reason": "session ended: sign in again"})
                    return
                caller = now
                yield ": ping\n\n"
                continue
            if numbered is None:
                if feed.closing:
                    return  # the server stops: the client resumes where it was
                yield sse_frame("reset", feed.last_id, {"reason": "reload: this stream fell "
                                                     "behind"})
                return
            if not feed.after(numbered, seen_up_to):
                continue  # already in the backlog
            if numbered.event.aggregate_type in _PEOPLE or \
                    numbered.event.event_type.startswith(_PEOPLE):
                now = await _still(services, token)
                if now is None:
                    yield sse_frame("error", None, {"reason": "session ended: sign in again"})
                    return
                caller = now
            if _for(caller, numbered.event):
                yield numbered.frame


async def _still(services: Any, token: str) -> Principal | None:
    """The caller as the database says now; None when they may no longer listen."""
    try:
        principal: Principal = await services.auth.authenticate(token)
    except WindFlowError:
        return None
    return principal if principal.role is not None or principal.is_superuser else None


def _for(caller: Principal, event: Event) -> bool:
    """Events of the caller's organization, and those about the caller's own account."""
    if event.organization_id is not None:
        return event.organization_id == str(caller.organization_id)
    return event.aggregate_type == "user" and event.aggregate_id == str(caller.user_id)

