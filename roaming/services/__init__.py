"""Roaming write paths (keyword-only, typed, transactional), one module per concern."""

from roaming.services.credentials import (
    credentials_accept,
    partner_credentials_rotate,
    partner_invite,
    partner_register,
    partner_unregister,
)
from roaming.services.sync import feed_add, partner_sync

__all__ = [
    "credentials_accept",
    "feed_add",
    "partner_credentials_rotate",
    "partner_invite",
    "partner_register",
    "partner_sync",
    "partner_unregister",
]
