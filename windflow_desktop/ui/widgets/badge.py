"""``BadgeDelegate``: paints a cell's text as a rounded, coloured status badge.

The tone ("success", "error", "warning", "running", "info", "neutral") comes from the
row (``ROW_ROLE``) through a pure function; the colours come from the theme that
matches the view's palette, so badges read well in light and dark.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPainterPath, QPalette, QPen
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem, QWidget

from ..models.base import ROW_ROLE
from ..theme import theme_for

Index = QModelIndex | QPersistentModelIndex


class BadgeDelegate(QStyledItemDelegate):
    def __init__(self, tone: Callable[[Any], str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._tone = tone

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        text = opt.text
        opt.text = ""
        style = opt.widget.style() if opt.widget is not None else None
        if style is not None:
            style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, opt.widget)
        row = index.data(ROW_ROLE)
        if row is None or not text:
            return
        background, color = self.colors(row, opt.palette)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setFont(badge_font(opt.font))
        metrics = painter.fontMetrics()
        room = opt.rect.width() - 12
        shown = metrics.elidedText(text, Qt.TextElideMode.ElideRight, max(room - 16, 10))
        width = min(metrics.horizontalAdvance(shown) + 16, room)
        height = metrics.height() + 4
        rect = QRectF(opt.rect.left() + 6, opt.rect.center().y() - height / 2 + 1,
                      max(width, 0), height)
        path = QPainterPath()
        path.addRoundedRect(rect, height / 2, height / 2)
        painter.fillPath(path, QColor(background))
        if self.faded(row):
            painter.setOpacity(0.6)
        painter.setPen(QPen(QColor(color)))
        painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, shown)
        painter.restore()

    def colors(self, row: Any, palette: QPalette) -> tuple[str, str]:
        """Background and text colour of ``row``'s badge: its tone in the view's theme."""
        return theme_for(palette).badge(self._tone(row))

    def faded(self, row: Any) -> bool:
        """Whether the badge's text is drawn faded (an inactive row)."""
        return False

    def sizeHint(self, option: QStyleOptionViewItem, index: Index) -> QSize:
        """Room for the whole badge as ``paint`` draws it (its own, bolder font), so a
        column sized to its contents never clips one."""
        size = super().sizeHint(option, index)
        font = badge_font(option.font)
        text = str(index.data(Qt.ItemDataRole.DisplayRole) or "")
        badge = QFontMetrics(font).horizontalAdvance(text) + 16 + 12 + 4
        return QSize(max(size.width() + 20, badge),
                     max(size.height(), option.fontMetrics.height() + 10))


def badge_font(base: QFont) -> QFont:
    font = QFont(base)
    font.setPointSizeF(max(font.pointSizeF() - 1, 7))
    font.setWeight(QFont.Weight.DemiBold)
    return font
