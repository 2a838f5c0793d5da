"""The Docker Engine API for every target kind, through aiodocker.

``DockerApi(url, ssl_context=…)`` talks to one engine: ``unix://`` (the local socket, a
Podman socket, or the local end of an SSH-forwarded remote socket), ``https://`` (TCP with
TLS) or ``http://`` (plain TCP, only after an explicit "insecure" choice). Every request
has a timeout (``request_timeout_s``); streams (log follow, pull) have a connect timeout
and run until cancelled. aiodocker and aiohttp errors become ``WindFlowError``s with a
message for people. Results are plain dataclasses or dicts, safe to hand to the UI.

Why aiodocker: it is the maintained asyncio client of the Engine API (aio-libs), speaks
unix sockets, TCP+TLS and streams, and adds no thread pool (docker-py is blocking).
"""

from __future__ import annotations

import asyncio
import json
import re
import ssl
from collections.abc import AsyncGenerator, Awaitable, Callable
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self, TypeVar

from ..domain.containers import ContainerInfo, ContainerStats, ImageInfo
from ..domain.errors import NotFoundError, TargetUnreachableError
from .errors import DockerApiError, DockerUnavailableError, TlsError
from .lazy import lazy_import
from .lines import LineSplitter

if TYPE_CHECKING:
    import aiodocker
    import aiohttp
else:  # loaded when a Docker engine is first contacted (lazy.py)
    aiodocker = lazy_import("aiodocker")
    aiohttp = lazy_import("aiohttp")

T = TypeVar("T")
COMPOSE_PROJECT = "com.docker.compose.project"
COMPOSE_SERVICE = "com.docker.compose.service"


def tls_context(
    ca_file: str | None, cert_file: str | None = None, key_file: str | None = None
) -> ssl.SSLContext:
    """A client TLS context that verifies the engine against ``ca_file`` (the system
    CAs when empty) and presents the client certificate when given."""
    try:
        context = ssl.create_default_context(cafile=ca_file or None)
        if cert_file:
            context.load_cert_chain(cert_file, key_file or None)
    except FileNotFoundError as exc:
        raise TlsError(f"a TLS file is missing: {exc.filename}") from exc
    except ssl.SSLError as exc:
        raise TlsError(f"the TLS files could not be loaded: {exc.reason or exc}") from exc
    return context


