"""The terminal widget without an engine: keys become a terminal's bytes, xterm colours,
only the changed lines are repainted, scrollback, selection and copy/paste, a resize
becomes columns and rows; and the emulator's fast path draws exactly what pyte does."""

from __future__ import annotations

import random
from typing import Any

import pyte
import pytest
from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtGui import QColor, QGuiApplication

from windflow_desktop.ui.widgets.terminal import FOREGROUND, TerminalView, colour
from windflow_desktop.ui.widgets.terminal_screen import TerminalScreen

pytestmark = pytest.mark.gui
K, M = Qt.Key, Qt.KeyboardModifier


@pytest.fixture
def view(qtbot: Any) -> TerminalView:
    view = TerminalView(40, 10)
    qtbot.addWidget(view)
    view.resize(*view.size_for(40, 10))
    view.show()
    qtbot.waitExposed(view)
    return view


def _sent(qtbot: Any, view: TerminalView, key: Qt.Key, mods: Any = M.NoModifier) -> bytes:
    got: list[bytes] = []
    view.sig_input.connect(got.append)
    qtbot.keyClick(view, key, mods)
    view.sig_input.disconnect(got.append)
    return b"".join(got)


def test_keys_become_terminal_bytes(qtbot: Any, view: TerminalView) -> None:
    assert _sent(qtbot, view, K.Key_Return) == b"\r"
    assert _sent(qtbot, view, K.Key_Backspace) == b"\x7f"
    assert _sent(qtbot, view, K.Key_Tab) == b"\t"  # the shell's, not the focus chain's
    assert view.hasFocus()
    assert _sent(qtbot, view, K.Key_C, M.ControlModifier) == b"\x03"
    assert _sent(qtbot, view, K.Key_D, M.ControlModifier) == b"\x04"
    assert _sent(qtbot, view, K.Key_Up) == b"\x1b[A"
    assert _sent(qtbot, view, K.Key_Left) == b"\x1b[D"
    assert _sent(qtbot, view, K.Key_Delete) == b"\x1b[3~"
    assert _sent(qtbot, view, K.Key_F5) == b"\x1b[15~"
    assert _sent(qtbot, view, K.Key_X, M.AltModifier) == b"\x1bx"
    view.feed(b"\x1b[?1h")  # the program asks for application cursor keys (vi, less)
    assert _sent(qtbot, view, K.Key_Up) == b"\x1bOA"


def test_xterm_colours() -> None:
    assert colour("red", FOREGROUND) == QColor("#cd0000")
    assert colour("brightblue", FOREGROUND) == QColor("#5c5cff")
    assert colour("ff8700", FOREGROUND) == QColor("#ff8700")  # 256 colours and truecolor
    assert colour("default", FOREGROUND) == FOREGROUND


def test_the_emulator_reads_colours_and_text(view: TerminalView) -> None:
    view.feed(b"\x1b[31mred\x1b[0m \x1b[38;5;208m256\x1b[0m \x1b[38;2;1;2;3mtrue\x1b[0m")
    line = view.term.buffer[0]
    assert (line[0].fg, line[4].fg, line[8].fg) == ("red", "ff8700", "010203")
    assert view.screen_lines()[0].rstrip() == "red 256 true"


def test_only_changed_lines_are_repainted(qtbot: Any, view: TerminalView) -> None:
    view.feed(b"one\r\ntwo\r\n")
    with qtbot.waitSignal(view.sig_painted, timeout=2000):
        pass
    view.feed(b"\x1b[6;1Hx")  # one character on row 6 (the cursor moves there from row 3)
    rows = {view._pending.boundingRect().top() // view.cell_h,
            view._pending.boundingRect().bottom() // view.cell_h}
    assert view._pending.contains(QRect(0, 5 * view.cell_h, view.width(), view.cell_h))
    assert not view._pending.contains(QPoint(1, 3 * view.cell_h + 1))  # row 4: untouched
    assert rows == {2, 5}
    painted: list[int] = []
    view.sig_painted.connect(lambda: painted.append(1))
    for n in range(50):  # a burst of output: one paint per frame, not one per feed
        view.feed(f"line {n}\r\n".encode())
    qtbot.wait(60)
    assert 1 <= len(painted) <= 6


def test_scrollback_and_new_output_come_back(view: TerminalView) -> None:
    view.feed(b"".join(f"line {n}\r\n".encode() for n in range(100)))
    assert len(view.term.scrollback) == 91
    view.scroll_by(5)
    assert view._line_text(view._visible_line(0)).rstrip() == "line 86"
    view.feed(b"more")
    assert view.scrolled == 0
    assert view._line_text(view._visible_line(9)).rstrip() == "more"


def test_select_copy_and_paste(qtbot: Any, view: TerminalView) -> None:
    view.feed(b"hello world\r\nsecond line")
    y0, y1 = view.cell_h // 2, view.cell_h + view.cell_h // 2
    qtbot.mousePress(view, Qt.MouseButton.LeftButton, pos=QPoint(6 * view.cell_w, y0))
    qtbot.mouseMove(view, QPoint(6 * view.cell_w, y1))
    qtbot.mouseRelease(view, Qt.MouseButton.LeftButton, pos=QPoint(6 * view.cell_w, y1))
    assert view.selected_text() == "world\nsecond"
    qtbot.keyClick(view, K.Key_C, M.ControlModifier | M.ShiftModifier)
    assert QGuiApplication.clipboard().text() == "world\nsecond"
    QGuiApplication.clipboard().setText("ls\necho x")
    assert _sent(qtbot, view, K.Key_V, M.ControlModifier | M.ShiftModifier) == b"ls\recho x"


def test_a_resize_becomes_columns_and_rows(qtbot: Any, view: TerminalView) -> None:
    with qtbot.waitSignal(view.sig_resized, timeout=2000) as blocker:
        view.resize(*view.size_for(57, 13))
    assert blocker.args == [57, 13]
    assert (view.term.columns, view.term.lines) == (57, 13)


def test_the_fast_path_draws_what_pyte_draws() -> None:
    rnd = random.Random(7)
    pieces = ["\r\n", "\x1b[31m", "\x1b[0m", "\x1b[1;44m", "\x1b[38;5;200m", "é漢字",
              "\x1b[4h", "\x1b[4l", "\x1b[?7l", "\x1b[?7h", "\x1b(0", "\x1b(B", "\b\t"]
    parts = []
    for _ in range(3000):
        if rnd.random() < 0.5:
            parts.append("".join(rnd.choice("abc xyz~{}") for _ in range(rnd.randint(1, 200))))
        elif rnd.random() < 0.3:
            parts.append(f"\x1b[{rnd.randint(1, 30)};{rnd.randint(1, 90)}H")
        else:
            parts.append(rnd.choice(pieces))
    data = "".join(parts).encode()
    plain, fast = pyte.Screen(80, 24), TerminalScreen(80, 24)
    a, b = pyte.ByteStream(plain), pyte.ByteStream(fast)
    for start in range(0, len(data), 777):
        a.feed(data[start:start + 777])
        b.feed(data[start:start + 777])
        assert (plain.cursor.x, plain.cursor.y) == (fast.cursor.x, fast.cursor.y)
        assert all(plain.buffer[y][x] == fast.buffer[y][x]
                   for y in range(24) for x in range(80)), start
        assert plain.dirty <= fast.dirty  # every line pyte would repaint, repainted
        plain.dirty.clear()
        fast.dirty.clear()
    assert len(fast.scrollback) > 100
