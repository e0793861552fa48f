"""Charging sessions: start, stop, unlock, the partner's answers, and every move of the state
machine.

A session moves only through `session_transition`, which checks the move against
`SESSION_TRANSITIONS` and records it, with its cause, on the session's timeline.

Start: checks, the driver's token, an estimate of a typical charge on that EVSE, a hold on the
card (`payments.services.hold_place`, reference `session-<public_id>`), then START_SESSION
with a unique response URL. The CommandResponse, the CommandResult (our commands receiver) and
the partner's Session PUT/PATCHes (our sessions receiver) then drive the session. Every end
without a charge (refused, failed, timed out, cancelled) releases the hold and leaves the driver
a message saying what happened and that nothing was charged.

No database transaction is ever open across a partner or Stripe call: rows are committed
before each call (a result may reach us before the call returns) and answers are applied
with conditional updates, so a late or repeated answer changes nothing.

A Session the partner reports without our command (started at the charger with our token)
becomes a session of ours there and then; its hold is placed after the partner's push has been
answered. When no hold can be placed, the charge goes on (it is under way at the charger and
the operator will bill us for it) and the session is flagged for an admin to bill by hand.
A session reported after it ended here (a start that timed out, say) is revived and billed the
same way, with a new hold since the first was released.
"""

import logging
import math
import uuid
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from locator import pricing
from locator.models import Evse, Location, Tariff
from locator.selectors import EVSE_UNAVAILABLE, evse_remote_startable
from payments.gateway import PaymentError
from payments.models import Payment
from payments.money import format_money, minor_per_major
from payments.services import hold_place, hold_release
from roaming.adapters import adapter_for
from roaming.adapters.base import (
    CommandOutcome,
    CommandReply,
    PeriodReport,
    SessionChange,
    SessionReport,
    SessionStatus,
)
from roaming.errors import PartnerError, SessionError
from roaming.models import (
    ENDED_WITHOUT_CHARGE,
    LIVE_STATES,
    SESSION_TRANSITIONS,
    ChargingSession,
    Command,
    CommandType,
    DriverToken,
    Partner,
    PartnerState,
    SessionEvent,
    SessionSample,
    SessionState,
)
from roaming.ocpi.versions import absolute
from roaming.selectors import driver_token_for_start, partner_for_source
from roaming.services.sync import catalogue_source

__all__ = [
    "SessionError",
    "command_result_apply",
    "commands_expire",
    "connector_unlock",
    "session_change_apply",
    "session_hold_ensure",
    "session_note",
    "session_report_apply",
    "session_start",
    "session_stop",
    "session_transition",
]

logger = logging.getLogger(__name__)

State = SessionState
Status = Command.Status
# Without a known tariff the hold is the floor, in this currency.
FALLBACK_CURRENCY = "EUR"
# A start left waiting for the driver's bank (3-D Secure) is given up after this long.
AUTHENTICATION_WAIT = timedelta(minutes=15)
# A Session reported by token (no authorization_reference) belongs to a start of ours at the
# same EVSE made within this long.
TOKEN_MATCH_WINDOW = timedelta(hours=2)
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


# --- start ---------------------------------------------------------------------------------


def startable_evse(*, evse_id: int) -> tuple[Evse, Location, Partner]:
    """The EVSE a driver asked to start, or SessionError saying why it cannot be."""
    evse = (
        Evse.objects.filter(pk=evse_id, location__visible=True)
        .exclude(status="REMOVED")
        .select_related("location")
        .first()
    )
    if evse is None:
        raise SessionError(
            "This charger is not in our list (it may have been removed).",
            code="unknown_evse",
            http_status=404,
        )
    location = evse.location
    partner = partner_for_source(source=location.source)
    if (
        partner is None
        or partner.state not in (PartnerState.ACTIVE, PartnerState.DEGRADED)
        or not evse_remote_startable(location=location, evse=evse)
    ):
        raise SessionError(
            "This charger cannot be started from the app: use the operator's card or app.",
            code="not_startable",
        )
    if evse.status in EVSE_UNAVAILABLE:
        raise SessionError(
            "This charger is in use or out of order right now: pick another one.",
            code="evse_unavailable",
            http_status=409,
        )
    return evse, location, partner


