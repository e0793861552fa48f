"""Locator's management commands."""
