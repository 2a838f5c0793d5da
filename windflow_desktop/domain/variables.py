"""The variables spec of a stack revision and the rules for the values given at deploy time.

A spec is a list of ``VariableSpec``: name, description, default, required, secret and an
optional generator (a random password, a hex token or a UUID made when no value is
given). A secret variable never carries a default: its value exists only in the keyring,
so a revision, an export or an audit row can never contain it. A generated value is
secret unless the spec says ``secret: false`` (or gives a default, which is not secret).
"""

from __future__ import annotations

import re
import secrets
import string
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .errors import ValidationError

NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
GENERATORS = ("password", "hex", "uuid")
_PASSWORD_ALPHABET = string.ascii_letters + string.digits


@dataclass(frozen=True)
class VariableSpec:
    name: str
    description: str = ""
    default: str | None = None
    required: bool = False
    secret: bool = False
    generator: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name}
        if self.description:
            out["description"] = self.description
        if self.default is not None and not self.secret:
            out["default"] = self.default
        if self.required:
            out["required"] = True
        if self.secret or self.generator:  # explicit: a generated value is secret by default
            out["secret"] = self.secret
        if self.generator:
            out["generator"] = self.generator
        return out

    def generate(self) -> str:
        if self.generator == "password":
            return "".join(secrets.choice(_PASSWORD_ALPHABET) for _ in range(24))
        if self.generator == "hex":
            return secrets.token_hex(16)
        if self.generator == "uuid":
            return str(uuid.uuid4())
        raise ValueError(f"variable {self.name} has no generator")


def parse_spec(raw: Iterable[Mapping[str, Any]] | None) -> list[VariableSpec]:
    """Check and normalise a spec; raises ``ValidationError(field="variables")``."""
    specs: list[VariableSpec] = []
    seen: set[str] = set()
    for position, item in enumerate(raw or (), start=1):
        if not isinstance(item, Mapping):
            raise ValidationError(f"variable #{position} is not a mapping", field="variables")
        name = str(item.get("name") or "").strip()
        if not NAME.match(name):
            raise ValidationError(
                f"variable #{position}: {name!r} is not a valid name (letters, digits, _; "
                "not starting with a digit)", field="variables")
        if name in seen:
            raise ValidationError(f"variable {name} is declared twice", field="variables")
        seen.add(name)
        default = item.get("default")
        generator = item.get("generator") or None
        # Generated values are secret unless the spec says otherwise (a default is shown
        # in the revision anyway, so a generator with one keeps to plain text).
        secret = bool(item["secret"]) if "secret" in item else (
            generator is not None and default in (None, ""))
        if default is not None and not isinstance(default, str | int | float | bool):
            raise ValidationError(f"variable {name}: the default must be text", field="variables")
        if secret and default not in (None, ""):
            raise ValidationError(
                f"variable {name} is secret and cannot have a default: secret values live "
                "only in the keyring (use a generator or give the value when deploying)",
                field="variables")
        if generator is not None and generator not in GENERATORS:
            raise ValidationError(
                f"variable {name}: unknown generator {generator!r} "
                f"(one of {', '.join(GENERATORS)})", field="variables")
        specs.append(VariableSpec(
            name=name,
            description=str(item.get("description") or ""),
            default=None if default is None or secret else str(default),
            required=bool(item.get("required", False)),
            secret=secret,
            generator=generator,
        ))
    return specs


def spec_dicts(specs: Sequence[VariableSpec]) -> list[dict[str, Any]]:
    return [s.to_dict() for s in specs]


SECRET_MASK = "••••••"


def mask_values(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret value replaced by ``SECRET_MASK``, also where it appears
    escaped as Compose and YAML write it (``$`` as ``$$``, quotes and backslashes)."""
    forms: set[str] = set()
    for value in secrets:
        if not value:
            continue
        for form in (value, value.replace("$", "$$")):
            forms.update((form, form.replace("\\", "\\\\").replace('"', '\\"'),
                          form.replace("'", "''")))
    for form in sorted(forms, key=len, reverse=True):  # longest first: no partial leftovers
        text = text.replace(form, SECRET_MASK)
    return text


_REQUIRED_BY_TEXT = re.compile(
    r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]{0,127}):?\?([^}\n$]{0,200})\}")


def required_by_text(compose_yaml: str) -> dict[str, str]:
    """The variables a Compose text requires (``${NAME:?message}``), with their message."""
    found: dict[str, str] = {}
    for match in _REQUIRED_BY_TEXT.finditer(compose_yaml):
        found.setdefault(match.group(1), match.group(2))
    return found


def resolve_values(
    specs: Sequence[VariableSpec], given: Mapping[str, str | None], *, generate: bool = True
) -> dict[str, str]:
    """The values to deploy with: given ones, then defaults, then generated ones.

    Raises ``ValidationError(field=<name>)`` for a required variable left without a value
    and for a value given for a variable the spec does not declare.
    """
    known = {s.name for s in specs}
    unknown = sorted(set(given) - known)
    if unknown:
        raise ValidationError(
            f"no variable named {unknown[0]} in this revision's variables", field=unknown[0])
    values: dict[str, str] = {}
    for spec in specs:
        value = given.get(spec.name)
        if value in (None, "") and spec.default not in (None, ""):
            value = spec.default
        if value in (None, "") and spec.generator and generate:
            value = spec.generate()
        if value in (None, "") and spec.required:
            raise ValidationError(f"the variable {spec.name} is required", field=spec.name)
        if value is not None:
            values[spec.name] = str(value)
    return values