def start_estimate(*, location: Location, evse: Evse | None) -> tuple[int, str, str]:
    """(hold amount in minor units, currency, tariff id) for a typical charge on this EVSE: its
    tariff at its power for `pricing.TYPICAL_KWH`, kept between the configured floor and cap."""
    connectors = list(evse.connectors.order_by("ocpi_id")) if evse is not None else []
    tariff_ids = [t for c in connectors for t in (c.tariff_ids or [])] or [location.tariff_id]
    tariffs = {
        t.ocpi_id: t
        for t in Tariff.objects.filter(
            source=location.source,
            country_code=location.country_code,
            party_id=location.party_id,
            ocpi_id__in=[t for t in tariff_ids if t],
        )
    }
    tariff = next((tariffs[t] for t in tariff_ids if t in tariffs), None)
    if tariff is None:
        return settings.CHARGING_HOLD_FLOOR, FALLBACK_CURRENCY, ""
    power_kw = max((c.power_kw for c in connectors), default=0) or 11.0
    minutes = pricing.TYPICAL_KWH / power_kw * 60
    cost = pricing.estimate(tariff.elements, kwh=pricing.TYPICAL_KWH, minutes=minutes)
    amount = math.ceil(cost * minor_per_major(tariff.currency))
    amount = min(max(amount, settings.CHARGING_HOLD_FLOOR), settings.CHARGING_HOLD_CAP)
    return amount, tariff.currency.upper(), tariff.ocpi_id


def awaiting_authentication(session: ChargingSession) -> bool:
    """A start still waiting for the driver's bank: nothing sent to the partner yet."""
    return session.state == State.REQUESTED and not session.commands.exists()


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
        )
        SessionEvent.objects.create(session=session, to_state=state, cause=cause)
    return session


def session_start(*, user: User, evse_id: int) -> ChargingSession:
    """Start a charge for the driver on an EVSE: hold, then START_SESSION.

    Returns the session (requested, accepted, or refused by the partner with its message).
    Raises SessionError when nothing was started: already charging, unknown or unstartable or
    busy EVSE, no card, the card declined or needing the bank's confirmation (the driver then
    confirms and calls this again, which resumes the same session), the payment provider or
    the partner unreachable. Each such end releases the hold.
    """
    evse, location, partner = startable_evse(evse_id=evse_id)
    live = ChargingSession.objects.filter(user=user, state__in=LIVE_STATES).first()
    session: ChargingSession | None = None
    if live is not None and awaiting_authentication(live) and live.evse_id == evse.pk:
        session = live
    elif live is not None and awaiting_authentication(live):
        session_end(
            session=live,
            to=State.CANCELLED,
            cause="The driver started another charger instead",
            message=f"You started another charger instead. {NOTHING_CHARGED}",
        )
    elif live is not None:
        raise SessionError(
            "You already have a charge under way: stop it before you start another.",
            code="already_charging",
            http_status=409,
            extra={"session": str(live.public_id)},
        )
    token = driver_token_for_start(user=user)
    if session is None:
        connectors = list(evse.connectors.order_by("ocpi_id").values_list("ocpi_id", flat=True))
        try:
            session = session_create(
                user=user,
                token=token,
                partner=partner,
                location=location,
                evse=evse,
                evse_uid=evse.uid,
                connector_id=connectors[0] if len(connectors) == 1 else "",
                authorization_reference=uuid.uuid4().hex,
                state=State.REQUESTED,
                cause="Start requested by the driver",
            )
        except IntegrityError:
            raise SessionError(
                "You already have a charge under way: stop it before you start another.",
                code="already_charging",
                http_status=409,
            ) from None
    start_hold_place(session=session)
    start_command_send(session=session, evse=evse)
    session.refresh_from_db()
    return session


PAYMENT_CODES = {
    "no_payment_method": ("no_card", 402),
    "authentication_required": ("authentication_required", 402),
    "in_progress": ("payment_unavailable", 503),
    "gateway_unavailable": ("payment_unavailable", 503),
}


