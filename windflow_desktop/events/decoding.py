"""Turning a stream entry's bytes into an ``Event``, refusing what could hurt the reader.

Anyone who can write to Redis can write an entry. Decoding one must never take the
reader down: an entry over ``max_bytes`` or nesting deeper than ``max_depth`` is refused
BEFORE ``json`` sees it (100,000 nested brackets make ``json`` raise ``RecursionError``,
and a huge entry costs its size in time and memory on the UI thread), and whatever else
fails to decode becomes the same ``RejectedEntry`` with a short reason.
"""

from __future__ import annotations

import itertools
import json
import re

from ..domain.events import Event

# A JSON string, escapes included; possessive quantifiers keep it linear on any input.
_STRING = re.compile(r'"[^"\\]*+(?:\\.[^"\\]*+)*+"', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]++")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}
_DECODER = json.JSONDecoder()


class RejectedEntry(ValueError):
    """A stream entry that is not a readable event; ``reason`` says why (no payload)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def nests_deeper_than(text: str, limit: int) -> bool:
    """Whether JSON ``text`` opens more than ``limit`` arrays/objects inside each other.

    Brackets inside strings do not count. Cheap: counting brackets settles most texts;
    the rest is two regular-expression passes and a running sum, all at C speed.
    """
    if text.count("[") + text.count("{") <= limit:
        return False
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    return max(itertools.accumulate(map(_STEP.__getitem__, brackets)), default=0) > limit


def decode_event(raw: object, *, max_bytes: int, max_depth: int) -> Event:
    """The ``Event`` in ``raw`` (the entry's ``event`` field), or ``RejectedEntry``."""
    if not isinstance(raw, bytes | str):
        raise RejectedEntry("no 'event' field")
    if len(raw) > max_bytes:
        raise RejectedEntry(f"{len(raw)} bytes, over the {max_bytes} bytes cap")
    try:
        text = raw.decode() if isinstance(raw, bytes) else raw
    except UnicodeDecodeError as exc:
        raise RejectedEntry(f"not UTF-8 ({exc.reason} at byte {exc.start})") from None
    if nests_deeper_than(text, max_depth):
        raise RejectedEntry(f"nests deeper than {max_depth} levels")
    try:
        decoded = _DECODER.decode(text)
    except json.JSONDecodeError as exc:
        raise RejectedEntry(f"not JSON ({exc.msg} at line {exc.lineno})") from None
    except RecursionError:  # a deep stack of our own plus a nesting under the cap
        raise RejectedEntry("nests too deep to decode") from None
    if not isinstance(decoded, dict):
        raise RejectedEntry(f"a JSON {type(decoded).__name__}, not an object")
    try:
        return Event.from_dict(decoded)
    except KeyError as exc:
        raise RejectedEntry(f"no {exc.args[0]!r} in the event") from None
    except (ValueError, TypeError, AttributeError) as exc:
        raise RejectedEntry(f"not an event ({type(exc).__name__}: {exc})"[:200]) from None
