"""The partners our OCPI endpoints have looked up, remembered by each web process.

Every OCPI call is authenticated against the partner table, but finding the token's partner
and checking that it owns the URL's country_code/party_id took two or three queries a call,
more than the rest of a status push. So each process remembers the partners it has found (by
token hash) and the parties each may write for, under a generation kept in Redis:

- every write to a partner or its roles (see `PartnerAccessModel` in roaming.models) forgets
  this process's copy at once and sets a new generation once its transaction commits, so every
  other process starts afresh on its next call: a rotated, unregistered or disabled token stops
  working everywhere the moment the change is committed;
- each call reads the generation (one Redis round trip) before trusting or adding anything, so
  a lookup that raced a change is never kept under the new generation; except a status push
  (the bulk of partner traffic), which goes on from what this process remembers and carries
  the generation it remembered under to Redis with its queued change, in the same round trip
  (`partner_guard`): when the generation moved on, nothing is queued and the push is
  authenticated again from the database, so a revoked token still stops at once;
- without Redis (the embedded default), or while it does not answer, nothing is remembered and
  every call asks the database;
- what is remembered is dropped after MAX_AGE_SECONDS whatever the generation, so a change made
  behind the models' back (raw SQL) or whose new generation Redis lost is seen within a minute.

Tokens that match no partner are never remembered, so a new token works at once.
"""

import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.db import transaction

from config.redis_connection import (
    RedisCondition,
    condition_check,
    generation_read,
    generation_start,
)

if TYPE_CHECKING:
    from roaming.models import Partner

logger = logging.getLogger(__name__)

GENERATION_KEY = "roaming:known-partners:generation"
MAX_AGE_SECONDS = 60.0
# A hub may write for any party nobody else speaks for; remembering those must not grow forever.
MAX_WRITABLE_PARTIES = 10_000


@dataclass
class KnownPartners:
    """What one process has looked up under one generation. Partners are pristine copies:
    hand each call its own copy (`copy.copy`), never the one kept here."""

    generation: bytes | str
    born: float = field(default_factory=time.monotonic)
    by_token_hash: dict[str, "Partner"] = field(default_factory=dict)
    # (partner id, COUNTRY_CODE, PARTY_ID) the partner may write; refusals are not kept.
    writable: set[tuple[int, str, str]] = field(default_factory=set)

    def writable_add(self, partner_id: int, country_code: str, party_id: str) -> None:
        if len(self.writable) >= MAX_WRITABLE_PARTIES:
            self.writable.clear()
        self.writable.add((partner_id, country_code, party_id))


_known: KnownPartners | None = None


def known_partners() -> KnownPartners | None:
    """This process's partners if still current (a fresh, empty set if not); None when there
    is no Redis to ask, in which case the caller asks the database."""
    global _known
    generation = generation_read(GENERATION_KEY)
    if generation is None:  # no Redis, or it did not answer: ask the database
        return None
    known = _known
    if (
        known is None
        or known.generation != generation
        or time.monotonic() - known.born > MAX_AGE_SECONDS
    ):
        known = _known = KnownPartners(generation=generation)
    return known


@dataclass(frozen=True)
class PartnerGuard:
    """What this process remembers, not yet checked against the generation in Redis. A call
    authenticated from it must not write before `confirm()`, or must carry `condition` to
    Redis with its write; either raises ConditionFailedError when the generation moved on."""

    known: KnownPartners

    @property
    def condition(self) -> RedisCondition:
        return RedisCondition(key=GENERATION_KEY, value=self.known.generation)

    def confirm(self) -> None:
        condition_check(self.condition)


def partner_guard() -> PartnerGuard | None:
    """This process's partners, unchecked (see PartnerGuard); None when it remembers none."""
    known = _known
    if known is None or time.monotonic() - known.born > MAX_AGE_SECONDS:
        return None
    return PartnerGuard(known)


def partners_forget() -> None:
    """Drop what this process remembers (its generation moved on)."""
    global _known
    _known = None


def partners_changed() -> None:
    """A partner or role was written: every process forgets what it knows once this commits
    (this one at once; a write outside a transaction counts as committed)."""
    partners_forget()
    transaction.on_commit(_generation_start)


def _generation_start() -> None:
    if not generation_start(GENERATION_KEY):
        logger.error(
            "partner change not announced (Redis did not answer): other web processes may "
            "accept the old tokens and roles for up to %.0f s",
            MAX_AGE_SECONDS,
        )
