"""Operations admin for partners and feeds: state, last pulls, pushes, and what to do next."""

from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone
from django.utils.html import format_html

from config.outbox import task_enqueue
from roaming import admin_onboarding
from roaming.errors import PartnerError
from roaming.models import OutboundCall, Partner, PartnerRole, PartnerState, SyncRun
from roaming.push_counts import push_counts
from roaming.selectors import feeds_health
from roaming.services import partner_credentials_rotate, partner_leave
from roaming.tasks import partner_sync_task


class PartnerRoleInline(admin.TabularInline[PartnerRole, Partner]):
    model = PartnerRole
    extra = 0
    can_delete = False
    readonly_fields = ("role", "country_code", "party_id", "business_name")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class SyncRunInline(admin.TabularInline[SyncRun, Partner]):
    model = SyncRun
    extra = 0
    can_delete = False
    max_num = 0
    ordering = ("-started_at",)
    fields = (
        "started_at",
        "kind",
        "state",
        "duration",
        "received",
        "written",
        "hidden",
        "invalid",
        "warnings",
        "error",
    )
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[SyncRun]:
        recent = SyncRun.objects.order_by("-started_at").values("pk")[:200]
        return super().get_queryset(request).filter(pk__in=recent)

    @admin.display(description="Duration")
    def duration(self, run: SyncRun) -> str:
        return f"{run.duration_seconds:.1f} s" if run.duration_seconds is not None else "running"


