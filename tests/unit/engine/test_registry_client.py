"""The registry client's reading of references and its answers to what registries say —
a token challenge, a rate limit, a login it does not have — against a stand-in transport
(the real registry of the test environment has no sign-in; the integration test covers
digests, deleted tags and a registry that is down)."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from windflow_desktop.engine.registry import (
    DOCKER_HUB,
    ImageRef,
    RateLimitedError,
    RegistryAuthError,
    RegistryClient,
    parse_reference,
)

DIGEST = "sha256:" + "ab" * 32


@pytest.mark.parametrize(("reference", "expected"), [
    ("nginx", ImageRef(DOCKER_HUB, "library/nginx", "latest")),
    ("nginx:1.27", ImageRef(DOCKER_HUB, "library/nginx", "1.27")),
    ("grafana/grafana:11", ImageRef(DOCKER_HUB, "grafana/grafana", "11")),
    ("docker.io/library/redis:7", ImageRef(DOCKER_HUB, "library/redis", "7")),
    ("ghcr.io/org/app:v2", ImageRef("ghcr.io", "org/app", "v2")),
    ("127.0.0.1:5000/app", ImageRef("127.0.0.1:5000", "app", "latest")),
    ("localhost/busybox:latest", ImageRef("localhost", "busybox", "latest")),
    ("nginx@" + DIGEST, None),
])
def test_references_are_read_as_docker_reads_them(reference: str,
                                                  expected: ImageRef | None) -> None:
    assert parse_reference(reference) == expected


async def test_the_anonymous_token_flow_and_its_reuse() -> None:
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(f"{request.method} {request.url.path}")
        if request.url.host == "auth.example.test":
            assert request.url.params["scope"] == "repository:org/app:pull"
            assert request.url.params["service"] == "registry.example.test"
            return httpx.Response(200, json={"token": "T0K"})
        if request.headers.get("authorization") != "Bearer T0K":
            return httpx.Response(401, headers={"WWW-Authenticate": (
                'Bearer realm="https://auth.example.test/token",'
                'service="registry.example.test",scope="repository:org/app:pull"')})
        return httpx.Response(200, headers={"Docker-Content-Digest": DIGEST})

    client = RegistryClient(transport=httpx.MockTransport(answer))
    ref = ImageRef("registry.example.test", "org/app", "v1")
    assert await client.current_digest(ref) == DIGEST
    assert await client.current_digest(ref) == DIGEST  # the token is reused
    await client.close()
    assert [s.split()[0] for s in seen] == ["HEAD", "GET", "HEAD", "HEAD"]


async def test_a_rate_limit_says_when_to_try_again() -> None:
    client = RegistryClient(transport=httpx.MockTransport(
        lambda _r: httpx.Response(429, headers={"Retry-After": "120"})))
    with pytest.raises(RateLimitedError, match="try again after") as limited:
        await client.current_digest(ImageRef("registry.example.test", "app", "1"))
    assert limited.value.retry_at is not None
    assert 100 < (limited.value.retry_at - datetime.now(UTC)).total_seconds() <= 120
    await client.close()


async def test_a_login_it_does_not_have_is_said() -> None:
    client = RegistryClient(transport=httpx.MockTransport(
        lambda _r: httpx.Response(401, headers={"WWW-Authenticate": 'Basic realm="x"'})))
    with pytest.raises(RegistryAuthError, match="needs a login"):
        await client.current_digest(ImageRef("registry.example.test", "app", "1"))
    await client.close()


async def test_basic_credentials_are_sent_when_asked() -> None:
    async def credentials(registry: str) -> tuple[str, str] | None:
        return ("ci", "s3cret") if registry == "registry.example.test" else None

    def answer(request: httpx.Request) -> httpx.Response:
        if request.headers.get("authorization") == "Basic Y2k6czNjcmV0":
            return httpx.Response(200, headers={"Docker-Content-Digest": DIGEST})
        return httpx.Response(401, headers={"WWW-Authenticate": 'Basic realm="x"'})

    client = RegistryClient(credentials, transport=httpx.MockTransport(answer))
    assert await client.current_digest(ImageRef("registry.example.test", "a", "1")) == DIGEST
    await client.close()