def start_hold_place(*, session: ChargingSession) -> None:
    """Place the start's hold; on failure end the session (or leave it waiting for the bank's
    confirmation) and raise SessionError with the driver's message."""
    try:
        payment = hold_place(
            user=session.user,
            reference=f"session-{session.public_id}",
            amount=session.estimate,
            currency=session.currency.lower(),
        )
    except PaymentError as error:
        if error.payment_id is not None:
            ChargingSession.objects.filter(pk=session.pk).update(payment_id=error.payment_id)
        code, status = PAYMENT_CODES.get(error.code, ("card_declined", 402))
        extra = {"session": str(session.public_id)}
        if code == "authentication_required" and error.payment_id is not None:
            session_note(session=session, cause="The driver's bank asked for confirmation")
            extra["authenticate_url"] = reverse("payment_authenticate", args=[error.payment_id])
        else:
            message = (
                f"We could not reach our payment provider. {NOTHING_CHARGED} Try again shortly."
                if code == "payment_unavailable"
                else f"{error.message} {NOTHING_CHARGED}"
            )
            session_end(
                session=session,
                to=State.FAILED,
                cause=f"The hold was not placed ({error.code})",
                message=message,
            )
        raise SessionError(error.message, code=code, http_status=status, extra=extra) from error
    ChargingSession.objects.filter(pk=session.pk).update(payment=payment)
    session.payment = payment
    session_note(
        session=session, cause=f"Hold of {payment.amount_label} placed on {payment.card_label}"
    )


def command_create(
    *, partner: Partner, type: str, session: ChargingSession | None, **fields: Any
) -> Command:
    """A command row, committed before it is sent, due back within the grace at the latest
    (the response sets the real deadline)."""
    return Command.objects.create(
        partner=partner,
        session=session,
        type=type,
        result_due_at=timezone.now() + settings.CHARGING_COMMAND_GRACE,
        **fields,
    )


def command_response_url(command: Command) -> str:
    return absolute(
        reverse(
            "ocpi-command-result",
            kwargs={
                "version": command.partner.version or "2.2.1",
                "command_type": command.type,
                "public_id": command.public_id,
            },
        )
    )


def command_send_failed(*, command: Command, error: PartnerError) -> None:
    Command.objects.filter(pk=command.pk, status=Status.SENDING).update(
        status=Status.FAILED, message=error.message[:500], answered_at=timezone.now()
    )
    if command.session is not None:
        session_note(
            session=command.session,
            cause=f"{command.get_type_display()} could not be sent: {error.message}",
        )


def reply_words(reply: CommandReply) -> str:
    """What the partner said, for a sentence of ours: its message, else its result's name."""
    return (reply.message or reply.word.replace("_", " ").lower()).rstrip(".")


def command_response_apply(*, command: Command, reply: CommandReply) -> bool:
    """Record the partner's immediate answer; True when it accepted the command. A result that
    already arrived (it may overtake the response) is kept."""
    now = timezone.now()
    accepted = reply.outcome == CommandOutcome.ACCEPTED
    Command.objects.filter(pk=command.pk).update(response=reply.word)
    Command.objects.filter(pk=command.pk, status=Status.SENDING).update(
        status=Status.WAITING if accepted else Status.REFUSED,
        message=reply.message[:500],
        result_due_at=now + (reply.timeout or timedelta()) + settings.CHARGING_COMMAND_GRACE,
        answered_at=None if accepted else now,
    )
    if command.session is not None:
        said = f": {reply.message}" if reply.message else ""
        session_note(
            session=command.session,
            cause=f"{command.get_type_display()} answered {reply.word}{said}",
        )
    return accepted


