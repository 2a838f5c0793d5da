"""``TerminalView``: a VT100/xterm terminal widget over a pyte screen.

Output goes in with ``feed(bytes)`` (pyte parses it into ``TerminalScreen``); the widget
repaints only the lines pyte marked dirty, at most once per frame (``FRAME_MS``): a flood
of output is many feeds and one paint per frame. Colours are xterm's: the 16 ANSI ones,
the 256-colour cube and truecolor as pyte reports them; bold, italics, underline,
strike-through and reverse video; a block cursor (hollow when the widget has no focus).

Keys become the bytes a terminal sends (``sig_input``): text, Enter, Backspace, Tab,
Escape, arrows (in the cursor-key mode the program chose), Home/End/PgUp/PgDn/Insert/
Delete, F1-F12, Ctrl+letter, Alt as an Escape prefix. Ctrl+Shift+C copies the selection
(drag with the mouse; a double click takes a word), Ctrl+Shift+V pastes; the wheel and
Shift+PgUp/PgDn page through the scrollback. A size change of the widget becomes a new
column and row count (``sig_resized``), debounced.
"""

from __future__ import annotations

import itertools
import math
import time
from typing import Any

import pyte
from PySide6.QtCore import QEvent, QPoint, QRect, QSize, Qt, QTimer, Signal
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontDatabase,
    QFontMetrics,
    QFontMetricsF,
    QGuiApplication,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QRegion,
    QResizeEvent,
    QWheelEvent,
)
from PySide6.QtWidgets import QSizePolicy, QWidget
from pyte import modes as mo
from wcwidth import wcwidth

from .terminal_screen import TerminalScreen

FRAME_MS = 16
DECCKM = 1 << 5  # private mode 1 (application cursor keys) as pyte stores it
BRACKETED_PASTE = 2004 << 5
RESIZE_DEBOUNCE_MS = 60
BACKGROUND = QColor("#1e1e1e")
FOREGROUND = QColor("#d4d4d4")
SELECTION = QColor("#264f78")
# xterm's 16 colours, by pyte's names (pyte spells bright magenta "bfightmagenta" for a
# background).
ANSI = {
    "black": "#000000", "red": "#cd0000", "green": "#00cd00", "brown": "#cdcd00",
    "blue": "#0000ee", "magenta": "#cd00cd", "cyan": "#00cdcd", "white": "#e5e5e5",
    "brightblack": "#7f7f7f", "brightred": "#ff0000", "brightgreen": "#00ff00",
    "brightbrown": "#ffff00", "brightblue": "#5c5cff", "brightmagenta": "#ff00ff",
    "bfightmagenta": "#ff00ff", "brightcyan": "#00ffff", "brightwhite": "#ffffff",
}
_COLOURS: dict[str, QColor] = {name: QColor(value) for name, value in ANSI.items()}

_K = Qt.Key
_KEYS: dict[Qt.Key, bytes] = {
    _K.Key_Return: b"\r", _K.Key_Enter: b"\r", _K.Key_Backspace: b"\x7f",
    _K.Key_Tab: b"\t", _K.Key_Backtab: b"\x1b[Z", _K.Key_Escape: b"\x1b",
    _K.Key_Insert: b"\x1b[2~", _K.Key_Delete: b"\x1b[3~", _K.Key_PageUp: b"\x1b[5~",
    _K.Key_PageDown: b"\x1b[6~", _K.Key_F1: b"\x1bOP", _K.Key_F2: b"\x1bOQ",
    _K.Key_F3: b"\x1bOR", _K.Key_F4: b"\x1bOS", _K.Key_F5: b"\x1b[15~",
    _K.Key_F6: b"\x1b[17~", _K.Key_F7: b"\x1b[18~", _K.Key_F8: b"\x1b[19~",
    _K.Key_F9: b"\x1b[20~", _K.Key_F10: b"\x1b[21~", _K.Key_F11: b"\x1b[23~",
    _K.Key_F12: b"\x1b[24~",
}
_CURSOR_KEYS = {_K.Key_Up: b"A", _K.Key_Down: b"B", _K.Key_Right: b"C", _K.Key_Left: b"D",
                _K.Key_Home: b"H", _K.Key_End: b"F"}


