"""Checks a Compose file before anything runs: safe YAML, structure, host access, and
variables.

This is not a Compose interpreter. It parses with ``safe_yaml`` (no recursion, a size
limit, a nesting limit, a budget of nodes and value bytes counted after expanding aliases,
only standard tags and Compose's ``!reset``/``!override``), reports every problem with its
line and column (at most ``MAX_ISSUES`` of them), checks the shape Compose needs
(services, each with an image or a build; port, volume, network and ``depends_on``
syntax), and finds the variables the text uses (``${VAR}``, ``${VAR:-default}``,
``${VAR:?message}``, ``$VAR``; each node is scanned once however often it is aliased, at
most ``MAX_VARIABLE_USES`` uses) to check them against the stack's variables spec.

Host access: a relative bind mount, ``env_file``, ``file``, build context, ``extends`` or
``include`` that leaves the project folder is an error; a host path (absolute, ``~``, or
made of variables; a named volume's ``driver_opts.device`` too), ``privileged``, the
host's PID/network/IPC/UTS/user/cgroup namespace, the engine's ``host`` network, devices,
added capabilities and loosening ``security_opt`` entries are named warnings, listed in
``report.host_access``: a stack needs its host access flag to deploy them. Compose itself
interpolates: the deploy preview runs ``compose config`` where the deployment will run.

Pure and synchronous; callers on the Qt loop run it in a worker thread.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator, Mapping, Sequence

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from ..domain.compose import ComposeReport, Issue, VariableUse
from ..domain.variables import VariableSpec
from .safe_yaml import Limits, YAMLLimitError, compose_bounded

MAX_COMPOSE_BYTES = 512 * 1024
MAX_NODES = 20_000
MAX_DEPTH = 64
MAX_VALUE_BYTES = 2 * 1024 * 1024  # scalar text after expanding aliases
MAX_VARIABLE_USES = 2_000
LIMITS = Limits(max_depth=MAX_DEPTH, max_nodes=MAX_NODES, max_scalar_bytes=MAX_VALUE_BYTES,
                resolve_scalars=False,
                extra_tags=frozenset({"!reset", "!override"}))

TOP_LEVEL = {"version", "name", "services", "networks", "volumes", "configs", "secrets",
             "include"}
HOST_NAMESPACES = ("pid", "network_mode", "ipc", "uts", "userns_mode", "cgroup")
# security_opt entries that tighten a container; any other one loosens it (unconfined
# seccomp/AppArmor, SELinux labels off) or names a profile file on the host.
_TIGHTENING = re.compile(r"^no-new-privileges(?:[:=]true)?$")
_TRUE = {"true", "yes", "on"}
_PORT = re.compile(
    r"^(?:(?:\[[0-9a-fA-F:.]+\]|(?:\d{1,3}\.){3}\d{1,3}):)?"  # host ip
    r"(?:(?P<host>\d+(?:-\d+)?|\$\{[^}]+\})?:)?"          # host port (range)
    r"(?P<container>\d+(?:-\d+)?|\$\{[^}]+\})"            # container port (range)
    r"(?:/(?:tcp|udp|sctp))?$"
)
_VAR = re.compile(
    r"\$(?:(?P<escaped>\$)"
    r"|\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?P<op>:?[-?+])?(?P<arg>[^}]*)\}"
    r"|(?P<bare>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<bad>\{[^}]*\}?))"
)


def validate_compose(text: str, specs: Sequence[VariableSpec] = ()) -> ComposeReport:
    """Everything wrong with ``text`` (and its use of ``specs``), never raising for it."""
    report = ComposeReport()
    if len(text.encode("utf-8")) > MAX_COMPOSE_BYTES:
        report.add(Issue(
            "error", f"the Compose file is larger than {MAX_COMPOSE_BYTES // 1024} KiB", 0, 0))
        return report
    try:
        root = compose_bounded(text, LIMITS)
    except YAMLLimitError as exc:
        report.add(Issue("error", exc.message, exc.line, exc.column))
        return report
    if root is None:
        report.add(Issue("error", "the Compose file is empty", 1, 1))
        return report
    if _Checker(report).check(root):
        _check_variables(report, specs)
    report.close()
    return report


def variables_used(text: str) -> list[VariableUse]:
    """The variables ``text`` uses, without the structure checks."""
    return validate_compose(text).variables


class _Checker:
    def __init__(self, report: ComposeReport) -> None:
        self.report = report
        self.uses = 0

    def error(self, node: Node, message: str, path: str = "") -> None:
        self.report.add(Issue("error", message, node.start_mark.line + 1,
                              node.start_mark.column + 1, path))

    def warn(self, node: Node, message: str, path: str = "") -> None:
        self.report.add(Issue("warning", message, node.start_mark.line + 1,
                              node.start_mark.column + 1, path))

    def check(self, root: Node) -> bool:
        """False when the file uses too many variables to check them."""
        within = self._walk(root)
        self._structure(root)
        return within

    def _structure(self, root: Node) -> None:
        if not isinstance(root, MappingNode):
            self.error(root, "the Compose file must be a mapping with a 'services' key")
            return
        top = self._mapping(root, "")
        for key, (knode, _) in top.items():
            if key not in TOP_LEVEL and not key.startswith("x-"):
                self.warn(knode, f"unknown top-level key {key!r}", key)
        volumes = self._names(top.get("volumes"), "volumes")
        networks = self._names(top.get("networks"), "networks")
        for kind in ("secrets", "configs"):
            if kind in top:
                self._files(kind, top[kind][1])
        self._top_level_grants(top)
        services = top.get("services")
        if services is None:
            self.error(root, "no 'services': a Compose file needs at least one service")
            return
        snode = services[1]
        if not isinstance(snode, MappingNode) or not snode.value:
            self.error(snode, "'services' must be a mapping with at least one service",
                       "services")
            return
        smap = self._mapping(snode, "services")
        self.report.services = list(smap)
        names = set(smap)  # once: a file may hold a thousand services
        for name, (knode, vnode) in smap.items():
            self._service(name, knode, vnode, names, volumes, networks)

    # -- walking -----------------------------------------------------------------------

    def _walk(self, root: Node) -> bool:
        """Find duplicate keys and variables, visiting each node once however often it is
        aliased (``safe_yaml`` already bounded the expanded size)."""
        seen: set[int] = set()
        stack: list[tuple[Node, bool]] = [(root, False)]
        while stack:
            current, is_key = stack.pop()
            if id(current) in seen:
                continue
            seen.add(id(current))
            if isinstance(current, ScalarNode):
                if not is_key and not self._scan_variables(current):
                    return False
            elif isinstance(current, SequenceNode):
                stack.extend((child, False) for child in reversed(current.value))
            elif isinstance(current, MappingNode):
                keys: set[str] = set()
                for knode, vnode in current.value:
                    if isinstance(knode, ScalarNode) and knode.value != "<<":
                        if knode.value in keys:
                            self.error(knode, f"the key {knode.value!r} appears twice in the "
                                              "same mapping")
                        keys.add(knode.value)
                    stack.append((vnode, False))
                    stack.append((knode, True))
        return True

    def _scan_variables(self, node: ScalarNode) -> bool:
        """False once the file uses more than ``MAX_VARIABLE_USES`` variables."""
        value = node.value
        if "$" not in value:
            return True
        line, col = node.start_mark.line + 1, node.start_mark.column + 1
        plain = node.style is None and "\n" not in value
        quoted_offset = 1 if node.style in ("'", '"') and "\n" not in value else 0
        for match in _VAR.finditer(value):
            if match.group("escaped"):
                continue
            at = col + (match.start() + quoted_offset if plain or quoted_offset else 0)
            if match.group("bad") is not None:
                self.report.add(Issue(
                    "error", f"invalid interpolation {match.group(0)!r}: use ${{NAME}}, "
                    "${NAME:-default} or ${NAME:?message} (write $$ for a literal $)",
                    line, at))
                continue
            name = match.group("braced") or match.group("bare")
            op, arg = match.group("op") or "", match.group("arg") or ""
            if match.group("braced") and arg and not op:
                self.report.add(Issue("error", f"invalid interpolation {match.group(0)!r}",
                                      line, at))
                continue
            self.uses += 1
            if self.uses > MAX_VARIABLE_USES:
                self.report.add(Issue(
                    "error", f"the file uses variables more than {MAX_VARIABLE_USES} times",
                    line, at))
                return False
            self.report.variables.append(VariableUse(
                name=name, line=line, column=at,
                default=arg if op in ("-", ":-") else None,
                required_message=arg if op in ("?", ":?") else None,
            ))
        return True

    def _mapping(self, node: MappingNode, path: str) -> dict[str, tuple[Node, Node]]:
        out: dict[str, tuple[Node, Node]] = {}
        for knode, vnode in node.value:
            if not isinstance(knode, ScalarNode):
                self.error(knode, "mapping keys must be plain text", path)
                continue
            if knode.value == "<<":
                for merged_k, merged_v in _merged(vnode):
                    out.setdefault(merged_k.value, (merged_k, merged_v))
                continue
            out[knode.value] = (knode, vnode)
        return out

    def _names(self, entry: tuple[Node, Node] | None, path: str) -> set[str]:
        if entry is None:
            return set()
        vnode = entry[1]
        if isinstance(vnode, ScalarNode) and vnode.value in ("", "~", "null"):
            return set()
        if not isinstance(vnode, MappingNode):
            self.error(vnode, f"'{path}' must be a mapping of names", path)
            return set()
        return set(self._mapping(vnode, path))

    # -- services ----------------------------------------------------------------------

    def _service(self, name: str, knode: Node, vnode: Node, services: set[str],
                 volumes: set[str], networks: set[str]) -> None:
        path = f"services.{name}"
        if not re.match(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$", name):
            self.error(knode, f"service name {name!r} may only hold letters, digits, '.', "
                              "'_' and '-'", path)
        if not isinstance(vnode, MappingNode):
            self.error(vnode, f"service {name!r} must be a mapping", path)
            return
        svc = self._mapping(vnode, path)
        image, build = svc.get("image"), svc.get("build")
        if image is None and build is None:
            self.error(knode, f"service {name!r} needs an 'image' or a 'build'", path)
        if image is not None:
            if not isinstance(image[1], ScalarNode) or not image[1].value.strip():
                self.error(image[1], f"service {name!r}: 'image' must be a name", path)
            else:
                self.report.images[name] = image[1].value.strip()
        if "ports" in svc:
            self._ports(name, svc["ports"][1], path)
        if "volumes" in svc:
            self._volumes(name, svc["volumes"][1], path, volumes)
        if "networks" in svc:
            self._refs(name, svc["networks"][1], path, "network", networks | {"default"})
        if "depends_on" in svc:
            self._refs(name, svc["depends_on"][1], path, "service", services, name)
        if "env_file" in svc:
            self._env_files(name, svc["env_file"][1], path)
        self._host_grants(name, svc, path)

    # -- host access -------------------------------------------------------------------

    def _grant(self, node: Node, owner: str, what: str, path: str) -> None:
        self.report.grant_host_access(f"{owner}: {what}")
        self.warn(node, f"{_label(owner, path)} needs host access: {what}", path)

    def _host_path(self, node: Node, owner: str, source: str, path: str) -> None:
        """A path Compose reads on the host: inside the project, or a named grant."""
        if source.startswith(("/", "~")) or "$" in source:
            self._grant(node, owner, f"host path {source}", path)
            return
        normal = posixpath.normpath(source)
        if normal == ".." or normal.startswith("../"):
            self.error(node, f"{_label(owner, path)}: the path {source!r} leaves the project "
                             "folder (use a path inside it, or an absolute host path)", path)

    def _host_grants(self, name: str, svc: Mapping[str, tuple[Node, Node]], path: str) -> None:
        owner = name
        privileged = svc.get("privileged")
        if privileged and isinstance(privileged[1], ScalarNode) and (
                privileged[1].value.lower() in _TRUE or "$" in privileged[1].value):
            self._grant(privileged[1], owner, "privileged", path)
        for key in HOST_NAMESPACES:
            entry = svc.get(key)
            if entry and isinstance(entry[1], ScalarNode) and (
                    entry[1].value == "host" or entry[1].value.startswith("$")):
                self._grant(entry[1], owner, f"{key}: {entry[1].value}", path)
        devices = svc.get("devices")
        if devices and isinstance(devices[1], SequenceNode):
            for item in devices[1].value:
                source = _text(item) or _text(_field(item, "source"))
                if source:
                    self._grant(item, owner, f"device {source.split(':')[0]}", path)
        caps = svc.get("cap_add")
        if caps and isinstance(caps[1], SequenceNode):
            for item in caps[1].value:
                if isinstance(item, ScalarNode):
                    self._grant(item, owner, f"cap_add {item.value}", path)
        options = svc.get("security_opt")
        if options and isinstance(options[1], SequenceNode):
            for item in options[1].value:
                if isinstance(item, ScalarNode) and not _TIGHTENING.match(item.value.strip()):
                    self._grant(item, owner, f"security_opt {item.value}", path)
        # A build context is read on the host and sent to the engine; an extended file is
        # a Compose file this check never sees.
        build, extends = svc.get("build"), svc.get("extends")
        if build is not None and (
                context := _text(build[1]) or _text(_field(build[1], "context"))):
            self._host_path(build[1], owner, context, path)
        if extends is not None and (source := _text(_field(extends[1], "file"))):
            self._host_path(extends[1], owner, source, path)

    def _top_level_grants(self, top: Mapping[str, tuple[Node, Node]]) -> None:
        """Host access outside the services: a named volume the local driver binds to a
        host folder, the engine's ``host`` network, an included Compose file."""
        volumes = top.get("volumes")
        for key, value in volumes[1].value if volumes and isinstance(
                volumes[1], MappingNode) else ():
            opts = _field(value, "driver_opts")
            device = _text(_field(opts, "device")) if opts is not None else ""
            if device and isinstance(key, ScalarNode):
                self._host_path(value, f"volume {key.value}", device, f"volumes.{key.value}")
        networks = top.get("networks")
        for key, value in networks[1].value if networks and isinstance(
                networks[1], MappingNode) else ():
            if not isinstance(key, ScalarNode):
                continue
            name = _text(_field(value, "name")) or key.value
            external = _text(_field(value, "external")).lower() in _TRUE
            if name == "host" or (external and "$" in name):
                self._grant(value, f"network {key.value}", "the host's network",
                            f"networks.{key.value}")
        include = top.get("include")
        items = include[1].value if include and isinstance(include[1], SequenceNode) else []
        for item in items:
            paths = _field(item, "path") or item
            for node in paths.value if isinstance(paths, SequenceNode) else [paths]:
                if _text(node):
                    self._host_path(node, "include", _text(node), "include")

    def _env_files(self, service: str, node: Node, path: str) -> None:
        items = node.value if isinstance(node, SequenceNode) else [node]
        for item in items:
            source = _text(item) or _text(_field(item, "path"))
            if source:
                self._host_path(item, service, source, path)

    def _files(self, kind: str, node: Node) -> None:
        """Top-level secrets and configs read from a ``file`` on the host."""
        if not isinstance(node, MappingNode):
            return
        for key, value in node.value:
            source = _text(_field(value, "file"))
            if source and isinstance(key, ScalarNode):
                self._host_path(value, f"{kind[:-1]} {key.value}", source,
                                f"{kind}.{key.value}")

    def _ports(self, service: str, node: Node, path: str) -> None:
        if not isinstance(node, SequenceNode):
            self.error(node, f"service {service!r}: 'ports' must be a list", path)
            return
        for item in node.value:
            if isinstance(item, ScalarNode):
                text = item.value.strip().strip('"')
                match = _PORT.match(text)
                if not match:
                    self.error(item, f"service {service!r}: {text!r} is not a port mapping "
                                     "([ip:][host:]container[/tcp|udp])", path)
                    continue
                host = match.group("host")
                if host and host.isdigit():
                    ip = text.rsplit(":", 2)[0] if text.count(":") >= 2 else ""
                    proto = text.rsplit("/", 1)[1] if "/" in text else "tcp"
                    port = int(host)
                    if not 0 < port < 65536:
                        self.error(item, f"service {service!r}: port {port} is out of range",
                                   path)
                    else:
                        self.report.published_ports.append((ip.strip("[]"), port, proto))
            elif isinstance(item, MappingNode):
                entry = self._mapping(item, path)
                if "target" not in entry:
                    self.error(item, f"service {service!r}: a long port entry needs 'target'",
                               path)
                published = entry.get("published")
                if published and isinstance(published[1], ScalarNode) \
                        and published[1].value.isdigit():
                    proto_n = entry.get("protocol")
                    ip_n = entry.get("host_ip")
                    self.report.published_ports.append((
                        ip_n[1].value if ip_n and isinstance(ip_n[1], ScalarNode) else "",
                        int(published[1].value),
                        proto_n[1].value if proto_n and isinstance(proto_n[1], ScalarNode)
                        else "tcp",
                    ))
            else:
                self.error(item, f"service {service!r}: a port must be text or a mapping", path)

    def _volumes(self, service: str, node: Node, path: str, declared: set[str]) -> None:
        if not isinstance(node, SequenceNode):
            self.error(node, f"service {service!r}: 'volumes' must be a list", path)
            return
        for item in node.value:
            if isinstance(item, ScalarNode):
                parts = item.value.split(":")
                if len(parts) > 3 or not all(parts[:2]):
                    self.error(item, f"service {service!r}: {item.value!r} is not a volume "
                                     "(source:target[:mode] or /path)", path)
                    continue
                if len(parts) == 3 and not set(parts[2].split(",")) <= {
                        "ro", "rw", "z", "Z", "cached", "delegated", "consistent", "nocopy"}:
                    self.error(item, f"service {service!r}: unknown volume mode {parts[2]!r}",
                               path)
                if len(parts) >= 2:
                    source = parts[0]
                    if source.startswith(("/", ".", "~", "$")):
                        self._host_path(item, service, source, path)
                    if not source.startswith(("/", ".", "~", "$")) and source not in declared:
                        self.error(item, f"service {service!r} uses the volume {source!r}, "
                                         "which is not declared under top-level 'volumes'",
                                   path)
                    if not parts[1].startswith(("/", "$")):
                        self.error(item, f"service {service!r}: the volume target "
                                         f"{parts[1]!r} must be an absolute path", path)
            elif isinstance(item, MappingNode):
                entry = self._mapping(item, path)
                if "target" not in entry:
                    self.error(item, f"service {service!r}: a long volume entry needs "
                                     "'target'", path)
                source = _text(entry["source"][1]) if "source" in entry else ""
                kind = _text(entry["type"][1]) if "type" in entry else ""
                if source and (kind == "bind" or source.startswith(("/", ".", "~", "$"))):
                    self._host_path(item, service, source, path)
            else:
                self.error(item, f"service {service!r}: a volume must be text or a mapping",
                           path)

    def _refs(self, service: str, node: Node, path: str, kind: str, known: set[str],
              itself: str = "") -> None:
        names: list[ScalarNode] = []
        if isinstance(node, SequenceNode):
            names = [n for n in node.value if isinstance(n, ScalarNode)]
        elif isinstance(node, MappingNode):
            names = [k for k, _ in node.value if isinstance(k, ScalarNode)]
        else:
            self.error(node, f"service {service!r}: expected a list or a mapping of {kind}s",
                       path)
            return
        for ref in names:
            if (ref.value not in known or ref.value == itself) and "$" not in ref.value:
                self.error(ref, f"service {service!r} refers to the unknown {kind} "
                                f"{ref.value!r}", path)


