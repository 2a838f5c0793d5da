"""The stored shape of a deployment's variables: plain values as strings, secret values
as ``{"secret_ref": <keyring entry>}`` (never the value). The one place that shape is
read and written."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from ...domain.errors import DeploymentError
from .context import SecretReader

log = logging.getLogger("windflow.deploy")

SECRET_REF = "secret_ref"


def stored_secret(ref: str) -> dict[str, str]:
    return {SECRET_REF: ref}


def secret_ref(value: object) -> str | None:
    """The keyring entry of a stored secret value; None for a plain value."""
    if isinstance(value, dict) and SECRET_REF in value:
        return str(value[SECRET_REF])
    return None


def secret_refs(variables: Mapping[str, Any]) -> list[str]:
    return [ref for value in variables.values() if (ref := secret_ref(value)) is not None]


async def resolve(secrets: SecretReader, variables: Mapping[str, Any], *,
                  missing: set[str] | None = None) -> dict[str, str]:
    """The values to run with, secrets read from the keyring; a secret whose entry is
    gone raises, unless its name is in ``missing`` (given again)."""
    values: dict[str, str] = {}
    for name, value in variables.items():
        ref = secret_ref(value)
        if ref is not None:
            secret = await secrets.aget(ref)
            if secret is None and name in (missing or ()):
                continue
            if secret is None:
                raise DeploymentError(
                    f"the secret value of {name} is missing from the keyring "
                    f"({ref}); deploy again and give it")
            values[name] = secret
        elif value is not None:
            values[name] = str(value)
    return values


async def secret_values(secrets: SecretReader, variables: Mapping[str, Any]) -> list[str]:
    """The secret values still in the keyring (to mask them in texts); an entry that
    cannot be read is skipped."""
    out: list[str] = []
    for ref in secret_refs(variables):
        try:
            secret = await secrets.aget(ref)
        except Exception:
            log.warning("could not read a secret (%s) to mask it", ref, exc_info=True)
            continue
        if secret:
            out.append(secret)
    return out
