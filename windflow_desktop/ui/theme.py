"""Light and dark: one palette each, chosen from the system's colour scheme and switched
live when it changes (``QStyleHints.colorSchemeChanged``).

Widgets take colours from the application palette; the few things a palette has no
role for (status badges, severity accents) come from ``theme_for(palette)``, which reads
the palette itself — so a delegate paints right in either scheme without global state.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QColor, QFont, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication, QWidget

log = logging.getLogger("windflow.ui.theme")

# Status / severity → (background, text) of a badge.
Badge = tuple[str, str]


@dataclass(frozen=True)
class Theme:
    name: str
    window: str
    base: str
    alternate_base: str
    text: str
    muted_text: str
    button: str
    highlight: str
    highlighted_text: str
    link: str
    border: str
    badges: dict[str, Badge] = field(default_factory=dict)

    @property
    def dark(self) -> bool:
        return self.name == "dark"

    def badge(self, key: str) -> Badge:
        return self.badges.get(key, self.badges["neutral"])


LIGHT = Theme(
    name="light", window="#f4f5f7", base="#ffffff", alternate_base="#f7f8fa",
    text="#1d2330", muted_text="#667085", button="#eef0f3", highlight="#2f6fde",
    highlighted_text="#ffffff", link="#1f5fc9", border="#d5d9e0",
    badges={
        "success": ("#dcf2e6", "#17643a"),
        "error": ("#fbe0dd", "#9b1c12"),
        "warning": ("#fff0cc", "#7a5200"),
        "running": ("#dde9fb", "#1a4f9c"),
        "info": ("#dde9fb", "#1a4f9c"),
        "neutral": ("#ececec", "#4a4a4a"),
    },
)
DARK = Theme(
    name="dark", window="#1e2128", base="#16181d", alternate_base="#1c1f25",
    text="#e6e8ec", muted_text="#9aa3b2", button="#2a2e37", highlight="#3d7ef0",
    highlighted_text="#ffffff", link="#7fb0ff", border="#3a3f4b",
    badges={
        "success": ("#1d4630", "#8fe0b0"),
        "error": ("#5a1f1b", "#ffb3aa"),
        "warning": ("#54400f", "#ffd98a"),
        "running": ("#1f3558", "#a9c8ff"),
        "info": ("#1f3558", "#a9c8ff"),
        "neutral": ("#33363d", "#c9ccd3"),
    },
)


def theme_for(palette: QPalette) -> Theme:
    """The theme whose palette this is (dark when the window colour is dark)."""
    return DARK if palette.color(QPalette.ColorRole.Window).lightness() < 128 else LIGHT


def set_font(widget: QWidget, *, pixel_size: int | None = None, bold: bool = False) -> None:
    """Size/weight through a font, not a style sheet: a style sheet freezes the palette a
    widget had when it was polished, so it would not follow a light/dark switch."""
    font = QFont(widget.font())
    if pixel_size is not None:
        font.setPixelSize(pixel_size)
    if bold:
        font.setWeight(QFont.Weight.DemiBold)
    widget.setFont(font)


def build_palette(theme: Theme) -> QPalette:
    p = QPalette()
    role, group = QPalette.ColorRole, QPalette.ColorGroup
    colors = {
        role.Window: theme.window, role.WindowText: theme.text, role.Base: theme.base,
        role.AlternateBase: theme.alternate_base, role.Text: theme.text,
        role.Button: theme.button, role.ButtonText: theme.text,
        role.ToolTipBase: theme.base, role.ToolTipText: theme.text,
        role.Highlight: theme.highlight, role.HighlightedText: theme.highlighted_text,
        role.Link: theme.link, role.PlaceholderText: theme.muted_text,
        role.BrightText: "#ffffff", role.Mid: theme.border, role.Midlight: theme.border,
        role.Light: theme.button, role.Dark: theme.border,
    }
    for r, value in colors.items():
        p.setColor(r, QColor(value))
    for r in (role.WindowText, role.Text, role.ButtonText):
        p.setColor(group.Disabled, r, QColor(theme.muted_text))
    return p


class ThemeController(QObject):
    """Applies the palette that matches the system scheme and follows its changes.

    Signals:
    sig_theme_changed(str): the theme now applied ("light" or "dark").
    """

    sig_theme_changed = Signal(str)

    def __init__(self, app: QGuiApplication, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._app = app
        self._theme: Theme | None = None
        self._connected = False

    @property
    def theme(self) -> Theme:
        return self._theme or LIGHT

    def start(self) -> None:
        """Apply the current scheme now and follow the system from here on."""
        if not self._connected:
            self._app.styleHints().colorSchemeChanged.connect(self.apply_scheme)
            self._connected = True
        self.apply_scheme(self._app.styleHints().colorScheme())

    def stop(self) -> None:
        if self._connected:
            self._app.styleHints().colorSchemeChanged.disconnect(self.apply_scheme)
            self._connected = False

    def apply_scheme(self, scheme: Qt.ColorScheme) -> None:
        """Unknown (no platform theme, e.g. Xvfb) reads as light."""
        theme = DARK if scheme == Qt.ColorScheme.Dark else LIGHT
        if self._theme is theme:
            return
        self._theme = theme
        self._app.setPalette(build_palette(theme))
        _repolish_styled_widgets()
        log.info("theme: %s", theme.name)
        self.sig_theme_changed.emit(theme.name)


def _repolish_styled_widgets() -> None:
    """Widgets with their own style sheet keep the palette they were polished with; set
    the sheet again so they take the new one (pages of other areas use sheets)."""
    if not isinstance(QApplication.instance(), QApplication):
        return
    for top in QApplication.topLevelWidgets():
        for widget in [top, *top.findChildren(QWidget)]:
            sheet = widget.styleSheet()
            if sheet:
                widget.setStyleSheet("")
                widget.setStyleSheet(sheet)
