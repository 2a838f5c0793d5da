"""``YamlEditor``: a plain-text editor for Compose YAML with syntax highlighting
(``YamlHighlighter``, a ``QSyntaxHighlighter``), line numbers, and validation marks:
each issue underlines its line (red for errors, amber for warnings) and its text is the
line's tooltip. Validation itself runs in the store; the editor only shows the report.

Signals:
    sig_text_settled(): the text stopped changing for ``settle_ms`` (validate now).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from PySide6.QtCore import QRect, QSize, Qt, QTimer, Signal
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontDatabase,
    QHelpEvent,
    QPainter,
    QPaintEvent,
    QResizeEvent,
    QSyntaxHighlighter,
    QTextCharFormat,
    QTextCursor,
    QTextDocument,
    QTextFormat,
)
from PySide6.QtWidgets import QPlainTextEdit, QTextEdit, QToolTip, QWidget

from ...domain.compose import Issue


def _fmt(color: str, *, bold: bool = False, italic: bool = False) -> QTextCharFormat:
    fmt = QTextCharFormat()
    fmt.setForeground(QColor(color))
    if bold:
        fmt.setFontWeight(QFont.Weight.Bold)
    fmt.setFontItalic(italic)
    return fmt


class YamlHighlighter(QSyntaxHighlighter):
    """Keys, strings, numbers/booleans, comments, anchors/aliases and ``${VAR}``."""

    def __init__(self, document: QTextDocument) -> None:
        super().__init__(document)
        self.rules = [
            (re.compile(r"^\s*(?:- )?([A-Za-z0-9_.\-\"']+)\s*:(?=\s|$)"),
             _fmt("#1f6feb", bold=True)),
            (re.compile(r"^\s*-(?=\s)"), _fmt("#8250df", bold=True)),
            (re.compile(r"\"(?:[^\"\\]|\\.)*\"|'(?:[^']|'')*'"), _fmt("#0a7d32")),
            (re.compile(r"(?<![\w.])(?:true|false|yes|no|null|~|-?\d+(?:\.\d+)?)(?![\w.])"),
             _fmt("#b35900")),
            (re.compile(r"[&*][A-Za-z0-9_-]+"), _fmt("#8250df", italic=True)),
            (re.compile(r"\$\{[^}]*\}|\$[A-Za-z_][A-Za-z0-9_]*"), _fmt("#c2185b", bold=True)),
        ]
        self.comment = _fmt("#6e7781", italic=True)

    def highlightBlock(self, text: str) -> None:
        for pattern, fmt in self.rules:
            for match in pattern.finditer(text):
                group = 1 if pattern.groups else 0
                self.setFormat(match.start(group), match.end(group) - match.start(group), fmt)
        comment = _comment_start(text)
        if comment is not None:
            self.setFormat(comment, len(text) - comment, self.comment)


def _comment_start(text: str) -> int | None:
    """Where a ``#`` comment starts, outside quotes (``a#b`` is not a comment)."""
    quote = ""
    for i, ch in enumerate(text):
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch == "#" and (i == 0 or text[i - 1] in " \t"):
            return i
    return None


class _Gutter(QWidget):
    def __init__(self, editor: YamlEditor) -> None:
        super().__init__(editor)
        self.editor = editor

    def sizeHint(self) -> QSize:
        return QSize(self.editor.gutter_width(), 0)

    def paintEvent(self, event: QPaintEvent) -> None:
        self.editor.paint_gutter(event)


