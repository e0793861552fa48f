"""Reads of a driver's charging history: the sessions with what each cost, and totals per month.

Every read is scoped to the driver (`user=`): another driver's session is simply not found.
What a driver paid for a session is its receipt's amount less the refunds issued on its hold
and on any charge above the hold; until the receipt is written the bill is still to come.
"""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
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

from payments.models import Receipt, Refund
from payments.money import format_money
from roaming.models import ChargingSession, SessionState


def session_receipt_path(public_id: UUID) -> str:
    """Where the receipt of a session is (billing's page, by the session's public id)."""
    return f"/receipts/{public_id}/"


def session_duration_seconds(session: ChargingSession) -> int:
    """Seconds charged: from the start the partner reported to its end, or to now while the
    charge goes on; an ended charge whose end was never reported counts to its last change."""
    if session.started_at is None:
        return 0
    end = session.ended_at or (timezone.now() if session.is_live else session.updated_at)
    return max(0, int((end - session.started_at).total_seconds()))


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
