"""The step-by-step connection test: name resolution, TCP connect, TLS or SSH handshake
and authentication, Docker API reachable — each step timed, each failure explained.

``check_connection`` stops at the first failed step (the ones after it are ``skipped``)
and reports the status the target should get. Every step has a timeout.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
from collections.abc import Awaitable, Callable

from ..domain.enums import TargetKind, TargetStatus
from ..domain.errors import TargetUnreachableError, WindFlowError
from ..domain.models import Target
from ..domain.targets import FAILED, OK, SKIPPED, ConnectionReport, StepResult
from .docker_api import tls_context
from .errors import TlsError, status_for
from .pool import DEFAULT_PLAIN_PORT, DEFAULT_TLS_PORT, ExecutorPool, _opt
from .ssh import SshTarget

StepCallback = Callable[[StepResult], None]

_TITLES = {
    "resolve": "Resolve the host name",
    "tcp": "Connect (TCP)",
    "ssh": "SSH handshake and sign-in",
    "tls": "TLS handshake",
    "engine": "Find the local engine",
    "docker": "Docker API reachable",
}


def steps_for(kind: TargetKind, insecure: bool = False) -> list[str]:
    if kind is TargetKind.SSH:
        return ["resolve", "tcp", "ssh", "docker"]
    if kind is TargetKind.DOCKER_TCP:
        return ["resolve", "tcp", "docker"] if insecure else ["resolve", "tcp", "tls", "docker"]
    return ["engine", "docker"]


async def check_connection(
    pool: ExecutorPool,
    target: Target,
    *,
    ssh: SshTarget | None = None,
    on_step: StepCallback | None = None,
) -> ConnectionReport:
    """Run the steps for ``target``; ``ssh`` is the connection to use (the pooled one by
    default, or an ephemeral one for a draft)."""
    timeout = pool.settings.connect_timeout_s
    insecure = bool(target.tls.get("insecure"))
    keys = steps_for(target.kind, insecure)
    results: list[StepResult] = []
    version = ""
    port = target.port or (
        22 if target.kind is TargetKind.SSH
        else DEFAULT_PLAIN_PORT if insecure else DEFAULT_TLS_PORT
    )
    addresses: list[str] = []

    async def resolve() -> str:
        infos = await asyncio.wait_for(
            asyncio.get_running_loop().getaddrinfo(target.host, port, type=socket.SOCK_STREAM),
            timeout,
        )
        addresses[:] = sorted({str(info[4][0]) for info in infos})
        return ", ".join(addresses)

    async def tcp() -> str:
        _, writer = await asyncio.wait_for(asyncio.open_connection(target.host, port), timeout)
        writer.close()
        return f"port {port} is open"

    async def tls() -> str:
        context = await asyncio.to_thread(
            tls_context, _opt(target, "ca_file"), _opt(target, "cert_file"),
            _opt(target, "key_file"),
        )
        _, writer = await asyncio.wait_for(
            asyncio.open_connection(target.host, port, ssl=context,
                                    server_hostname=target.host), timeout,
        )
        cipher = writer.get_extra_info("cipher")
        writer.close()
        return f"verified ({cipher[1] if cipher else 'TLS'})"

    paused = [0.0]  # the current step's seconds in the host-key question (not its time)

    async def ssh_step() -> str:
        conn = ssh or await pool.ssh(target)
        before = conn.asked_s
        try:
            await conn.connection()
        finally:
            paused[0] = conn.asked_s - before
        return f"signed in as {target.username or 'default user'}"

    async def engine() -> str:
        return pool.local_docker_url(target)

    async def docker() -> str:
        nonlocal version
        async with pool.docker(target, ssh=ssh) as api:
            info = await api.version()
        version = str(info.get("Version", ""))
        return f"engine {version} (API {info.get('ApiVersion', '?')}, {info.get('Os', '')}/" \
               f"{info.get('Arch', '')})"

    actions: dict[str, Callable[[], Awaitable[str]]] = {
        "resolve": resolve, "tcp": tcp, "tls": tls, "ssh": ssh_step,
        "engine": engine, "docker": docker,
    }
    status = TargetStatus.ONLINE
    failed = False
    for key in keys:
        if failed:
            step = StepResult(key, _TITLES[key], SKIPPED)
        else:
            started = time.perf_counter()
            paused[0] = 0.0
            try:
                message = await actions[key]()
                step = StepResult(key, _TITLES[key], OK, _ms(started, paused[0]), message)
            except Exception as exc:
                error = explain(key, exc, target, port, timeout)
                step = StepResult(key, _TITLES[key], FAILED, _ms(started, paused[0]),
                                  error.message, error.code)
                status = status_for(error)
                failed = True
        results.append(step)
        if on_step is not None:
            on_step(step)
    return ConnectionReport(tuple(results), status, version)


def explain(key: str, exc: BaseException, target: Target, port: int,
            timeout: float) -> WindFlowError:
    """The error of a failed step as a ``WindFlowError`` that says what to fix."""
    if isinstance(exc, WindFlowError):
        return exc
    where = f"{target.host}:{port}"
    if isinstance(exc, TimeoutError):
        return TargetUnreachableError(
            f"{where} did not answer within {timeout:g} s: check that the host is up and "
            "that no firewall drops the connection"
        )
    if isinstance(exc, socket.gaierror):
        return TargetUnreachableError(
            f"the host name {target.host!r} could not be resolved: check its spelling or "
            "your DNS"
        )
    if isinstance(exc, ConnectionRefusedError):
        service = "sshd" if target.kind is TargetKind.SSH else "the Docker engine"
        return TargetUnreachableError(f"{where} refused the connection: is {service} "
                                      f"listening on port {port}?")
    if isinstance(exc, ssl.SSLCertVerificationError):
        return TlsError(
            f"the engine's certificate is not trusted by the CA file: choose the CA that "
            f"signed it ({exc.verify_message})"
        )
    if isinstance(exc, ssl.SSLError):
        return TlsError(f"the TLS handshake with {where} failed: {exc.reason or exc} — "
                        "check the client certificate and key")
    if isinstance(exc, OSError):
        return TargetUnreachableError(f"could not reach {where}: {exc.strerror or exc}")
    return TargetUnreachableError(f"{_TITLES.get(key, key)} failed: {exc}")


def _ms(started: float, paused_s: float = 0.0) -> float:
    return round(max(time.perf_counter() - started - paused_s, 0.0) * 1000, 1)
