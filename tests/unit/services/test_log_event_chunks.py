"""A deployment's stored log batch is published as ``deployment.log`` events small enough
for the bus: at most ``log_batch`` lines and ``LOG_EVENT_BYTES`` of text each, in order."""

from datetime import UTC, datetime

from windflow_desktop.domain.enums import LogStream
from windflow_desktop.engine.lines import MAX_LINE_BYTES, cap_line
from windflow_desktop.services.deploy.logs import LOG_EVENT_BYTES, log_event_chunks

NOW = datetime(2026, 12, 4, tzinfo=UTC)


def _rows(count: int, line: str) -> list[tuple[int, datetime, LogStream, str]]:
    return [(seq, NOW, LogStream.STDOUT, line) for seq in range(1, count + 1)]


def test_a_batch_of_capped_lines_is_cut_by_bytes() -> None:
    rows = _rows(5_000, cap_line("x" * 1_000_000))  # 5,000 lines of 16 KiB: ~80 MiB
    chunks = log_event_chunks(rows, 2000)
    assert len(chunks) > 40
    assert all(sum(len(r[3]) for r in c) <= LOG_EVENT_BYTES for c in chunks)
    assert [r for c in chunks for r in c] == rows  # nothing lost, nothing reordered
    assert len(rows[0][3]) > MAX_LINE_BYTES // 2


def test_a_batch_of_short_lines_is_cut_by_count() -> None:
    rows = _rows(4_500, "hello")
    assert [len(c) for c in log_event_chunks(rows, 2000)] == [2000, 2000, 500]


def test_one_line_over_the_budget_still_goes_alone() -> None:
    rows = _rows(2, "y" * (LOG_EVENT_BYTES + 1))
    assert [len(c) for c in log_event_chunks(rows, 2000)] == [1, 1]
