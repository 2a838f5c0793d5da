"""Every kind of the domain's error tree comes back from the server as the class it was
raised as — a store that catches ``DockerUnavailableError`` or ``HostKeyChangedError``
catches it in server mode too — with the same code and words."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from fastapi import FastAPI

from windflow_desktop.domain import errors
from windflow_desktop.remote.errors import from_response
from windflow_desktop.server.errors import install

PLAIN = sorted({kind for kind in vars(errors).values()
                if isinstance(kind, type) and issubclass(kind, errors.WindFlowError)
                and kind.__init__ is errors.WindFlowError.__init__}, key=lambda k: k.__name__)


def _answer(raised: errors.WindFlowError) -> httpx.Response:
    app = FastAPI()
    install(app)

    @app.get("/boom")
    async def boom() -> None:
        raise raised

    async def call() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            return await client.get("/boom")

    return asyncio.run(call())


@pytest.mark.parametrize("kind", PLAIN, ids=lambda k: k.__name__)
def test_a_kind_comes_back_as_itself(kind: type[errors.WindFlowError]) -> None:
    answer = _answer(kind(f"words about {kind.__name__}"))
    back = from_response(answer)
    assert type(back) is kind
    assert back.code == kind.code and str(back) == f"words about {kind.__name__}"


def test_kinds_with_their_own_fields_keep_them() -> None:
    api = from_response(_answer(errors.DockerApiError("no such image: x", 404)))
    assert isinstance(api, errors.DockerApiError) and api.status == 404
    invalid = from_response(_answer(errors.ValidationError("too long", field="name")))
    assert isinstance(invalid, errors.ValidationError) and invalid.field == "name"
    locked = from_response(_answer(errors.LoginLockedError(90)))
    assert isinstance(locked, errors.LoginLockedError) and locked.retry_after_s == 90
    missing = from_response(_answer(errors.NotFoundError("stack", "s1")))
    assert isinstance(missing, errors.NotFoundError) and "stack s1" in str(missing)


def test_a_code_of_no_known_kind_keeps_its_code_under_the_status_kind() -> None:
    odd = errors.WindFlowError("the registry said no", code="REGISTRY_AUTH_REFUSED")
    back = from_response(_answer(odd))
    assert isinstance(back, errors.ValidationError) and back.code == "REGISTRY_AUTH_REFUSED"
