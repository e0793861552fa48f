"""Keeping the catalogue current from partners' and feeds' senders: full and delta pulls.

Tariffs are pulled before locations so a station's price hint can find its tariff. A full pull
is the new truth: stations the partner no longer lists are hidden afterwards. Failures are
counted on the partner: a permanent one, or three transient ones in a row, mark it degraded;
the next successful pull makes it active again.
"""

import gc
import logging
import pickle
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any, TypeVar

from billiard import Pipe
from billiard.connection import Connection
from billiard.context import ForkProcess
from django.db import IntegrityError, transaction
from django.utils import timezone

from locator.catalogue import (
    CatalogueError,
    UpsertResult,
    catalogue_hide_missing,
    catalogue_locations_pull,
    catalogue_statistics_refresh,
    catalogue_tariffs_upsert,
)
from roaming.adapters import adapter_for
from roaming.adapters.base import SkippedObject
from roaming.errors import PartnerError
from roaming.http import calls_kept, outbound_url_check
from roaming.models import (
    OutboundCall,
    Partner,
    PartnerKind,
    PartnerState,
    SyncKind,
    SyncRun,
    SyncState,
)

logger = logging.getLogger(__name__)

FAILURES_BEFORE_DEGRADED = 3
INVALID_OBJECTS_KEPT = 100
# A run still "running" after this long belongs to a worker that died.
ABANDONED_AFTER = timedelta(hours=2)
# A pull that wrote this many objects refreshes the database's statistics of the catalogue.
STATISTICS_AFTER_WRITES = 10_000
# How long a pull waits for its reader process to finish before killing it.
READER_PATIENCE_SECONDS = 5

Progress = Callable[[SyncRun], None]
T = TypeVar("T")


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


