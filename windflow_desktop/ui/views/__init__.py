"""ui.views"""
