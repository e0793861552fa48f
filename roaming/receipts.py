"""A driver's receipt for one charge: the facts (for the page, the PDF and the email), who may
see it, and the PDF.

Everything comes from rows written when the charge was billed: the session (where, when,
which operator), the CDR the operator billed (energy, cost breakdown, VAT), and the payments
receipt (its number, what the card was charged, which card). Amounts are minor units.
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from uuid import UUID

from django.conf import settings
from django.contrib.auth.models import User
from django.db.models import Sum
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from fpdf import FPDF

from locator.selectors_charging import tariff_words
from payments.models import Payment, Receipt, Refund
from payments.money import format_money
from roaming.adapters import adapter_for
from roaming.errors import PartnerError
from roaming.models import ChargeDetailRecord, ChargingSession
from roaming.services.cdr_tariffs import charge_tariff
from roaming.services.cdrs import to_minor

BILLED = (ChargeDetailRecord.Billing.BILLED, ChargeDetailRecord.Billing.REFUNDED)


@dataclass(frozen=True)
class ReceiptLine:
    label: str
    amount: str


@dataclass(frozen=True)
class ReceiptFacts:
    number: str
    issued_at: datetime
    operator: str
    location: str
    address: str
    evse: str
    started_at: datetime | None
    ended_at: datetime | None
    kwh: Decimal
    tariff: str
    breakdown: list[ReceiptLine]
    operator_total: str
    vat: str
    fee: str
    charged: str
    refunded: str
    card: str
    cdr_id: str
    nothing_charged: bool  # a free charge: the hold was released whole, no fee (cdr_fee)
    site: str  # who charges the fee: SITE_NAME

    @property
    def settlement(self) -> str:
        """What became of the hold when the charge cost nothing, else ""."""
        if not self.nothing_charged:
            return ""
        return _(
            "Nothing was charged to your card: the operator's price was %(price)s, so there is "
            "no %(site)s fee either, and the hold on your card was released in full."
        ) % {"price": self.operator_total or self.charged, "site": self.site}

    @property
    def duration(self) -> str:
        if self.started_at is None or self.ended_at is None:
            return ""
        seconds = int((self.ended_at - self.started_at).total_seconds())
        minutes = seconds // 60
        if minutes >= 60:
            return _("%(hours)s h %(minutes)s min") % {
                "hours": minutes // 60,
                "minutes": f"{minutes % 60:02d}",
            }
        if minutes:
            return _("%(minutes)s min") % {"minutes": minutes}
        return _("%(seconds)s s") % {"seconds": seconds} if seconds > 0 else ""


def receipt_session(*, user: User, public_id: UUID) -> ChargingSession | None:
    """The driver's own billed session, or None (someone else's, unknown, not billed yet)."""
    if not user.is_authenticated:
        return None
    return (
        ChargingSession.objects.filter(
            user=user, public_id=public_id, payment__receipt__isnull=False
        )
        .select_related("payment__receipt", "partner")
        .first()
    )


def _breakdown(cdr: ChargeDetailRecord, currency: str) -> list[ReceiptLine]:
    """The operator's cost parts incl. VAT, as its CDR gives them (an unreadable CDR: none)."""
    try:
        record = adapter_for(cdr.partner).cdr_parse(cdr.payload)
    except PartnerError:
        return []
    parts = (
        (_("Price of the energy"), record.energy_cost),
        (_("Price of the charging time"), record.time_cost),
        (_("Price of the parking time"), record.parking_cost),
        (_("Fixed price"), record.fixed_cost),
    )
    return [
        ReceiptLine(label, format_money(to_minor(cost.incl_vat, currency), currency))
        for label, cost in parts
        if cost is not None and cost.incl_vat
    ]


