"""Charging sessions: a driver starts, stops; an admin unlocks a connector.

Start: checks, the driver's token, an estimate of a typical charge on that EVSE, a hold on the
card (`payments.services.hold_place`, reference `session-<public_id>`), then START_SESSION
with a unique response URL. The CommandResponse and CommandResult (`roaming.services.commands`)
and the partner's Session PUT/PATCHes (`roaming.services.session_reports`) then drive the
session through its state machine (`roaming.services.session_states`). Every end without a
charge (refused, failed, timed out, cancelled) releases the hold and leaves the driver a
message saying what happened and that nothing was charged.

No database transaction is ever open across a partner or Stripe call: rows are committed
before each call (a result may reach us before the call returns).
"""

import uuid

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils.translation import gettext as _

from locator.selectors_charging import Evse, Location, evse_for_start
from locator.selectors_station import EVSE_UNAVAILABLE, evse_remote_startable
from payments.gateway import PaymentError
from payments.models import Payment
from payments.services import hold_place
from roaming.adapters import adapter_for
from roaming.errors import PartnerError, SessionError
from roaming.models import (
    LIVE_STATES,
    ChargingSession,
    Command,
    CommandType,
    Partner,
    PartnerState,
    SessionState,
)
from roaming.selectors import partner_for_source
from roaming.services.commands import (
    command_create,
    command_response_apply,
    command_response_url,
    command_result_apply,
    command_send_failed,
    commands_expire,
    reply_words,
)
from roaming.services.session_reports import (
    session_change_apply,
    session_hold_ensure,
    session_report_apply,
)
from roaming.services.session_states import (
    NOTHING_CHARGED,
    session_create,
    session_end,
    session_note,
    session_transition,
)
from roaming.services.tokens import driver_token_for_start

# The charging services, as the rest of the app imports them.
__all__ = [
    "SessionError",
    "command_response_url",
    "command_result_apply",
    "commands_expire",
    "connector_unlock",
    "session_change_apply",
    "session_hold_ensure",
    "session_late_stop",
    "session_note",
    "session_report_apply",
    "session_start",
    "session_stop",
    "session_transition",
]


State = SessionState
Status = Command.Status


# --- start ---------------------------------------------------------------------------------


def startable_evse(*, evse_id: int, user: User) -> tuple[Evse, Location, Partner]:
    """The EVSE a driver asked to start, or SessionError saying why it cannot be."""
    evse = evse_for_start(evse_id=evse_id, user=user)
    if evse is None:
        raise SessionError(
            _("This charger is not in our list (it may have been removed)."),
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
            _("This charger cannot be started from the app: use the operator's card or app."),
            code="not_startable",
        )
    if evse.status in EVSE_UNAVAILABLE:
        raise SessionError(
            _("This charger is in use or out of order right now: pick another one."),
            code="evse_unavailable",
            http_status=409,
        )
    return evse, location, partner


def resumable(session: ChargingSession) -> bool:
    """A start the driver's bank held up (3-D Secure), nothing sent to the partner yet:
    pressing Start again on the same EVSE resumes it."""
    payment = Payment.objects.filter(charging_session=session).first()
    return (
        session.state == State.REQUESTED
        and payment is not None
        and payment.status in (Payment.Status.REQUIRES_ACTION, Payment.Status.REQUIRES_CAPTURE)
        and not session.commands.exists()
    )


def already_charging(session: ChargingSession) -> SessionError:
    return SessionError(
        _("You already have a charge under way: stop it before you start another."),
        code="already_charging",
        http_status=409,
        extra={"session": str(session.public_id)},
    )


