"""What an SSH connection is made from, taken with care: the private key file (a regular
file of at most 64 KiB, no link, no device, no FIFO), the few options honoured from the
OpenSSH config files (``HONOURED_CONFIG``), and the command line that every login shell
(bash, dash, tcsh, fish, …) hands to ``sh`` unchanged (``posix_command``)."""

from __future__ import annotations

import getpass
import os
from collections.abc import Sequence
from pathlib import Path

import asyncssh

from ..domain.errors import ValidationError
from .errors import TargetAuthError
from .files import read_regular_file

MAX_KEY_FILE = 64 * 1024
# Linux refuses a single argument longer than 128 KiB (MAX_ARG_STRLEN): the login shell
# gets the command as one. Data goes through stdin, so commands stay far below this.
MAX_COMMAND = 120 * 1024
HONOURED_CONFIG = ("Hostname", "Port", "User")
# Characters a command keeps as they are inside its encoded form; the rest becomes octal
# escapes for printf. None of these is special in a single-quoted word of sh, csh or fish,
# in a double-quoted word of sh, nor in a printf format.
_PLAIN = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                   b" -_.,:;/=+@^&*()[]{}<>|~#?")


def posix_command(line: str) -> str:
    """``line`` as a command any login shell hands to ``sh`` unchanged:
    ``sh -c 'eval "$(printf "…")"'`` with every byte outside ``_PLAIN`` (quotes,
    backslashes, ``$``, ``!``, ``%``, line breaks, non-ASCII) written as ``\\ooo``. The
    plain parts stay readable (in ``ps`` too)."""
    out = []
    for index, byte in enumerate(line.encode("utf-8")):
        if byte in _PLAIN and not (index == 0 and byte == ord("-")):
            out.append(chr(byte))
        else:
            out.append(f"\\{byte:03o}")
    command = "sh -c 'eval \"$(printf \"" + "".join(out) + "\")\"'"
    if len(command) > MAX_COMMAND:
        raise ValidationError(f"a command of {len(line) // 1024} KiB is too long to run "
                              "over SSH (send data through stdin)", field="command")
    return command


def load_key_file(path: str, passphrase: str | None
                  ) -> asyncssh.SSHKey | tuple[asyncssh.SSHKey, asyncssh.SSHCertificate]:
    """The private key in ``path`` (with its ``-cert.pub`` certificate when there is
    one), read by ``read_regular_file`` (a regular file of at most 64 KiB, no link)."""
    try:
        data = read_regular_file(path, MAX_KEY_FILE)
    except ValidationError as exc:
        raise ValidationError(f"the SSH key file: {exc.message}", field="key_file") from None
    try:
        key = asyncssh.import_private_key(data, passphrase)
    except asyncssh.KeyImportError as exc:
        raise TargetAuthError(
            f"the key file {path} could not be read: {exc}. If it has a passphrase, "
            "enter the right one.") from exc
    cert_path = f"{os.path.expanduser(path)}-cert.pub"
    if not os.path.lexists(cert_path):
        return key
    try:
        cert = asyncssh.import_certificate(read_regular_file(cert_path, MAX_KEY_FILE))
    except ValidationError as exc:
        raise ValidationError(f"the SSH certificate: {exc.message}", field="key_file") from None
    except (asyncssh.KeyImportError, ValueError) as exc:
        raise TargetAuthError(f"the certificate {cert_path} could not be read: {exc}") from exc
    return key, cert


def honoured_config(paths: Sequence[str] | None, host: str, port: int | None,
                    username: str) -> tuple[str, int | None, str]:
    """(host, port, user) after the OpenSSH config files (``None``: the user's
    ``~/.ssh/config`` when readable), taking only ``HONOURED_CONFIG`` from them; what the
    target gives explicitly wins."""
    if paths is None:
        default = Path("~", ".ssh", "config").expanduser()
        paths = [str(default)] if os.access(default, os.R_OK) else []
    if not paths:
        return host, port, username
    from asyncssh.config import SSHClientConfig

    try:
        local_user = getpass.getuser()
    except (KeyError, OSError):
        local_user = ""
    config = SSHClientConfig.load(None, list(paths), False, False, False, local_user,
                                  username or (), host, port or ())
    values = {name: config.get(name) for name in HONOURED_CONFIG}
    hostname = str(values["Hostname"] or host)
    config_port = values["Port"]
    return (hostname, port or (int(str(config_port)) if config_port else None),
            username or str(values["User"] or ""))
