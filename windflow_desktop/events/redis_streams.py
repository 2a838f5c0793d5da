"""The Redis Streams layout of the event bus: stream and group names, the batch XADD
script, and reading XREADGROUP replies in either protocol version."""

from __future__ import annotations

from typing import Any

STREAM_PREFIX = "windflow:events:"
DEFAULT_AGGREGATE_TYPES: tuple[str, ...] = (
    "organization", "user", "target", "stack", "deployment",
)
EVENT_FIELD = b"event"  # the one field of an entry: the event as compact JSON


def stream_key(aggregate_type: str) -> str:
    return f"{STREAM_PREFIX}{aggregate_type}"


def group_name(client_id: str) -> str:
    return f"windflow:client:{client_id}"


# XADD one batch of events, in order, approximately trimming each stream (MAXLEN ~).
# ARGV[2] holds the whole batch as lines "<index into KEYS> <event json>": one argument
# instead of two per event, since redis-py's command packing costs ~1 µs per argument.
# Compact JSON never contains a raw newline, so lines split safely.
XADD_MANY = """
local maxlen = ARGV[1]
local count = 0
for line in string.gmatch(ARGV[2], '[^\\n]+') do
  local space = string.find(line, ' ', 1, true)
  local key = KEYS[tonumber(string.sub(line, 1, space - 1))]
  redis.call('XADD', key, 'MAXLEN', '~', maxlen, '*', 'event', string.sub(line, space + 1))
  count = count + 1
end
return count
"""


def stream_items(response: Any) -> list[tuple[Any, list[Any]]]:
    """XREADGROUP replies are a list of [key, entries] (RESP2) or a dict (RESP3)."""
    if not response:
        return []
    if isinstance(response, dict):
        return [(key, list(entries)) for key, entries in response.items()]
    return [(item[0], list(item[1])) for item in response]
