"""Reading a running Compose project WindFlow did not deploy, on its target: its compose
file and ``.env`` (read through the target's executor, so over SSH for an SSH target),
the relative paths that would break once WindFlow keeps the file in its own folder, the
variables the text uses, and — when the files cannot be had — a Compose text rebuilt from
the containers as the engine runs them (``docker inspect``)."""

from __future__ import annotations

import base64
import binascii
import json
import posixpath
import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from ..domain.adopt import NUMBER_LABEL, PROJECT_LABEL, SERVICE_LABEL, FilesUnreadableError
from ..domain.errors import DeploymentError, ValidationError
from .compose_validation import MAX_COMPOSE_BYTES, variables_used
from .executor import Executor
from .safe_yaml import YAMLLimitError, load_bounded

MAX_ENV_BYTES = 256 * 1024
SECRET_NAME = re.compile(r"(PASS|PASSWD|PASSWORD|SECRET|TOKEN|API_?KEY|PRIVATE|CREDENTIAL|"
                         r"(^|_)KEY$)", re.IGNORECASE)
_ENV_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$")
_MISSING, _UNREADABLE, _TOO_BIG = 3, 4, 5


async def read_file(executor: Executor, path: str, limit: int) -> str | None:
    """The text of ``path`` on the target (None when it does not exist). Unreadable, too
    big or not UTF-8: ``FilesUnreadableError``. The bytes come base64-wrapped, so the
    text is exactly the file's (line ends and the last newline kept)."""
    quoted = shlex.quote(path)
    script = (f"[ -e {quoted} ] || exit {_MISSING}; [ -f {quoted} ] && [ -r {quoted} ] "
              f"|| exit {_UNREADABLE}; [ \"$(wc -c < {quoted})\" -le {limit} ] "
              f"|| exit {_TOO_BIG}; base64 < {quoted}")
    done = await executor.run(script, timeout=60)
    where = executor.label
    if done.exit_code == _MISSING:
        return None
    if done.exit_code == _UNREADABLE:
        raise FilesUnreadableError(f"{path} on {where} is not a file this account may read")
    if done.exit_code == _TOO_BIG:
        raise FilesUnreadableError(f"{path} on {where} is larger than {limit // 1024} KiB")
    if not done.ok:
        raise FilesUnreadableError(f"{path} could not be read on {where}: "
                                   f"{done.stderr.strip()[-300:] or 'no output'}")
    try:
        return base64.b64decode("".join(done.stdout.split())).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise FilesUnreadableError(f"{path} on {where} is not UTF-8 text") from None


@dataclass
class ProjectFiles:
    compose_yaml: str
    env: dict[str, str] = field(default_factory=dict)
    compose_path: str = ""
    env_path: str = ""


async def read_project_files(executor: Executor, project: str, working_dir: str,
                             config_files: Sequence[str]) -> ProjectFiles:
    """The one compose file of ``project`` and the ``.env`` of its working folder, as
    they are on the target. Several compose files, a file gone or unreadable:
    ``FilesUnreadableError`` saying so (adopting from the engine's view still works)."""
    engine = ("; adopt it as the engine runs it instead (from its containers: "
              "\"from the engine\")")
    if not config_files:
        raise FilesUnreadableError(f"the containers of {project} do not say which compose "
                                   f"file started them{engine}")
    if len(config_files) > 1:
        raise FilesUnreadableError(
            f"{project} was started from {len(config_files)} compose files "
            f"({', '.join(config_files)}); a WindFlow revision is one text, and merging them "
            f"would not be the files' text{engine}")
    path = config_files[0]
    if not posixpath.isabs(path):
        path = posixpath.join(working_dir or "/", path)
    text = await _or_say(read_file(executor, path, MAX_COMPOSE_BYTES), engine)
    if text is None:
        raise FilesUnreadableError(f"the compose file {path} of {project} is gone from "
                                   f"{executor.label}{engine}")
    env_path = posixpath.join(working_dir, ".env") if working_dir else ""
    env_text = await _or_say(read_file(executor, env_path, MAX_ENV_BYTES), engine) \
        if env_path else None
    return ProjectFiles(text, parse_env_file(env_text or ""), path,
                        env_path if env_text is not None else "")