def colour(name: str, default: QColor) -> QColor:
    """A pyte colour: a name of the 16, ``"default"``, or ``rrggbb`` (256 and truecolor)."""
    known = _COLOURS.get(name)
    if known is not None:
        return known
    if len(name) == 6:
        value = QColor(f"#{name}")
        if value.isValid():
            _COLOURS[name] = value
            return value
    return default


def key_bytes(event: QKeyEvent, application_cursor: bool = False) -> bytes:
    """The bytes a terminal sends for a key press (empty: none)."""
    key = Qt.Key(event.key())
    mods = event.modifiers()
    ctrl = bool(mods & Qt.KeyboardModifier.ControlModifier)
    alt = bool(mods & Qt.KeyboardModifier.AltModifier)
    if key in _CURSOR_KEYS:
        prefix = b"\x1bO" if application_cursor else b"\x1b["
        return prefix + _CURSOR_KEYS[key]
    if key in _KEYS:
        data = _KEYS[key]
    elif ctrl and _K.Key_A <= key <= _K.Key_Z:
        data = bytes([key - _K.Key_A + 1])
    elif ctrl and key in (_K.Key_BracketLeft, _K.Key_Backslash, _K.Key_BracketRight):
        data = bytes([0x1b + (key - _K.Key_BracketLeft)])
    elif ctrl and key == _K.Key_Space:
        data = b"\x00"
    else:
        data = event.text().encode("utf-8")
    if alt and data:
        data = b"\x1b" + data
    return data


