"""View-model stores: QObject state + change signals + latest-wins async actions."""