async def _or_say(reading: Any, engine: str) -> str | None:
    try:
        text: str | None = await reading
    except FilesUnreadableError as exc:
        raise FilesUnreadableError(exc.message + engine) from None
    return text


def parse_env_file(text: str) -> dict[str, str]:
    """``NAME=value`` lines of a Compose ``.env`` (comments, blank lines and ``export``
    skipped; one level of matching quotes taken off)."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        match = _ENV_LINE.match(line)
        if match is None or line.lstrip().startswith("#"):
            continue
        value = match.group(2).strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        elif " #" in value:
            value = value.split(" #", 1)[0].rstrip()
        values[match.group(1)] = value
    return values


def is_secret_name(name: str) -> bool:
    return bool(SECRET_NAME.search(name))


def infer_variables(compose_yaml: str, env: Mapping[str, str]
                    ) -> tuple[list[dict[str, Any]], dict[str, str], list[str]]:
    """The variables spec of a text from its ``${…}`` uses, the values that run now (the
    ``.env``'s, else the text's ``:-`` default) and notes for the user. A secret-looking
    name is a secret variable (no default in the spec; its value goes to the keyring)."""
    specs: dict[str, dict[str, Any]] = {}
    values: dict[str, str] = {}
    notes: list[str] = []
    for use in variables_used(compose_yaml):
        spec = specs.setdefault(use.name, {"name": use.name})
        if use.required_message is not None:
            spec["required"] = True
        if use.name in env:
            values[use.name] = env[use.name]
        elif use.default is not None and use.name not in values:
            values[use.name] = use.default
    for name, spec in specs.items():
        if is_secret_name(name):
            spec["secret"] = True
            notes.append(f"{name} looks like a secret: kept in the keyring, not in the revision")
        elif name in values:
            spec["default"] = values[name]
        if name not in values:
            notes.append(f"{name} has no value in the project's .env nor a default (it may "
                         "have come from the shell that started the project): give it one "
                         "before deploying again")
    return list(specs.values()), values, notes


# -- paths that only work beside the original file -----------------------------------------


def relative_paths(compose_yaml: str) -> list[str]:
    """Where the text names a host path relative to its folder (bind mounts, build
    contexts, env files, extended or included files, config and secret files): once the
    text is kept in WindFlow's own folder these would point elsewhere."""
    try:
        model = load_bounded(compose_yaml)
    except YAMLLimitError as exc:
        raise ValidationError(f"the compose file cannot be read: {exc.message}",
                              field="compose_yaml") from None
    if not isinstance(model, dict):
        return []
    found: list[str] = []

    def check(where: str, source: Any) -> None:
        if isinstance(source, str) and source and not source.startswith(("/", "~", "$")):
            found.append(f"{where}: {source}")

    for name, spec in (model.get("services") or {}).items():
        if not isinstance(spec, dict):
            continue
        for volume in spec.get("volumes") or ():
            if isinstance(volume, str) and ":" in volume:
                source = volume.split(":", 1)[0]
                if source.startswith(".") or "/" in source:
                    check(f"{name}: volume", source)
            elif isinstance(volume, dict) and volume.get("type") == "bind":
                check(f"{name}: volume", volume.get("source"))
        build = spec.get("build")
        if build is not None:
            check(f"{name}: build", build if isinstance(build, str)
                  else (build or {}).get("context", "."))
        env_files = spec.get("env_file")
        for item in env_files if isinstance(env_files, list) else [env_files]:
            check(f"{name}: env_file", item.get("path") if isinstance(item, dict) else item)
        extends = spec.get("extends")
        if isinstance(extends, dict):
            check(f"{name}: extends", extends.get("file"))
    for kind in ("configs", "secrets"):
        for name, spec in (model.get(kind) or {}).items():
            if isinstance(spec, dict):
                check(f"{kind[:-1]} {name}", spec.get("file"))
    for item in model.get("include") or ():
        check("include", item.get("path") if isinstance(item, dict) else item)
    return found


# -- what the engine runs ------------------------------------------------------------------


