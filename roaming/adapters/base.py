"""What the rest of Plugway may ask of a partner network, in protocol-neutral terms.

Each protocol version implements `RoamingAdapter` once (not once per partner). Everything that
crosses this boundary is a `locator.catalogue` record or a dataclass from here, never a raw
partner dict. Every method may raise `PartnerError`: `permanent=True` when retrying cannot
help (a refused token, a missing endpoint), `permanent=False` when it may (timeouts, 5xx).
Charging (start/stop, tokens) joins this interface with the charging issue.
"""

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

from locator.catalogue import ConnectorRecord, EvseRecord, LocationRecord, TariffRecord
from roaming.models import DriverToken, Partner


@dataclass(frozen=True)
class SkippedObject:
    """A partner object we could not take, and why (shown to admins on the sync run)."""

    object_id: str
    reason: str


Record = TypeVar("Record", LocationRecord, TariffRecord)


@dataclass(frozen=True)
class Patch:
    """A partial update the partner pushed: when it was true, and the changed fields under
    the catalogue's neutral names (see `locator.catalogue` records)."""

    last_updated: datetime
    changes: dict[str, Any]


@dataclass
class PulledPage(Generic[Record]):
    """One page of a pull: the objects we could read and those we skipped."""

    records: list[Record] = field(default_factory=list)
    skipped: list[SkippedObject] = field(default_factory=list)


class RoamingAdapter(ABC):
    """A partner network, seen through one protocol version."""

    def __init__(self, partner: Partner) -> None:
        self.partner = partner

    @abstractmethod
    def fetch_locations(self, *, since: datetime | None) -> Iterator[PulledPage[LocationRecord]]:
        """Yield the partner's locations page by page, all of them (`since=None`, a full pull)
        or those changed since `since` (a delta pull). An object that does not validate is
        skipped and reported in the page, never aborting the pull. Raises PartnerError when a
        page cannot be fetched.

        Whatever the pull needs from the database is read before this returns: iterating the
        pages only makes HTTP calls (recorded through `roaming.http`), so the caller may
        iterate them in another process."""

    @abstractmethod
    def fetch_tariffs(self, *, since: datetime | None) -> Iterator[PulledPage[TariffRecord]]:
        """As `fetch_locations`, for tariffs."""

    @abstractmethod
    def location_parse(self, payload: Any) -> LocationRecord:
        """A full location the partner pushed (PUT). Raises PartnerError naming the bad field."""

    @abstractmethod
    def evse_parse(self, payload: Any) -> EvseRecord:
        """A full EVSE the partner pushed (PUT). Raises PartnerError naming the bad field."""

    @abstractmethod
    def connector_parse(self, payload: Any) -> ConnectorRecord:
        """A full connector the partner pushed (PUT). Raises PartnerError naming the bad field."""

    @abstractmethod
    def tariff_parse(self, payload: Any) -> TariffRecord:
        """A full tariff the partner pushed (PUT). Raises PartnerError naming the bad field."""

    @abstractmethod
    def location_patch_parse(self, payload: Any) -> Patch:
        """A PATCH of a location's own fields. Raises PartnerError (without `last_updated`, with
        an unknown or invalid field, or with a list of sub-objects to patch)."""

    @abstractmethod
    def evse_patch_parse(self, payload: Any) -> Patch:
        """As `location_patch_parse`, for an EVSE."""

    @abstractmethod
    def connector_patch_parse(self, payload: Any) -> Patch:
        """As `location_patch_parse`, for a connector."""

    @abstractmethod
    def token_push(self, *, token: DriverToken) -> None:
        """Tell the partner about one of our drivers' tokens as it stands (`token.valid`), whole,
        replacing what the partner held: called when the token is issued and whenever its
        validity changes, from a Celery task, never while a database transaction is open.

        Only called for a partner that has a tokens receiver. Sends exactly one request (the
        caller retries, and sends again when the token changed meanwhile); does not read or
        write the database beyond the call record `roaming.http` keeps. Raises PartnerError:
        `permanent=True` when the partner refused the token or our credentials (sending it
        again cannot help), `permanent=False` when it may (timeouts, 5xx)."""
