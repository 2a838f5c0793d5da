"""The notification centre, its bell, the in-window toast, and Settings → Notifications.

- ``NotificationCentre``: the recent notifications, newest first; activating one opens
  the object it is about (``sig_open_object``). Works the same with or without a tray.
- ``NotificationBell``: a status-bar button with the unread count; opens the centre as a
  popup.
- ``Toast``: the in-window pop-up used where the desktop has no tray host.
- ``NotificationSettings``: one checkbox per kind (unchecked = muted), for SettingsPage.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import (
    QModelIndex,
    QPersistentModelIndex,
    QPoint,
    QRect,
    QRectF,
    QSize,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetrics,
    QIcon,
    QMouseEvent,
    QPainter,
    QPainterPath,
    QPaintEvent,
    QPalette,
    QTextLayout,
    QTextOption,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QListView,
    QPushButton,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ...domain.words import ago
from ...resources import icon_path
from ...stores.notifications import Notification, NotificationKind, NotificationsStore
from ..models.base import ROW_ROLE, Column, RowTableModel
from ..theme import set_font, theme_for
from ..widgets.layouts import hbox, vbox

Index = QModelIndex | QPersistentModelIndex

_TONE = {"info": "success", "warning": "warning", "error": "error"}
TOAST_WIDTH = 340
TOAST_MESSAGE_LINES = 4


def wrap_lines(text: str, font: QFont, width: int, max_lines: int) -> tuple[str, bool]:
    """``text`` broken into lines of at most ``width`` pixels (at word boundaries, or
    anywhere inside a long path or id), at most ``max_lines`` of them, the last one
    elided. Returns the text with explicit line breaks and whether anything was cut."""
    lines: list[str] = []
    option = QTextOption()
    option.setWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
    for paragraph in text.splitlines() or [""]:
        layout = QTextLayout(paragraph, font)
        layout.setTextOption(option)
        layout.beginLayout()
        while len(lines) <= max_lines:  # one line past the bound is enough to know
            line = layout.createLine()
            if not line.isValid():
                break
            line.setLineWidth(width)
            start = line.textStart()
            lines.append(paragraph[start:start + line.textLength()].rstrip())
        layout.endLayout()
        if len(lines) > max_lines:
            break
    if len(lines) <= max_lines:
        return "\n".join(lines), False
    rest = " ".join(lines[max_lines - 1:]) + " …"
    last = QFontMetrics(font).elidedText(rest, Qt.TextElideMode.ElideRight, width)
    return "\n".join([*lines[:max_lines - 1], last]), True


def _tone(n: Notification) -> str:
    if n.kind is NotificationKind.TARGET_ONLINE or n.kind is \
            NotificationKind.DEPLOYMENT_SUCCEEDED:
        return "success"
    return _TONE[n.severity]


class NotificationsModel(RowTableModel[Notification]):
    """The recent notifications; follows the store with precise inserts and removals."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(
            [Column("Notification", lambda n: f"{n.title} — {n.message}")],
            key=lambda n: n.id, parent=parent,
        )

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if (role == Qt.ItemDataRole.AccessibleTextRole and index.isValid()
                and index.row() < self.rowCount()):
            n = self.row(index.row())
            return f"{'' if n.read else 'Unread: '}{n.title}. {n.message}"
        return super().data(index, role)

    def follow(self, recent: tuple[Notification, ...]) -> None:
        """Bring the rows to ``recent``: new ones inserted on top, dropped ones removed,
        read flags changed in place."""
        wanted = {n.id for n in recent}
        gone = [n.id for n in self.rows() if n.id not in wanted]
        fresh = [n for n in recent if self.position(n.id) is None]
        if [n.id for n in recent[: len(fresh)]] != [n.id for n in fresh]:
            self.reset(recent)  # not a plain prepend (never happens with the store today)
            return
        known = []
        for n in recent:
            pos = self.position(n.id)
            if pos is not None and self.row(pos) != n:
                known.append(n)
        self.apply(known, gone)
        if fresh:
            self.apply(fresh, prepend=True)


