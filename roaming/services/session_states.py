"""The charging session's state machine and rows: every state change goes through
`session_transition` (checked against SESSION_TRANSITIONS, recorded with its cause on the
timeline); an end without a charge releases the hold (`session_end`).
"""

import logging
import math
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone, translation

from locator.selectors_charging import Evse, Location, typical_charge
from payments.gateway import PaymentError
from payments.models import Payment
from payments.money import minor_per_major
from payments.services import hold_release
from roaming.models import (
    SESSION_TRANSITIONS,
    ChargingSession,
    DriverToken,
    Partner,
    SessionEvent,
    SessionState,
)

logger = logging.getLogger(__name__)

State = SessionState
# Without a known tariff the hold is the floor, in this currency.
FALLBACK_CURRENCY = "EUR"
NOTHING_CHARGED = "Nothing was charged."


@transaction.atomic
def session_transition(
    *, session: ChargingSession, to: str, cause: str, message: str | None = None
) -> bool:
    """Move the session to `to` and record why; False (and nothing changed) when the move is
    not allowed from where the session is now, or it is already there. `message` (for the
    driver) replaces the session's message; None keeps it, "" clears it.

    The row is locked for the move, so two concurrent causes (a CommandResult and a Session
    PUT) are applied one after the other, each seeing the other's result.
    """
    locked = ChargingSession.objects.select_for_update().get(pk=session.pk)
    if to not in SESSION_TRANSITIONS[locked.state]:
        session.state = locked.state
        return False
    SessionEvent.objects.create(session=locked, from_state=locked.state, to_state=to, cause=cause)
    fields: dict[str, Any] = {"state": to, "updated_at": timezone.now()}
    if message is not None:
        fields["state_message"] = message
    ChargingSession.objects.filter(pk=locked.pk).update(**fields)
    session.state = to
    if message is not None:
        session.state_message = message
    return True


def session_note(*, session: ChargingSession, cause: str) -> None:
    """Record something that happened to the session without changing its state."""
    SessionEvent.objects.create(session=session, cause=cause)


# --- ending without a charge -------------------------------------------------------------------


def session_hold_release(*, session: ChargingSession, reason: str) -> None:
    """Release the session's hold, if it has one that is not final. A failure is noted and left
    to `commands_expire`, which retries every release still owed."""
    payment = Payment.objects.filter(charging_session=session).first()
    if payment is None or payment.status in Payment.FINAL:
        return
    try:
        hold_release(payment=payment, reason=reason)
    except PaymentError as error:
        logger.warning("hold release for session %s failed: %s", session.public_id, error.code)
        session_note(session=session, cause=f"Releasing the hold failed, will retry: {error}")
        return
    session_note(session=session, cause=f"Hold of {payment.amount_label} released")


def session_end(*, session: ChargingSession, to: str, cause: str, message: str) -> bool:
    """End a session that charged nothing (`to` in ENDED_WITHOUT_CHARGE) and release its hold.
    Must not be called inside a transaction (the release calls Stripe)."""
    moved = session_transition(session=session, to=to, cause=cause, message=message)
    if moved:
        session_hold_release(session=session, reason=f"Session {to}: {cause}")
    return moved


def start_estimate(*, location: Location, evse: Evse | None) -> tuple[int, str, str]:
    """(hold amount in minor units, currency, tariff id) for a typical charge on this EVSE: its
    tariff (`typical_charge`), kept between the configured floor and cap."""
    charge = typical_charge(location=location, evse=evse)
    if charge is None:
        return settings.CHARGING_HOLD_FLOOR, FALLBACK_CURRENCY, ""
    amount = math.ceil(charge.cost * minor_per_major(charge.currency))
    amount = min(max(amount, settings.CHARGING_HOLD_FLOOR), settings.CHARGING_HOLD_CAP)
    return amount, charge.currency.upper(), charge.tariff_id


def session_create(
    *,
    user: User,
    token: DriverToken,
    partner: Partner,
    location: Location,
    evse: Evse | None,
    evse_uid: str,
    connector_id: str,
    authorization_reference: str,
    state: str,
    cause: str,
) -> ChargingSession:
    """A new session row with what the receipt needs copied from the catalogue."""
    estimate, currency, tariff_id = start_estimate(location=location, evse=evse)
    with transaction.atomic():
        session = ChargingSession.objects.create(
            user=user,
            token=token,
            partner=partner,
            state=state,
            authorization_reference=authorization_reference,
            country_code=location.country_code,
            party_id=location.party_id,
            evse=evse,
            location_ocpi_id=location.ocpi_id,
            evse_uid=evse_uid,
            evse_label=(evse.evse_id or evse.uid) if evse is not None else evse_uid,
            connector_id=connector_id,
            location_name=location.name or location.address,
            location_address=", ".join(p for p in (location.address, location.city) if p),
            operator_name=location.operator_name or partner.name,
            tariff_id=tariff_id,
            currency=currency,
            estimate=estimate,
            # The driver's, when they pressed Start; a charge begun at the charger: ours.
            language=translation.get_language() or settings.LANGUAGE_CODE,
        )
        SessionEvent.objects.create(session=session, to_state=state, cause=cause)
    return session
