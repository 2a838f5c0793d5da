"""Runs Docker Compose (v2 ``docker compose`` or v1 ``docker-compose``) on a target
through its ``Executor``: probe, stage files, ``config``, pull missing images with
progress, ``up -d --remove-orphans``, container states, ``stop``/``start``/``down``.

Files live in a per-project folder on the target (``<root>/<project>``, mode 0700):
``compose.yaml`` and ``.env`` (mode 0600, the variables — Compose interpolates them).
Which names a project may have and which folder holds its files: ``project_names``.
Staging refuses a projects folder that is not the user's own or that the group or others
may write to (another account could swap files between ``config`` and ``up``).

Compose runs with ``env -i`` and only the variables it needs to reach the engine
(``COMPOSE_ENV``): a variable of the desktop's or the login's environment can neither
fill ``${ANY:-}`` nor override a value of the ``.env`` file.
A new revision is first written as ``compose.next.yaml``/``.env.next`` and checked with
``compose config``; only ``promote()`` puts it in place, right before ``up``, so a
revision that fails validation changes nothing on the target.
"""

from __future__ import annotations

import asyncio
import json
import shlex
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..domain.compose import Issue
from ..domain.errors import DeploymentError, ValidationError, WindFlowError
from .compose_model import normalize_image, parse_model
from .container_state import ContainerState, container_state, epoch_seconds
from .executor import CommandResult, Executor, LineCallback
from .project_names import (
    adopted_folder,
    check_project_name,
    check_root,
    check_running_name,
    is_adopted_name,
)

ProgressCallback = Callable[[int, int, str], None]
"""(done, total, image) while pulling."""

COMPOSE_FILE = "compose.yaml"
ENV_FILE = ".env"
NEXT_SUFFIX = ".next"
# What Compose keeps of its environment (the rest is cleared with ``env -i``).
COMPOSE_ENV = ("PATH", "HOME", "DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_CONFIG",
               "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH", "DOCKER_API_VERSION")
_UNSAFE_FOLDER = 3  # exit code of the staging command for a folder others may change


@dataclass(frozen=True)
class TargetFacts:
    """What preflight needs to know about a target (from one probe command)."""

    compose: str | None  # "v2" | "v1" | None
    compose_version: str
    home: str
    disk_free_mb: int | None
    memory_available_mb: int | None
    listening: frozenset[tuple[str, int]]  # (proto, port) listening on any address


_PROBE_HOME = r"""
echo "##home"; printf '%s\n' "$HOME"
"""
_PROBE_COMPOSE = r"""
echo "##compose"
if v=$(docker compose version --short 2>/dev/null); then echo "v2 $v";
elif v=$(docker-compose version --short 2>/dev/null); then echo "v1 $v"; fi
"""
_PROBE_HOST = r"""
echo "##df"; df -Pk "$HOME" 2>/dev/null | tail -n 1
echo "##mem"; grep MemAvailable /proc/meminfo 2>/dev/null
echo "##tcp"; cat /proc/net/tcp /proc/net/tcp6 2>/dev/null
echo "##udp"; cat /proc/net/udp /proc/net/udp6 2>/dev/null
"""


@dataclass(frozen=True)
class TargetPlace:
    """Where a deployment goes on a target: its Compose (flavour, version) and home."""

    compose: str | None  # "v2" | "v1" | None
    compose_version: str
    home: str


@dataclass(frozen=True)
class HostFacts:
    disk_free_mb: int | None
    memory_available_mb: int | None
    listening: frozenset[tuple[str, int]]  # (proto, port) listening on any address


async def locate(executor: Executor, *, limit_s: float = 30,
                 known_compose: tuple[str | None, str] | None = None) -> TargetPlace:
    """The target's home and Compose, in one command. ``known_compose`` gives the flavour
    and version already known (a fresh scan): the Compose check, which starts the Compose
    binary and is most of this command's time, is then skipped."""
    script = _PROBE_HOME + ("" if known_compose is not None else _PROBE_COMPOSE)
    sections = _sections((await executor.run(script, timeout=limit_s)).stdout)
    compose, version = known_compose if known_compose is not None else (None, "")
    for line in sections.get("compose", []):
        flavour, _, version = line.partition(" ")
        compose = flavour if flavour in ("v2", "v1") else None
    home = (sections.get("home") or [""])[0].strip()
    return TargetPlace(compose, version.strip(), home)