def receipt_facts(*, session: ChargingSession) -> ReceiptFacts:
    """What the receipt of a billed session says."""
    payment = session.payment
    assert payment is not None
    receipt: Receipt = payment.receipt
    currency = receipt.currency

    def money(amount: int) -> str:
        return format_money(amount, currency)

    cdr = (
        session.cdrs.filter(credit=False, billing__in=BILLED).order_by("-received_at").first()
        or session.cdrs.filter(credit=False).order_by("-received_at").first()
    )
    refunded = (
        Refund.objects.filter(
            payment__in=Payment.objects.filter(pk=payment.pk)
            | Payment.objects.filter(parent=payment),
            status=Refund.Status.SUCCEEDED,
        ).aggregate(total=Sum("amount"))["total"]
        or 0
    )
    tariff = charge_tariff(cdr=cdr) if cdr is not None else None
    return ReceiptFacts(
        number=receipt.number,
        issued_at=receipt.issued_at,
        operator=session.operator_name or session.partner.name,
        location=session.location_name,
        address=session.location_address,
        evse=session.evse_label or session.evse_uid,
        started_at=cdr.started_at if cdr else session.started_at,
        ended_at=cdr.ended_at if cdr else session.ended_at,
        kwh=cdr.total_energy if cdr else session.kwh,
        tariff=tariff_words(tariff) if tariff else "",
        breakdown=_breakdown(cdr, currency) if cdr else [],
        operator_total=money(cdr.total_cost) if cdr else "",
        vat=money(cdr.total_cost - cdr.total_cost_excl_vat) if cdr else "",
        fee=money(cdr.fee) if cdr else "",
        charged=money(receipt.amount),
        refunded=money(refunded) if refunded else "",
        card=receipt.card_label,
        cdr_id=cdr.cdr_id if cdr else "",
        nothing_charged=receipt.amount == 0,
        site=settings.SITE_NAME,
    )


def receipt_pdf(*, facts: ReceiptFacts) -> bytes:
    """The receipt as a one-page PDF (core fonts: text outside Windows-1252 shows as "?")."""
    pdf = FPDF(format="A4")
    pdf.core_fonts_encoding = "windows-1252"
    pdf.set_title(_("%(site)s receipt %(number)s") % {"site": facts.site, "number": facts.number})
    pdf.set_author(facts.site)
    pdf.set_creation_date(facts.issued_at)
    pdf.add_page()

    def text(value: str) -> str:
        return value.encode("cp1252", errors="replace").decode("cp1252")

    def row(label: str, value: str, *, bold: bool = False) -> None:
        pdf.set_font("helvetica", "B" if bold else "", 11)
        pdf.cell(70, 7, text(label))
        pdf.multi_cell(0, 7, text(value), new_x="LMARGIN", new_y="NEXT")

    pdf.set_font("helvetica", "B", 18)
    title = _("%(site)s receipt") % {"site": facts.site}
    pdf.cell(0, 12, text(title), new_x="LMARGIN", new_y="NEXT")
    local = timezone.localtime
    for label, value in (
        (_("Receipt number"), facts.number),
        (_("Issued"), f"{local(facts.issued_at):%Y-%m-%d %H:%M %Z}"),
        (_("Operator"), facts.operator),
        (_("Location"), facts.location),
        (_("Address"), facts.address),
        (_("Charge point (EVSE)"), facts.evse),
        (_("Started"), f"{local(facts.started_at):%Y-%m-%d %H:%M}" if facts.started_at else ""),
        (_("Ended"), f"{local(facts.ended_at):%Y-%m-%d %H:%M}" if facts.ended_at else ""),
        (_("Duration"), facts.duration),
        (_("Energy"), _("%(kwh)s kWh") % {"kwh": formats.number_format(facts.kwh, 3)}),
        (_("Tariff"), facts.tariff),
    ):
        if value:
            row(label, value)
    pdf.ln(4)
    for line in facts.breakdown:
        row(line.label, line.amount)
    row(_("Operator's price incl. VAT"), facts.operator_total)
    row(_("of which VAT"), facts.vat)
    row(_("%(site)s fee") % {"site": facts.site}, facts.fee)
    row(_("Charged to your card"), facts.charged, bold=True)
    if facts.refunded:
        row(_("Refunded"), facts.refunded)
    row(_("Card"), facts.card)
    if facts.settlement:
        pdf.set_font("helvetica", "", 11)
        pdf.multi_cell(0, 7, text(facts.settlement), new_x="LMARGIN", new_y="NEXT")
    if facts.cdr_id:
        row(_("Operator's reference"), facts.cdr_id)
    return bytes(pdf.output())