async def inspect_project(executor: Executor, project: str
                          ) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
    """``docker inspect`` of every container of ``project`` and of the images they run
    (by image id), in one command."""
    label = shlex.quote(f"label={PROJECT_LABEL}={project}")
    script = (f"ids=$(docker ps -aq --filter {label}) || exit 3; "
              f"[ -z \"$ids\" ] && {{ echo '[]' | base64; echo '##'; echo '[]' | base64; "
              f"exit 0; }}; docker inspect $ids | base64 || exit 3; echo '##'; "
              f"docker image inspect $(docker inspect -f '{{{{.Image}}}}' $ids | sort -u) "
              f"2>/dev/null | base64; true")
    done = await executor.run(script, timeout=120)
    if not done.ok:
        raise DeploymentError(f"could not read the containers of {project} on "
                              f"{executor.label}: {done.stderr.strip()[-300:]}")
    containers_b64, _, images_b64 = done.stdout.partition("##")

    def decoded(text: str) -> Any:
        raw = base64.b64decode("".join(text.split())) if text.strip() else b"[]"
        return json.loads(raw or b"[]")

    images = {str(i.get("Id")): i for i in decoded(images_b64) or ()}
    return list(decoded(containers_b64) or ()), images


@dataclass
class EngineView:
    compose_yaml: str
    secrets: dict[str, str]          # variable → value (environment values of secret names)
    notes: list[str]


def compose_from_containers(project: str, containers: Sequence[Mapping[str, Any]],
                            images: Mapping[str, Mapping[str, Any]]) -> EngineView:
    """A Compose text of what ``project``'s containers run (one service per Compose
    service label; the first container of each by its number): image, command and
    entrypoint, environment, ports, volumes, networks, restart, labels, stop signal,
    healthcheck, user and working folder where they differ from the image's own.
    Environment values of secret-looking names become ``${NAME}`` variables."""
    by_service: dict[str, list[Mapping[str, Any]]] = {}
    for raw in containers:
        labels = (raw.get("Config") or {}).get("Labels") or {}
        service = str(labels.get(SERVICE_LABEL) or str(raw.get("Name", "")).lstrip("/"))
        by_service.setdefault(service, []).append(raw)
    services: dict[str, Any] = {}
    volumes: dict[str, Any] = {}
    networks: dict[str, Any] = {}
    secrets: dict[str, str] = {}
    notes: list[str] = []
    for service, found in sorted(by_service.items()):
        found.sort(key=lambda r: int(((r.get("Config") or {}).get("Labels") or {})
                                     .get(NUMBER_LABEL) or 0))
        raw = found[0]
        image = images.get(str(raw.get("Image"))) or {}
        spec = _service(project, service, raw, image.get("Config") or {}, volumes, networks,
                        secrets, notes)
        if len(found) > 1:
            spec["deploy"] = {"replicas": len(found)}
        services[service] = spec
    model: dict[str, Any] = {"services": services}
    if volumes:
        model["volumes"] = volumes
    if networks:
        model["networks"] = networks
    text = yaml.safe_dump(model, sort_keys=False, default_flow_style=False, width=1000)
    return EngineView(text, secrets, notes)