class NotificationDelegate(QStyledItemDelegate):
    """Two lines: a coloured dot, the title (bold when unread) and the time; the message."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        n = index.data(ROW_ROLE)
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        opt.text = ""
        style = opt.widget.style() if opt.widget is not None else None
        if style is not None:
            style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, opt.widget)
        if not isinstance(n, Notification):
            return
        theme = theme_for(opt.palette)
        selected = bool(opt.state & QStyle.StateFlag.State_Selected)
        text_color = opt.palette.color(
            QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text)
        muted = QColor(theme.muted_text) if not selected else text_color
        rect = opt.rect.adjusted(12, 8, -12, -8)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        _background, dot = theme.badge(_tone(n))
        painter.setBrush(QColor(dot))
        painter.setPen(Qt.PenStyle.NoPen)
        painter.drawEllipse(QRect(rect.left(), rect.top() + 5, 9, 9))
        left = rect.left() + 20
        title_font = QFont(opt.font)
        title_font.setWeight(QFont.Weight.Normal if n.read else QFont.Weight.DemiBold)
        painter.setFont(opt.font)
        stamp = ago(n.ts)
        stamp_width = painter.fontMetrics().horizontalAdvance(stamp)
        painter.setPen(muted)
        line_h = painter.fontMetrics().height()
        painter.drawText(QRect(rect.right() - stamp_width, rect.top(), stamp_width, line_h),
                         Qt.AlignmentFlag.AlignRight, stamp)
        painter.setFont(title_font)
        painter.setPen(text_color)
        title_room = rect.right() - stamp_width - 10 - left
        title = painter.fontMetrics().elidedText(n.title, Qt.TextElideMode.ElideRight,
                                                 max(title_room, 10))
        painter.drawText(QRect(left, rect.top(), title_room, line_h),
                         Qt.AlignmentFlag.AlignLeft, title)
        painter.setFont(opt.font)
        painter.setPen(muted)
        first = n.message.splitlines()[0] if n.message else ""
        message = painter.fontMetrics().elidedText(first, Qt.TextElideMode.ElideRight,
                                                   rect.right() - left)
        painter.drawText(QRect(left, rect.top() + line_h + 3, rect.right() - left, line_h),
                         Qt.AlignmentFlag.AlignLeft, message)
        painter.restore()

    def sizeHint(self, option: QStyleOptionViewItem, index: Index) -> QSize:
        return QSize(320, option.fontMetrics.height() * 2 + 19)


class NotificationCentre(QFrame):
    """Signals:
    sig_open_object(str, str): open what a notification is about (aggregate type, id;
        the id is "" for a grouped notification: open the list of that type).
    """

    sig_open_object = Signal(str, str)

    def __init__(self, store: NotificationsStore, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.setObjectName("notificationCentre")
        self.setAccessibleName("Notification centre")
        self.setMinimumSize(360, 300)
        self.heading = QLabel("Notifications")
        set_font(self.heading, pixel_size=15, bold=True)
        self.mark_read_button = QPushButton("Mark all read")
        self.mark_read_button.setAccessibleName("Mark all notifications read")
        self.clear_button = QPushButton("Clear")
        self.clear_button.setAccessibleName("Clear notifications")
        self.model = NotificationsModel(self)
        self.list = QListView()
        self.list.setAccessibleName("Recent notifications")
        self.list.setModel(self.model)
        self.list.setItemDelegate(NotificationDelegate(self.list))
        self.list.setUniformItemSizes(True)
        self.list.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.list.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.empty_label = QLabel("Nothing to report yet.\nDeployments that finish and "
                                  "targets that go offline or come back show up here.")
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setWordWrap(True)

        top = hbox((self.heading, 1), self.mark_read_button, self.clear_button)
        vbox(self, top, (self.list, 1), (self.empty_label, 1), margins=(12, 10, 12, 10))

        self.mark_read_button.clicked.connect(store.mark_all_read)
        self.clear_button.clicked.connect(store.clear)
        self.list.activated.connect(self._activated)
        self.list.clicked.connect(self._activated)
        store.sig_recent_changed.connect(self._sync)
        self._sync()

    def _sync(self) -> None:
        self.model.follow(self.store.recent)
        count = self.model.rowCount()
        unread = self.store.unread_count
        self.heading.setText(f"Notifications ({unread} unread)" if unread else "Notifications")
        self.list.setVisible(count > 0)
        self.empty_label.setVisible(count == 0)
        self.mark_read_button.setEnabled(unread > 0)
        self.clear_button.setEnabled(count > 0)

    def _activated(self, index: QModelIndex) -> None:
        n = index.data(ROW_ROLE)
        if isinstance(n, Notification):
            self.open(n)

    def open(self, n: Notification) -> None:
        self.sig_open_object.emit(n.aggregate_type, n.aggregate_id)


class NotificationBell(QToolButton):
    """A status-bar button: bell + unread count; opens ``centre`` as a popup."""

    def __init__(self, store: NotificationsStore, centre: NotificationCentre,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.centre = centre
        self.setIcon(QIcon(str(icon_path("bell"))))
        self.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.setAutoRaise(True)
        self.setAccessibleName("Notifications")
        self.clicked.connect(self.toggle_centre)
        centre.sig_open_object.connect(lambda *_: self.centre.hide()
                                       if self.centre.isWindow() else None)
        store.sig_recent_changed.connect(self._sync)
        self._sync()

    def _sync(self) -> None:
        unread = self.store.unread_count
        self.setText(str(unread) if unread else "")
        self.setToolTip(f"{unread} unread notification{'s' if unread != 1 else ''}"
                        if unread else "Notifications")
        self.setAccessibleDescription(self.toolTip())

    def toggle_centre(self) -> None:
        if self.centre.isVisible():
            self.centre.hide()
            return
        self.centre.setParent(self.window(), Qt.WindowType.Popup)
        self.centre.resize(400, 440)
        corner = self.mapToGlobal(QPoint(self.width(), 0))
        self.centre.move(corner.x() - self.centre.width(), corner.y() - self.centre.height())
        self.centre.show()
        self.store.mark_all_read()


class Toast(QFrame):
    """An in-window notification (no tray host): bottom-right, fades after a while,
    a click opens the object.

    Signals:
    sig_clicked(object): the shown ``Notification`` was clicked.
    """

    sig_clicked = Signal(object)

    def __init__(self, host: QWidget, *, timeout_ms: int = 6000) -> None:
        super().__init__(host)
        self.setObjectName("toast")
        self.setAccessibleName("Notification")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, False)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.title = QLabel()
        set_font(self.title, bold=True)
        self.message = QLabel()  # broken into bounded lines by ``wrap_lines``
        self.message.setTextFormat(Qt.TextFormat.PlainText)
        self.close_button = QToolButton()
        self.close_button.setText("✕")
        self.close_button.setAutoRaise(True)
        self.close_button.setAccessibleName("Dismiss notification")
        head = QHBoxLayout()
        head.addWidget(self.title, 1)
        head.addWidget(self.close_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 8, 8, 10)
        layout.addLayout(head)
        layout.addWidget(self.message)
        self.setFixedWidth(TOAST_WIDTH)
        self.notification: Notification | None = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(timeout_ms)
        self._timer.timeout.connect(self.hide)
        self.close_button.clicked.connect(self.hide)
        self.hide()

    def show_notification(self, n: Notification) -> None:
        """Show ``n``: the title on one line, the message on at most four, both elided
        (the whole text is the tooltip), so the card never clips or grows unbounded."""
        self.notification = n
        layout = self.layout()
        assert layout is not None
        margins = layout.contentsMargins()
        room = TOAST_WIDTH - margins.left() - margins.right()
        title_room = room - self.close_button.sizeHint().width() - 8
        title = self.title.fontMetrics().elidedText(n.title, Qt.TextElideMode.ElideRight,
                                                    title_room)
        message, cut = wrap_lines(n.message, self.message.font(), room - 2,
                                  TOAST_MESSAGE_LINES)
        self.title.setText(title)
        self.message.setText(message)
        self.message.setVisible(bool(message))
        self.setToolTip(f"{n.title}\n{n.message}" if cut or title != n.title else "")
        self.adjustSize()
        host = self.parentWidget()
        if host is not None:
            self.move(host.width() - self.width() - 16, host.height() - self.height() - 40)
        self.raise_()
        self.show()
        self._timer.start()

    def paintEvent(self, event: QPaintEvent) -> None:
        """A card in the palette's base colour with the severity as a left stripe."""
        theme = theme_for(self.palette())
        accent = theme.badge(_tone(self.notification))[1] if self.notification else \
            theme.border
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        card = QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5)
        path = QPainterPath()
        path.addRoundedRect(card, 6, 6)
        painter.fillPath(path, QColor(theme.base))
        painter.setPen(QColor(theme.border))
        painter.drawPath(path)
        painter.setClipPath(path)
        painter.fillRect(QRectF(0, 0, 5, self.height()), QColor(accent))
        painter.end()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self.notification is not None:
            self.sig_clicked.emit(self.notification)
            self.hide()
        super().mousePressEvent(event)