def _label(owner: str, path: str) -> str:
    return f"service {owner!r}" if path.startswith("services.") else owner


def _text(node: Node | None) -> str:
    return node.value if isinstance(node, ScalarNode) else ""


def _field(node: Node, key: str) -> Node | None:
    if isinstance(node, MappingNode):
        for k, v in node.value:
            if isinstance(k, ScalarNode) and k.value == key:
                found: Node = v
                return found
    return None


def _merged(node: Node) -> Iterator[tuple[ScalarNode, Node]]:
    sources = node.value if isinstance(node, SequenceNode) else [node]
    for source in sources:
        if isinstance(source, MappingNode):
            for k, v in source.value:
                if isinstance(k, ScalarNode):
                    yield k, v


def _check_variables(report: ComposeReport, specs: Sequence[VariableSpec]) -> None:
    declared = {s.name: s for s in specs}
    used: set[str] = set()
    for use in report.variables:
        used.add(use.name)
        if use.name in declared:  # a default does not do: Compose would fill it from
            continue              # the environment it runs in (the app's, the login's)
        if use.required_message is not None:
            hint = f": {use.required_message}" if use.required_message else ""
            report.add(Issue(
                "error", f"${{{use.name}}} is required by the file{hint}, but the variables "
                "do not declare it", use.line, use.column))
        else:
            report.add(Issue(
                "error", f"the variable {use.name} is used but not declared in the "
                "variables: declare it (with a default there if it needs one)",
                use.line, use.column))
    for spec in specs:
        if spec.name not in used:
            report.add(Issue(
                "warning", f"the variable {spec.name} is declared but not used", 0, 0))


def check_values(report: ComposeReport, specs: Sequence[VariableSpec],
                 values: Mapping[str, str]) -> list[Issue]:
    """Problems with the values a deployment would run with (before anything runs)."""
    problems: list[Issue] = []
    declared = {s.name for s in specs}
    for use in missing_required(report, values):
        hint = use.required_message or "a value is required"
        problems.append(Issue("error", f"{use.name}: {hint}", use.line, use.column))
    for spec in specs:
        if spec.required and not values.get(spec.name):
            problems.append(Issue("error", f"the variable {spec.name} is required", 0, 0))
    for name in values:
        if name not in declared:
            problems.append(Issue("error", f"no variable named {name}", 0, 0))
    return problems


def missing_required(report: ComposeReport, values: Mapping[str, str]) -> list[VariableUse]:
    """The first use of each variable the file requires (``${NAME:?…}``) left empty."""
    missing: dict[str, VariableUse] = {}
    for use in report.variables:
        if use.required_message is not None and not values.get(use.name):
            missing.setdefault(use.name, use)
    return list(missing.values())
