"""Asking an image registry which digest a tag points to now — the Registry HTTP API v2,
``HEAD /v2/<repository>/manifests/<tag>``, no pull — with the anonymous (or credentialed)
token flow public registries use (a 401 with ``WWW-Authenticate: Bearer realm=…``).

References are read the way Docker reads them: ``nginx`` is
``registry-1.docker.io/library/nginx:latest``; a first part with a dot, a colon or
``localhost`` is a registry. Loopback registries are spoken to over plain HTTP (Docker
trusts them that way), every other one over HTTPS. Each failure is a ``RegistryError``
in words: unreachable, tag gone, rate-limited (with when to try again), refused."""

from __future__ import annotations

import asyncio
import base64
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import httpx

from ..domain.errors import WindFlowError

DOCKER_HUB = "registry-1.docker.io"
ACCEPT = ", ".join((
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
))
TIMEOUT = httpx.Timeout(10.0, connect=5.0)
Credentials = Callable[[str], Awaitable[tuple[str, str] | None]]


class RegistryError(WindFlowError):
    code = "REGISTRY_ERROR"


class RegistryUnreachableError(RegistryError):
    code = "REGISTRY_UNREACHABLE"


class TagGoneError(RegistryError):
    code = "TAG_GONE"


class RateLimitedError(RegistryError):
    code = "RATE_LIMITED"

    def __init__(self, message: str, retry_at: datetime | None = None) -> None:
        super().__init__(message)
        self.retry_at = retry_at


class RegistryAuthError(RegistryError):
    code = "REGISTRY_AUTH_REFUSED"


@dataclass(frozen=True)
class ImageRef:
    registry: str
    repository: str
    tag: str

    def __str__(self) -> str:
        return f"{self.registry}/{self.repository}:{self.tag}"


def parse_reference(reference: str) -> ImageRef | None:
    """The registry, repository and tag of ``reference``; None for a reference pinned by
    digest (``…@sha256:…``): nothing can move under it."""
    if "@" in reference:
        return None
    name, tag = reference, "latest"
    last = reference.rsplit("/", 1)[-1]
    if ":" in last:
        name, tag = reference.rsplit(":", 1)
    first, _, rest = name.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        registry, repository = first, rest
    else:
        registry, repository = DOCKER_HUB, name
    if registry in ("docker.io", "index.docker.io"):
        registry = DOCKER_HUB
    if registry == DOCKER_HUB and "/" not in repository:
        repository = f"library/{repository}"
    return ImageRef(registry, repository, tag)


def _loopback(registry: str) -> bool:
    host = registry.rsplit(":", 1)[0] if registry.count(":") == 1 else registry
    return host in ("localhost", "::1", "[::1]") or host.startswith("127.")


