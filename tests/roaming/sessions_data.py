"""Charging sessions made directly as rows, for the driver's pages (before and apart from the
start flow): a partner, the driver's token, and sessions in any state with their samples."""

import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.utils import timezone

from roaming.models import (
    ChargingSession,
    Partner,
    PartnerState,
    SessionEvent,
    SessionSample,
    SessionState,
)
from tests.roaming.charging import session_row


def driver_make(name: str) -> Any:
    return get_user_model().objects.create_user(
        username=name, email=f"{name}@example.com", password="a-long-password-1"
    )


def charging_session(
    user: Any,
    *,
    state: str = SessionState.ACTIVE,
    created_at: datetime | None = None,
    kwh: str = "3.21",
    running_cost: int = 123,
    currency: str = "EUR",
    **fields: Any,
) -> ChargingSession:
    """A session of `user` at a Voltway station; started `created_at` (default now) + 30 s."""
    partner, _ = Partner.objects.get_or_create(
        name="Voltway CPO", defaults={"state": PartnerState.ACTIVE, "version": "2.2.1"}
    )
    created = created_at or timezone.now()
    started = state != SessionState.REQUESTED
    values: dict[str, Any] = {
        "state": state,
        "authorization_reference": uuid.uuid4().hex,
        "party_id": "VOL",
        "evse_uid": "E1",
        "evse_label": "NL*VOL*E1",
        "location_name": "Utrecht Fast Hub",
        "location_address": "Stationsplein 1, Utrecht",
        "operator_name": "Voltway",
        "currency": currency,
        "estimate": 5000,
        "kwh": Decimal(kwh),
        "running_cost": running_cost,
        "created_at": created,
        "started_at": created + timedelta(seconds=30) if started else None,
        # The partner's own id for the session, once it reported one.
        "ocpi_session_id": uuid.uuid4().hex[:16] if started else "",
    }
    return session_row(user, partner, **{**values, **fields})


def samples_add(session: ChargingSession, *, minutes: int, kw: float = 11.0) -> None:
    """One reading a minute from the start: constant power, energy rising with it."""
    assert session.started_at is not None
    for minute in range(minutes + 1):
        SessionSample.objects.create(
            session=session,
            at=session.started_at + timedelta(minutes=minute),
            kwh=Decimal(str(round(kw * minute / 60, 4))),
            power_kw=Decimal(str(kw if minute else 0)),
            cost=int(kw * minute / 60 * 45),
        )


# What the timeline says of each move (as charging-core's services word it).
CAUSES = {
    SessionState.ACCEPTED: "The charger accepted the start",
    SessionState.ACTIVE: "The charger started charging",
    SessionState.STOPPING: "Stop requested by the driver",
    SessionState.COMPLETED: "The charger ended the session",
}


def states_record(session: ChargingSession, *states: str) -> None:
    """Timeline events for the moves the session made to reach its state."""
    previous = SessionState.REQUESTED
    for n, state in enumerate(states):
        SessionEvent.objects.create(
            session=session,
            from_state=previous,
            to_state=state,
            cause=CAUSES[state],
            created_at=session.created_at + timedelta(seconds=10 * (n + 1)),
        )
        previous = state
