"""``StatsChart``: one container's CPU, memory, network and block I/O over the last
minutes, four small line charts side by side, painted with ``QPainter`` (no charting
library: a few hundred points a second need none).

Network and block I/O come from the engine as totals since the container started; the
chart shows their rates (the difference of two samples over the time between them).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPalette, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from ...domain.containers import ContainerStats
from ..theme import theme_for
from .target_text import human_size

MIB = 1024 * 1024


def rates(samples: Sequence[ContainerStats], field: str) -> list[float]:
    """Bytes per second of a total (``network_rx_bytes`` …) between each two samples; a
    total that fell (the container restarted) counts as a new start, not a negative
    rate."""
    out = []
    for a, b in itertools.pairwise(samples):
        seconds = b.read_at - a.read_at if b.read_at > a.read_at else 1.0
        grown = getattr(b, field) - getattr(a, field)
        out.append(max(grown, 0) / seconds)
    return out


@dataclass(frozen=True)
class Panel:
    title: str
    lines: tuple[tuple[str, Sequence[float]], ...]  # (legend, values): up to two
    ceiling: float
    text: str
    unit: str = ""   # "%" for CPU, "/s" for rates, "" for bytes

    @property
    def ceiling_text(self) -> str:
        if self.unit == "%":
            return f"{self.ceiling:.0f}%"
        return human_size(self.ceiling) + self.unit


def panels(samples: Sequence[ContainerStats]) -> list[Panel]:
    """The four charts of these samples (pure: what the widget paints)."""
    cpu = [s.cpu_percent for s in samples]
    memory = [float(s.memory_bytes) for s in samples]
    rx, tx = rates(samples, "network_rx_bytes"), rates(samples, "network_tx_bytes")
    read, write = rates(samples, "block_read_bytes"), rates(samples, "block_write_bytes")
    last = samples[-1] if samples else None
    limit = f" of {human_size(last.memory_limit_bytes)}" if last and last.memory_limit_bytes else ""

    def rate(values: Sequence[float]) -> str:
        return f"{human_size(values[-1])}/s" if values else "—"

    return [
        Panel("CPU", (("", cpu),), max([100.0, *cpu]),
              f"{cpu[-1]:.1f}%" if cpu else "—", "%"),
        Panel("Memory", (("", memory),), max([MIB, *memory]) * 1.25,
              f"{human_size(memory[-1])}{limit}" if memory else "—"),
        Panel("Network", (("in", rx), ("out", tx)), max([1024.0, *rx, *tx]) * 1.25,
              f"in {rate(rx)} · out {rate(tx)}", "/s"),
        Panel("Block I/O", (("read", read), ("write", write)),
              max([1024.0, *read, *write]) * 1.25, f"read {rate(read)} · write {rate(write)}",
              "/s"),
    ]


class StatsChart(QWidget):
    """Shows ``set_samples(title, samples)``; ``span`` is how many samples fit across
    (the store's history: five minutes at one a second)."""

    def __init__(self, span: int = 300, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Container stats")
        self.span = span
        self.title = ""
        self.samples: Sequence[ContainerStats] = ()
        self.setMinimumHeight(110)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)

    def sizeHint(self) -> QSize:
        return QSize(800, 130)

    def set_samples(self, title: str, samples: Sequence[ContainerStats]) -> None:
        self.title, self.samples = title, samples
        current = panels(samples) if samples else []
        self.setAccessibleDescription(
            "; ".join(f"{p.title} {p.text}" for p in current) or "no samples")
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)  # antialiasing only for the lines (see ``_panel``)
        palette = self.palette()
        theme = theme_for(palette)
        text = palette.color(QPalette.ColorRole.Text)
        muted = QColor(theme.muted_text)
        colors = (QColor(theme.highlight), QColor(theme.badge("warning")[1]))
        if not self.samples:
            painter.setPen(muted)
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter,
                             f"{self.title}: no samples yet" if self.title else
                             "Select a running container to see its CPU, memory, network "
                             "and disk use")
            return
        metrics = painter.fontMetrics()
        line_h = metrics.height()
        painter.setPen(muted)
        # The width holds the last minute at first, then up to ``span`` as samples come.
        shown = self.shown_span()
        minutes = shown / 60
        painter.drawText(QRectF(8, 2, self.width() - 16, line_h),
                         Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                         f"{self.title} — the last "
                         + ("minute" if round(minutes) == 1 else f"{minutes:.0f} minutes"))
        current = panels(self.samples)
        gap = 12.0
        width = (self.width() - 16 - gap * (len(current) - 1)) / len(current)
        top = line_h + 6
        for i, panel in enumerate(current):
            box = QRectF(8 + i * (width + gap), top, width, self.height() - top - 4)
            self._panel(painter, panel, box, text, muted, colors, line_h, shown)

    def shown_span(self) -> int:
        """How many samples fit across now: a minute at least, ``span`` at most."""
        return max(min(self.span, len(self.samples)), min(60, self.span))

    def _panel(self, painter: QPainter, panel: Panel, box: QRectF, text: QColor,
               muted: QColor, colors: tuple[QColor, QColor], line_h: int,
               span: int) -> None:
        painter.setPen(text)
        head = QRectF(box.left(), box.top(), box.width(), line_h)
        painter.drawText(head, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                         panel.title)
        painter.setPen(muted)
        painter.drawText(head, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                         panel.text)
        plot = QRectF(box.left(), head.bottom() + 3, box.width(),
                      box.height() - line_h - 3)
        frame = QColor(muted)
        frame.setAlpha(90)
        painter.setPen(QPen(frame, 1))
        painter.drawRect(plot)
        inner = plot.adjusted(1, 2, -1, -1)
        small = painter.font()
        small.setPointSizeF(max(small.pointSizeF() * 0.85, 6.0))
        painter.save()
        painter.setFont(small)
        label = QRectF(inner.left() + 4, inner.top(), inner.width() - 8, line_h)
        painter.setPen(muted)  # the value at the top of the plot
        painter.drawText(label, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop,
                         panel.ceiling_text)
        legend_x = label.right()
        for (legend, _values), color in reversed(list(zip(panel.lines, colors,
                                                          strict=False))):
            if legend:
                width = painter.fontMetrics().horizontalAdvance(legend) + 4
                legend_x -= width
                painter.setPen(color)
                painter.drawText(QRectF(legend_x, label.top(), width, line_h),
                                 Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop,
                                 legend)
                legend_x -= 6
        painter.restore()
        for (_legend, values), color in zip(panel.lines, colors, strict=False):
            shown = values[-span:]
            if len(shown) < 2 or inner.width() <= 0:
                continue
            step = inner.width() / max(span - 1, 1)
            left = inner.right() - step * (len(shown) - 1)
            scale = inner.height() / panel.ceiling if panel.ceiling > 0 else 0.0
            line = [QPointF(left + j * step,
                            inner.bottom() - min(v * scale, inner.height()))
                    for j, v in enumerate(shown)]
            pen = QPen(color, 1.0)  # a fractional width costs ~6x to rasterise
            pen.setCosmetic(True)
            painter.setPen(pen)
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            painter.drawPolyline(line)
            painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
