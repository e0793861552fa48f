"""Roaming's management commands."""