@contextmanager
def gc_paused() -> Iterator[None]:
    """Hold Python's cycle collector while a pull runs.

    A page allocates a few hundred thousand short-lived, acyclic objects (freed by reference
    counting anyway); the collector kept walking them and took a third of the pull's CPU.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def read_ahead(items: Iterator[T]) -> Iterator[T]:
    """Yield the same items, produced in a child process ("pull-reader") one item ahead of
    the caller: while this process writes a page, the reader fetches, validates and prepares
    the next one, on the other core (threads would share one core through the GIL).

    The reader is forked, so `items` can be any iterator built here; it must not use the
    database (see `RoamingAdapter.fetch_locations`). The calls it makes are kept and saved
    here, in order, and its error is raised here after the items before it. The items cross
    as pickles: hand over plain values (the catalogue's pull does), not objects.
    A billiard process, because Celery's pool processes are daemons, which the standard
    library does not let start children. The reader ends when this process stops listening,
    even when it was killed (it then finds the pipe closed).
    """
    ours, theirs = Pipe()
    reader = ForkProcess(
        target=_produce, args=(items, theirs, ours), name="pull-reader", daemon=True
    )
    reader.start()
    theirs.close()
    try:
        while True:
            item, calls, error = _received(ours)
            OutboundCall.objects.bulk_create(calls)
            if error is not None:
                raise error
            if item is None:
                return
            ours.send(True)  # taken: the reader may go on to the one after
            yield item
    finally:
        ours.close()  # a reader still at work finds the pipe closed and stops
        reader.join(READER_PATIENCE_SECONDS)
        if reader.is_alive():  # busy on a slow page: the default SIGTERM handler ends it
            reader.terminate()
            reader.join()


def _received(ours: Connection) -> tuple[Any, list[OutboundCall], BaseException | None]:
    try:
        # Our own forked child on a private pipe, not outside input.
        received: tuple[Any, list[OutboundCall], BaseException | None]
        received = pickle.loads(ours.recv_bytes())  # noqa: S301
        return received
    except EOFError:
        raise PartnerError("the pull's reader process stopped unexpectedly") from None
    except Exception as exc:  # whatever the reader sent that cannot be read
        raise PartnerError(f"the pull's reader sent what cannot be read ({exc!r})") from None


def _produce(items: Iterator[Any], parent: Connection, parents_end: Connection) -> None:
    """The reader process: send each item with the calls made for it, then a None (or the
    error that ended it). It waits for each item to be taken before it sends the next, so it
    is never more than one item ahead of the one being written."""
    parents_end.close()  # so that the parent's exit, however it happens, closes the pipe
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # not the handlers of a server or worker
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    while True:
        with calls_kept() as calls:
            try:
                item, error = next(items, None), None
            except Exception as exc:  # handed to the parent and raised there
                if not isinstance(exc, PartnerError | CatalogueError):
                    logger.exception("the pull's reader failed")
                item, error = None, exc
        try:
            parent.send_bytes(_message(item, calls, error))
            if item is None:
                return
            parent.recv()
        except (EOFError, BrokenPipeError):  # the parent stopped listening
            return


def _message(item: Any, calls: list[OutboundCall], error: Exception | None) -> bytes:
    """The pickle of what the reader hands over (the plain pickler: billiard's own is slower).
    An error is sent as itself only if the parent can read it back."""
    try:
        message = pickle.dumps((item, calls, error), protocol=pickle.HIGHEST_PROTOCOL)
        if error is not None:
            pickle.loads(message)  # noqa: S301 (our own pickle)
        return message
    except Exception:  # an error or a page pickle cannot carry
        failure = PartnerError(f"the pull's reader failed: {error or 'a page it cannot send'!r}")
        return pickle.dumps((None, calls, failure), protocol=pickle.HIGHEST_PROTOCOL)


def page_record(
    run: SyncRun,
    *,
    received: int,
    skipped: list[SkippedObject],
    warnings: list[str],
    result: UpsertResult,
) -> None:
    run.pages += 1
    run.warnings += [warning for warning in warnings if warning not in run.warnings]
    run.received += received + len(skipped)
    run.written += result.written
    run.skipped_stale += result.skipped_stale
    run.invalid += len(skipped)
    room = INVALID_OBJECTS_KEPT - len(run.invalid_objects)
    run.invalid_objects += [
        {"object_id": item.object_id, "reason": item.reason} for item in skipped[:room]
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
    try:
        with gc_paused():
            pull_into_catalogue(run=run, partner=partner, progress=progress)
    except PartnerError as error:
        sync_run_finish(run=run, error=error)
        raise
    except Exception as error:
        # A bug, or the database failing: recorded too, or the run would stay "running" and
        # refuse the partner's pulls until it counts as abandoned.
        sync_run_finish(run=run, error=PartnerError(f"the pull failed: {error}"))
        raise
    sync_run_finish(run=run, error=None)
    return run


def pull_into_catalogue(*, run: SyncRun, partner: Partner, progress: Progress | None) -> None:
    source = catalogue_source(partner)
    adapter = adapter_for(partner)
    if partner.kind == PartnerKind.OCPI and partner.endpoint("tariffs"):
        for tariff_page in adapter.fetch_tariffs(since=run.since):
            result = catalogue_tariffs_upsert(source=source, records=tariff_page.records)
            page_record(
                run,
                received=len(tariff_page.records),
                skipped=tariff_page.skipped,
                warnings=tariff_page.warnings,
                result=result,
            )
    pages = (
        (page.records, (page.skipped, page.warnings))
        for page in adapter.fetch_locations(since=run.since)
    )
    seen: list[tuple[str, str, str]] = []
    for result, (skipped, warnings) in catalogue_locations_pull(
        source=source, pages=pages, ahead=read_ahead
    ):
        page_record(
            run, received=len(result.identities), skipped=skipped, warnings=warnings, result=result
        )
        seen += result.identities
        if progress:
            progress(run)
    if run.kind == SyncKind.FULL:
        run.hidden = catalogue_hide_missing(source=source, seen=seen, before=run.started_at)
    if run.written >= STATISTICS_AFTER_WRITES:
        catalogue_statistics_refresh()


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