class TerminalView(QWidget):
    """Signals:
    sig_input(bytes): bytes for the shell (keys, pasted text).
    sig_resized(int, int): the terminal's new size in columns and rows.
    sig_painted(): a paint finished (benchmarks and tests wait on it).
    """

    sig_input = Signal(bytes)
    sig_resized = Signal(int, int)
    sig_painted = Signal()

    def __init__(self, cols: int = 80, rows: int = 24, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Terminal")
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setAttribute(Qt.WidgetAttribute.WA_InputMethodEnabled)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setCursor(Qt.CursorShape.IBeamCursor)
        font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        font.setPointSize(10)
        font.setStyleHint(QFont.StyleHint.Monospace)
        self._set_font(font)
        self.term = TerminalScreen(cols, rows)
        self.stream = pyte.ByteStream(self.term)
        self.scrolled = 0  # lines scrolled back into the scrollback (0: the live screen)
        self._selection: tuple[tuple[int, int], tuple[int, int]] | None = None
        self._anchor: tuple[int, int] | None = None
        self._pending = QRegion()
        self._last_paint = 0.0
        self._last_cursor = (0, 0)
        self._frame = QTimer(self)
        self._frame.setSingleShot(True)
        self._frame.timeout.connect(self._flush)
        self._resize_timer = QTimer(self)
        self._resize_timer.setSingleShot(True)
        self._resize_timer.setInterval(RESIZE_DEBOUNCE_MS)
        self._resize_timer.timeout.connect(self._apply_size)

    def _set_font(self, font: QFont) -> None:
        """The font and its bold/italic variants, spaced so that every character of a
        run takes exactly one cell (whole pixels): a run is then one ``drawText``."""
        self.setFont(font)
        self.cell_w = max(1, math.ceil(QFontMetricsF(font).horizontalAdvance("M")))
        metrics = QFontMetrics(font)
        self.cell_h = max(1, metrics.height())
        self.ascent = metrics.ascent()
        self._fonts: dict[tuple[bool, bool, bool, bool], QFont] = {}
        self._exact: dict[tuple[bool, bool, bool, bool], bool] = {}
        for bold, italic, underline, strike in itertools.product((False, True), repeat=4):
            variant = QFont(font)
            variant.setBold(bold)
            variant.setItalic(italic)
            variant.setUnderline(underline)
            variant.setStrikeOut(strike)
            advance = QFontMetricsF(variant).horizontalAdvance("M")
            variant.setLetterSpacing(QFont.SpacingType.AbsoluteSpacing, self.cell_w - advance)
            run = QFontMetricsF(variant).horizontalAdvance("M" * 200)
            key = (bold, italic, underline, strike)
            self._fonts[key] = variant
            self._exact[key] = abs(run - 200 * self.cell_w) < 1.0

    # -- size -------------------------------------------------------------------------------

    @property
    def cols(self) -> int:
        return int(self.term.columns)

    @property
    def rows(self) -> int:
        return int(self.term.lines)

    def size_for(self, cols: int, rows: int) -> tuple[int, int]:
        return cols * self.cell_w, rows * self.cell_h

    def sizeHint(self):  # type: ignore[no-untyped-def]

        w, h = self.size_for(self.cols, self.rows)
        return QSize(w, h)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._resize_timer.start()

    def _apply_size(self) -> None:
        cols = max(2, self.width() // self.cell_w)
        rows = max(2, self.height() // self.cell_h)
        if (cols, rows) == (self.cols, self.rows):
            return
        self.term.resize(rows, cols)
        self.term.dirty.update(range(rows))
        self._selection = None
        self.update()
        self.sig_resized.emit(cols, rows)

    # -- output -----------------------------------------------------------------------------

    def feed(self, data: bytes) -> None:
        """Output of the shell; the changed lines are painted with the next frame."""
        self.stream.feed(data)
        if self.scrolled and self.term.dirty:
            self.scrolled = 0  # new output brings the view back to the live screen
            self._pending = QRegion(self.rect())
        self._collect_dirty()
        self._schedule()

    def _collect_dirty(self) -> None:
        screen = self.term
        dirty = set(screen.dirty)
        screen.dirty.clear()
        cursor = (screen.cursor.y, screen.cursor.x)
        if cursor != self._last_cursor:
            dirty.add(self._last_cursor[0])
            dirty.add(cursor[0])
            self._last_cursor = cursor
        if not dirty:
            return
        if self.scrolled:
            self._pending = QRegion(self.rect())
            return
        width = self.width()
        rows = sorted(y for y in dirty if 0 <= y < screen.lines)
        # Runs of neighbouring lines as one rectangle each.
        start = prev = None
        for y in [*rows, None]:
            if y is not None and prev is not None and y == prev + 1:
                prev = y
                continue
            if start is not None and prev is not None:
                self._pending += QRect(0, start * self.cell_h, width,
                                       (prev - start + 1) * self.cell_h)
            start = prev = y

    def _schedule(self) -> None:
        if self._pending.isEmpty() or self._frame.isActive():
            return
        since = (time.perf_counter() - self._last_paint) * 1000
        self._frame.start(max(0, int(FRAME_MS - since)))

    def _flush(self) -> None:
        if not self._pending.isEmpty():
            region, self._pending = self._pending, QRegion()
            self.update(region)

    def screen_lines(self) -> list[str]:
        """The live screen's text, one string per row (tests, accessibility)."""
        return [self._line_text(self.term.buffer[y]) for y in range(self.rows)]

    def _line_text(self, line: Any, start: int = 0, end: int | None = None) -> str:
        end = self.cols if end is None else end
        default = self.term.default_char
        return "".join(getattr(line.get(x, default), "data", " ") for x in range(start, end))

    # -- painting ---------------------------------------------------------------------------

    def _visible_line(self, row: int) -> object:
        """The line shown on ``row``: from the scrollback when scrolled back."""
        history = self.term.scrollback
        index = len(history) - self.scrolled + row
        if index < len(history):
            return history[index]
        return self.term.buffer[index - len(history)]

    def paintEvent(self, event: QPaintEvent) -> None:
        self._last_paint = time.perf_counter()
        painter = QPainter(self)
        rect = event.rect()
        painter.fillRect(rect, BACKGROUND)
        first = max(0, rect.top() // self.cell_h)
        last = min(self.rows - 1, rect.bottom() // self.cell_h)
        for row in range(first, last + 1):
            self._paint_line(painter, row)
        self._paint_cursor(painter)
        painter.end()
        self.sig_painted.emit()

    def _paint_line(self, painter: QPainter, row: int) -> None:
        line: Any = self._visible_line(row)
        get, default = line.get, self.term.default_char
        top, cols = row * self.cell_h, self.cols
        selected = self._selected_span(row)
        run_start = 0
        run_key: Any = None
        text: list[str] = []
        for x in range(cols):
            char = get(x, default)
            key = char[1:]  # everything but the character: fg, bg, bold, italics, …
            if selected is not None:
                key = (key, selected[0] <= x < selected[1])
            if key != run_key:
                if text:
                    self._paint_run(painter, run_start, x - run_start, top, "".join(text),
                                    run_key)
                run_start, run_key, text = x, key, []
            text.append(char.data)
        if text:
            self._paint_run(painter, run_start, cols - run_start, top, "".join(text), run_key)

    def _paint_run(self, painter: QPainter, x: int, cells: int, top: int, text: str,
                   key: Any) -> None:
        selected = False
        if len(key) == 2:
            key, selected = key
        fg_name, bg_name, bold, italic, underline, strike, reverse = key[:7]
        fg = colour(fg_name, FOREGROUND)
        bg = colour(bg_name, BACKGROUND)
        if reverse:
            fg, bg = bg, fg
        if selected:
            bg = SELECTION
        left = x * self.cell_w
        if bg is not BACKGROUND:
            painter.fillRect(left, top, cells * self.cell_w, self.cell_h, bg)
        if text.isspace() and not (underline or strike):
            return
        style = (bool(bold), bool(italic), bool(underline), bool(strike))
        painter.setFont(self._fonts[style])
        painter.setPen(fg)
        baseline = top + self.ascent
        if text.isascii() and len(text) == cells and self._exact[style]:
            painter.drawText(left, baseline, text)
            return
        # Cell by cell: wide characters (two cells) and glyphs from a fallback font.
        for ch in text:  # a wide character's second cell holds "" (gone in the join)
            painter.drawText(left, baseline, ch)
            left += self.cell_w * max(1, wcwidth(ch))

    def _paint_cursor(self, painter: QPainter) -> None:
        screen = self.term
        if self.scrolled or mo.DECTCEM not in screen.mode:
            return
        x, y = min(screen.cursor.x, self.cols - 1), screen.cursor.y
        area = QRect(x * self.cell_w, y * self.cell_h, self.cell_w, self.cell_h)
        if self.hasFocus():
            painter.fillRect(area, FOREGROUND)
            char = screen.buffer[y].get(x, screen.default_char)
            if char.data.strip():
                painter.setFont(self._fonts[(bool(char.bold), bool(char.italics), False, False)])
                painter.setPen(BACKGROUND)
                painter.drawText(area.left(), area.top() + self.ascent, char.data)
        else:
            painter.setPen(FOREGROUND)
            painter.drawRect(area.adjusted(0, 0, -1, -1))

    # -- keys -------------------------------------------------------------------------------

    def event(self, event: QEvent) -> bool:
        # Tab and Backtab belong to the shell, not to the focus chain.
        if (isinstance(event, QKeyEvent) and event.type() == QEvent.Type.KeyPress
                and event.key() in (_K.Key_Tab, _K.Key_Backtab)):
            self.keyPressEvent(event)
            return True
        return super().event(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        mods = event.modifiers()
        ctrl_shift = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
        if (mods & ctrl_shift) == ctrl_shift and event.key() in (_K.Key_C, _K.Key_V):
            if event.key() == _K.Key_C:
                self.copy()
            else:
                self.paste()
            return
        if mods & Qt.KeyboardModifier.ShiftModifier and event.key() in (_K.Key_PageUp,
                                                                        _K.Key_PageDown):
            self.scroll_by(self.rows // 2 if event.key() == _K.Key_PageUp else -self.rows // 2)
            return
        data = key_bytes(event, application_cursor=(DECCKM in self.term.mode))
        if data:
            if self.scrolled:
                self.scroll_by(-self.scrolled)
            self.sig_input.emit(data)

    def focusInEvent(self, event: object) -> None:
        super().focusInEvent(event)  # type: ignore[arg-type]
        self._repaint_cursor()

    def focusOutEvent(self, event: object) -> None:
        super().focusOutEvent(event)  # type: ignore[arg-type]
        self._repaint_cursor()

    def _repaint_cursor(self) -> None:
        self.update(0, self.term.cursor.y * self.cell_h, self.width(), self.cell_h)

    # -- scrollback -------------------------------------------------------------------------

    def scroll_by(self, lines: int) -> None:
        """Positive: back into the scrollback; negative: towards the live screen."""
        new = max(0, min(len(self.term.scrollback), self.scrolled + lines))
        if new != self.scrolled:
            self.scrolled = new
            self.update()

    def wheelEvent(self, event: QWheelEvent) -> None:
        steps = event.angleDelta().y() // 40
        if steps:
            self.scroll_by(steps)

    # -- selection, copy, paste -------------------------------------------------------------

    def _cell(self, pos: QPoint) -> tuple[int, int]:
        """(absolute line: scrollback then screen, column) under ``pos``."""
        row = max(0, min(self.rows - 1, pos.y() // self.cell_h))
        col = max(0, min(self.cols, round(pos.x() / self.cell_w)))
        return len(self.term.scrollback) - self.scrolled + row, col

    def _selected_span(self, row: int) -> tuple[int, int] | None:
        if self._selection is None:
            return None
        (l1, c1), (l2, c2) = self._selection
        line = len(self.term.scrollback) - self.scrolled + row
        if not l1 <= line <= l2:
            return None
        return (c1 if line == l1 else 0), (c2 if line == l2 else self.cols)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self._anchor = self._cell(event.position().toPoint())
            if self._selection is not None:
                self._selection = None
                self.update()
        elif event.button() == Qt.MouseButton.MiddleButton:
            self.paste(QGuiApplication.clipboard().text(
                QGuiApplication.clipboard().Mode.Selection))

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._anchor is None:
            return
        here = self._cell(event.position().toPoint())
        self._selection = (min(self._anchor, here), max(self._anchor, here))
        self.update()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        self._anchor = None
        text = self.selected_text()
        if text:
            QGuiApplication.clipboard().setText(text, QGuiApplication.clipboard().Mode.Selection)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        line_no, col = self._cell(event.position().toPoint())
        text = self._absolute_text(line_no)
        col = min(col, len(text) - 1)
        if col < 0 or text[col].isspace():
            return
        start, end = col, col
        while start > 0 and not text[start - 1].isspace():
            start -= 1
        while end < len(text) and not text[end].isspace():
            end += 1
        self._selection = ((line_no, start), (line_no, end))
        self.update()

    def _absolute_text(self, line_no: int, start: int = 0, end: int | None = None) -> str:
        history = self.term.scrollback
        line = history[line_no] if line_no < len(history) else (
            self.term.buffer[line_no - len(history)])
        return self._line_text(line, start, end)

    def select_all(self) -> None:
        self._selection = ((0, 0), (len(self.term.scrollback) + self.rows - 1, self.cols))
        self.update()

    def selected_text(self) -> str:
        if self._selection is None:
            return ""
        (l1, c1), (l2, c2) = self._selection
        lines = []
        for line_no in range(l1, l2 + 1):
            start = c1 if line_no == l1 else 0
            end = c2 if line_no == l2 else self.cols
            lines.append(self._absolute_text(line_no, start, end).rstrip())
        return "\n".join(lines)

    def copy(self) -> None:
        text = self.selected_text()
        if text:
            QGuiApplication.clipboard().setText(text)

    def paste(self, text: str | None = None) -> None:
        if text is None:
            text = QGuiApplication.clipboard().text()
        if not text:
            return
        data = text.replace("\r\n", "\r").replace("\n", "\r").encode("utf-8")
        if BRACKETED_PASTE in self.term.mode:  # bracketed paste, when the program asked
            data = b"\x1b[200~" + data + b"\x1b[201~"
        self.sig_input.emit(data)