class YamlEditor(QPlainTextEdit):
    sig_text_settled = Signal()

    def __init__(self, parent: QWidget | None = None, *, settle_ms: int = 350) -> None:
        super().__init__(parent)
        self.setAccessibleName("Compose file")
        self.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.setTabChangesFocus(False)
        self.highlighter = YamlHighlighter(self.document())
        self._issues: dict[int, list[Issue]] = {}
        self._gutter = _Gutter(self)
        self.blockCountChanged.connect(lambda _: self._update_margins())
        self.updateRequest.connect(self._on_update_request)
        self._update_margins()
        self._settle = QTimer(self)
        self._settle.setSingleShot(True)
        self._settle.setInterval(settle_ms)
        self._settle.timeout.connect(self.sig_text_settled)
        self.textChanged.connect(self._settle.start)

    # -- Tab inserts two spaces (YAML forbids tabs) -------------------------------------
    def keyPressEvent(self, event: object) -> None:
        from PySide6.QtGui import QKeyEvent

        if isinstance(event, QKeyEvent) and event.key() == Qt.Key.Key_Tab:
            self.insertPlainText("  ")
            return
        super().keyPressEvent(event)  # type: ignore[arg-type]

    # -- validation marks --------------------------------------------------------------
    def set_issues(self, issues: Sequence[Issue]) -> None:
        self._issues = {}
        selections = []
        for issue in issues:
            if issue.line <= 0:
                continue
            self._issues.setdefault(issue.line, []).append(issue)
        for line, found in self._issues.items():
            block = self.document().findBlockByNumber(line - 1)
            if not block.isValid():
                continue
            error = any(i.severity == "error" for i in found)
            sel = QTextEdit.ExtraSelection()
            sel.format.setUnderlineStyle(QTextCharFormat.UnderlineStyle.WaveUnderline)
            sel.format.setUnderlineColor(QColor("#d1242f" if error else "#bf8700"))
            sel.format.setBackground(QColor(255, 0, 0, 28) if error else QColor(255, 191, 0, 28))
            sel.format.setProperty(QTextFormat.Property.FullWidthSelection, True)
            cursor = QTextCursor(block)
            cursor.select(QTextCursor.SelectionType.LineUnderCursor)
            sel.cursor = cursor
            selections.append(sel)
        self.setExtraSelections(selections)
        self._gutter.update()

    def issues_on_line(self, line: int) -> list[Issue]:
        return list(self._issues.get(line, []))

    def go_to(self, line: int, column: int = 1) -> None:
        block = self.document().findBlockByNumber(max(0, line - 1))
        cursor = QTextCursor(block)
        cursor.movePosition(QTextCursor.MoveOperation.Right, n=max(0, column - 1))
        self.setTextCursor(cursor)
        self.setFocus()

    def event(self, event: object) -> bool:
        from PySide6.QtCore import QEvent

        if isinstance(event, QHelpEvent) and event.type() == QEvent.Type.ToolTip:
            cursor = self.cursorForPosition(event.pos())
            issues = self.issues_on_line(cursor.blockNumber() + 1)
            if issues:
                QToolTip.showText(event.globalPos(), "\n".join(str(i) for i in issues), self)
            else:
                QToolTip.hideText()
            return True
        return super().event(event)  # type: ignore[arg-type]

    # -- gutter ------------------------------------------------------------------------
    def gutter_width(self) -> int:
        digits = len(str(max(1, self.blockCount())))
        return 14 + self.fontMetrics().horizontalAdvance("9") * max(3, digits)

    def _update_margins(self) -> None:
        self.setViewportMargins(self.gutter_width(), 0, 0, 0)

    def _on_update_request(self, rect: QRect, dy: int) -> None:
        if dy:
            self._gutter.scroll(0, dy)
        else:
            self._gutter.update(0, rect.y(), self._gutter.width(), rect.height())

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        cr = self.contentsRect()
        self._gutter.setGeometry(QRect(cr.left(), cr.top(), self.gutter_width(), cr.height()))

    def paint_gutter(self, event: QPaintEvent) -> None:
        painter = QPainter(self._gutter)
        palette = self.palette()
        painter.fillRect(event.rect(), palette.alternateBase())
        block = self.firstVisibleBlock()
        number = block.blockNumber()
        top = round(self.blockBoundingGeometry(block).translated(self.contentOffset()).top())
        height = self.fontMetrics().height()
        while block.isValid() and top <= event.rect().bottom():
            if block.isVisible():
                line = number + 1
                found = self._issues.get(line)
                if found:
                    error = any(i.severity == "error" for i in found)
                    painter.setBrush(QColor("#d1242f" if error else "#bf8700"))
                    painter.setPen(Qt.PenStyle.NoPen)
                    painter.drawEllipse(3, top + height // 2 - 3, 6, 6)
                painter.setPen(palette.placeholderText().color())
                painter.drawText(0, top, self._gutter.width() - 4, height,
                                 Qt.AlignmentFlag.AlignRight, str(line))
            block = block.next()
            top += round(self.blockBoundingRect(block).height()) if block.isValid() else height
            number += 1
        painter.end()
