"""Charge detail records: take one in, match it to its session, bill it or hold it for an admin,
turn a credit CDR into a refund, look for the CDRs that never came, and queue again the billing
of any whose billing task was lost.

The flow (DESIGN.md, data flow 4): `cdr_receive` stores a partner's CDR once per
(country_code, party_id, id), matches it to our session and works out what to charge, and
queues `cdr_bill` in that transaction. `cdr_bill` captures the session's hold for the CDR's cost
incl. VAT plus our fee (payments charges any excess over the hold separately), writes the
receipt and emails it, unless the CDR's cost differs from our own reckoning (tariff and the
CDR's periods) by more than `CHARGING_CDR_TOLERANCE`: then it is held for an admin (`review`)
and nothing is charged. Every step is written on the session's timeline.

Every function may run twice (a repeated POST, a redelivered task): a CDR is stored once,
and billed once, because payments captures a hold once and the CDR's `billing` moves on from
`pending` only once.
"""

import logging
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import partial

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from config.models import PendingTask
from config.outbox import task_enqueue
from locator.selectors_charging import periods_price
from payments.models import Payment, Receipt
from payments.money import format_money, minor_per_major
from payments.services import PaymentError, hold_capture, receipt_write
from roaming.adapters import adapter_for
from roaming.adapters.base import ChargeRecord
from roaming.errors import PartnerError
from roaming.models import ChargeDetailRecord, ChargingSession, DriverToken, Partner, SessionState
from roaming.selectors import partner_owns
from roaming.services.cdr_tariffs import charge_tariff
from roaming.services.refunds import session_refund
from roaming.services.sessions import session_note, session_transition
from roaming.services.tokens import driver_token_refresh

logger = logging.getLogger(__name__)
Billing = ChargeDetailRecord.Billing

# A CDR without the partner's session id or our authorization reference is matched by the
# driver's token to the session that started closest to it, within this window.
TOKEN_MATCH_WINDOW = timedelta(minutes=30)
# Partners stamp to the second: a charge shorter than a second "ends" before we created its row.
STAMP_SLACK = timedelta(seconds=1)
# A CDR still to bill this long after it arrived lost its billing task: a capture's retries
# while Stripe is unreachable end (in review) well within it.
UNBILLED_AFTER = timedelta(minutes=30)


class CdrRefusedError(PartnerError):
    """A CDR the partner may not send us (not its party, not our driver's token): answered
    like an unknown object, 404."""


def cdr_fee(*, total: int, credit: bool) -> int:
    """Our fee on a CDR: `CHARGING_FEE` on a charge that costs something, none on a credit or
    a free charge.

    A CDR of 0.00 (a free charger, or a car that took no energy) is settled without a capture:
    the hold is released whole and the driver gets a receipt for 0.00. A fee alone would be
    a charge for nothing the driver got, below the card networks' minimum charge (EUR 0.50).
    """
    return settings.CHARGING_FEE if total > 0 and not credit else 0


