"""The partner's Sessions (PUT/PATCH on our receiver) applied to our sessions.

Matching: by the partner's session id once known, else by our authorization_reference, else
by our driver's token at the same EVSE. A Session the driver started at the charger with our
token (no command) becomes a session of ours there and then; its hold is placed after the
push has been answered. When no hold can be placed, the charge goes on (it is under way at the
charger and the operator bills us for it) and the session is flagged for an admin to bill by
hand. A session reported charging after it ended here (a start that timed out, say, so the
driver was told nothing was charged) is stopped at once (`late_start_follow`): the driver may
have left, and pays only for what it drew until the stop. It is billed like any other, with a
new hold (reference `session-<public_id>-late`, since the first was released).
"""

import uuid
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from config.outbox import task_enqueue
from locator.selectors_charging import location_find
from payments.gateway import PaymentError
from payments.models import Payment
from payments.money import format_money, minor_per_major
from payments.services import hold_place
from roaming.adapters.base import PeriodReport, SessionChange, SessionReport, SessionStatus
from roaming.errors import PartnerError
from roaming.models import (
    ENDED_WITHOUT_CHARGE,
    SESSION_TRANSITIONS,
    ChargingSession,
    DriverToken,
    Partner,
    SessionSample,
    SessionState,
)
from roaming.services.session_states import (
    NOTHING_CHARGED,
    session_create,
    session_hold_release,
    session_note,
    session_transition,
)
from roaming.services.sync import catalogue_source

State = SessionState
# A Session reported by token (no authorization_reference) belongs to a start of ours at the
# same EVSE made within this long.
TOKEN_MATCH_WINDOW = timedelta(hours=2)
LATE_START = (
    "The charger started charging after all, after we had told you it did not. We are "
    "stopping it: you pay only for the energy it delivered until then, and get a receipt."
)
LATE_CHARGE = (
    "The charger charged after all, after we had told you it did not start. You pay only for "
    "the energy it delivered: see the receipt."
)


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
    location = location_find(
        source=catalogue_source(partner),
        country_code=report.country_code,
        party_id=report.party_id,
        ocpi_id=report.location_id,
    )
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
    if status == SessionStatus.ACTIVE and state in (State.REQUESTED, State.ACCEPTED):
        session_transition(
            session=session, to=State.ACTIVE, cause="The charger started charging", message=""
        )
    elif status == SessionStatus.ACTIVE and state in ENDED_WITHOUT_CHARGE:
        late_start_follow(session=session)
    elif status == SessionStatus.COMPLETED and state != State.COMPLETED:
        if State.COMPLETED not in SESSION_TRANSITIONS[state]:
            session_transition(
                session=session, to=State.ACTIVE, cause="The charger started charging"
            )
        late = state in ENDED_WITHOUT_CHARGE or session.state_message == LATE_START
        session_transition(
            session=session,
            to=State.COMPLETED,
            cause="The charger ended the session"
            + (", which started after we had given up on the start" if late else ""),
            message=LATE_CHARGE if late else "",
        )
    elif status == SessionStatus.INVALID and state in (State.REQUESTED, State.ACCEPTED):
        session_transition(
            session=session,
            to=State.FAILED,
            cause="The operator reported that the session is not valid",
            message=f"The charger could not start the charge. {NOTHING_CHARGED}",
        )
        return True
    elif status in (SessionStatus.PENDING, SessionStatus.RESERVATION) and state == State.REQUESTED:
        session_transition(session=session, to=State.ACCEPTED, cause="The charger is getting ready")
    return False


def late_start_follow(*, session: ChargingSession) -> None:
    """The charger reports charging on a start we gave up on (timed out, failed...) and told the
    driver nothing was charged: follow it to bill it, and stop it after the commit, so the
    driver, who may have left, pays only for the minutes until the stop."""
    from roaming.tasks import session_late_stop_task  # tasks import the services

    ended = session.get_state_display().lower()
    session_transition(
        session=session,
        to=State.ACTIVE,
        cause=f"The charger started after we had given up on the start ({ended}): "
        "we are stopping it",
        message=LATE_START,
    )
    task_enqueue(session_late_stop_task, session.pk)


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


def session_moved(
    *,
    session: ChargingSession,
    status: SessionStatus | None,
    at: datetime,
    periods: tuple[PeriodReport, ...],
) -> bool:
    """Inside a report's transaction: move the session as the partner says, add the chart
    point, and, once committed, make sure a session that charges has a hold. True when the
    session never became valid and its hold is to be released after the commit."""
    release = session_follow(session=session, status=status)
    sample_record(session=session, at=at, periods=periods)
    if session.state in (State.ACCEPTED, State.ACTIVE, State.STOPPING, State.COMPLETED):
        from roaming.tasks import session_hold_ensure_task  # tasks import the services

        payment = Payment.objects.filter(charging_session=session).first()
        if payment is None or payment.status in (Payment.Status.CANCELED, Payment.Status.FAILED):
            task_enqueue(session_hold_ensure_task, session.pk)
    return release


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
        release = session_moved(
            session=session, status=report.status, at=report.last_updated, periods=report.periods
        )
    if release:
        session_hold_release(session=session, reason="The session never became valid")
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
        release = session_moved(
            session=session, status=change.status, at=change.last_updated, periods=change.periods
        )
    if release:
        session_hold_release(session=session, reason="The session never became valid")
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
