"""Reads of a driver's charging sessions: one session as the live page and the session API show
it, and the driver's history with totals per month.

Every read is scoped to the driver (`user=`): another driver's session is simply not found.
What a driver paid for a session is its receipt's amount less the refunds issued on its hold
and on any charge above the hold; until the receipt is written the bill is still to come.
"""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.contrib.auth.models import User
from django.db.models import (
    Count,
    DateField,
    F,
    Func,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
)
from django.db.models.functions import Coalesce, TruncMonth
from django.utils import timezone

from payments.models import Payment, Receipt, Refund
from payments.money import format_money
from roaming.models import ENDED_WITHOUT_CHARGE, ChargingSession, SessionState


def session_receipt_path(public_id: UUID) -> str:
    """Where the receipt of a session is (billing's page, by the session's public id)."""
    return f"/receipts/{public_id}/"


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z") if moment else None


def session_duration_seconds(session: ChargingSession) -> int:
    """Seconds charged: from the start the partner reported to its end, or to now while the
    charge goes on; an ended charge whose end was never reported counts to its last change."""
    if session.started_at is None:
        return 0
    end = session.ended_at or (timezone.now() if session.is_live else session.updated_at)
    return max(0, int((end - session.started_at).total_seconds()))


def session_for_driver(*, user: User, public_id: UUID) -> ChargingSession | None:
    """The driver's own session with this public id, or None (also for another's)."""
    return (
        ChargingSession.objects.filter(user=user, public_id=public_id)
        .select_related("payment")
        .first()
    )


def session_detail(*, session: ChargingSession) -> dict[str, Any]:
    """The session as its driver sees it, in the session API's shape (CHARGING.md) and with
    its rules (stop, hold, timeline): the live page renders it on the server, then polls the
    API for the same document. Interim: once the session API is on main, the page renders the
    API's own `session_json` and this goes."""
    money = session.currency or "EUR"
    hold = session.payment
    has_receipt = hold is not None and Receipt.objects.filter(payment=hold).exists()
    hold_shown = (
        hold is not None
        and session.state not in ENDED_WITHOUT_CHARGE
        and hold.status not in (Payment.Status.CANCELED, Payment.Status.FAILED)
    )
    return {
        "id": str(session.public_id),
        "state": session.state,
        "state_label": session.get_state_display(),
        "message": session.state_message,
        "live": session.is_live,
        # A stop needs the partner's session id, so the charge must have begun.
        "can_stop": session.state == SessionState.ACTIVE and bool(session.ocpi_session_id),
        "station": {
            "id": session.evse.location_id if session.evse else None,
            "name": session.location_name,
            "address": session.location_address,
        },
        "evse": {"id": session.evse_id, "label": session.evse_label or session.evse_uid},
        "operator": session.operator_name,
        "started_at": _iso(session.started_at),
        "ended_at": _iso(session.ended_at),
        "duration_seconds": session_duration_seconds(session) if session.started_at else None,
        "kwh": float(session.kwh),
        "power_kw": float(session.power_kw),
        "currency": money,
        "cost": {
            "amount": session.running_cost,
            "display": format_money(session.running_cost, money),
        },
        "hold": (
            {"amount": hold.amount, "display": format_money(hold.amount, hold.currency)}
            if hold is not None and hold_shown
            else None
        ),
        "samples": [
            {"at": _iso(s.at), "kwh": float(s.kwh), "power_kw": float(s.power_kw), "cost": s.cost}
            for s in session.samples.all()
        ],
        "receipt_url": session_receipt_path(session.public_id) if has_receipt else None,
        "timeline": [{"at": _iso(e.created_at), "text": e.cause} for e in session.events.all()],
    }


def sessions_for_driver(*, user: User) -> QuerySet[ChargingSession]:
    """The driver's sessions, newest first, each with `paid`: what the driver paid for it
    (None while the bill is still to come, or when nothing was charged)."""
    receipt = Receipt.objects.filter(payment_id=OuterRef("payment_id")).order_by().values("amount")
    # SUM as a plain function, so the subquery is not grouped by the outer row's columns.
    refunded = (
        Refund.objects.filter(
            Q(payment_id=OuterRef("payment_id")) | Q(payment__parent_id=OuterRef("payment_id")),
            status=Refund.Status.SUCCEEDED,
        )
        .order_by()
        .values(total=Func(F("amount"), function="SUM"))
    )
    return (
        ChargingSession.objects.filter(user=user)
        .annotate(
            paid=Subquery(receipt, output_field=IntegerField())
            - Coalesce(Subquery(refunded, output_field=IntegerField()), 0)
        )
        .order_by("-created_at", "-id")
    )


@dataclass
class MonthTotal:
    """One month of a driver's charging: completed charges, energy, and money per currency."""

    month: date
    charges: int = 0
    kwh: Decimal = Decimal(0)
    paid: dict[str, int] = field(default_factory=dict)
    awaiting_bill: int = 0

    @property
    def paid_display(self) -> list[str]:
        return [format_money(amount, currency) for currency, amount in sorted(self.paid.items())]


def session_month_totals(*, user: User, months: list[date]) -> dict[date, MonthTotal]:
    """Totals for each of these months (first days, in the site's time zone) of the driver's
    sessions, each counted in the month the driver pressed Start."""
    rows = (
        sessions_for_driver(user=user)
        .annotate(month=TruncMonth("created_at", output_field=DateField()))
        .filter(month__in=months)
        .order_by()
        .values("month", "currency")
        .annotate(
            charges=Count("id", filter=Q(state=SessionState.COMPLETED)),
            kwh=Sum("kwh"),
            paid_total=Sum("paid"),
            awaiting_bill=Count("id", filter=Q(state=SessionState.COMPLETED, paid__isnull=True)),
        )
    )
    totals = {month: MonthTotal(month=month) for month in months}
    for row in rows:
        total = totals[row["month"]]
        total.charges += row["charges"]
        total.kwh += row["kwh"] or Decimal(0)
        total.awaiting_bill += row["awaiting_bill"]
        if row["paid_total"]:
            currency = row["currency"].upper()
            total.paid[currency] = total.paid.get(currency, 0) + row["paid_total"]
    return totals