def to_minor(amount: Decimal, currency: str) -> int:
    """Major units (as OCPI gives money) to minor units, half up, in the currency's exponent."""
    return int((amount * minor_per_major(currency)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def cdr_session_match(*, partner: Partner, record: ChargeRecord) -> ChargingSession | None:
    """Our session for a CDR: by the partner's session id, else by our authorization
    reference, else the driver's session at that EVSE that started closest to it. Only
    sessions of the CDR's token with this partner are considered."""
    sessions = ChargingSession.objects.filter(partner=partner, token__uid=record.token_uid)
    if record.session_id:
        found = sessions.filter(
            country_code=record.country_code,
            party_id=record.party_id,
            ocpi_session_id=record.session_id,
        ).first()
        if found is not None:
            return found
    if record.authorization_reference:
        found = sessions.filter(authorization_reference=record.authorization_reference).first()
        if found is not None:
            return found
    nearby = (
        sessions.filter(
            created_at__gte=record.started_at - TOKEN_MATCH_WINDOW,
            created_at__lte=record.ended_at + STAMP_SLACK,
        )
        .filter(Q(evse_uid=record.evse_uid) | Q(evse_uid=""))
        .exclude(cdrs__credit=False)
    )

    def distance(session: ChargingSession) -> float:
        return abs(((session.started_at or session.created_at) - record.started_at).total_seconds())

    closest = min(nearby, key=distance, default=None)
    if closest is None or distance(closest) > TOKEN_MATCH_WINDOW.total_seconds():
        return None
    return closest


def cdr_check(*, partner: Partner, record: ChargeRecord) -> None:
    """Refuse a CDR the partner may not send: another party's, or not for our driver's token."""
    if not partner_owns(
        partner=partner, country_code=record.country_code, party_id=record.party_id
    ):
        raise CdrRefusedError(
            f"{record.country_code}/{record.party_id} is not your party",
            permanent=True,
            ocpi_status=2000,
        )
    ours = (record.token_country_code, record.token_party_id) == (
        settings.OCPI_COUNTRY_CODE.upper(),
        settings.OCPI_PARTY_ID.upper(),
    )
    if not ours or not DriverToken.objects.filter(uid=record.token_uid).exists():
        raise CdrRefusedError(
            f"Token {record.token_uid} is not one of ours", permanent=True, ocpi_status=2004
        )


def _expected_cost(cdr: ChargeDetailRecord, record: ChargeRecord) -> int | None:
    tariff = charge_tariff(cdr=cdr, record=record)
    if tariff is None or tariff.currency != record.currency:
        return None
    cost = periods_price(
        elements=tariff.elements,
        periods=list(record.periods),
        time_zone=tariff.time_zone,
        min_price=tariff.min_price,
        max_price=tariff.max_price,
    )
    return to_minor(cost.total.incl_vat, record.currency)


def cdr_receive(*, partner: Partner, record: ChargeRecord) -> tuple[ChargeDetailRecord, bool]:
    """Store a CDR the partner sent (POST) or we fetched, once; bill it after the commit.

    Returns (cdr, created): the same CDR again returns the stored row and bills nothing.
    Raises CdrRefusedError for another party's CDR or a token that is not ours.
    """
    cdr_check(partner=partner, record=record)
    identity = {
        "country_code": record.country_code,
        "party_id": record.party_id,
        "cdr_id": record.id,
    }
    existing = ChargeDetailRecord.objects.filter(**identity).first()
    if existing is not None:
        return existing, False
    from roaming.tasks import cdr_bill_task  # the task module imports these services

    currency = record.currency
    total = to_minor(record.total.incl_vat, currency)
    with transaction.atomic():
        if record.credit:
            credited = ChargeDetailRecord.objects.filter(
                country_code=record.country_code,
                party_id=record.party_id,
                cdr_id=record.credit_reference_id,
            ).first()
            session = credited.session if credited else None
        else:
            session = cdr_session_match(partner=partner, record=record)
        fee = cdr_fee(total=total, credit=record.credit)
        try:
            with transaction.atomic():
                cdr = ChargeDetailRecord.objects.create(
                    **identity,
                    partner=partner,
                    session=session,
                    payload=record.payload,
                    currency=currency,
                    total_cost=total,
                    total_cost_excl_vat=to_minor(record.total.excl_vat, currency),
                    total_energy=record.total_energy_kwh,
                    total_time_hours=record.total_time_hours,
                    started_at=record.started_at,
                    ended_at=record.ended_at,
                    credit=record.credit,
                    credit_reference_id=record.credit_reference_id,
                    fee=fee,
                    amount=total + fee,
                )
        except IntegrityError:
            # The same CDR, POSTed twice at once: the other request stored it.
            return ChargeDetailRecord.objects.get(**identity), False
        if not record.credit:
            cdr.expected_cost = _expected_cost(cdr, record)
            cdr.save(update_fields=["expected_cost"])
        if session is not None:
            session_note(
                session=session,
                cause=f"The operator's {'credit note' if record.credit else 'bill'} {record.id} "
                f"arrived: {format_money(total, currency.lower())} incl. VAT",
            )
        # In this transaction: the CDR is never stored without the work to bill it.
        task_enqueue(cdr_bill_task, cdr.pk)
    return cdr, True


def cdr_hold(*, cdr: ChargeDetailRecord, message: str) -> ChargeDetailRecord:
    """Hold a CDR for an admin: nothing is charged, the session is flagged."""
    ChargeDetailRecord.objects.filter(pk=cdr.pk).update(
        billing=Billing.REVIEW, billing_message=message[:500]
    )
    cdr.billing, cdr.billing_message = Billing.REVIEW, message[:500]
    if cdr.session is not None:
        ChargingSession.objects.filter(pk=cdr.session.pk).update(needs_attention=message[:200])
        session_note(session=cdr.session, cause=f"Held for an admin: {message}")
    logger.warning("CDR %s held for review: %s", cdr, message)
    return cdr


def _session_complete(session: ChargingSession, cdr: ChargeDetailRecord) -> None:
    """A CDR means the charge is over, even if the partner's last Session PATCH is late."""
    if not session.is_live:
        return
    cause = f"The operator's bill {cdr.cdr_id} arrived before the operator reported the end"
    if session.state == SessionState.REQUESTED:
        session_transition(session=session, to=SessionState.ACTIVE, cause=cause)
    if session_transition(session=session, to=SessionState.COMPLETED, cause=cause):
        ChargingSession.objects.filter(pk=session.pk).update(
            ended_at=cdr.ended_at,
            kwh=cdr.total_energy,
            started_at=session.started_at or cdr.started_at,
        )


def _mismatch(cdr: ChargeDetailRecord, payment: Payment) -> str:
    """Why the CDR cannot be billed as it is, or ""."""
    money = partial(format_money, currency=cdr.currency.lower())
    if cdr.currency.lower() != payment.currency:
        return f"The CDR is in {cdr.currency}, the hold in {payment.currency.upper()}."
    if cdr.expected_cost is None:
        return "No tariff to check the CDR's cost against."
    difference = abs(cdr.total_cost - cdr.expected_cost)
    if difference > settings.CHARGING_CDR_TOLERANCE:
        return (
            f"The CDR says {money(cdr.total_cost)}, the tariff gives "
            f"{money(cdr.expected_cost)} (a difference of {money(difference)})."
        )
    return ""


def cdr_bill(*, cdr: ChargeDetailRecord, approved_by: User | None = None) -> ChargeDetailRecord:
    """Bill a stored CDR: capture its amount on the session's hold, write and email the receipt;
    a credit CDR refunds its amount on the CDR it credits.

    A CDR in `review` is billed only when an admin approves it (`approved_by`), which skips
    the comparison with our tariff. Billed, refunded and resolved CDRs are left alone. A
    retryable payment error is raised (the task retries with backoff); any other failure holds
    the CDR for an admin.
    """
    cdr = ChargeDetailRecord.objects.select_related("session__payment").get(pk=cdr.pk)
    if cdr.billing not in (Billing.PENDING, Billing.REVIEW, Billing.UNMATCHED) or (
        cdr.billing != Billing.PENDING and approved_by is None
    ):
        return cdr
    session = cdr.session
    if session is None:
        ChargeDetailRecord.objects.filter(pk=cdr.pk).update(
            billing=Billing.UNMATCHED,
            billing_message="No session of ours matches this CDR.",
        )
        cdr.refresh_from_db()
        return cdr
    if cdr.credit:
        return _credit_refund(cdr, session, by=approved_by)
    _session_complete(session, cdr)
    payment = session.payment
    if payment is None:
        return cdr_hold(cdr=cdr, message="The session has no hold to capture.")
    problem = _mismatch(cdr, payment)
    if problem and (approved_by is None or problem.startswith("The CDR is in")):
        return cdr_hold(cdr=cdr, message=problem)
    amount = cdr.amount or 0
    if approved_by is not None:
        session_note(session=session, cause=f"{approved_by} approved billing CDR {cdr.cdr_id}")
    try:
        hold_capture(payment=payment, amount=amount)
    except PaymentError as error:
        if error.retryable:
            session_note(session=session, cause=f"Capture to retry: {error.message}")
            raise
        held = cdr_hold(cdr=cdr, message=f"The capture failed: {error.message}")
        # The driver now owes this charge: their token is blocked at once, not at the next
        # reconciliation.
        driver_token_refresh(user=session.user)
        return held
    receipt = receipt_write(payment=payment)
    owed = ""
    with transaction.atomic():
        billed = ChargeDetailRecord.objects.filter(
            pk=cdr.pk, billing__in=[Billing.PENDING, Billing.REVIEW, Billing.UNMATCHED]
        ).update(billing=Billing.BILLED, billing_message="")
        if billed:
            declined = payment.excess_charges.filter(status=Payment.Status.FAILED).first()
            owed = (
                f"The charge of {declined.amount_label} above the hold failed: "
                f"{declined.failure_message}"
                if declined
                else ""
            )
            ChargingSession.objects.filter(pk=session.pk).update(needs_attention=owed[:200])
            if owed:
                session_note(session=session, cause=owed)
            session_note(
                session=session,
                cause=f"Charged {format_money(amount, payment.currency)} (operator "
                f"{format_money(cdr.total_cost, payment.currency)} + Plugway fee "
                f"{format_money(cdr.fee, payment.currency)}); receipt {receipt.number}"
                if amount
                else f"Nothing to charge (operator {format_money(0, payment.currency)}, no fee):"
                f" hold released; receipt {receipt.number}",
            )
            receipt_email(session=session, receipt=receipt)
    if owed:
        driver_token_refresh(user=session.user)
    cdr.refresh_from_db()
    return cdr


def _credit_refund(
    cdr: ChargeDetailRecord, session: ChargingSession, *, by: User | None
) -> ChargeDetailRecord:
    """Refund a credit CDR's amount on what was charged for the session."""
    try:
        session_refund(
            session=session,
            amount=-cdr.total_cost,
            reason=f"Credit CDR {cdr.cdr_id} from the operator",
            request_id=f"cdr-{cdr.pk}",
            by=by,
        )
    except PaymentError as error:
        if error.retryable:
            raise
        return cdr_hold(cdr=cdr, message=f"The credit CDR cannot be refunded: {error.message}")
    ChargeDetailRecord.objects.filter(
        pk=cdr.pk, billing__in=[Billing.PENDING, Billing.REVIEW]
    ).update(billing=Billing.REFUNDED, billing_message="")
    cdr.refresh_from_db()
    return cdr


def cdr_resolve(*, cdr: ChargeDetailRecord, by: User, note: str = "") -> bool:
    """An admin has dealt with a CDR held for review or matching no charge: mark it resolved
    (and its session, when nothing else of it waits). False when it was not waiting."""
    why = f"Resolved by {by}" + (f": {note}" if note else "")
    with transaction.atomic():
        resolved = ChargeDetailRecord.objects.filter(
            pk=cdr.pk, billing__in=[Billing.REVIEW, Billing.UNMATCHED]
        ).update(billing=Billing.RESOLVED, billing_message=why[:500])
        session = cdr.session
        if resolved and session is not None:
            session_note(session=session, cause=f"CDR {cdr.cdr_id}: {why}")
            if not session.cdrs.filter(billing=Billing.REVIEW).exists():
                ChargingSession.objects.filter(pk=session.pk).update(needs_attention="")
    return bool(resolved)


def cdrs_resolve(*, session: ChargingSession, by: User, note: str = "") -> int:
    """An admin has dealt with what the session needed: clear its flag, and mark its CDRs held
    for review (or matching no charge) resolved. Returns how many CDRs were resolved."""
    with transaction.atomic():
        resolved = session.cdrs.filter(billing__in=[Billing.REVIEW, Billing.UNMATCHED]).update(
            billing=Billing.RESOLVED,
            billing_message=f"Resolved by {by}" + (f": {note}" if note else ""),
        )
        ChargingSession.objects.filter(pk=session.pk).update(needs_attention="")
        session_note(
            session=session, cause=f"Marked resolved by {by}" + (f": {note}" if note else "")
        )
    return resolved


def receipt_email(*, session: ChargingSession, receipt: Receipt) -> None:
    """Email the driver their receipt: the mail task is queued in the caller's transaction."""
    from config.tasks import email_send
    from roaming.receipts import receipt_facts  # it reads tariffs through this module

    user = session.user
    if not user.email:
        return
    # In the driver's language, whatever process bills the charge (a partner's CDR, a task).
    with translation.override(session.language):
        context = {
            "session": session,
            "receipt": receipt,
            "url": settings.SITE_URL + reverse("receipt", kwargs={"public_id": session.public_id}),
            "facts": receipt_facts(session=session),
        }
        subject = _("Your %(site)s receipt %(number)s") % {
            "site": settings.SITE_NAME,
            "number": receipt.number,
        }
        body = render_to_string("receipts/email.txt", context)
        html_body = render_to_string("receipts/email.html", context)
    task_enqueue(email_send, subject=subject, body=body, html_body=html_body, to=[user.email])


def cdrs_missing_find(*, now: datetime | None = None) -> int:
    """Sessions that ended `CHARGING_CDR_WAIT` ago with no CDR: look for their CDRs on each
    partner's CDRs sender (`date_from` the earliest start), then flag those still without
    one to an admin. Returns how many were flagged."""
    now = now or timezone.now()
    waiting = ChargingSession.objects.filter(
        state=SessionState.COMPLETED,
        payment__isnull=False,
        needs_attention="",
        cdrs__isnull=True,
    ).filter(
        Q(ended_at__lt=now - settings.CHARGING_CDR_WAIT)
        | Q(ended_at__isnull=True, updated_at__lt=now - settings.CHARGING_CDR_WAIT)
    )
    flagged = 0
    for partner_id in set(waiting.values_list("partner_id", flat=True)):
        partner = Partner.objects.get(pk=partner_id)
        mine = waiting.filter(partner=partner)
        since = min(s.started_at or s.created_at for s in mine) - timedelta(minutes=5)
        problem = _cdrs_fetch(partner, since)
        for session in mine.all():
            if session.cdrs.exists():
                continue
            message = problem or "No CDR arrived, and the operator's CDR list has none for it."
            ChargingSession.objects.filter(pk=session.pk).update(needs_attention=message[:200])
            session_note(session=session, cause=f"Flagged to an admin: {message}")
            flagged += 1
    return flagged


def cdrs_unbilled_requeue() -> int:
    """Queue again the billing of CDRs still to bill `UNBILLED_AFTER` after they arrived, and
    not queued in that time either: their billing task was lost (its worker died past the
    broker's redelivery, or it ran out of retries in a long outage). Billing is safe to run
    twice. Returns how many were queued."""
    from roaming.tasks import cdr_bill_task

    since = timezone.now() - UNBILLED_AFTER
    queued = PendingTask.objects.filter(task=cdr_bill_task.name, created_at__gte=since)
    recent = {args[0] for args in queued.values_list("args", flat=True)}
    left = ChargeDetailRecord.objects.filter(billing=Billing.PENDING, received_at__lt=since)
    lost = [pk for pk in left.values_list("pk", flat=True) if pk not in recent]
    with transaction.atomic():
        for pk in lost:
            task_enqueue(cdr_bill_task, pk)
    if lost:
        logger.warning("billing of %d CDR(s) queued again: %s", len(lost), lost)
    return len(lost)


def _cdrs_fetch(partner: Partner, since: datetime) -> str:
    """Receive the partner's CDRs since `since`; "" or why they could not be read."""
    try:
        for page in adapter_for(partner).cdrs_fetch(since=since):
            for record in page.records:
                try:
                    cdr_receive(partner=partner, record=record)
                except CdrRefusedError:
                    continue  # another eMSP's driver, or another party's CDR
    except PartnerError as error:
        logger.warning("CDRs of %s could not be fetched: %s", partner, error.message)
        return f"No CDR arrived, and the operator's CDR list could not be read: {error.message}"
    return ""
