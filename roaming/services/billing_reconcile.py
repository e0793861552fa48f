"""The nightly billing reconciliation: the partners' CDRs, ours, and Stripe's captures.

Every night (beat, `roaming.tasks.billing_reconcile_task`) three accounts of the last
`BILLING_RECONCILE_WINDOW` are compared:

- each connected partner's CDRs sender (through its adapter) against the CDRs we stored: a CDR
  of one of our drivers that the partner lists and we never received (its POST was lost);
- our CDRs against our billing: a CDR still `pending` `RECONCILE_GRACE` after it arrived was
  never billed (its billing task was lost);
- our billing against Stripe's captures, read through payments (`payments.gateway` is the
  only module that talks to Stripe): a billed CDR whose hold Stripe never captured, a capture
  of another amount than we recorded, and a capture that no billed CDR explains (captured
  twice, or by hand).

Work younger than `RECONCILE_GRACE` is left to finish. Each difference is stored once per kind
and subject (`BillingDifference`, listed in the admin until resolved), and those new in a run
are emailed in one message to staff and ADMINS. Nothing is changed: an admin decides.
"""

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from config.outbox import task_enqueue
from config.tasks import email_send
from payments.gateway import Capture
from payments.models import Payment
from payments.money import format_money
from payments.selectors import stripe_captures
from roaming.adapters import adapter_for
from roaming.errors import PartnerError
from roaming.models import (
    BillingDifference,
    ChargeDetailRecord,
    Partner,
    PartnerKind,
    PartnerState,
)

logger = logging.getLogger(__name__)
Kind = BillingDifference.Kind
# In-flight work (a CDR being billed, a capture being recorded) is not a difference yet.
RECONCILE_GRACE = timedelta(hours=1)


@dataclass(frozen=True)
class Found:
    kind: str
    subject: str
    detail: str
    partner: Partner | None = None
    cdr: ChargeDetailRecord | None = None


def billing_reconcile(*, now: datetime | None = None) -> list[BillingDifference]:
    """Compare the three accounts (see the module doc); store and report what differs.

    Returns the differences new in this run. Raises PaymentError when Stripe cannot be read
    (the task retries); a partner whose CDRs cannot be read is logged and skipped.
    """
    now = now or timezone.now()
    since = now - settings.BILLING_RECONCILE_WINDOW
    settled = now - RECONCILE_GRACE
    found = [
        *_partner_cdrs_missing(since=since, settled=settled),
        *_cdrs_unbilled(settled=settled),
        *_captures_differing(since=since, settled=settled),
    ]
    new = []
    for difference in found:
        row, created = BillingDifference.objects.get_or_create(
            kind=difference.kind,
            subject=difference.subject[:200],
            defaults={
                "detail": difference.detail[:500],
                "partner": difference.partner,
                "cdr": difference.cdr,
                "found_at": now,
            },
        )
        if created:
            new.append(row)
    if new:
        _report(new)
    return new


def _partner_cdrs_missing(*, since: datetime, settled: datetime) -> list[Found]:
    ours = (settings.OCPI_COUNTRY_CODE.upper(), settings.OCPI_PARTY_ID.upper())
    found = []
    partners = Partner.objects.filter(
        kind=PartnerKind.OCPI, state__in=[PartnerState.ACTIVE, PartnerState.DEGRADED]
    )
    for partner in partners:
        if not partner.endpoint("cdrs", "SENDER"):
            continue
        try:
            records = [
                record
                for page in adapter_for(partner).cdrs_fetch(since=since)
                for record in page.records
            ]
        except PartnerError as error:
            logger.warning("reconciliation: CDRs of %s unreadable: %s", partner, error.message)
            continue
        for record in records:
            if (record.token_country_code, record.token_party_id) != ours or (
                record.ended_at > settled
            ):
                continue  # another eMSP's driver, or a CDR the partner may still be POSTing
            identity = f"{record.country_code}*{record.party_id} {record.id}"
            if not ChargeDetailRecord.objects.filter(
                country_code=record.country_code, party_id=record.party_id, cdr_id=record.id
            ).exists():
                found.append(
                    Found(
                        Kind.CDR_MISSING,
                        f"CDR {identity}",
                        f"{partner.name} lists CDR {identity} (ended "
                        f"{record.ended_at:%Y-%m-%d %H:%M} UTC, token {record.token_uid}); we "
                        "never received it.",
                        partner=partner,
                    )
                )
    return found