def start_command_send(*, session: ChargingSession, evse: Evse) -> None:
    """Send START_SESSION for a session whose hold is in place."""
    command = command_create(
        partner=session.partner, type=CommandType.START_SESSION, session=session
    )
    connector_id = session.connector_id
    if not connector_id and "START_SESSION_CONNECTOR_REQUIRED" in (evse.capabilities or []):
        connector_id = (
            evse.connectors.order_by("ocpi_id").values_list("ocpi_id", flat=True).first() or ""
        )
    try:
        reply = adapter_for(session.partner).start_session(
            token=session.token,
            location_id=session.location_ocpi_id,
            evse_uid=session.evse_uid,
            connector_id=connector_id,
            authorization_reference=session.authorization_reference,
            response_url=command_response_url(command),
        )
    except PartnerError as error:
        command_send_failed(command=command, error=error)
        message = (
            f"{session.operator_name} is not answering right now. {NOTHING_CHARGED} "
            "Try again in a few minutes."
        )
        session_end(
            session=session,
            to=State.FAILED,
            cause=f"The partner could not be reached: {error.message}",
            message=message,
        )
        raise SessionError(message, code="partner_unavailable", http_status=503) from error
    if command_response_apply(command=command, reply=reply):
        session_transition(
            session=session,
            to=State.ACCEPTED,
            cause="The operator accepted the start; waiting for the charger",
        )
        return
    said = reply_words(reply)
    session_end(
        session=session,
        to=State.REJECTED,
        cause=f"START_SESSION {reply.word}",
        message=f"{session.operator_name} refused the start: {said}. {NOTHING_CHARGED}",
    )


# --- stop and unlock -----------------------------------------------------------------------


def session_stop(*, user: User, session: ChargingSession) -> ChargingSession:
    """Ask the partner to stop the driver's session; the end itself arrives as a COMPLETED
    Session. Asking again while a stop is under way changes nothing. Raises SessionError
    `not_stoppable` (not charging, or the partner refused) or `partner_unavailable` (the
    session goes on charging; the driver may try again)."""
    if session.user_id != user.pk:
        raise SessionError("No such charging session.", code="not_found", http_status=404)
    if session.state == State.STOPPING:
        return session
    if session.state != State.ACTIVE or not session.ocpi_session_id:
        raise SessionError(
            "This session is not charging, so there is nothing to stop.",
            code="not_stoppable",
            http_status=409,
        )
    command = command_create(
        partner=session.partner, type=CommandType.STOP_SESSION, session=session
    )
    if not session_transition(
        session=session, to=State.STOPPING, cause="Stop requested by the driver"
    ):
        Command.objects.filter(pk=command.pk).update(status=Status.FAILED, message="not sent")
        raise SessionError(
            "This session is not charging any more.", code="not_stoppable", http_status=409
        )
    try:
        reply = adapter_for(session.partner).stop_session(
            session_id=session.ocpi_session_id, response_url=command_response_url(command)
        )
    except PartnerError as error:
        command_send_failed(command=command, error=error)
        message = (
            f"We could not reach {session.operator_name} to stop the charge, so it is still "
            "charging. Try again in a moment, or unplug your car to end it."
        )
        session_transition(
            session=session, to=State.ACTIVE, cause="The stop could not be sent", message=message
        )
        raise SessionError(message, code="partner_unavailable", http_status=503) from error
    if not command_response_apply(command=command, reply=reply):
        said = reply_words(reply)
        message = (
            f"{session.operator_name} did not stop the charge: {said}. Unplug your car to end it."
        )
        session_transition(
            session=session, to=State.ACTIVE, cause=f"STOP_SESSION {reply.word}", message=message
        )
        raise SessionError(message, code="not_stoppable", http_status=409)
    session.refresh_from_db()
    return session


def connector_unlock(*, admin: User, session: ChargingSession) -> Command:
    """Ask the partner to unlock the session's connector (helpdesk: a driver's cable is stuck).
    Returns the command (its result arrives later); raises SessionError when the partner cannot
    be asked or refuses."""
    if not session.connector_id:
        raise SessionError(
            "The operator never told us which connector this session used.", code="no_connector"
        )
    command = command_create(
        partner=session.partner,
        type=CommandType.UNLOCK_CONNECTOR,
        session=session,
        location_ocpi_id=session.location_ocpi_id,
        evse_uid=session.evse_uid,
        connector_id=session.connector_id,
        requested_by=admin,
    )
    session_note(
        session=session, cause=f"Unlock of connector {session.connector_id} asked by {admin}"
    )
    try:
        reply = adapter_for(session.partner).unlock_connector(
            location_id=session.location_ocpi_id,
            evse_uid=session.evse_uid,
            connector_id=session.connector_id,
            response_url=command_response_url(command),
        )
    except PartnerError as error:
        command_send_failed(command=command, error=error)
        raise SessionError(
            f"{session.partner.name} could not be reached: {error.message}",
            code="partner_unavailable",
            http_status=503,
        ) from error
    if not command_response_apply(command=command, reply=reply):
        raise SessionError(
            f"{session.partner.name} refused the unlock: {reply.message or reply.word}",
            code="unlock_refused",
            http_status=409,
        )
    command.refresh_from_db()
    return command