class DockerApi:
    """One engine; use ``async with DockerApi(url) as api`` or call ``close()``."""

    def __init__(
        self,
        url: str,
        *,
        ssl_context: ssl.SSLContext | None = None,
        request_timeout_s: float = 15.0,
        connect_timeout_s: float = 10.0,
        label: str = "",
    ) -> None:
        self.url = url
        self.label = label or url
        self.request_timeout_s = request_timeout_s
        self.connect_timeout_s = connect_timeout_s
        timeout = aiohttp.ClientTimeout(
            total=request_timeout_s, connect=connect_timeout_s, sock_connect=connect_timeout_s
        )
        self._docker = aiodocker.Docker(url=url, ssl_context=ssl_context, timeout=timeout)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        await self._docker.close()

    def _timeout(self) -> aiohttp.ClientTimeout:
        return aiohttp.ClientTimeout(total=self.request_timeout_s,
                                     sock_connect=self.connect_timeout_s)

    async def _call(self, what: str, factory: Callable[[], Awaitable[T]]) -> T:
        try:
            async with asyncio.timeout(self.request_timeout_s):
                return await factory()
        except TimeoutError:
            raise TargetUnreachableError(
                f"the Docker engine of {self.label} did not answer within "
                f"{self.request_timeout_s:g} s ({what})"
            ) from None
        except Exception as exc:
            raise self.translate(exc, what) from exc

    def translate(self, exc: BaseException, what: str) -> Exception:
        """An aiodocker/aiohttp error as a ``WindFlowError`` that says what to fix."""
        cause = exc.__cause__ or exc.__context__
        if isinstance(exc, aiodocker.DockerError) and isinstance(
            cause, aiohttp.ClientError | OSError | ssl.SSLError
        ):
            return self.translate(cause, what)  # a transport failure wrapped by aiodocker
        if isinstance(exc, aiodocker.DockerError):
            message = str(exc.message or exc)
            if exc.status == 404:
                return NotFoundError(what, message)
            return DockerApiError(f"Docker refused to {what}: {message}", exc.status)
        if isinstance(exc, aiohttp.ClientConnectorCertificateError | ssl.SSLCertVerificationError):
            return TlsError(
                f"the TLS certificate of {self.label} is not trusted: check the CA file "
                f"(it must be the CA that signed the engine's certificate) — {exc}"
            )
        if isinstance(exc, aiohttp.ClientSSLError | ssl.SSLError):
            return TlsError(f"the TLS handshake with {self.label} failed: {exc}")
        if isinstance(exc, aiohttp.ClientConnectorError | FileNotFoundError |
                      ConnectionRefusedError | aiohttp.ServerDisconnectedError):
            # Over an SSH-forwarded socket a missing remote engine shows as a hang-up.
            if self.url.startswith("unix://"):
                return DockerUnavailableError(
                    f"no Docker engine answers at {self.label}: is Docker installed and "
                    "running, and may this user use its socket (docker group)?"
                )
            return TargetUnreachableError(
                f"could not connect to the Docker engine at {self.label}: {exc}"
            )
        if isinstance(exc, aiohttp.ClientError | OSError | ValueError):
            return DockerUnavailableError(f"the Docker engine of {self.label} failed: {exc}")
        return DockerApiError(f"Docker could not {what}: {exc}")

    # -- engine ------------------------------------------------------------------------

    async def version(self) -> dict[str, Any]:
        async def fetch() -> dict[str, Any]:
            return dict(await self._docker.version())

        return await self._call("report its version", fetch)

    async def info(self) -> dict[str, Any]:
        async def fetch() -> dict[str, Any]:
            return dict(await self._docker.system.info())

        return await self._call("report its info", fetch)

    async def ping(self) -> str:
        """The engine's version (a cheap round trip that proves it answers)."""
        return str((await self.version()).get("Version", ""))

    # -- containers ----------------------------------------------------------------------

    async def containers(self, *, all: bool = True) -> list[ContainerInfo]:
        async def fetch() -> list[ContainerInfo]:
            raw = await self._docker.containers.list(all=all)
            return [_container(c._container) for c in raw]

        return await self._call("list containers", fetch)

    async def inspect(self, container_id: str) -> dict[str, Any]:
        async def fetch() -> dict[str, Any]:
            container = await self._docker.containers.get(container_id)
            return dict(container._container)

        return await self._call(f"inspect container {container_id[:12]}", fetch)

    async def start(self, container_id: str) -> None:
        async def act() -> None:
            await self._docker.containers.container(container_id).start()

        await self._call(f"start container {container_id[:12]}", act)

    async def stop(self, container_id: str, *, grace_s: int = 10) -> None:
        async def act() -> None:
            await self._docker.containers.container(container_id).stop(t=grace_s)

        await self._call(f"stop container {container_id[:12]}", act)

    async def restart(self, container_id: str, *, grace_s: int = 10) -> None:
        async def act() -> None:
            await self._docker.containers.container(container_id).restart(t=grace_s)

        await self._call(f"restart container {container_id[:12]}", act)

    async def remove(self, container_id: str, *, force: bool = False,
                     volumes: bool = False) -> None:
        async def act() -> None:
            await self._docker.containers.container(container_id).delete(force=force, v=volumes)

        await self._call(f"remove container {container_id[:12]}", act)

    async def run_container(self, image: str, command: list[str], *, name: str | None = None,
                            labels: dict[str, str] | None = None) -> str:
        """Create and start a container (used by tests and quick actions); its id."""
        async def act() -> str:
            config: dict[str, Any] = {"Image": image, "Cmd": command, "Labels": labels or {},
                                      "HostConfig": {"NetworkMode": "none"}}
            container = await self._docker.containers.run(config=config, name=name)
            return str(container.id)

        return await self._call(f"run {image}", act)

    async def logs(self, container_id: str, *, tail: int = 200) -> list[str]:
        async def fetch() -> list[str]:
            chunks = await self._docker.containers.container(container_id).log(
                stdout=True, stderr=True, tail=tail, timeout=self._timeout()
            )
            splitter, lines = LineSplitter(), []
            for chunk in chunks:
                lines.extend(splitter.feed_text(chunk))
            last = splitter.finish()
            return [*lines, last] if last is not None else lines

        return await self._call(f"read the logs of {container_id[:12]}", fetch)

    async def follow_logs(self, container_id: str, *, tail: int = 100) -> AsyncGenerator[str, None]:
        """Lines of the container's output as they come, until cancelled or the
        container's output ends. (aiodocker's own follow leaves the HTTP response open
        when cancelled, so the response is closed here.)"""
        from aiodocker.multiplexed import multiplexed_result_stream

        info = await self.inspect(container_id)
        is_tty = bool((info.get("Config") or {}).get("Tty"))
        stream_timeout = aiohttp.ClientTimeout(
            total=None, sock_read=None, connect=self.connect_timeout_s,
            sock_connect=self.connect_timeout_s,
        )
        splitter = LineSplitter()
        try:
            query = self._docker._query(
                f"containers/{container_id}/logs", method="GET",
                params={"stdout": True, "stderr": True, "follow": True, "tail": tail},
                timeout=stream_timeout,
            )
            async with query as response:
                try:
                    async for chunk in multiplexed_result_stream(  # type: ignore[no-untyped-call]
                        response, is_tty=is_tty
                    ):
                        for line in splitter.feed_text(chunk):
                            yield line
                finally:
                    response.close()
        except (aiodocker.DockerError, aiohttp.ClientError, OSError) as exc:
            raise self.translate(exc, f"follow the logs of {container_id[:12]}") from exc
        last = splitter.finish()
        if last is not None:
            yield last

    async def stats(self, container_id: str) -> ContainerStats:
        async def fetch() -> ContainerStats:
            samples = await self._docker.containers.container(container_id).stats(
                stream=False, timeout=self._timeout()
            )
            return _stats(samples[0] if samples else {})

        return await self._call(f"read the stats of {container_id[:12]}", fetch)

    async def follow_stats(self, container_id: str) -> AsyncGenerator[ContainerStats, None]:
        """The engine's stats stream of one container (a sample a second), until
        cancelled or the engine ends it. The first sample, which has no previous one to
        take the CPU delta from, is skipped. The response is closed on the way out."""
        stream_timeout = aiohttp.ClientTimeout(
            total=None, sock_read=None, connect=self.connect_timeout_s,
            sock_connect=self.connect_timeout_s,
        )
        try:
            query = self._docker._query(
                f"containers/{container_id}/stats", method="GET",
                params={"stream": "1"}, timeout=stream_timeout,
            )
            async with query as response:
                try:
                    async for line in response.content:
                        if not line.strip():
                            continue
                        raw = json.loads(line)
                        if (raw.get("precpu_stats") or {}).get("system_cpu_usage"):
                            yield _stats(raw)
                finally:
                    response.close()
        except (aiodocker.DockerError, aiohttp.ClientError, OSError, ValueError) as exc:
            raise self.translate(exc, f"follow the stats of {container_id[:12]}") from exc

    def allow_streams(self, count: int) -> None:
        """Let this client hold ``count`` open streams besides its requests (aiohttp's
        pool holds 100 connections by default, and a stream keeps one)."""
        connector = self._docker.connector
        limit = getattr(connector, "_limit", 0)
        if limit and limit < count + 10:
            connector._limit = count + 10

    # -- images, volumes, networks ---------------------------------------------------------

    async def images(self) -> list[ImageInfo]:
        async def fetch() -> list[ImageInfo]:
            return [
                ImageInfo(
                    id=str(raw.get("Id", "")),
                    tags=tuple(raw.get("RepoTags") or ()),
                    size_bytes=int(raw.get("Size") or 0),
                    created=_ts(raw.get("Created")),
                )
                for raw in await self._docker.images.list()
            ]

        return await self._call("list images", fetch)

    async def pull(self, reference: str, *, timeout_s: float = 600.0) -> list[str]:
        """Pull an image; the progress statuses. Has its own, longer timeout."""
        async def act() -> list[str]:
            # The request itself has no deadline; the asyncio.timeout below bounds it.
            out = await self._docker.images.pull(reference, timeout=None)
            return [str(item.get("status", "")) for item in out if isinstance(item, dict)]

        try:
            async with asyncio.timeout(timeout_s):
                return await act()
        except TimeoutError:
            raise TargetUnreachableError(
                f"pulling {reference} on {self.label} took longer than {timeout_s:g} s"
            ) from None
        except Exception as exc:
            raise self.translate(exc, f"pull {reference}") from exc

    async def remove_image(self, reference: str, *, force: bool = False) -> None:
        async def act() -> None:
            await self._docker.images.delete(reference, force=force)

        await self._call(f"remove image {reference}", act)

    async def tag_image(self, source: str, reference: str) -> None:
        """Point ``reference`` (``repo:tag``) at the image ``source`` (an id, a tag or a
        ``repo@sha256:…`` digest it has)."""
        repo, _, tag = reference.rpartition(":")
        if not repo or "/" in tag:
            repo, tag = reference, "latest"

        async def act() -> None:
            await self._docker.images.tag(source, repo, tag=tag)

        await self._call(f"tag image {reference}", act)

    async def disk_usage(self) -> dict[str, Any]:
        """The engine's ``/system/df``: images (with shared sizes), containers (with
        mounts and networks), volumes (with sizes where the driver reports them)."""
        async def fetch() -> dict[str, Any]:
            return dict(await self._docker._query_json("system/df"))

        return await self._call("report its disk usage", fetch)

    async def image_tags(self, reference: str) -> tuple[str, ...]:
        """The image's tags (``repo:tag``), as the engine has them now."""
        async def fetch() -> tuple[str, ...]:
            raw = await self._docker.images.inspect(reference)
            return tuple(str(t) for t in raw.get("RepoTags") or () if t and t != "<none>:<none>")

        return await self._call(f"inspect image {reference[:19]}", fetch)

    async def repo_digests(self, reference: str) -> tuple[str, ...]:
        """The digests the registry gave the image when it was pulled or pushed
        (``repo@sha256:…``); none for an image built here and never pushed."""
        async def fetch() -> tuple[str, ...]:
            raw = await self._docker.images.inspect(reference)
            return tuple(str(d) for d in raw.get("RepoDigests") or () if d)

        return await self._call(f"inspect image {reference[:40]}", fetch)

    async def remove_volume(self, name: str) -> None:
        async def act() -> None:
            from aiodocker.volumes import DockerVolume

            await DockerVolume(self._docker, name).delete()  # type: ignore[no-untyped-call]

        await self._call(f"remove volume {name}", act)

    async def remove_network(self, name_or_id: str) -> None:
        async def act() -> None:
            from aiodocker.networks import DockerNetwork

            network = DockerNetwork(self._docker, name_or_id)  # type: ignore[no-untyped-call]
            await network.delete()

        await self._call(f"remove network {name_or_id}", act)

    async def volumes(self) -> list[dict[str, Any]]:
        async def fetch() -> list[dict[str, Any]]:
            raw = await self._docker.volumes.list()  # type: ignore[no-untyped-call]
            return [dict(v) for v in raw.get("Volumes") or []]

        return await self._call("list volumes", fetch)

    async def networks(self) -> list[dict[str, Any]]:
        async def fetch() -> list[dict[str, Any]]:
            return [dict(n) for n in await self._docker.networks.list()]

        return await self._call("list networks", fetch)