def _cdrs_unbilled(*, settled: datetime) -> list[Found]:
    waiting = ChargeDetailRecord.objects.filter(
        billing=ChargeDetailRecord.Billing.PENDING, received_at__lt=settled
    ).select_related("partner")
    return [
        Found(
            Kind.UNBILLED,
            str(cdr),
            f"Received {cdr.received_at:%Y-%m-%d %H:%M} UTC from {cdr.partner.name} and still "
            f"to bill ({format_money(cdr.amount or 0, cdr.currency.lower())}).",
            partner=cdr.partner,
            cdr=cdr,
        )
        for cdr in waiting
    ]


def _captures_differing(*, since: datetime, settled: datetime) -> list[Found]:
    captures = [c for c in stripe_captures(since=since) if c.created < settled]
    by_intent: dict[str | None, list[Capture]] = defaultdict(list)
    for capture in captures:
        by_intent[capture.payment_intent_id].append(capture)
    billed = ChargeDetailRecord.objects.filter(
        billing=ChargeDetailRecord.Billing.BILLED,
        credit=False,
        received_at__gte=since,
        received_at__lt=settled,
        session__payment__isnull=False,
    ).select_related("partner", "session__payment")
    found, explained = [], set()
    for cdr in billed:
        hold = cdr.session.payment if cdr.session else None
        if hold is None:
            continue  # not one (the query asks for a payment)
        payments = [hold, *hold.excess_charges.all()]
        intents = {p.stripe_payment_intent_id for p in payments if p.stripe_payment_intent_id}
        explained |= intents
        theirs = sum(c.amount for intent in intents for c in by_intent.get(intent, []))
        ours = sum(p.amount_captured or 0 for p in payments)
        money = partial(format_money, currency=hold.currency)
        if not theirs:
            found.append(
                Found(
                    Kind.NOT_CAPTURED,
                    str(cdr),
                    f"Billed {money(ours)} on payment {hold.reference}; Stripe has no capture.",
                    partner=cdr.partner,
                    cdr=cdr,
                )
            )
        elif theirs != ours:
            found.append(
                Found(
                    Kind.AMOUNT_DIFFERS,
                    str(cdr),
                    f"We recorded {money(ours)} captured on payment {hold.reference}; Stripe "
                    f"captured {money(theirs)}.",
                    partner=cdr.partner,
                    cdr=cdr,
                )
            )
    for capture in captures:
        if capture.payment_intent_id in explained:
            continue
        payment = Payment.objects.filter(stripe_payment_intent_id=capture.payment_intent_id).first()
        whose = f"payment {payment.reference}" if payment else "no payment of ours"
        found.append(
            Found(
                Kind.CAPTURE_WITHOUT_CDR,
                f"Stripe charge {capture.charge_id}",
                f"Stripe captured {format_money(capture.amount, capture.currency)} "
                f"({capture.payment_intent_id}, {whose}); no billed CDR explains it.",
            )
        )
    return found


def _report(differences: list[BillingDifference]) -> None:
    """One email to staff and ADMINS listing the new differences (queued in the outbox)."""
    staff = get_user_model().objects.filter(is_staff=True, is_active=True).exclude(email="")
    recipients = sorted(
        {*staff.values_list("email", flat=True), *(email for _, email in settings.ADMINS)}
    )
    if not recipients:
        logger.warning("billing differences found, and nobody to tell: %s", differences)
        return
    url = settings.SITE_URL + reverse("admin:roaming_billingdifference_changelist")
    lines = [f"- {d.get_kind_display()}: {d.subject}\n  {d.detail}" for d in differences]
    body = (
        f"Last night's billing reconciliation found {len(differences)} new difference(s) "
        f"between the partners' CDRs, ours and Stripe's captures:\n\n"
        + "\n".join(lines)
        + f"\n\nEach is listed until resolved: {url}\n"
    )
    task_enqueue(
        email_send,
        subject=f"[{settings.SITE_NAME}] Billing reconciliation: "
        f"{len(differences)} new difference(s)",
        body=body,
        html_body=None,
        to=recipients,
    )
