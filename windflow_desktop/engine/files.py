"""Reading the files a user names (SSH keys, TLS certificates) without trusting them:
``read_regular_file`` takes a regular file of bounded size, opened without following a
symbolic link and without waiting on a FIFO or a device; ``private_copies`` puts copies
of some into a private temporary folder (how Docker gets exactly the TLS files a target
names)."""

from __future__ import annotations

import errno
import os
import shutil
import stat
import tempfile
from collections.abc import Mapping

from ..domain.errors import ValidationError

MAX_COPIED_FILE = 1024 * 1024


def private_copies(files: Mapping[str, str]) -> str:
    """A new private folder (0700) holding a copy (0600) of each ``files`` value under
    its key's name; the caller removes it. A missing or unreadable file is a
    ``ValidationError`` naming it."""
    folder = tempfile.mkdtemp(prefix="wf-files-")
    try:
        for name, source in files.items():
            # A link is fine here (TLS files often are: certbot's live/ folder), as for
            # the Docker API's own TLS context; devices and FIFOs are still refused.
            data = read_regular_file(source, MAX_COPIED_FILE, follow_links=True)
            fd = os.open(os.path.join(folder, name), os.O_WRONLY | os.O_CREAT | os.O_EXCL,
                         0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return folder


def read_regular_file(path: str, limit: int, *, follow_links: bool = False) -> bytes:
    """The bytes of ``path`` if it is a regular file of at most ``limit`` bytes, opened
    without following a symbolic link (unless ``follow_links``) and without waiting on a
    FIFO or a device; anything else is a ``ValidationError`` that says why."""
    name = os.path.expanduser(path)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0) \
        | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_BINARY", 0) \
        | (0 if follow_links else getattr(os, "O_NOFOLLOW", 0))
    try:
        fd = os.open(name, flags)
    except FileNotFoundError:
        raise ValidationError(f"the file {path} does not exist", field="file") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise ValidationError(f"{path} is a symbolic link: choose the file itself",
                                  field="file") from None
        raise ValidationError(f"{path} cannot be opened: {exc.strerror}",
                              field="file") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ValidationError(f"{path} is not a regular file (a device, a pipe or a "
                                  "folder): choose the file itself", field="file")
        if info.st_size > limit:
            raise ValidationError(f"{path} is larger than {_size(limit)}: that is not the "
                                  "file asked for", field="file")
        chunks: list[bytes] = []
        size = 0
        while chunk := os.read(fd, 65536):
            size += len(chunk)
            if size > limit:  # it grew while read
                raise ValidationError(f"{path} is larger than {_size(limit)}",
                                      field="file")
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def _size(limit: int) -> str:
    return f"{limit // 2**20} MiB" if limit % 2**20 == 0 else f"{limit // 1024} KiB"
