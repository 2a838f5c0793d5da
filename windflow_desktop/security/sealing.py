"""Sealing a server's secrets under its key (Fernet: AES-128-CBC + HMAC-SHA256, from
``cryptography``). The key file (``$WINDFLOW_HOME/server.key``, 0600, made at the first
start) holds one key per line, ``<id> <key>``, the first one sealing; the others only
open what was sealed before a rotation. ``WINDFLOW_SERVER_KEY`` (``<id> <key>``) can
stand in for the file (a container's secret)."""

from __future__ import annotations

import os
import secrets as random
from dataclasses import dataclass
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from ..domain.errors import ConfigurationError, WindFlowError

KEY_FILE = "server.key"


class UnsealError(WindFlowError):
    code = "SECRET_UNREADABLE"


@dataclass(frozen=True)
class SealingKey:
    key_id: str
    key: bytes

    @classmethod
    def new(cls) -> SealingKey:
        return cls(random.token_hex(4), Fernet.generate_key())


class Sealer:
    def __init__(self, keys: list[SealingKey]) -> None:
        if not keys:
            raise ConfigurationError("no server key to seal secrets with")
        self.keys = keys
        self._fernets = {k.key_id: Fernet(k.key) for k in keys}

    @property
    def key_id(self) -> str:
        """The key new secrets are sealed under."""
        return self.keys[0].key_id

    def seal(self, value: str) -> tuple[str, str]:
        return self.key_id, self._fernets[self.key_id].encrypt(value.encode()).decode()

    def unseal(self, name: str, key_id: str, ciphertext: str) -> str:
        fernet = self._fernets.get(key_id)
        if fernet is None:
            raise UnsealError(f"the secret {name} is sealed under key {key_id}, which this "
                              "server does not have (was the key file replaced?)")
        try:
            return fernet.decrypt(ciphertext.encode()).decode()
        except InvalidToken:
            raise UnsealError(f"the secret {name} cannot be opened with key {key_id}: it "
                              "was changed or the key is not the one it was sealed "
                              "with") from None


def parse_keys(text: str, where: str) -> list[SealingKey]:
    keys: list[SealingKey] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = line.split()
        if len(parts) != 2:
            raise ConfigurationError(f"{where}, line {number}: expected '<id> <key>'")
        try:
            Fernet(parts[1].encode())
        except ValueError:
            raise ConfigurationError(f"{where}, line {number}: not a key "
                                     "(32 url-safe base64-encoded bytes)") from None
        keys.append(SealingKey(parts[0], parts[1].encode()))
    return keys


def load_keys(home: Path, environ: dict[str, str] | None = None) -> list[SealingKey]:
    """The server's keys: from ``WINDFLOW_SERVER_KEY``, else the key file (made with one
    new key when it does not exist)."""
    env = os.environ if environ is None else environ
    if env.get("WINDFLOW_SERVER_KEY"):
        return parse_keys(env["WINDFLOW_SERVER_KEY"], "WINDFLOW_SERVER_KEY")
    path = home / KEY_FILE
    if not path.exists():
        write_keys(path, [SealingKey.new()])
    if path.stat().st_mode & 0o077:
        raise ConfigurationError(f"{path} may be read by others: chmod 600 it")
    keys = parse_keys(path.read_text(), str(path))
    if not keys:
        raise ConfigurationError(f"{path} holds no key")
    return keys


def write_keys(path: Path, keys: list[SealingKey]) -> None:
    """Write the key file whole, private from its first byte, replacing the old one."""
    text = "".join(f"{k.key_id} {k.key.decode()}\n" for k in keys)
    temporary = path.with_name(path.name + ".new")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as out:
        out.write(text)
        out.flush()
        os.fsync(out.fileno())
    os.replace(temporary, path)
