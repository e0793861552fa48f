"""Roaming write paths (keyword-only, typed, transactional), one module per concern."""

from roaming.services.credentials import (
    credentials_accept,
    partner_credentials_rotate,
    partner_invite,
    partner_leave,
    partner_register,
    partner_unregister,
)
from roaming.services.sync import feed_add, partner_sync
from roaming.services.tokens import driver_token_for_start, driver_token_refresh

__all__ = [
    "credentials_accept",
    "driver_token_for_start",
    "driver_token_refresh",
    "feed_add",
    "partner_credentials_rotate",
    "partner_invite",
    "partner_leave",
    "partner_register",
    "partner_sync",
    "partner_unregister",
]
