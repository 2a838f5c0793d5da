"""``events.decoding``: stream entries are refused before ``json`` when they could hurt."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import pytest

from windflow_desktop.domain.events import Event
from windflow_desktop.events.decoding import RejectedEntry, decode_event, nests_deeper_than


@pytest.mark.parametrize(("text", "limit", "deeper"), [
    ('{"a": [1, [2, {"b": 3}]]}', 4, False),
    ('{"a": [1, [2, {"b": 3}]]}', 3, True),
    ('{"a": "[[[[[[[[[[[[", "b": ["{{{{"]}', 2, False),  # brackets inside strings
    ('{"a": "quote \\" then [[[[[[[[", "b": []}', 2, False),  # an escaped quote
    ('{"a": "backslash \\\\", "b": [[[[]]]]}', 4, True),  # an escaped backslash
    ("[" * 100_000 + "]" * 100_000, 64, True),
    ("[[]]" * 50_000, 2, False),  # wide, not deep
])
def test_nesting_is_measured_outside_strings(text: str, limit: int, deeper: bool) -> None:
    assert nests_deeper_than(text, limit) is deeper


def test_a_good_event_decodes_and_bad_ones_are_refused_with_a_reason() -> None:
    event = Event("target.created", "target", "t1", data={"lines": [[1, "x"]] * 3})
    raw = json.dumps(event.to_dict()).encode()
    assert decode_event(raw, max_bytes=10_000, max_depth=8) == event
    for bad, reason in [
        (None, "no 'event' field"),
        (raw, "over the 100 bytes cap"),
        (b"[" * 500 + b"]" * 500, "nests deeper than 8"),
        (b"\xff\xfe", "not UTF-8"),
        (b'{"event_id": ', "not JSON"),
        (b"[1, 2]", "not an object"),
        (b'{"event_id": "x"}', "no 'event_type'"),
    ]:
        with pytest.raises(RejectedEntry, match=reason):
            decode_event(bad, max_bytes=10_000 if bad is not raw else 100, max_depth=8)


def test_the_depth_check_of_a_big_log_batch_costs_a_few_decodings_at_most() -> None:
    lines = [[n, "2026-12-04T22:00:00+00:00", "stdout",
              f"\x1b[32mweb-1\x1b[0m | GET /api [{n}] {{ok}}"] for n in range(2_000)]
    text = json.dumps(Event("deployment.log", "deployment", "d", {"lines": lines}).to_dict())

    def best_of_five(work: Callable[[], object]) -> float:
        runs = []
        for _ in range(5):
            started = time.perf_counter()
            work()
            runs.append(time.perf_counter() - started)
        return min(runs)

    assert not nests_deeper_than(text, 64)
    scan = best_of_five(lambda: nests_deeper_than(text, 64))
    decode = best_of_five(lambda: json.loads(text))
    # ~3x measured (2.7 ms here for 156 KB): linear, like the decoder; never quadratic.
    assert scan < 8 * decode, (scan, decode)
