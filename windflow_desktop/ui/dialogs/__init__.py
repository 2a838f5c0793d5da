"""ui.dialogs"""