async def probe_host(executor: Executor, *, limit_s: float = 30) -> HostFacts:
    """Free disk (in the home folder), available memory and listening ports, read live."""
    sections = _sections((await executor.run(_PROBE_HOST, timeout=limit_s)).stdout)
    disk = None
    for line in sections.get("df", []):
        parts = line.split()
        if len(parts) >= 4 and parts[3].isdigit():
            disk = int(parts[3]) // 1024
    memory = None
    for line in sections.get("mem", []):
        parts = line.split()
        if len(parts) >= 2 and parts[1].isdigit():
            memory = int(parts[1]) // 1024
    listening = {("tcp", p) for p in _proc_net_ports(sections.get("tcp", []), "0A")}
    listening |= {("udp", p) for p in _proc_net_ports(sections.get("udp", []), "07")}
    return HostFacts(disk, memory, frozenset(listening))


def facts_of(place: TargetPlace, host: HostFacts) -> TargetFacts:
    return TargetFacts(place.compose, place.compose_version, place.home, host.disk_free_mb,
                       host.memory_available_mb, host.listening)


def _sections(stdout: str) -> dict[str, list[str]]:
    sections: dict[str, list[str]] = {}
    current = ""
    for line in stdout.splitlines():
        if line.startswith("##"):
            current = line[2:]
            sections[current] = []
        elif current:
            sections[current].append(line)
    return sections


def _proc_net_ports(lines: Sequence[str], state: str) -> set[int]:
    ports: set[int] = set()
    for line in lines:
        parts = line.split()
        if len(parts) > 3 and ":" in parts[1] and parts[3] == state:
            try:
                ports.add(int(parts[1].rsplit(":", 1)[1], 16))
            except ValueError:
                continue
    return ports


def env_file_text(values: Mapping[str, str]) -> str:
    """The ``.env`` text; values are single-quoted (literal for Compose v2 and v1)."""
    lines = []
    for name, value in sorted(values.items()):
        if "'" in value or "\n" in value or "\r" in value or "\\" in value:
            raise ValidationError(
                f"the value of {name} contains a quote, a backslash or a line break, which "
                "Compose's .env files cannot carry the same way in v1 and v2", field=name)
        lines.append(f"{name}='{value}'")
    return "\n".join(lines) + ("\n" if lines else "")


def reserved_variables(names: Iterable[str]) -> list[Issue]:
    """Stack variables Compose would not take from the ``.env`` file as given: the ones
    of its own environment (``COMPOSE_ENV``) and its settings (``DOCKER_*``,
    ``COMPOSE_*``, which could point it at another engine or other files)."""
    return [Issue("error", f"the variable {name} is reserved for Docker and Compose "
                           "themselves: give it another name", 0, 0)
            for name in names
            if name in COMPOSE_ENV or name.upper().startswith(("DOCKER_", "COMPOSE_"))]


def compose_env_prefix() -> str:
    """``env -i`` keeping only ``COMPOSE_ENV`` (those that are set) — POSIX sh."""
    kept = " ".join(f'${{{name}+"{name}=${name}"}}' for name in COMPOSE_ENV)
    return f"env -i {kept}"


# Where the docker CLI looks for its plugins, in its order (the user's folder first).
_PLUGIN_DIRS = ('"${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins"',
                "/usr/local/lib/docker/cli-plugins", "/usr/local/libexec/docker/cli-plugins",
                "/usr/lib/docker/cli-plugins", "/usr/libexec/docker/cli-plugins")
# Shell: ``$dc`` is the Compose v2 plugin ``docker compose`` would run, or empty when it
# is not in those folders or the docker config names other plugin folders.
_FIND_PLUGIN = (
    'dc=; grep -qs cliPluginsExtraDirs "${DOCKER_CONFIG:-$HOME/.docker}/config.json" || '
    f'for d in {" ".join(_PLUGIN_DIRS)}; do '
    '[ -x "$d/docker-compose" ] && dc="$d/docker-compose" && break; done')


def compose_v2_command(args: Sequence[str]) -> str:
    """Shell: Compose v2 with ``args`` under the cleared environment, calling the plugin
    binary itself when it is found (the way Compose runs standalone): ``docker compose``
    starts the docker CLI first, which only looks the plugin up and starts it — ≈35 ms
    more on every command. Anything unusual falls back to ``docker compose``."""
    env, rest = compose_env_prefix(), shlex.join(args)
    return (f'{_FIND_PLUGIN}; if [ -n "$dc" ]; then {env} "$dc" {rest}; '
            f'else {env} docker compose {rest}; fi')


