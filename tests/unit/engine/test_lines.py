"""``LineSplitter``: lines across chunk boundaries, CRLF, and a line over the cap cut
with its mark (a character cut in half at the limit is dropped, not garbled)."""

from __future__ import annotations

from windflow_desktop.engine.lines import MAX_LINE_BYTES, LineSplitter, cap_line, cut_mark


def test_lines_across_chunks_and_crlf() -> None:
    splitter = LineSplitter()
    assert splitter.feed(b"one\r\ntw") == ["one"]
    assert splitter.feed(b"o\n\nthr") == ["two", ""]
    assert splitter.finish() == "thr"
    assert splitter.finish() is None


def test_a_long_line_is_cut_with_a_mark_and_the_next_one_is_whole() -> None:
    splitter = LineSplitter()
    out: list[str] = []
    for _ in range(64):  # 1 MiB in 16 KiB chunks, then a newline and a short line
        out += splitter.feed(b"a" * 16384)
    out += splitter.feed(b"\nnext\n")
    assert out == ["a" * MAX_LINE_BYTES + cut_mark(1024 * 1024), "next"]


def test_a_character_cut_in_half_is_dropped() -> None:
    text = "x" * (MAX_LINE_BYTES - 1) + "é" * 100  # é is two bytes: the cap falls inside
    [line] = LineSplitter().feed(text.encode() + b"\n")
    assert line == "x" * (MAX_LINE_BYTES - 1) + cut_mark(len(text.encode()))
    assert cap_line(text) == line
    assert cap_line(line) == line  # a cut line is not cut again
    assert cap_line("short") == "short"
