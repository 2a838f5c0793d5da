"""Output split into lines of bounded length: remote commands, local commands and
container logs may print a line of any size (a minified bundle, a base64 blob, a
process that never prints a newline). A line keeps its first ``MAX_LINE_BYTES`` bytes
and ends with a visible mark saying how long it really was; the rest is dropped as it
arrives, so memory stays bounded whatever the output. The cut comes before secrets are
masked: ``mask_secrets`` also masks the start of a secret that the cut left at the end.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from ..domain.masking import MASK, MIN_SECRET_LENGTH, mask

MAX_LINE_BYTES = 16 * 1024
MARK_ROOM = 64  # a cut line is at most MAX_LINE_BYTES + MARK_ROOM bytes, mark included


def cut_mark(total_bytes: int) -> str:
    return f" … [line cut at {MAX_LINE_BYTES // 1024} KiB of {total_bytes:,} bytes]"


_CUT_MARK = re.compile(r" … \[line cut at \d+ KiB of [\d,]+ bytes\]\Z")
_MIN_CUT_PREFIX = 2  # one character of a secret is no leak, and would mask too much


def mask_secrets(line: str, secrets: Iterable[str]) -> str:
    """``line`` with every known secret value masked; in a line the cap cut, a secret
    that straddled the cut (its first characters right before the mark) too."""
    known = [s for s in secrets if len(s) >= MIN_SECRET_LENGTH]
    line = mask(line, known)
    cut = _CUT_MARK.search(line)
    if cut is None:
        return line
    body = line[:cut.start()]
    for secret in sorted(known, key=len, reverse=True):
        for size in range(len(secret) - 1, _MIN_CUT_PREFIX - 1, -1):
            if body.endswith(secret[:size]):
                body = body[:-size] + MASK
                break
    return body + line[cut.start():]


class LineSplitter:
    """Feed bytes in chunks, get complete lines (decoded, without ``\\r\\n``) back."""

    def __init__(self, max_bytes: int = MAX_LINE_BYTES) -> None:
        self.max_bytes = max_bytes
        self._parts: list[bytes] = []
        self._kept = 0    # bytes of the current line kept
        self._total = 0   # bytes of the current line seen

    def feed(self, chunk: bytes) -> list[str]:
        lines: list[str] = []
        start = 0
        while True:
            end = chunk.find(b"\n", start)
            self._take(chunk[start:] if end < 0 else chunk[start:end])
            if end < 0:
                return lines
            lines.append(self._line())
            start = end + 1

    def feed_text(self, text: str) -> list[str]:
        return self.feed(text.encode("utf-8", "surrogateescape"))

    def finish(self) -> str | None:
        """The last line when the output did not end with a newline."""
        return self._line() if self._total else None

    def _take(self, piece: bytes) -> None:
        self._total += len(piece)
        room = self.max_bytes - self._kept
        if room > 0 and piece:
            kept = piece[:room]
            self._parts.append(kept)
            self._kept += len(kept)

    def _line(self) -> str:
        raw = b"".join(self._parts)
        total = self._total
        self._parts, self._kept, self._total = [], 0, 0
        if total > self.max_bytes:
            # "ignore": a character cut in half at the limit is dropped, not replaced.
            return raw.decode("utf-8", "ignore") + cut_mark(total)
        return raw.decode("utf-8", "replace").rstrip("\r")


def cap_line(text: str) -> str:
    """``text`` cut at ``MAX_LINE_BYTES`` (UTF-8) with the mark, when longer than a line
    may be (a line cut already, mark included, is left as it is)."""
    if len(text) * 4 <= MAX_LINE_BYTES:  # cannot be over: skip the encoding
        return text
    raw = text.encode("utf-8", "surrogateescape")
    if len(raw) <= MAX_LINE_BYTES + MARK_ROOM:
        return text
    return raw[:MAX_LINE_BYTES].decode("utf-8", "ignore") + cut_mark(len(raw))