class ComposeProject:
    """One Compose project on one target: ``project`` right under ``root`` (or in
    ``folder`` under it: a scratch copy that runs under the project's name).

    ``guarded`` are the folders (besides ``root`` and the project's own) that must belong
    to the user and not be writable by group or others before anything is staged (the
    default root's ``~/.windflow``)."""

    def __init__(
        self,
        executor: Executor,
        project: str,
        root: str,
        *,
        flavour: str = "v2",
        command_timeout: float = 600,
        guarded: Sequence[str] = (),
        folder: str | None = None,
    ) -> None:
        if flavour not in ("v2", "v1"):
            raise ValueError(f"unknown Compose flavour {flavour!r}")
        self.executor = executor
        self.project = check_running_name(project)
        self.root = check_root(root)
        if folder is None:
            folder = adopted_folder(project) if is_adopted_name(project) else project
        self.directory = f"{self.root}/{check_project_name(folder)}"
        self.guarded = tuple(check_root(g) for g in guarded)
        self.flavour = flavour
        self.timeout = command_timeout

    # -- files ----------------------------------------------------------------------------

    def path(self, name: str) -> str:
        return f"{self.directory}/{name}"

    def _compose(self, *args: str, staged: bool = False) -> str:
        """A Compose command line with a cleared environment (see ``COMPOSE_ENV``)."""
        suffix = NEXT_SUFFIX if staged else ""
        full = ["-p", self.project, "--project-directory", self.directory,
                "-f", self.path(COMPOSE_FILE + suffix), "--env-file",
                self.path(ENV_FILE + suffix), *args]
        if self.flavour == "v2":
            return compose_v2_command(full)
        return f"{compose_env_prefix()} {shlex.join(['docker-compose', *full])}"

    async def _run(self, command: str | Sequence[str], on_line: LineCallback | None = None,
                   limit_s: float | None = None) -> CommandResult:
        argv = command if isinstance(command, str) else list(command)
        return await self.executor.run(argv, on_line=on_line, timeout=limit_s or self.timeout)

    def _folders_check(self) -> str:
        """Shell: exit ``_UNSAFE_FOLDER`` when a guarded folder that exists is not the
        user's own or is writable by group or others (one ``find`` for all of them;
        ``-H``: a symlinked folder is judged by what it points to)."""
        folders = " ".join(q(f) for f in (*self.guarded, self.root, self.directory))
        writable = r'\( -perm -020 -o -perm -002 \)'
        return (f'{{ set --; for d in {folders}; do [ -d "$d" ] && set -- "$@" "$d"; done; '
                f'bad=; [ $# -eq 0 ] || bad=$(find -H "$@" -prune {writable} -print 2>&1) '
                f'|| {{ echo "could not check the folders $*: $bad" >&2; '
                f'exit {_UNSAFE_FOLDER}; }}; '
                f'for d in "$@"; do [ -O "$d" ] || bad="$d"; done; '
                f'[ -z "$bad" ] || {{ echo "the folder $(echo "$bad" | head -n 1) must belong '
                f'to $(id -un 2>/dev/null || echo this user) and must not be writable by its '
                f'group or others: WindFlow refuses to keep deployment files there (chmod '
                f'go-w, or chown it)" >&2; exit {_UNSAFE_FOLDER}; }}; }}')

    async def stage(self, compose_yaml: str, values: Mapping[str, str]) -> None:
        """Write the revision as the ``.next`` files (nothing running changes).

        Files go through the command's stdin with ``umask 077`` (owner-only from the
        first byte), which needs no SFTP subsystem on the target."""
        env_text = env_file_text(values)
        # The check first: a refused folder gets nothing, not even the project's folder.
        mkdir = (f"{self._folders_check()} && mkdir -p {q(self.directory)} && "
                 f"chmod 700 {q(self.directory)}")

        async def write(name: str, text: str) -> None:
            path = self.path(name + NEXT_SUFFIX)
            done = await self.executor.run(f"umask 077 && {mkdir} && cat > {q(path)}",
                                           stdin=text.encode(), timeout=60)
            if done.exit_code == _UNSAFE_FOLDER:
                raise DeploymentError(f"{self.executor.label}: {_tail(done.stderr, 1)}")
            if not done.ok:
                raise DeploymentError(f"could not write {path} on {self.executor.label}: "
                                      f"{_tail(done.stderr)}")

        await asyncio.gather(write(COMPOSE_FILE, compose_yaml), write(ENV_FILE, env_text))

    def _promote_command(self) -> str:
        return (f"mv -f {q(self.path(COMPOSE_FILE + NEXT_SUFFIX))} {q(self.path(COMPOSE_FILE))}"
                f" && mv -f {q(self.path(ENV_FILE + NEXT_SUFFIX))} {q(self.path(ENV_FILE))}")

    async def promote(self) -> None:
        """Put the staged files in place (the step right before ``up``)."""
        done = await self.executor.run(self._promote_command(), timeout=30)
        if not done.ok:
            raise DeploymentError(f"could not put the files in place: {done.stderr.strip()}")

    async def discard_staged(self) -> None:
        await self.executor.run(
            f"rm -f {q(self.path(COMPOSE_FILE + NEXT_SUFFIX))} "
            f"{q(self.path(ENV_FILE + NEXT_SUFFIX))}", timeout=30)

    async def has_files(self) -> bool:
        done = await self.executor.run(f"test -f {q(self.path(COMPOSE_FILE))}", timeout=30)
        return done.ok

    async def remove_files(self) -> None:
        await self.executor.run(["rm", "-rf", self.directory], timeout=60)

    # -- compose --------------------------------------------------------------------------

    async def config(self, *, staged: bool = False,
                     on_line: LineCallback | None = None) -> dict[str, Any]:
        """``compose config`` where the deployment runs: the fully interpolated model."""
        done = await self._run(self._compose("config", staged=staged), None, 60)
        if on_line is not None:
            for line in done.stderr.splitlines():
                on_line("stderr", line)
        if not done.ok:
            raise DeploymentError(
                f"compose config failed on {self.executor.label}: "
                f"{_tail(done.stderr or done.stdout)}")
        # A big model takes PyYAML a while: parse it off the event loop (the Qt thread).
        return await asyncio.to_thread(parse_model, done.stdout)

    async def config_text(self, *, staged: bool = False) -> str:
        done = await self._run(self._compose("config", staged=staged), None, 60)
        if not done.ok:
            raise DeploymentError(f"compose config failed: {_tail(done.stderr or done.stdout)}")
        return done.stdout

    async def present_images(self) -> set[str]:
        done = await self._run(
            ["docker", "images", "--format", "{{.Repository}}:{{.Tag}}"], None, 60)
        if not done.ok:
            raise DeploymentError(f"the Docker engine on {self.executor.label} does not "
                                  f"answer: {_tail(done.stderr)}")
        return {line.strip() for line in done.stdout.splitlines() if line.strip()}

    async def pull(
        self,
        images: Sequence[str],
        *,
        on_line: LineCallback | None = None,
        on_progress: ProgressCallback | None = None,
        should_stop: Callable[[], bool] | None = None,
        present: set[str] | None = None,
        always: bool = False,
    ) -> list[str]:
        """Pull the images not present on the target (``always``: every one, a newer
        image may stand behind the same tag), one by one; returns those pulled."""
        if always:
            missing = list(dict.fromkeys(images))
        else:
            if present is None:
                present = await self.present_images()
            missing = [i for i in dict.fromkeys(images) if normalize_image(i) not in present]
            if missing:  # a digest or a docker.io/ name is not in that list as written
                missing = await self._absent(missing)
        total = len(images)
        done_count = total - len(missing)
        for image in images:
            if image not in missing and on_line is not None:
                on_line("stdout", f"{image}: present, not pulled")
        if on_progress is not None:
            on_progress(done_count, total, "")
        pulled: list[str] = []
        for image in missing:
            if should_stop is not None and should_stop():
                break
            result = await self._run(["docker", "pull", image], on_line)
            if not result.ok:
                raise DeploymentError(f"pulling {image} failed: "
                                      f"{pull_problem(image, result.stderr, self.executor.label)}")
            pulled.append(image)
            done_count += 1
            if on_progress is not None:
                on_progress(done_count, total, image)
        return pulled

    async def _absent(self, images: Sequence[str]) -> list[str]:
        """Those of ``images`` the engine does not have, asked by reference (the engine
        resolves digests and ``docker.io/library/`` names) one after the other in one
        command. When the engine cannot be asked, all of them (pulling will tell)."""
        names = " ".join(q(i) for i in images)
        script = (f'for i in {names}; do docker image inspect "$i" >/dev/null 2>&1 '
                  f'&& echo "$i"; done; true')
        try:
            done = await self.executor.run(script, timeout=60)
        except WindFlowError:
            return list(images)
        found = {line.strip() for line in done.stdout.splitlines()}
        return [i for i in images if i not in found]

    async def up(self, on_line: LineCallback | None = None, *, promote: bool = False) -> None:
        """``up -d --remove-orphans``; with ``promote``, the staged files are put in place
        first in the same command (one round trip less; ``up`` runs only if both moved)."""
        command = self._compose("up", "-d", "--remove-orphans")
        if promote:
            command = f"{self._promote_command()} && {command}"
        done = await self.executor.run(command, on_line=on_line, timeout=self.timeout)
        if not done.ok:
            raise DeploymentError(f"compose up failed: {_tail(done.stderr or done.stdout)}")

    async def stop(self, on_line: LineCallback | None = None) -> None:
        await self._checked(self._compose("stop"), on_line, "stop")

    async def start(self, on_line: LineCallback | None = None) -> None:
        await self._checked(self._compose("start"), on_line, "start")

    async def down(self, *, volumes: bool = False, on_line: LineCallback | None = None) -> None:
        args = ["down", "--remove-orphans", *(["--volumes"] if volumes else [])]
        if await self.has_files():
            await self._checked(self._compose(*args), on_line, "down")
        else:  # the folder is gone: remove by label (what compose down would find)
            await self._down_by_label(volumes, on_line)

    async def _down_by_label(self, volumes: bool, on_line: LineCallback | None) -> None:
        label = shlex.quote(f"label=com.docker.compose.project={self.project}")
        script = (f"ids=$(docker ps -aq --filter {label}); "
                  f"[ -z \"$ids\" ] || docker rm -f $ids; "
                  f"nets=$(docker network ls -q --filter {label}); "
                  f"[ -z \"$nets\" ] || docker network rm $nets")
        if volumes:
            script += (f"; vols=$(docker volume ls -q --filter {label}); "
                       f"[ -z \"$vols\" ] || docker volume rm $vols")
        await self.executor.run(script, on_line=on_line, timeout=self.timeout)

    async def _checked(self, command: str, on_line: LineCallback | None,
                       what: str) -> None:
        done = await self._run(command, on_line)
        if not done.ok:
            raise DeploymentError(f"compose {what} failed: {_tail(done.stderr or done.stdout)}")

    async def ps(self) -> list[ContainerState]:
        """Every container of the project (running or not), from ``docker inspect``, each
        with its uptime by the target's clock (read first, in the same command)."""
        label = shlex.quote(f"label=com.docker.compose.project={self.project}")
        script = (f"date +%s.%N 2>/dev/null || echo; "
                  f"ids=$(docker ps -aq --filter {label}) || exit 3; "
                  f"[ -z \"$ids\" ] && echo '[]' || docker inspect $ids")
        done = await self.executor.run(script, timeout=60)
        if not done.ok:
            raise DeploymentError(f"could not list the containers of {self.project}: "
                                  f"{_tail(done.stderr)}")
        clock, _, rest = done.stdout.partition("\n")
        now = epoch_seconds(clock)
        return [container_state(raw, now) for raw in json.loads(rest or "[]")]

    async def logs_tail(self, container: str, lines: int = 20) -> list[str]:
        done = await self.executor.run(["docker", "logs", "--tail", str(lines), container],
                                       timeout=30)
        return (done.stdout + "\n" + done.stderr).strip().splitlines()