# --- command results and timeouts ------------------------------------------------------------

START_FAILURES = {
    CommandOutcome.EVSE_OCCUPIED: "This charger is in use by someone else. {nothing} "
    "Pick another one.",
    CommandOutcome.EVSE_INOPERATIVE: "This charger is out of order. {nothing} Pick another one.",
}


def command_result_apply(*, command: Command, reply: CommandReply) -> None:
    """The partner's CommandResult for one of our commands. A second result, or one after the
    command timed out, is noted and changes nothing else."""
    now = timezone.now()
    accepted = reply.outcome == CommandOutcome.ACCEPTED
    first = Command.objects.filter(
        pk=command.pk, status__in=(Status.SENDING, Status.WAITING), result=""
    ).update(
        status=Status.SUCCEEDED if accepted else Status.REFUSED,
        result=reply.word,
        message=reply.message[:500],
        answered_at=now,
    )
    session = command.session
    said = f": {reply.message}" if reply.message else ""
    if session is None:
        return
    if not first:
        Command.objects.filter(pk=command.pk, result="").update(result=reply.word)
        session_note(
            session=session,
            cause=f"Late {command.get_type_display()} result {reply.word}{said} (ignored)",
        )
        return
    session_note(session=session, cause=f"{command.get_type_display()} result {reply.word}{said}")
    session.refresh_from_db()
    if command.type == CommandType.START_SESSION:
        start_result_follow(session=session, reply=reply)
    elif command.type == CommandType.STOP_SESSION and not accepted:
        session_transition(
            session=session,
            to=State.ACTIVE,
            cause=f"STOP_SESSION result {reply.word}",
            message=f"The charger did not stop ({reply_words(reply)}). "
            "Try again, or unplug your car.",
        )


def start_result_follow(*, session: ChargingSession, reply: CommandReply) -> None:
    if session.state not in (State.REQUESTED, State.ACCEPTED):
        return  # the Session itself got here first
    if reply.outcome == CommandOutcome.ACCEPTED:
        session_transition(
            session=session, to=State.ACCEPTED, cause="The charger accepted the start"
        )
        return
    template = START_FAILURES.get(
        reply.outcome, f"The charger did not start ({reply_words(reply)}). {{nothing}}"
    )
    session_end(
        session=session,
        to=State.FAILED,
        cause=f"START_SESSION result {reply.word}",
        message=template.format(nothing=NOTHING_CHARGED),
    )


def commands_expire(*, now: datetime | None = None) -> int:
    """End every command whose result is overdue (the partner's timeout plus
    CHARGING_COMMAND_GRACE): a start times out and releases its hold unless the Session
    arrived meanwhile; a stop leaves the session charging with a message. Also gives up starts
    left waiting for the bank, and retries hold releases still owed. Returns how many commands
    it ended. Safe to run twice, or in two workers at once."""
    now = now or timezone.now()
    ended = 0
    overdue = Command.objects.filter(
        status__in=(Status.SENDING, Status.WAITING), result_due_at__lt=now
    ).select_related("session")
    for command in overdue:
        if not Command.objects.filter(
            pk=command.pk, status__in=(Status.SENDING, Status.WAITING)
        ).update(status=Status.TIMED_OUT, answered_at=now):
            continue  # answered, or taken by another worker, meanwhile
        ended += 1
        session = command.session
        if session is None:
            continue
        session.refresh_from_db()
        if command.type == CommandType.START_SESSION and session.state in (
            State.REQUESTED,
            State.ACCEPTED,
        ):
            session_end(
                session=session,
                to=State.TIMED_OUT,
                cause="No result from the charger in time",
                message=f"The charger did not answer. {NOTHING_CHARGED} "
                "Try again, or pick another charger.",
            )
        elif command.type == CommandType.STOP_SESSION and session.state == State.STOPPING:
            session_transition(
                session=session,
                to=State.ACTIVE,
                cause="No result to the stop in time",
                message="The charger did not confirm the stop, so it may still be charging. "
                "Try again, or unplug your car.",
            )
        else:
            session_note(
                session=session, cause=f"No result to {command.get_type_display()} in time"
            )
    for session in ChargingSession.objects.filter(
        state=State.REQUESTED, created_at__lt=now - AUTHENTICATION_WAIT, commands__isnull=True
    ):
        session_end(
            session=session,
            to=State.CANCELLED,
            cause="The bank's confirmation never came",
            message=f"The payment was never confirmed. {NOTHING_CHARGED}",
        )
    for session in (
        ChargingSession.objects.filter(state__in=ENDED_WITHOUT_CHARGE)
        .exclude(payment__isnull=True)
        .exclude(payment__status__in=Payment.FINAL)
    ):
        session_hold_release(session=session, reason=f"Session {session.state}: nothing to charge")
    return ended