def session_start(*, user: User, evse_id: int) -> ChargingSession:
    """Start a charge for the driver on an EVSE: hold, then START_SESSION.

    Returns the session (requested, accepted, or refused by the partner with its message).
    Raises SessionError when nothing was started: already charging, unknown or unstartable or
    busy EVSE, no card, the card declined or needing the bank's confirmation (the driver then
    confirms and calls this again, which resumes the same session), the payment provider or
    the partner unreachable. Each such end releases the hold.
    """
    evse, location, partner = startable_evse(evse_id=evse_id, user=user)
    live = ChargingSession.objects.filter(user=user, state__in=LIVE_STATES).first()
    session: ChargingSession | None = None
    if live is not None and resumable(live) and live.evse_id == evse.pk:
        session = live
    elif (
        live is not None
        and resumable(live)
        and Payment.objects.filter(
            charging_session=live, status=Payment.Status.REQUIRES_ACTION
        ).exists()
    ):
        # Still waiting for the bank when the driver chose another charger.
        session_end(
            session=live,
            to=State.CANCELLED,
            cause="The driver started another charger instead",
            message=f"You started another charger instead. {NOTHING_CHARGED}",
        )
    elif live is not None:
        raise already_charging(live)
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
            raise already_charging(
                ChargingSession.objects.get(user=user, state__in=LIVE_STATES)
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


def start_command_send(*, session: ChargingSession, evse: Evse) -> None:
    """Send START_SESSION for a session whose hold is in place; only one per session, however
    many times Start is pressed at once (the command is claimed under the session's lock)."""
    with transaction.atomic():
        ChargingSession.objects.select_for_update().filter(pk=session.pk).first()
        if session.commands.filter(type=CommandType.START_SESSION).exists():
            raise already_charging(session)
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
            cause=f"{session.operator_name} could not be reached: {error.message}",
            message=message,
        )
        raise SessionError(message, code="partner_unavailable", http_status=503) from error
    if command_response_apply(command=command, reply=reply):
        session_transition(
            session=session,
            to=State.ACCEPTED,
            cause="Waiting for the charger",
        )
        return
    said = reply_words(reply)
    session_end(
        session=session,
        to=State.REJECTED,
        cause="The start was refused",
        message=f"{session.operator_name} refused the start: {said}. {NOTHING_CHARGED}",
    )


# --- stop and unlock -----------------------------------------------------------------------


def session_stop(*, user: User, session: ChargingSession) -> ChargingSession:
    """Ask the partner to stop the driver's session; the end itself arrives as a COMPLETED
    Session. Asking again while a stop is under way changes nothing. Raises SessionError
    `not_stoppable` (not charging, or the partner refused) or `partner_unavailable` (the
    session goes on charging; the driver may try again)."""
    if session.user_id != user.pk:
        raise SessionError(_("No such charging session."), code="not_found", http_status=404)
    return stop_send(session=session, cause="Stop requested by the driver")


def stop_send(*, session: ChargingSession, cause: str) -> ChargingSession:
    """Send STOP_SESSION for a charging session (`cause` goes on the timeline); see
    `session_stop` for what it raises and what the driver is told."""
    if session.state == State.STOPPING:
        return session
    if session.state != State.ACTIVE or not session.ocpi_session_id:
        raise SessionError(
            _("This session is not charging, so there is nothing to stop."),
            code="not_stoppable",
            http_status=409,
        )
    command = command_create(
        partner=session.partner, type=CommandType.STOP_SESSION, session=session
    )
    if not session_transition(session=session, to=State.STOPPING, cause=cause):
        Command.objects.filter(pk=command.pk).update(status=Status.FAILED, message="not sent")
        raise SessionError(
            _("This session is not charging any more."), code="not_stoppable", http_status=409
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
            session=session, to=State.ACTIVE, cause="The stop was refused", message=message
        )
        raise SessionError(message, code="not_stoppable", http_status=409)
    session.refresh_from_db()
    return session


def session_late_stop(*, session_id: int) -> None:
    """Stop a charge the charger began after we had given up on its start (the driver was told
    nothing was charged; `session_reports.late_start_follow`), so that it costs the driver only
    what it drew until the stop. Raises PartnerError when the partner cannot be reached (the
    caller retries; the driver may press Stop meanwhile); a refusal is flagged for an admin."""
    session = ChargingSession.objects.filter(pk=session_id).first()
    if session is None or session.state != State.ACTIVE:
        return  # stopped, by the driver or the charger, meanwhile
    try:
        stop_send(session=session, cause="Stopping the charge that started after we gave up")
    except SessionError as error:
        if isinstance(error.__cause__, PartnerError) and not error.__cause__.permanent:
            raise error.__cause__ from error
        flag = f"A late start could not be stopped: {error.message}"
        ChargingSession.objects.filter(pk=session.pk).update(needs_attention=flag[:200])
        session_note(session=session, cause=flag)


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
