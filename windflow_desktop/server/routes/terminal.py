"""A shell in a container, relayed over a WebSocket:
``/api/v1/targets/{target_id}/containers/{ref}/terminal?shell=sh&cols=80&rows=24``.

The handshake carries the bearer token (``Authorization``; never in the address, where
logs keep it) and is answered only once the shell runs: the caller's principal, then
the same ``TerminalService.open`` as a desktop with a local workspace (``containers:exec``,
operator and up; ``container.shell_opened`` audited — never the keystrokes). Anything
refused (not signed in, a viewer, an unknown target or container, a bad shell) is an
HTTP answer to the handshake with the usual error body (``{"error", "message",
"details"}``, 401/403/404/422…), so the socket is never opened for nothing.

Once open: binary frames are the terminal's bytes, both ways; text frames are JSON
control messages — from the desktop ``{"type": "resize", "cols": .., "rows": ..}``, from
the server ``{"type": "exit", "code": int | null}`` when the shell ended (the socket
closes normally right after) and ``{"type": "error", "error": code, "message": ..}``.
A message over ``MAX_MESSAGE_BYTES`` ends the socket (1009), a malformed control message
too (1008). The shell ends when the socket closes and the socket when the shell ends;
both relays (socket → shell, shell → socket) end together, nothing is left running.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, WebSocket, WebSocketDisconnect
from fastapi.responses import JSONResponse
from starlette.websockets import WebSocketState

from ...domain.errors import ValidationError, WindFlowError, http_status
from ...domain.terminal import TerminalSession
from ...services.terminal import MAX_COLS, MAX_ROWS
from ..deps import _services, connection_principal
from ..errors import error_body

log = logging.getLogger("windflow.server.terminal")
router = APIRouter(tags=["containers"])

MAX_MESSAGE_BYTES = 64 << 10  # one frame either way (the desktop splits a long paste)
POLICY_VIOLATION, TOO_BIG = 1008, 1009


@router.websocket("/targets/{target_id}/containers/{ref}/terminal")
async def terminal(websocket: WebSocket, target_id: uuid.UUID, ref: str,
                   shell: Annotated[str, Query(max_length=16)] = "sh",
                   cols: Annotated[int, Query(ge=2, le=MAX_COLS)] = 80,
                   rows: Annotated[int, Query(ge=2, le=MAX_ROWS)] = 24) -> None:
    try:
        caller = await connection_principal(websocket)
        session: TerminalSession = await _services(websocket).terminal.open(
            caller, target_id, ref, shell, cols=cols, rows=rows)
    except WindFlowError as exc:
        await _refuse(websocket, http_status(exc), _error_json(exc))
        return
    except Exception:
        log.exception("opening a shell in %s on %s failed", ref[:64], target_id)
        await _refuse(websocket, 500, error_body(
            "INTERNAL_ERROR", "the server failed to open the shell; its log says why"))
        return
    try:
        await websocket.accept()
        await _relay(websocket, session)
    finally:
        with contextlib.suppress(Exception):
            await session.close()


def _error_json(exc: WindFlowError) -> dict[str, Any]:
    details = {"field": exc.field} if isinstance(exc, ValidationError) and exc.field else {}
    return error_body(exc.code, exc.message, details)


async def _refuse(websocket: WebSocket, status: int, body: dict[str, Any]) -> None:
    """The handshake answered with ``status`` and the error body; a server without the
    denial-response extension closes with a policy violation and the code instead."""
    if "websocket.http.response" in websocket.scope.get("extensions", {}):
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        await websocket.send_denial_response(JSONResponse(body, status, headers=headers))
    else:
        await websocket.close(POLICY_VIOLATION, json.dumps(
            {"error": body["error"], "status": status})[:120])


async def _relay(websocket: WebSocket, session: TerminalSession) -> None:
    outward = asyncio.ensure_future(_shell_to_socket(websocket, session))
    inward = asyncio.ensure_future(_socket_to_shell(websocket, session))
    try:
        await asyncio.wait((outward, inward), return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (outward, inward):
            task.cancel()
        for task in (outward, inward):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await session.close()
        if websocket.application_state is WebSocketState.CONNECTED:
            with contextlib.suppress(Exception):
                await websocket.close(1000)
    for task in (outward, inward):  # what went wrong, for the server's log
        if task.done() and not task.cancelled() and (error := task.exception()):
            log.warning("the terminal relay ended on an error: %r", error)


async def _shell_to_socket(websocket: WebSocket, session: TerminalSession) -> None:
    while chunk := await session.read():
        for start in range(0, len(chunk), MAX_MESSAGE_BYTES):
            await websocket.send_bytes(chunk[start:start + MAX_MESSAGE_BYTES])
    await websocket.send_text(json.dumps({"type": "exit", "code": session.exit_code}))
    await websocket.close(1000)


async def _socket_to_shell(websocket: WebSocket, session: TerminalSession) -> None:
    with contextlib.suppress(WebSocketDisconnect):
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            data, text = message.get("bytes"), message.get("text")
            if len(data or text or "") > MAX_MESSAGE_BYTES:
                await websocket.close(TOO_BIG, f"a message is at most {MAX_MESSAGE_BYTES} "
                                      "bytes")
                return
            if data is not None:
                await session.write(data)
            elif text is not None and not await _control(websocket, session, text):
                await websocket.close(POLICY_VIOLATION, "a control message is JSON: "
                                      '{"type": "resize", "cols": .., "rows": ..}')
                return


async def _control(websocket: WebSocket, session: TerminalSession, text: str) -> bool:
    """Act on one control message; False when it is not one."""
    try:
        message = json.loads(text)
    except ValueError:
        return False
    if not isinstance(message, dict):
        return False
    if message.get("type") == "resize":
        cols, rows = message.get("cols"), message.get("rows")
        if not (isinstance(cols, int) and isinstance(rows, int)):
            return False
        try:
            await session.resize(max(2, min(cols, MAX_COLS)), max(2, min(rows, MAX_ROWS)))
        except WindFlowError as exc:  # a shell ending meanwhile has no size
            await websocket.send_text(json.dumps(
                {"type": "error", "error": exc.code, "message": exc.message}))
        return True
    return True  # a later kind of message, unknown here: ignored
