"""Roaming's rows: partners and what we record of talking to them (`partners`), and charging on
their networks (driver tokens, sessions, commands, charge detail records) as it lands."""

from roaming.models.charging import (
    ENDED_WITHOUT_CHARGE,
    LIVE_STATES,
    SESSION_TRANSITIONS,
    BillingDifference,
    ChargeDetailRecord,
    ChargingSession,
    Command,
    CommandType,
    DriverToken,
    SessionEvent,
    SessionSample,
    SessionState,
)
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
    "ENDED_WITHOUT_CHARGE",
    "LIVE_STATES",
    "SESSION_TRANSITIONS",
    "BillingDifference",
    "ChargeDetailRecord",
    "ChargingSession",
    "Command",
    "CommandType",
    "DriverToken",
    "OutboundCall",
    "Partner",
    "PartnerAccessModel",
    "PartnerAccessQuerySet",
    "PartnerKind",
    "PartnerRole",
    "PartnerState",
    "SessionEvent",
    "SessionSample",
    "SessionState",
    "SyncKind",
    "SyncRun",
    "SyncState",
]