def _service(project: str, service: str, raw: Mapping[str, Any], image: Mapping[str, Any],
             volumes: dict[str, Any], networks: dict[str, Any], secrets: dict[str, str],
             notes: list[str]) -> dict[str, Any]:
    config = raw.get("Config") or {}
    host = raw.get("HostConfig") or {}
    spec: dict[str, Any] = {"image": str(config.get("Image") or raw.get("Image") or "")}
    for key, name in (("Entrypoint", "entrypoint"), ("Cmd", "command")):
        if config.get(key) and config.get(key) != image.get(key):
            spec[name] = [_escaped(str(v)) for v in config[key]]
    image_env = set(image.get("Env") or ())
    environment: dict[str, str] = {}
    for item in config.get("Env") or ():
        if item in image_env or "=" not in item:
            continue
        name, value = item.split("=", 1)
        if is_secret_name(name) and value:
            variable = name if secrets.get(name, value) == value \
                else re.sub(r"[^A-Za-z0-9_]", "_", f"{service}_{name}").upper()
            secrets[variable] = value
            environment[name] = f"${{{variable}}}"
        else:
            environment[name] = _escaped(value)
    if environment:
        spec["environment"] = environment
    for key, name in (("User", "user"), ("WorkingDir", "working_dir"),
                      ("StopSignal", "stop_signal")):
        if config.get(key) and config.get(key) != image.get(key):
            spec[name] = str(config[key])
    health = config.get("Healthcheck")
    if health and health != image.get("Healthcheck") and health.get("Test"):
        spec["healthcheck"] = _healthcheck(health)
    ports = _ports(host.get("PortBindings") or {})
    if ports:
        spec["ports"] = ports
    mounts = _mounts(project, raw.get("Mounts") or (), set(image.get("Volumes") or {}),
                     volumes)
    if mounts:
        spec["volumes"] = mounts
    mode = str(host.get("NetworkMode") or "")
    if mode in ("host", "none", "bridge") or mode.startswith(("container:", "service:")):
        spec["network_mode"] = mode
    elif mode == "default":  # ``docker run`` without a network: the engine's bridge
        spec["network_mode"] = "bridge"
    else:
        joined = _networks(project, raw, networks)
        if joined:
            spec["networks"] = joined
    restart = str((host.get("RestartPolicy") or {}).get("Name") or "")
    if restart and restart != "no":
        spec["restart"] = restart
    if host.get("Privileged"):
        spec["privileged"] = True
    if host.get("Init"):
        spec["init"] = True
    if host.get("CapAdd"):
        spec["cap_add"] = list(host["CapAdd"])
    image_labels = image.get("Labels") or {}
    labels = {k: _escaped(str(v)) for k, v in (config.get("Labels") or {}).items()
              if not k.startswith("com.docker.compose.") and image_labels.get(k) != v}
    if labels:
        spec["labels"] = labels
    depends = str((config.get("Labels") or {}).get("com.docker.compose.depends_on") or "")
    needs = [part.split(":", 1)[0] for part in depends.split(",") if part.strip()]
    if needs:
        spec["depends_on"] = needs
    return spec


def _escaped(value: str) -> str:
    return value.replace("$", "$$")


def _seconds(ns: Any) -> str:
    return f"{int(ns or 0) / 1e9:g}s"


def _healthcheck(health: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"test": [_escaped(str(t)) for t in health["Test"]]}
    for key, name in (("Interval", "interval"), ("Timeout", "timeout"),
                      ("StartPeriod", "start_period")):
        if health.get(key):
            out[name] = _seconds(health[key])
    if health.get("Retries"):
        out["retries"] = int(health["Retries"])
    return out


def _ports(bindings: Mapping[str, Any]) -> list[str]:
    out: list[str] = []
    for key, binds in sorted(bindings.items()):
        port, _, proto = key.partition("/")
        suffix = f"/{proto}" if proto and proto != "tcp" else ""
        for bind in binds or ():
            ip = str((bind or {}).get("HostIp") or "")
            host_port = str((bind or {}).get("HostPort") or "")
            prefix = f"{ip}:" if ip and ip not in ("0.0.0.0", "::") else ""
            out.append(f"{prefix}{host_port}:{port}{suffix}" if host_port
                       else f"{port}{suffix}")
    return out


def _mounts(project: str, mounts: Sequence[Mapping[str, Any]], image_volumes: set[str],
            volumes: dict[str, Any]) -> list[str]:
    out: list[str] = []
    for mount in mounts:
        target = str(mount.get("Destination") or "")
        mode = "" if mount.get("RW", True) else ":ro"
        kind = mount.get("Type")
        if kind == "bind":
            out.append(f"{mount.get('Source')}:{target}{mode}")
        elif kind == "volume":
            name = str(mount.get("Name") or "")
            if re.fullmatch(r"[0-9a-f]{64}", name):  # anonymous
                if target not in image_volumes:
                    out.append(target)
                continue
            if name.startswith(f"{project}_"):
                short = name[len(project) + 1:]
                volumes.setdefault(short, {})
            else:
                short = name
                volumes.setdefault(short, {"external": True})
            out.append(f"{short}:{target}{mode}")
    return out


def _networks(project: str, raw: Mapping[str, Any], networks: dict[str, Any]) -> list[str]:
    joined = sorted(((raw.get("NetworkSettings") or {}).get("Networks") or {}).keys())
    out: list[str] = []
    for name in joined:
        if name == f"{project}_default":
            continue
        if name.startswith(f"{project}_"):
            short = name[len(project) + 1:]
            networks.setdefault(short, {})
        else:
            short = name
            networks.setdefault(short, {"name": name, "external": True})
        out.append(short)
    if out and f"{project}_default" in joined:
        out.insert(0, "default")
    return out
