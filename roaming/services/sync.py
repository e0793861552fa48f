"""Keeping the catalogue current from partners' and feeds' senders: full and delta pulls.

Tariffs are pulled before locations so a station's price hint can find its tariff. A full pull
is the new truth: stations the partner no longer lists are hidden afterwards. Failures are
counted on the partner: a permanent one, or three transient ones in a row, mark it degraded;
the next successful pull makes it active again.
"""

import logging
from collections.abc import Callable
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from locator.services import (
    catalogue_hide_missing,
    catalogue_locations_upsert,
    catalogue_tariffs_upsert,
)
from roaming.adapters import adapter_for
from roaming.adapters.base import PulledPage, Record
from roaming.errors import PartnerError
from roaming.http import outbound_url_check
from roaming.models import Partner, PartnerKind, PartnerState, SyncKind, SyncRun, SyncState

logger = logging.getLogger(__name__)

FAILURES_BEFORE_DEGRADED = 3
INVALID_OBJECTS_KEPT = 100
# A run still "running" after this long belongs to a worker that died.
ABANDONED_AFTER = timedelta(hours=2)

Progress = Callable[[SyncRun], None]


def catalogue_source(partner: Partner) -> str:
    """How the catalogue names this partner's objects (locator knows nothing of partners)."""
    return f"partner:{partner.pk}"


def sync_run_start(*, partner: Partner, full: bool) -> SyncRun:
    """Claim the partner for one pull; a second concurrent pull is refused."""
    SyncRun.objects.filter(
        partner=partner, state=SyncState.RUNNING, started_at__lt=timezone.now() - ABANDONED_AFTER
    ).update(state=SyncState.FAILED, error="abandoned: the worker running it stopped")
    last_success = (
        SyncRun.objects.filter(partner=partner, state=SyncState.SUCCEEDED)
        .order_by("-started_at")
        .values_list("started_at", flat=True)
        .first()
    )
    kind = SyncKind.FULL if full or last_success is None else SyncKind.DELTA
    try:
        with transaction.atomic():
            return SyncRun.objects.create(
                partner=partner, kind=kind, since=None if kind == SyncKind.FULL else last_success
            )
    except IntegrityError as exc:
        raise PartnerError(f"a pull of {partner.name} is already running") from exc


def page_record(run: SyncRun, page: PulledPage[Record], written: int, stale: int) -> None:
    run.pages += 1
    run.received += len(page.records) + len(page.skipped)
    run.written += written
    run.skipped_stale += stale
    run.invalid += len(page.skipped)
    room = INVALID_OBJECTS_KEPT - len(run.invalid_objects)
    run.invalid_objects += [
        {"object_id": item.object_id, "reason": item.reason} for item in page.skipped[:room]
    ]


def partner_sync(
    *, partner: Partner, full: bool = False, progress: Progress | None = None
) -> SyncRun:
    """Pull the partner's tariffs and locations into the catalogue and record the run.

    A delta pull asks for what changed since the last successful pull started; the first pull,
    or `full=True`, asks for everything and hides what is no longer listed. `progress` is
    called after each page. Raises PartnerError when the pull fails (the run is recorded as
    failed first); retrying is the caller's choice, guided by `error.permanent`.
    """
    if partner.state in (PartnerState.DISABLED, PartnerState.UNREGISTERED, PartnerState.INVITED):
        raise PartnerError(
            f"{partner.name} is {partner.get_state_display().lower()}", permanent=True
        )
    run = sync_run_start(partner=partner, full=full)
    source = catalogue_source(partner)
    try:
        adapter = adapter_for(partner)
        if partner.kind == PartnerKind.OCPI and partner.endpoint("tariffs"):
            for tariff_page in adapter.fetch_tariffs(since=run.since):
                result = catalogue_tariffs_upsert(source=source, records=tariff_page.records)
                page_record(run, tariff_page, result.written, result.skipped_stale)
        seen: list[tuple[str, str, str]] = []
        for page in adapter.fetch_locations(since=run.since):
            result = catalogue_locations_upsert(source=source, records=page.records)
            page_record(run, page, result.written, result.skipped_stale)
            seen += [(record.country_code, record.party_id, record.id) for record in page.records]
            if progress:
                progress(run)
        if run.kind == SyncKind.FULL:
            run.hidden = catalogue_hide_missing(source=source, seen=seen, before=run.started_at)
    except PartnerError as error:
        sync_run_finish(run=run, error=error)
        raise
    sync_run_finish(run=run, error=None)
    return run


@transaction.atomic
def sync_run_finish(*, run: SyncRun, error: PartnerError | None) -> None:
    run.finished_at = timezone.now()
    run.state = SyncState.FAILED if error else SyncState.SUCCEEDED
    run.error = error.message if error else ""
    run.save()
    partner = Partner.objects.select_for_update().get(pk=run.partner_id)
    if error is None:
        partner.consecutive_failures = 0
        partner.last_error = ""
        if partner.state == PartnerState.DEGRADED:
            partner.state = PartnerState.ACTIVE
    else:
        partner.consecutive_failures += 1
        partner.last_error = error.message
        if error.permanent or partner.consecutive_failures >= FAILURES_BEFORE_DEGRADED:
            partner.state = PartnerState.DEGRADED
        logger.warning("pull of %s failed: %s", partner.name, error.message)
    partner.save()


def feed_add(*, name: str, locations_url: str, header: str = "") -> Partner:
    """Add a public OCPI location feed (read only, no handshake), with an optional auth header
    written as `Name: value`. Raises PartnerError for a refused URL or a malformed header."""
    header_name, _, header_value = header.partition(":")
    if header and not (header_name.strip() and header_value.strip()):
        raise PartnerError('the header must look like "Authorization: Token abc"', permanent=True)
    outbound_url_check(locations_url)
    if Partner.objects.filter(name=name).exists():
        raise PartnerError(f"a partner or feed named {name} exists already", permanent=True)
    partner = Partner(
        name=name,
        kind=PartnerKind.FEED,
        state=PartnerState.ACTIVE,
        version="2.2.1",
        locations_url=locations_url,
        feed_header_name=header_name.strip(),
    )
    partner.feed_header_value = header_value.strip()
    partner.save()
    return partner