# --- the partner's Session -----------------------------------------------------------------


def minor_units(amount: Decimal | None, currency: str) -> int | None:
    if amount is None:
        return None
    scaled = (amount * minor_per_major(currency)).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return max(0, int(scaled))


def period_json(period: PeriodReport) -> dict[str, Any]:
    return {
        "start": period.start.isoformat(),
        "dimensions": {name: str(volume) for name, volume in period.dimensions.items()},
        "tariff_id": period.tariff_id,
    }


def sample_record(
    *, session: ChargingSession, at: datetime, periods: tuple[PeriodReport, ...]
) -> None:
    """A chart point for this report: power from the newest period's POWER, else from the
    change in kWh since the last point, else from the newest period's MAX_POWER."""
    previous = session.samples.filter(at__lt=at).order_by("-at").first()

    def newest(dimension: str) -> Decimal | None:
        return next(
            (p.dimensions[dimension] for p in reversed(periods) if dimension in p.dimensions), None
        )

    if session.state == State.COMPLETED or session.ended_at is not None:
        power = Decimal(0)
    elif (reported := newest("POWER")) is not None:
        power = reported
    elif previous is not None:
        hours = Decimal((at - previous.at).total_seconds()) / 3600
        power = max(Decimal(0), (session.kwh - previous.kwh) / hours)
    else:
        power = newest("MAX_POWER") or Decimal(0)
    power = power.quantize(Decimal("0.001"))
    # Partners stamp to the second: pushes within one second make one point, the latest.
    SessionSample.objects.update_or_create(
        session=session,
        at=at,
        defaults={"kwh": session.kwh, "power_kw": power, "cost": session.running_cost},
    )
    ChargingSession.objects.filter(pk=session.pk).update(power_kw=power)
    session.power_kw = power


def session_match(*, partner: Partner, report: SessionReport) -> ChargingSession | None:
    """Our session for a partner's Session: by its id once known, else by our
    authorization_reference, else by our token at the same EVSE (a start of ours whose command
    the partner did not echo). Only the partner the session was started with may match it."""
    ours = ChargingSession.objects.select_for_update().filter(partner=partner)
    found = ours.filter(
        country_code=report.country_code,
        party_id=report.party_id,
        ocpi_session_id=report.session_id,
    ).first()
    if found is None and report.authorization_reference:
        found = ours.filter(
            authorization_reference=report.authorization_reference, ocpi_session_id=""
        ).first()
    if found is None:
        found = (
            ours.filter(
                token__uid=report.token_uid,
                ocpi_session_id="",
                location_ocpi_id=report.location_id,
                evse_uid=report.evse_uid,
                state__in=(State.REQUESTED, State.ACCEPTED, *ENDED_WITHOUT_CHARGE),
                created_at__gte=timezone.now() - TOKEN_MATCH_WINDOW,
            )
            .order_by("-created_at")
            .first()
        )
    return found


def our_token(report: SessionReport) -> DriverToken:
    """The driver token a Session names; a partner may only report sessions of our tokens."""
    token = None
    if (report.token_country_code, report.token_party_id) == (
        settings.OCPI_COUNTRY_CODE.upper(),
        settings.OCPI_PARTY_ID.upper(),
    ):
        token = DriverToken.objects.filter(uid=report.token_uid).select_related("user").first()
    if token is None:
        raise PartnerError(
            f"cdr_token {report.token_country_code}*{report.token_party_id} {report.token_uid} "
            "is not a token we issued",
            permanent=True,
            ocpi_status=2001,
        )
    return token