class RegistryClient:
    """``current_digest(ref)``; one client for a round of checks (tokens are reused for
    the repository they were given for)."""

    def __init__(self, credentials: Credentials | None = None,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._credentials = credentials
        self._http = httpx.AsyncClient(timeout=TIMEOUT, transport=transport,
                                       follow_redirects=True)
        self._tokens: dict[tuple[str, str], str] = {}
        self._open: set[tuple[str, str]] = set()  # repositories that need no token
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}

    async def close(self) -> None:
        await self._http.aclose()

    async def current_digest(self, ref: ImageRef) -> str:
        key = (ref.registry, ref.repository)
        if key in self._tokens or key in self._open:
            return await self._digest(ref)
        # The first request for a repository goes alone: the others of the same
        # repository wait for its token (one token per repository scope, not per tag).
        async with self._locks.setdefault(key, asyncio.Lock()):
            if key in self._tokens:
                return await self._digest(ref)
            digest = await self._digest(ref)
            if key not in self._tokens:
                self._open.add(key)  # answered without a token
            return digest

    async def _digest(self, ref: ImageRef) -> str:
        scheme = "http" if _loopback(ref.registry) else "https"
        url = f"{scheme}://{ref.registry}/v2/{ref.repository}/manifests/{ref.tag}"
        headers = {"Accept": ACCEPT}
        token = self._tokens.get((ref.registry, ref.repository))
        if token:
            headers["Authorization"] = token
        response = await self._head(url, headers, ref)
        if response.status_code == 401:
            auth = await self._authorize(ref, response.headers.get("www-authenticate", ""))
            headers["Authorization"] = auth
            response = await self._head(url, headers, ref)
            if response.status_code in (401, 403):
                raise RegistryAuthError(f"{ref.registry} refused to tell about {ref}: check "
                                        "the registry credentials in the secret store")
            self._tokens[(ref.registry, ref.repository)] = auth
        _raise_for(response, ref)
        digest = str(response.headers.get("docker-content-digest", ""))
        if not digest:
            raise RegistryError(f"{ref.registry} answered without a digest for {ref}")
        return digest

    async def _head(self, url: str, headers: dict[str, str], ref: ImageRef) -> httpx.Response:
        try:
            return await self._http.head(url, headers=headers)
        except httpx.TransportError as exc:
            raise RegistryUnreachableError(
                f"the registry {ref.registry} cannot be reached ({type(exc).__name__}: "
                f"{exc or 'no answer'}): check the address and the network") from exc

    async def _authorize(self, ref: ImageRef, challenge: str) -> str:
        """The ``Authorization`` value the challenge asks for: a bearer token from the
        realm (anonymous, or with the registry's credentials), or basic credentials."""
        scheme, _, params = challenge.partition(" ")
        found = dict(re.findall(r'(\w+)="([^"]*)"', params))
        login = await self._credentials(ref.registry) if self._credentials else None
        if scheme.lower() == "basic":
            if login is None:
                raise RegistryAuthError(f"{ref.registry} needs a login for {ref}: add the "
                                        "registry's credentials to the secret store")
            return _basic(*login)
        realm = found.get("realm")
        if scheme.lower() != "bearer" or not realm:
            raise RegistryAuthError(f"{ref.registry} asks for an unknown kind of sign-in "
                                    f"({scheme or 'none'}) for {ref}")
        query = {"service": found.get("service", ""),
                 "scope": found.get("scope", f"repository:{ref.repository}:pull")}
        try:
            answer = await self._http.get(realm, params=query,
                                          auth=httpx.BasicAuth(*login) if login else None)
        except httpx.TransportError as exc:
            raise RegistryUnreachableError(f"the token service of {ref.registry} cannot be "
                                           f"reached ({type(exc).__name__})") from exc
        if answer.status_code in (401, 403):
            raise RegistryAuthError(f"{ref.registry} refused a token for {ref}: check the "
                                    "registry credentials in the secret store")
        _raise_for(answer, ref)
        body = answer.json()
        token = body.get("token") or body.get("access_token")
        if not token:
            raise RegistryAuthError(f"{ref.registry} gave no token for {ref}")
        return f"Bearer {token}"


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def _raise_for(response: httpx.Response, ref: ImageRef) -> None:
    status = response.status_code
    if status < 400:
        return
    if status == 404:
        raise TagGoneError(f"{ref} is gone from {ref.registry}: the tag was deleted or "
                           "renamed")
    if status == 429:
        retry_at = _retry_at(response)
        when = (f"; try again after {retry_at.astimezone().strftime('%H:%M')}"
                if retry_at else "; try again later")
        raise RateLimitedError(f"{ref.registry} limits how often it is asked{when}",
                               retry_at)
    if status in (401, 403):
        raise RegistryAuthError(f"{ref.registry} refused to tell about {ref}")
    raise RegistryError(f"{ref.registry} answered HTTP {status} about {ref}")


def _retry_at(response: httpx.Response) -> datetime | None:
    value = response.headers.get("retry-after") or response.headers.get("ratelimit-reset")
    if not value:
        return None
    if value.strip().isdigit():
        return datetime.now(UTC) + timedelta(seconds=int(value))
    try:
        return parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
