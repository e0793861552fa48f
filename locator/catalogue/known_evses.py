"""The EVSEs we hold, as far as the status queue needs to know: remembered by each process.

A status change for an EVSE we do not hold must be refused (the partner then PUTs the object),
so `evse_status_submit` checks that the EVSE exists before queueing the change. One indexed
query a push took a third of the OCPI receiver's throughput (a database round trip in a
request that otherwise makes none, and most pushes name an EVSE this process has not seen
lately). So the first push for a party loads every EVSE we hold of it, in one query, and
later pushes are answered from memory; an EVSE not found there (new since) is looked up on
its own and added. Partners never delete an EVSE (REMOVED is a status), so only a deletion (a
station deleted in the admin or a script, its EVSEs with it) can make a remembered EVSE wrong:

- deleting a station through the ORM makes this process forget at once and, once committed,
  starts a new generation in Redis (`station_deleted`, connected in locator.apps);
- each process reads the generation at most once every GENERATION_CHECK_SECONDS (not once a
  push: a queued push costs one Redis round trip) and forgets everything when it moved, so
  another process's deletion is seen within that time;
- everything is dropped after MAX_AGE_SECONDS whatever the generation, for a deletion made in
  SQL or whose generation Redis lost;
- at most MAX_KNOWN EVSEs are remembered (more are looked up one by one), as 64-bit hashes of
  their identity, about 60 bytes each, so at most 60 MB a process (a 250,000-EVSE party loads
  in about 0.4 s, once a process every MAX_AGE_SECONDS). That an unknown EVSE's hash matches
  one of its party's, so that it passes for known, is for each push at most about as likely
  as a fair coin landing heads 44 times in a row.

Without Redis nothing is queued and nothing here is used.
"""

import logging
import time
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction

from config.redis_connection import generation_read, generation_start
from locator.models import Evse, Location

logger = logging.getLogger(__name__)

GENERATION_KEY = "locator:known-evses:generation"
GENERATION_CHECK_SECONDS = 1.0
MAX_AGE_SECONDS = 600.0
MAX_KNOWN = 1_000_000

Party = tuple[str, str, str]  # source, COUNTRY_CODE, PARTY_ID


@dataclass
class KnownEvses:
    """What one process found under one generation: per party, hashes of (location id, uid)."""

    generation: bytes | None
    checked: float = field(default_factory=time.monotonic)
    born: float = field(default_factory=time.monotonic)
    parties: dict[Party, set[int]] = field(default_factory=dict)
    size: int = 0


_known: KnownEvses | None = None


def evse_known(
    *, source: str, country_code: str, party_id: str, location_id: str, evse_uid: str
) -> bool:
    """Whether we hold this EVSE: from what this process remembers of its party, else asked
    of the database (and then remembered)."""
    known = _current()
    party = (source, country_code.upper(), party_id.upper())
    evses = known.parties.get(party)
    if evses is None:
        held = _party_evses(
            source=source,
            country_code=country_code,
            party_id=party_id,
            limit=MAX_KNOWN - known.size,
        )
        evses = known.parties[party] = {hash(evse) for evse in held}
        known.size += len(evses)
    identity = hash((location_id, evse_uid))
    if identity in evses:
        return True
    if not _evse_exists(
        source=source,
        country_code=country_code,
        party_id=party_id,
        location_id=location_id,
        evse_uid=evse_uid,
    ):
        return False
    if known.size < MAX_KNOWN:
        evses.add(identity)
        known.size += 1
    return True


def _current() -> KnownEvses:
    """This process's memory if still current, else a fresh one. A lookup added to a memory
    that a deletion has since made stale is forgotten with it at the next generation check."""
    global _known
    now = time.monotonic()
    known = _known if _known is not None and now - _known.born < MAX_AGE_SECONDS else None
    if known is not None and now - known.checked < GENERATION_CHECK_SECONDS:
        return known
    generation = generation_read(GENERATION_KEY)
    if known is None or known.generation != generation:
        known = _known = KnownEvses(generation=generation)
    known.checked = now
    return known


def station_deleted(**kwargs: Any) -> None:
    """post_delete of a Location (its EVSEs go with it): forget here at once, and everywhere
    once the deletion commits."""
    global _known
    _known = None
    transaction.on_commit(_generation_start, using=kwargs.get("using"))


def _generation_start() -> None:
    if not generation_start(GENERATION_KEY):
        logger.error(
            "station deletion not announced (Redis did not answer): other web processes may "
            "accept status pushes for its EVSEs for up to %.0f s",
            MAX_AGE_SECONDS,
        )


_EVSE_EXISTS = (
    f"SELECT 1 FROM {Evse._meta.db_table} e JOIN {Location._meta.db_table} l"  # noqa: S608
    " ON l.id = e.location_id WHERE l.source = %s AND l.country_code = %s"
    " AND l.party_id = %s AND l.ocpi_id = %s AND e.uid = %s"
)


def _evse_exists(
    *, source: str, country_code: str, party_id: str, location_id: str, evse_uid: str
) -> bool:
    """Whether we hold this EVSE (a REMOVED one too): one probe of each identity index.

    In SQL: building the same query through the ORM cost the web process several times what
    the database spends on it."""
    with connection.cursor() as cursor:
        cursor.execute(
            _EVSE_EXISTS, [source, country_code.upper(), party_id.upper(), location_id, evse_uid]
        )
        return cursor.fetchone() is not None


_PARTY_EVSES = (
    f"SELECT l.ocpi_id, e.uid FROM {Evse._meta.db_table} e JOIN {Location._meta.db_table} l"  # noqa: S608
    " ON l.id = e.location_id WHERE l.source = %s AND l.country_code = %s AND l.party_id = %s"
    " LIMIT %s"
)


def _party_evses(
    *, source: str, country_code: str, party_id: str, limit: int
) -> list[tuple[str, str]]:
    """(location id, EVSE uid) of up to `limit` EVSEs we hold for this party, REMOVED ones too.
    In SQL for the same reason as `_evse_exists`: a web process reads a few hundred thousand
    rows here, which the ORM made take a second."""
    with connection.cursor() as cursor:
        cursor.execute(_PARTY_EVSES, [source, country_code.upper(), party_id.upper(), limit])
        rows: list[tuple[str, str]] = cursor.fetchall()
        return rows