def charger_session_create(
    *, partner: Partner, report: SessionReport, token: DriverToken
) -> ChargingSession:
    """A Session the driver started at the charger with our token: a session of ours too."""
    location = Location.objects.filter(
        source=catalogue_source(partner),
        country_code=report.country_code,
        party_id=report.party_id,
        ocpi_id=report.location_id,
    ).first()
    if location is None:
        raise PartnerError(
            f"unknown location {report.location_id}: push it before its sessions",
            permanent=True,
            ocpi_status=2003,
        )
    evse = location.evses.filter(uid=report.evse_uid).first()
    reference = report.authorization_reference
    if not reference or ChargingSession.objects.filter(authorization_reference=reference).exists():
        reference = uuid.uuid4().hex
    try:
        with transaction.atomic():
            return session_create(
                user=token.user,
                token=token,
                partner=partner,
                location=location,
                evse=evse,
                evse_uid=report.evse_uid,
                connector_id=report.connector_id,
                authorization_reference=reference,
                state=State.ACCEPTED,
                cause="Started at the charger with the driver's token",
            )
    except IntegrityError as error:
        raise PartnerError(
            "this driver already has a session under way with us; we cannot take a second one",
            permanent=True,
            ocpi_status=2001,
        ) from error


def session_follow(*, session: ChargingSession, status: SessionStatus | None) -> bool:
    """Move the session as the partner's Session status says; True when the hold must be
    released (the session never became valid)."""
    state = session.state
    if status == SessionStatus.ACTIVE and (
        state in (State.REQUESTED, State.ACCEPTED) or state in ENDED_WITHOUT_CHARGE
    ):
        cause = (
            "The charger started charging"
            if state in (State.REQUESTED, State.ACCEPTED)
            else f"The charger reported the session after it ended here ({state}): "
            "followed and billed"
        )
        session_transition(session=session, to=State.ACTIVE, cause=cause, message="")
    elif status == SessionStatus.COMPLETED and state != State.COMPLETED:
        if State.COMPLETED not in SESSION_TRANSITIONS[state]:
            session_transition(
                session=session, to=State.ACTIVE, cause="The charger started charging"
            )
        session_transition(
            session=session, to=State.COMPLETED, cause="The charger ended the session", message=""
        )
    elif status == SessionStatus.INVALID and state in (State.REQUESTED, State.ACCEPTED):
        session_transition(
            session=session,
            to=State.FAILED,
            cause="The partner reported the session INVALID",
            message=f"The charger could not start the charge. {NOTHING_CHARGED}",
        )
        return True
    elif status in (SessionStatus.PENDING, SessionStatus.RESERVATION) and state == State.REQUESTED:
        session_transition(session=session, to=State.ACCEPTED, cause="The charger is getting ready")
    return False


def session_progress_write(
    *,
    session: ChargingSession,
    kwh: Decimal | None,
    cost: Decimal | None,
    started_at: datetime | None,
    ended_at: datetime | None,
    periods: list[dict[str, Any]],
    last_updated: datetime,
    extra: dict[str, Any],
) -> None:
    fields: dict[str, Any] = {"charging_periods": periods, "last_updated": last_updated, **extra}
    if kwh is not None:
        fields["kwh"] = kwh
    running = minor_units(cost, session.currency)
    if running is not None:
        fields["running_cost"] = running
    if started_at is not None:
        fields["started_at"] = started_at
    if ended_at is not None:
        fields["ended_at"] = ended_at
    ChargingSession.objects.filter(pk=session.pk).update(**fields, updated_at=timezone.now())
    for name, value in fields.items():
        setattr(session, name, value)


