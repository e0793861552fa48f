"""Operations admin for charging: sessions with their whole timeline (state changes, commands,
payments, CDRs), CDRs held for review, sessions missing their CDR; and what an admin can do
about them: bill a held CDR (retry capture), refund all or part of a charge, mark resolved.

Rows are written by services only; the pages are read-only apart from their actions.
Unlocking a connector asks the partner through charging's `connector_unlock` (helpdesk only).
"""

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import Exists, OuterRef, QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from payments.admin import RefundForm
from payments.models import Payment, PaymentLogEntry, Refund
from payments.money import format_money, minor_per_major
from payments.services import PaymentError
from roaming.models import ChargeDetailRecord, ChargingSession, SessionState
from roaming.services.cdrs import cdr_bill, cdr_resolve, cdrs_resolve
from roaming.services.refunds import session_payments, session_refund, session_refundable
from roaming.services.sessions import SessionError, connector_unlock

Billing = ChargeDetailRecord.Billing


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    kind: str
    text: str


def session_timeline(session: ChargingSession) -> list[TimelineEntry]:
    """Everything that happened to a session, oldest first."""
    entries = [
        TimelineEntry(event.created_at, "Session", str(event)) for event in session.events.all()
    ]
    for command in session.commands.all():
        said = ", ".join(
            part
            for part in (
                f"response {command.response}" if command.response else "",
                f"result {command.result}" if command.result else "",
                command.message,
            )
            if part
        )
        entries.append(
            TimelineEntry(
                command.sent_at,
                "Command",
                f"{command.get_type_display()} sent: {command.get_status_display()}"
                + (f" ({said})" if said else ""),
            )
        )
    payments = (
        Payment.objects.filter(pk=session.payment_id)
        | Payment.objects.filter(parent=session.payment_id)
        if session.payment_id
        else Payment.objects.none()
    )
    for payment in payments:
        entries.append(
            TimelineEntry(
                payment.created_at,
                "Payment",
                f"{payment.get_kind_display()} of {payment.amount_label} "
                f"({payment.card_label}): {payment.get_status_display()}",
            )
        )
    entries += [
        TimelineEntry(log.created_at, "Payment", f"{log.action}: {log.message}")
        for log in PaymentLogEntry.objects.filter(payment__in=payments)
    ]
    entries += [
        TimelineEntry(
            refund.created_at,
            "Refund",
            f"{format_money(refund.amount, refund.currency)} ({refund.get_status_display()}): "
            f"{refund.reason}",
        )
        for refund in Refund.objects.filter(payment__in=payments)
    ]
    for cdr in session.cdrs.all():
        expected = (
            f", our tariff gives {format_money(cdr.expected_cost, cdr.currency.lower())}"
            if cdr.expected_cost is not None
            else ""
        )
        entries.append(
            TimelineEntry(
                cdr.received_at,
                "CDR",
                f"{cdr.cdr_id}{' (credit)' if cdr.credit else ''}: "
                f"{format_money(cdr.total_cost, cdr.currency.lower())}{expected}; "
                f"{cdr.get_billing_display()}"
                + (f" ({cdr.billing_message})" if cdr.billing_message else ""),
            )
        )
    return sorted(entries, key=lambda entry: entry.at)


def bill_approved(
    model_admin: admin.ModelAdmin[ChargeDetailRecord],
    request: HttpRequest,
    cdr: ChargeDetailRecord,
) -> None:
    """Bill a CDR as an admin approved it, and say how it went."""
    try:
        billed = cdr_bill(cdr=cdr, approved_by=request.user)  # type: ignore[arg-type]
    except PaymentError as error:
        model_admin.message_user(request, f"CDR {cdr.cdr_id}: {error.message}", messages.ERROR)
        return
    level = messages.SUCCESS if billed.billing == Billing.BILLED else messages.ERROR
    detail = f" ({billed.billing_message})" if billed.billing_message else ""
    model_admin.message_user(
        request, f"CDR {cdr.cdr_id}: {billed.get_billing_display()}{detail}", level
    )


