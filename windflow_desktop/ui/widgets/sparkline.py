"""``SparklineDelegate``: paints a cell as a small line chart of its recent values with
the current value beside it — no widget per cell, one ``paint`` per visible cell.

The series comes from a function of the index (the page asks its store: the model holds
no samples), so a new sample repaints a cell after one ``dataChanged`` and nothing else.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPalette, QPen, QPolygonF
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem, QWidget

from ..theme import theme_for

Index = QModelIndex | QPersistentModelIndex
SAMPLES = 60        # the values a sparkline shows: the last minute at one a second
TEXT_WIDTH = 64     # room for the current value, right of the line


@dataclass(frozen=True)
class Series:
    """What one cell shows: ``values`` oldest first, scaled to ``ceiling`` (the top of
    the cell), and ``text`` (the current value, in words)."""

    values: Sequence[float]
    ceiling: float
    text: str


def points(values: Sequence[float], ceiling: float, rect: QRectF) -> list[QPointF]:
    """The line's points in ``rect``: the last ``SAMPLES`` values, right-aligned (a new
    container's short history grows from the right), 0 at the bottom, ``ceiling`` at
    the top (values above it are clipped)."""
    shown = values[-SAMPLES:]
    if not shown:
        return []
    step = rect.width() / (SAMPLES - 1)
    left = rect.right() - step * (len(shown) - 1)
    top, height = rect.top(), rect.height()
    scale = height / ceiling if ceiling > 0 else 0.0
    return [QPointF(left + i * step, top + height - min(v * scale, height))
            for i, v in enumerate(shown)]


class SparklineDelegate(QStyledItemDelegate):
    def __init__(self, series: Callable[[Index], Series | None],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._series = series

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        opt.text = ""
        style = opt.widget.style() if opt.widget is not None else None
        if style is not None:  # background, selection, focus: as every other cell
            style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, opt.widget)
        series = self._series(index)
        if series is None:
            return
        selected = bool(opt.state & QStyle.StateFlag.State_Selected)
        text_color = opt.palette.color(QPalette.ColorRole.HighlightedText if selected
                                       else QPalette.ColorRole.Text)
        line = text_color if selected else QColor(theme_for(opt.palette).highlight)
        cell = QRectF(opt.rect).adjusted(4, 3, -4, -3)
        text_rect = QRectF(cell.right() - TEXT_WIDTH, cell.top(), TEXT_WIDTH, cell.height())
        plot = QRectF(cell.left(), cell.top() + 1, max(cell.width() - TEXT_WIDTH - 6, 0),
                      cell.height() - 2)
        painter.save()
        line_points = points(series.values, series.ceiling, plot)
        if len(line_points) > 1 and plot.width() > 8:
            # Thin, integer-width strokes and an aliased fill: a fractional pen or an
            # antialiased path costs 6-10x as much to rasterise, on every visible cell
            # each second.
            fill = QColor(line)
            fill.setAlpha(50)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(fill)
            painter.drawPolygon(QPolygonF([QPointF(line_points[0].x(), plot.bottom()),
                                           *line_points,
                                           QPointF(line_points[-1].x(), plot.bottom())]))
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            pen = QPen(line, 1.0)
            pen.setCosmetic(True)
            painter.setPen(pen)
            painter.drawPolyline(line_points)
        painter.setPen(text_color)
        painter.drawText(text_rect, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                         series.text)
        painter.restore()

    def sizeHint(self, option: QStyleOptionViewItem, index: Index) -> QSize:
        size = super().sizeHint(option, index)
        return QSize(max(size.width(), TEXT_WIDTH + 90), size.height())