def after_report(*, session: ChargingSession, release: bool) -> None:
    """What a report leaves to do outside its transaction: release a hold, or make sure a
    session that is charging has one."""
    if release:
        session_hold_release(session=session, reason="The session never became valid")
    elif session.state in (State.ACCEPTED, State.ACTIVE, State.STOPPING, State.COMPLETED):
        from roaming.tasks import session_hold_ensure_task

        payment = Payment.objects.filter(charging_session=session).first()
        if payment is None or payment.status in (Payment.Status.CANCELED, Payment.Status.FAILED):
            transaction.on_commit(lambda: session_hold_ensure_task.delay(session.pk), robust=True)


def session_report_apply(*, partner: Partner, report: SessionReport) -> bool:
    """A whole Session the partner PUT: replaces what we hold (periods included) and moves the
    session. False when we hold a newer one (the push is ignored). Raises PartnerError for a
    Session of a token we did not issue, or of a location we do not know."""
    token = our_token(report)
    with transaction.atomic():
        session = session_match(partner=partner, report=report)
        if session is not None and session.token_id != token.pk:
            raise PartnerError(
                "this session belongs to another token", permanent=True, ocpi_status=2001
            )
        if session is None:
            session = charger_session_create(partner=partner, report=report, token=token)
        elif session.last_updated is not None and report.last_updated < session.last_updated:
            return False
        session_progress_write(
            session=session,
            kwh=report.kwh,
            cost=report.cost,
            started_at=report.started_at,
            ended_at=report.ended_at,
            periods=[period_json(p) for p in report.periods],
            last_updated=report.last_updated,
            extra={
                "ocpi_session_id": report.session_id,
                "country_code": report.country_code,
                "party_id": report.party_id,
                "connector_id": report.connector_id,
            },
        )
        release = session_follow(session=session, status=report.status)
        sample_record(session=session, at=report.last_updated, periods=report.periods)
        after_report(session=session, release=False)
    if release:
        after_report(session=session, release=True)
    return True


def session_change_apply(
    *, partner: Partner, country_code: str, party_id: str, session_id: str, change: SessionChange
) -> bool:
    """A PATCH of a Session we hold: merges the fields, appends the charging periods, and moves
    the session. False when it is older than what we hold (ignored). Raises PartnerError for a
    Session we do not hold (the partner should PUT it)."""
    with transaction.atomic():
        session = (
            ChargingSession.objects.select_for_update()
            .filter(
                partner=partner,
                country_code=country_code.upper(),
                party_id=party_id.upper(),
                ocpi_session_id=session_id,
            )
            .first()
        )
        if session is None:
            raise PartnerError(
                f"unknown session {session_id}: PUT it first", permanent=True, ocpi_status=2000
            )
        if session.last_updated is not None and change.last_updated < session.last_updated:
            return False
        session_progress_write(
            session=session,
            kwh=change.kwh,
            cost=change.cost,
            started_at=None,
            ended_at=change.ended_at,
            periods=[*session.charging_periods, *(period_json(p) for p in change.periods)],
            last_updated=change.last_updated,
            extra={},
        )
        release = session_follow(session=session, status=change.status)
        sample_record(session=session, at=change.last_updated, periods=change.periods)
        after_report(session=session, release=False)
    if release:
        after_report(session=session, release=True)
    return True


def session_hold_ensure(*, session: ChargingSession) -> None:
    """Make sure a session that charges has a hold to bill against (a session started at the
    charger, or revived after its hold was released). When none can be placed the charge goes
    on and the session is flagged for an admin. Raises PaymentError when the payment provider
    is unreachable (the caller retries)."""
    session.refresh_from_db()
    payment = session.payment
    if payment is not None and payment.status not in (
        Payment.Status.CANCELED,
        Payment.Status.FAILED,
    ):
        return
    reference = f"session-{session.public_id}" + ("" if payment is None else "-late")
    try:
        placed = hold_place(
            user=session.user,
            reference=reference,
            amount=session.estimate,
            currency=session.currency.lower(),
        )
    except PaymentError as error:
        if error.retryable:
            raise
        flag = f"No hold on the card ({error.code}): bill this charge by hand after the CDR"
        ChargingSession.objects.filter(pk=session.pk).update(needs_attention=flag)
        session_note(session=session, cause=flag)
        return
    ChargingSession.objects.filter(pk=session.pk).update(payment=placed, needs_attention="")
    session_note(
        session=session, cause=f"Hold of {format_money(placed.amount, placed.currency)} placed"
    )
