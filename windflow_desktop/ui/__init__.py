"""Qt widgets, dialogs, table models and the tray; the ui knows stores, never services."""
