"""ui.models"""
