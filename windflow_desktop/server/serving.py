"""Run the API with uvicorn. On SIGTERM/SIGINT the event streams end at once (their
clients resume with ``Last-Event-ID``): uvicorn waits for open responses before the
app's shutdown, and an event stream never ends by itself."""

from __future__ import annotations

import asyncio
import socket
from types import FrameType
from typing import Any

import uvicorn
from fastapi import FastAPI


class _Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, app: FastAPI) -> None:
        super().__init__(config)
        self._app = app
        self._loop: asyncio.AbstractEventLoop | None = None

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        self._loop = asyncio.get_running_loop()
        await super().startup(sockets)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        feed = getattr(self._app.state, "feed", None)
        if feed is not None and self._loop is not None:
            self._loop.call_soon_threadsafe(feed.end_streams)


def serve(app: FastAPI, **config: Any) -> None:
    _Server(uvicorn.Config(app, **config), app).run()