class AttentionFilter(admin.SimpleListFilter):
    title = "needs an admin"
    parameter_name = "attention"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Needs an admin"), ("missing_cdr", "Completed, no CDR yet")]

    def queryset(
        self, request: HttpRequest, queryset: QuerySet[ChargingSession]
    ) -> QuerySet[ChargingSession]:
        if self.value() == "yes":
            return queryset.exclude(needs_attention="")
        if self.value() == "missing_cdr":
            return queryset.filter(state=SessionState.COMPLETED).exclude(
                Exists(ChargeDetailRecord.objects.filter(session=OuterRef("pk")))
            )
        return queryset


class ServiceRowsAdmin(admin.ModelAdmin[Any]):
    """Rows only services write: shown read-only (no add, delete or save), changed through
    the actions, each of which asks for its own permission."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_bill_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("roaming.change_chargedetailrecord")

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        context = {
            **(extra_context or {}),
            "show_save": False,
            "show_save_and_continue": False,
            "show_save_and_add_another": False,
        }
        return super().change_view(request, object_id, form_url, context)


class ReadOnlyInline(admin.TabularInline[Any, Any]):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class CdrInline(ReadOnlyInline):
    model = ChargeDetailRecord
    fields = readonly_fields = (
        "cdr_id",
        "received_at",
        "total_cost",
        "expected_cost",
        "fee",
        "amount",
        "credit",
        "billing",
        "billing_message",
    )


@admin.register(ChargingSession)
class ChargingSessionAdmin(ServiceRowsAdmin):
    list_display = (
        "created_at",
        "short_id",
        "state",
        "driver",
        "operator_name",
        "kwh",
        "held",
        "charged",
        "cdr_billing",
        "needs_attention",
    )
    list_filter = (AttentionFilter, "state", "partner", "currency")
    search_fields = (
        "public_id",
        "user__email",
        "ocpi_session_id",
        "authorization_reference",
        "evse_label",
        "cdrs__cdr_id",
    )
    date_hierarchy = "created_at"
    list_select_related = ("user", "payment__receipt", "partner")
    inlines = (CdrInline,)
    actions = ("retry_capture", "refund", "mark_resolved", "unlock_connector")
    readonly_fields = tuple(field.name for field in ChargingSession._meta.fields)
    change_form_template = "admin/roaming/chargingsession/change_form.html"

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        session = self.get_object(request, object_id)
        context = {
            **(extra_context or {}),
            "timeline": session_timeline(session) if session else [],
        }
        return super().change_view(request, object_id, form_url, context)

    @admin.display(description="Session")
    def short_id(self, session: ChargingSession) -> str:
        return str(session.public_id)[:8]

    @admin.display(description="Driver", ordering="user__email")
    def driver(self, session: ChargingSession) -> str:
        return session.user.email or str(session.user)

    @admin.display(description="Hold")
    def held(self, session: ChargingSession) -> str:
        payment = session.payment
        return payment.amount_label if payment else "—"

    @admin.display(description="Charged")
    def charged(self, session: ChargingSession) -> str:
        payment = session.payment
        receipt = getattr(payment, "receipt", None) if payment else None
        return format_money(receipt.amount, receipt.currency) if receipt else "—"

    @admin.display(description="CDR")
    def cdr_billing(self, session: ChargingSession) -> str:
        cdr = session.cdrs.filter(credit=False).first()
        return cdr.get_billing_display() if cdr else "none yet"

    def has_refund_permission(self, request: HttpRequest) -> bool:
        # Seeing sessions is not enough to give money back.
        return request.user.has_perm("payments.add_refund")

    @admin.action(description="Retry capture (bill the held CDR)", permissions=["bill"])
    def retry_capture(self, request: HttpRequest, queryset: QuerySet[ChargingSession]) -> None:
        for session in queryset:
            cdrs = session.cdrs.filter(
                credit=False, billing__in=[Billing.PENDING, Billing.REVIEW]
            ).order_by("received_at")
            if not cdrs:
                self.message_user(
                    request, f"{session}: no CDR waiting to be billed.", messages.WARNING
                )
            for cdr in cdrs:
                bill_approved(self, request, cdr)

    @admin.action(description="Mark resolved", permissions=["bill"])
    def mark_resolved(self, request: HttpRequest, queryset: QuerySet[ChargingSession]) -> None:
        for session in queryset:
            cdrs_resolve(session=session, by=request.user)  # type: ignore[arg-type]
        self.message_user(request, f"{queryset.count()} session(s) marked resolved.")

    def has_unlock_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("roaming.add_command")

    @admin.action(description="Unlock the connector (a stuck cable)", permissions=["unlock"])
    def unlock_connector(self, request: HttpRequest, queryset: QuerySet[ChargingSession]) -> None:
        for session in queryset:
            try:
                command = connector_unlock(admin=request.user, session=session)  # type: ignore[arg-type]
            except SessionError as error:
                self.message_user(request, f"{session}: {error.message}", messages.ERROR)
            else:
                self.message_user(
                    request,
                    f"Unlock asked of {session.partner.name} for connector "
                    f"{command.connector_id}; its result shows on the session's timeline.",
                )

    @admin.action(description="Refund (whole or part)…", permissions=["refund"])
    def refund(
        self, request: HttpRequest, queryset: QuerySet[ChargingSession]
    ) -> HttpResponse | None:
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one session to refund.", messages.WARNING)
            return None
        session = queryset.get()
        currency = session.payment.currency if session.payment else session.currency.lower()
        if "apply" in request.POST:
            form = RefundForm(request.POST, currency=currency)
            if form.is_valid():
                try:
                    session_refund(
                        session=session,
                        amount=form.cleaned_data["amount"],
                        reason=form.cleaned_data["reason"],
                        request_id=form.cleaned_data["request_id"],
                        by=request.user,  # type: ignore[arg-type]
                    )
                except PaymentError as error:
                    form.add_error(None, error.message)
                else:
                    self.message_user(
                        request,
                        f"Refunded {format_money(form.cleaned_data['amount'], currency)} "
                        f"on session {str(session.public_id)[:8]}.",
                        messages.SUCCESS,
                    )
                    return None
        else:
            left = session_refundable(session=session)
            form = RefundForm(
                initial={
                    "request_id": uuid.uuid4().hex,
                    "amount": str(Decimal(left) / minor_per_major(currency)),
                },
                currency=currency,
            )
        return TemplateResponse(
            request,
            "admin/roaming/chargingsession/refund.html",
            {
                **self.admin_site.each_context(request),
                "title": f"Refund session {str(session.public_id)[:8]}",
                "opts": self.model._meta,
                "session": session,
                "form": form,
                "charged": [p.amount_label for p in session_payments(session=session)],
                "refundable": format_money(session_refundable(session=session), currency),
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            },
        )


@admin.register(ChargeDetailRecord)
class ChargeDetailRecordAdmin(ServiceRowsAdmin):
    list_display = (
        "received_at",
        "cdr_id",
        "partner",
        "session_link",
        "cost",
        "expected",
        "difference",
        "billing",
        "billing_message",
    )
    list_filter = ("billing", "credit", "partner", "currency")
    search_fields = ("cdr_id", "session__public_id", "session__user__email")
    date_hierarchy = "received_at"
    list_select_related = ("partner", "session")
    actions = ("approve", "resolve")
    readonly_fields = tuple(field.name for field in ChargeDetailRecord._meta.fields)

    @admin.display(description="Session")
    def session_link(self, cdr: ChargeDetailRecord) -> str:
        return str(cdr.session.public_id)[:8] if cdr.session else "—"

    @admin.display(description="CDR cost", ordering="total_cost")
    def cost(self, cdr: ChargeDetailRecord) -> str:
        return format_money(cdr.total_cost, cdr.currency.lower())

    @admin.display(description="Our tariff")
    def expected(self, cdr: ChargeDetailRecord) -> str:
        if cdr.expected_cost is None:
            return "—"
        return format_money(cdr.expected_cost, cdr.currency.lower())

    @admin.display(description="Difference")
    def difference(self, cdr: ChargeDetailRecord) -> str:
        if cdr.expected_cost is None:
            return "—"
        return format_money(cdr.total_cost - cdr.expected_cost, cdr.currency.lower())

    @admin.action(description="Bill as the operator says (retry capture)", permissions=["bill"])
    def approve(self, request: HttpRequest, queryset: QuerySet[ChargeDetailRecord]) -> None:
        for cdr in queryset:
            bill_approved(self, request, cdr)

    @admin.action(description="Mark resolved", permissions=["bill"])
    def resolve(self, request: HttpRequest, queryset: QuerySet[ChargeDetailRecord]) -> None:
        for cdr in queryset:
            cdr_resolve(cdr=cdr, by=request.user)  # type: ignore[arg-type]
        self.message_user(request, f"{queryset.count()} CDR(s) marked resolved.")