class NotificationSettings(QWidget):
    """Settings → Notifications: which kinds pop up (unchecked = muted)."""

    def __init__(self, store: NotificationsStore, *, tray_available: bool,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.setAccessibleName("Notification settings")
        intro = QLabel("Tell me when…")
        set_font(intro, bold=True)
        where = ("Notifications appear from the system tray icon." if tray_available else
                 "This desktop has no system tray: notifications appear inside the window "
                 "and in the notification centre (the bell in the status bar).")
        self.where_label = QLabel(where)
        self.where_label.setWordWrap(True)
        self.checkboxes: dict[NotificationKind, QCheckBox] = {}
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 14, 16, 14)
        layout.setSpacing(8)
        layout.addWidget(intro)
        for kind in NotificationKind:
            box = QCheckBox(kind.label.replace("A deployment", "a deployment")
                            .replace("A target", "a target"))
            box.setAccessibleName(f"Notify: {kind.label}")
            box.setChecked(not store.is_muted(kind))
            box.toggled.connect(lambda on, k=kind: store.set_muted(k, not on))
            layout.addWidget(box)
            self.checkboxes[kind] = box
        layout.addSpacing(8)
        layout.addWidget(self.where_label)
        layout.addStretch(1)
        store.sig_mute_changed.connect(self._sync)

    def _sync(self, kind: str, muted: bool) -> None:
        box = self.checkboxes[NotificationKind(kind)]
        if box.isChecked() == muted:
            box.blockSignals(True)
            box.setChecked(not muted)
            box.blockSignals(False)