@admin.register(Partner)
class PartnerAdmin(admin.ModelAdmin[Partner]):
    list_display = (
        "name",
        "kind",
        "state_badge",
        "version",
        "roles_list",
        "last_pull",
        "pushes_last_hour",
    )
    list_filter = ("kind", "state", "version", "republish")
    search_fields = ("name", "roles__party_id", "roles__business_name")
    inlines = (PartnerRoleInline, SyncRunInline)
    actions = ("sync_now", "sync_full", "rotate_credentials", "disable", "enable", "unregister")
    fields = (
        "name",
        "kind",
        "state",
        "version",
        "versions_url",
        "locations_url",
        "feed_header_name",
        "raw_token_header",
        "republish",
        "endpoints",
        "consecutive_failures",
        "last_error",
        "created_at",
    )
    readonly_fields = (
        "kind",
        "state",
        "version",
        "endpoints",
        "consecutive_failures",
        "last_error",
        "created_at",
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Partner]:
        return super().get_queryset(request).prefetch_related("roles")

    def add_view(
        self, request: HttpRequest, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        # A partner joins through a handshake, not a bare row: "Add" registers with one.
        return admin_onboarding.add_view(request, self, admin_onboarding.REGISTER)

    @admin.display(description="State", ordering="state")
    def state_badge(self, partner: Partner) -> str:
        return format_html(
            '<span class="partner-state partner-state-{}">{}</span>',
            partner.state,
            partner.get_state_display(),
        )

    @admin.display(description="Roles")
    def roles_list(self, partner: Partner) -> str:
        return ", ".join(f"{r.country_code}*{r.party_id}" for r in partner.roles.all()) or "—"

    @admin.display(description="Last pull")
    def last_pull(self, partner: Partner) -> str:
        run = partner.sync_runs.first()
        if run is None:
            return "never"
        took = f" in {run.duration_seconds:.1f} s" if run.duration_seconds is not None else ""
        return (
            f"{run.get_state_display()} {timezone.localtime(run.started_at):%Y-%m-%d %H:%M}{took}: "
            f"{run.written} written, {run.hidden} hidden, {run.invalid} invalid"
        )

    @admin.display(description="Pushes (1 h)")
    def pushes_last_hour(self, partner: Partner) -> int:
        return push_counts(partner_ids=[partner.pk], now=timezone.now())[partner.pk]

    def get_urls(self) -> list[Any]:
        def page(route: str, view: Any, name: str) -> Any:
            return path(route, self.admin_site.admin_view(view), name=f"roaming_partner_{name}")

        return [
            page("health/", self.health_view, "health"),
            page("invite/", self.invite_view, "invite"),
            page("feed/", self.feed_view, "feed"),
            *super().get_urls(),
        ]

    def invite_view(self, request: HttpRequest) -> HttpResponse:
        return admin_onboarding.invite_view(request, self)

    def feed_view(self, request: HttpRequest) -> HttpResponse:
        return admin_onboarding.add_view(request, self, admin_onboarding.FEED)

    def health_view(self, request: HttpRequest) -> TemplateResponse:
        if not self.has_view_permission(request):
            return admin_onboarding.refused(request, self, "the feed health page")
        rows = feeds_health(
            now=timezone.now(), stale_after=3 * settings.ROAMING_DELTA_SYNC_INTERVAL
        )
        context = {
            **self.admin_site.each_context(request),
            "title": "Feed health",
            "rows": [(row, sparkline(row.received_by_hour)) for row in rows],
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/roaming/health.html", context)

    @admin.action(description="Pull now (delta)", permissions=("change",))
    def sync_now(self, request: HttpRequest, queryset: QuerySet[Partner]) -> None:
        self.queue_pulls(request, queryset, full=False)

    @admin.action(description="Pull now (full)", permissions=("change",))
    def sync_full(self, request: HttpRequest, queryset: QuerySet[Partner]) -> None:
        self.queue_pulls(request, queryset, full=True)

    def queue_pulls(self, request: HttpRequest, queryset: QuerySet[Partner], *, full: bool) -> None:
        for partner in queryset:
            task_enqueue(partner_sync_task, partner.pk, full)
        self.message_user(
            request,
            f"Queued a {'full' if full else 'delta'} pull of {queryset.count()} partner(s).",
        )

    @admin.action(description="Rotate credentials", permissions=("change",))
    def rotate_credentials(self, request: HttpRequest, queryset: QuerySet[Partner]) -> None:
        for partner in queryset:
            try:
                partner_credentials_rotate(partner=partner)
            except PartnerError as error:
                self.message_user(request, f"{partner.name}: {error.message}", messages.ERROR)
            else:
                self.message_user(request, f"{partner.name}: new tokens exchanged.")

    @admin.action(description="Disable (stop all traffic)", permissions=("change",))
    def disable(self, request: HttpRequest, queryset: QuerySet[Partner]) -> None:
        count = queryset.update(state=PartnerState.DISABLED)
        self.message_user(
            request, f"Disabled {count} partner(s); their tokens no longer open our API."
        )

    @admin.action(description="Enable again", permissions=("change",))
    def enable(self, request: HttpRequest, queryset: QuerySet[Partner]) -> None:
        count = queryset.filter(state=PartnerState.DISABLED).update(state=PartnerState.ACTIVE)
        self.message_user(request, f"Enabled {count} partner(s).")

    @admin.action(
        description="Unregister (tell the partner, forget its tokens)", permissions=("change",)
    )
    def unregister(self, request: HttpRequest, queryset: QuerySet[Partner]) -> None:
        for partner in queryset:
            trouble = partner_leave(partner=partner)
            if trouble:
                self.message_user(
                    request, f"{partner.name}: unregistered; {trouble}.", messages.WARNING
                )
            else:
                self.message_user(request, f"{partner.name}: unregistered.")


def sparkline(values: list[int], width: int = 192, height: int = 28) -> dict[str, Any]:
    """Points of a small SVG line chart (drawn by the template, no script needed)."""
    top = max(values) or 1
    step = width / max(1, len(values) - 1)
    points = " ".join(
        f"{i * step:.1f},{height - 2 - (v / top) * (height - 4):.1f}" for i, v in enumerate(values)
    )
    return {
        "points": points,
        "width": width,
        "height": height,
        "total": sum(values),
        "peak": max(values),
    }


@admin.register(OutboundCall)
class OutboundCallAdmin(admin.ModelAdmin[OutboundCall]):
    list_display = (
        "created_at",
        "partner",
        "method",
        "module",
        "http_status",
        "duration_ms",
        "error",
    )
    list_filter = ("module", "http_status", "partner")
    search_fields = ("url", "error", "request_id")
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


# Charging (sessions, CDRs) and the billing reconciliation have modules of their own; importing
# them registers their pages.
from roaming import admin_charging, admin_reconcile  # noqa: E402, F401