def local_docker_candidates(environ: dict[str, str]) -> list[str]:
    """Where this machine's engine may be, in order: ``DOCKER_HOST``, the Docker socket,
    the user's and the system's Podman sockets."""
    found = []
    if environ.get("DOCKER_HOST"):
        found.append(environ["DOCKER_HOST"])
    runtime = environ.get("XDG_RUNTIME_DIR")
    paths = ["/var/run/docker.sock", "/run/docker.sock"]
    if runtime:
        paths.append(f"{runtime}/podman/podman.sock")
        paths.append(f"{runtime}/docker.sock")
    paths.append("/run/podman/podman.sock")
    for path in paths:
        if Path(path).is_socket():
            found.append(f"unix://{path}")
    return found


def as_url(socket_or_url: str) -> str:
    if "://" in socket_or_url:
        return socket_or_url
    return f"unix://{socket_or_url}"


def _container(raw: dict[str, Any]) -> ContainerInfo:
    labels = dict(raw.get("Labels") or {})
    names = raw.get("Names") or [raw.get("Id", "")[:12]]
    ports = []
    for port in raw.get("Ports") or []:
        if port.get("PublicPort"):
            ports.append(f"{port.get('IP', '')}:{port['PublicPort']}->{port.get('PrivatePort')}"
                         f"/{port.get('Type', 'tcp')}")
        elif port.get("PrivatePort"):
            ports.append(f"{port['PrivatePort']}/{port.get('Type', 'tcp')}")
    return ContainerInfo(
        id=str(raw.get("Id", "")),
        name=str(names[0]).lstrip("/"),
        image=str(raw.get("Image", "")),
        state=str(raw.get("State", "")),
        status=str(raw.get("Status", "")),
        created=_ts(raw.get("Created")),
        project=labels.get(COMPOSE_PROJECT, ""),
        service=labels.get(COMPOSE_SERVICE, ""),
        ports=tuple(ports),
        labels=labels,
        image_id=str(raw.get("ImageID", "")),
    )