_PULL_PROBLEMS = (  # checked in this order: the first match says it
    (("cannot connect to the docker daemon",),
     "the Docker engine on {where} does not answer"),
    (("no matching manifest", "no match for platform"),
     "{image} has no build for the platform of {where}"),
    (("x509", "certificate"),
     "the registry of {image} presents a certificate {where} does not trust"),
    (("manifest unknown", "not found", "does not exist"),
     "{image} was not found in its registry: check the image name and tag (a private "
     "image also needs a docker login on {where})"),
    (("unauthorized", "authentication required", "access denied", "denied:"),
     "the registry refused {image}: log in to it on {where} (docker login) or check access"),
    (("connection refused", "no such host", "i/o timeout", "network is unreachable",
      "server misbehaving", "dial tcp"),
     "the registry of {image} cannot be reached from {where}"),
)


def pull_problem(image: str, stderr: str, where: str) -> str:
    """What a failed ``docker pull`` means, in words, followed by what docker said."""
    said = _tail(stderr)
    lower = stderr.lower()
    for needles, text in _PULL_PROBLEMS:
        if any(n in lower for n in needles):
            return f"{text.format(image=image, where=where)} (docker said: {said})"
    return said


def q(path: str) -> str:
    return shlex.quote(path)


def _tail(text: str, lines: int = 6) -> str:
    kept = [line for line in text.strip().splitlines() if line.strip()]
    return "\n".join(kept[-lines:]) or "no output"
