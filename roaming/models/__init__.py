"""Roaming's rows: partners and what we record of talking to them (`partners`), and charging on
their networks (driver tokens, sessions, commands, charge detail records) as it lands."""

from roaming.models.partners import (
    OutboundCall,
    Partner,
    PartnerAccessModel,
    PartnerAccessQuerySet,
    PartnerKind,
    PartnerRole,
    PartnerState,
    SyncKind,
    SyncRun,
    SyncState,
)

__all__ = [
    "OutboundCall",
    "Partner",
    "PartnerAccessModel",
    "PartnerAccessQuerySet",
    "PartnerKind",
    "PartnerRole",
    "PartnerState",
    "SyncKind",
    "SyncRun",
    "SyncState",
]