def _ts(value: Any) -> datetime | None:
    from datetime import UTC

    if isinstance(value, int | float) and value > 0:
        return datetime.fromtimestamp(value, UTC)
    return None


def _stats(raw: dict[str, Any]) -> ContainerStats:
    """A stats sample as ``docker stats`` shows it: CPU % = the container's CPU time
    delta over the host's, times the online cores, times 100 (``precpu_stats`` is the
    previous sample's, so each sample of a stream carries its own delta); memory without
    the inactive page cache (cgroup v2 ``inactive_file``, v1 ``total_inactive_file``)."""
    cpu, pre = raw.get("cpu_stats") or {}, raw.get("precpu_stats") or {}
    delta = (cpu.get("cpu_usage", {}).get("total_usage", 0)
             - pre.get("cpu_usage", {}).get("total_usage", 0))
    system = (cpu.get("system_cpu_usage") or 0) - (pre.get("system_cpu_usage") or 0)
    cpus = cpu.get("online_cpus") or len(cpu.get("cpu_usage", {}).get("percpu_usage") or []) or 1
    percent = (delta / system) * cpus * 100.0 if system > 0 and delta > 0 else 0.0
    memory = raw.get("memory_stats") or {}
    detail = memory.get("stats") or {}
    cache = detail.get("inactive_file", detail.get("total_inactive_file", 0)) or 0
    usage = int(memory.get("usage", 0) or 0)
    used = usage - int(cache) if int(cache) < usage else usage
    rx = tx = 0
    for net in (raw.get("networks") or {}).values():
        rx += int(net.get("rx_bytes", 0))
        tx += int(net.get("tx_bytes", 0))
    read = written = 0
    for entry in (raw.get("blkio_stats") or {}).get("io_service_bytes_recursive") or ():
        op = str(entry.get("op", "")).lower()
        if op == "read":
            read += int(entry.get("value", 0))
        elif op == "write":
            written += int(entry.get("value", 0))
    return ContainerStats(
        cpu_percent=round(percent, 2),
        memory_bytes=used,
        memory_limit_bytes=int(memory.get("limit", 0) or 0),
        network_rx_bytes=rx,
        network_tx_bytes=tx,
        block_read_bytes=read,
        block_write_bytes=written,
        online_cpus=int(cpus),
        read_at=_engine_time(raw.get("read")),
    )


def _engine_time(value: Any) -> float:
    """The engine's RFC 3339 time (nanoseconds, ``Z``) in seconds since the epoch; 0.0
    when absent or the zero time."""
    match = _RFC3339.match(value) if isinstance(value, str) else None
    if match is None or value.startswith("0001-"):
        return 0.0
    whole, fraction, zone = match.groups()
    try:
        stamp = datetime.fromisoformat(whole + ("+00:00" if zone in (None, "Z") else zone))
    except ValueError:
        return 0.0
    return stamp.timestamp() + (float(fraction) if fraction else 0.0)


_RFC3339 = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)?$")
