"""What the rest of Plugway may ask of a partner network, in protocol-neutral terms.

Each protocol version implements `RoamingAdapter` once (not once per partner). Everything that
crosses this boundary is a `locator.catalogue` record or Patch, or a dataclass from here, never
a raw partner dict. Every method may raise `PartnerError`: `permanent=True` when retrying cannot
help (a refused token, a missing endpoint), `permanent=False` when it may (timeouts, 5xx).

Charging: commands (`start_session`, `stop_session`, `unlock_connector`) answer a
`CommandReply`; the partner's later result (`command_result_parse`) is one too; a pushed Session
is a `SessionReport` (PUT) or a `SessionChange` (PATCH). Billing reads the partner's charge
detail records (`cdr_parse`, `cdrs_fetch`) as `ChargeRecord`s.
"""

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any, ClassVar, Generic, TypeVar

from locator.catalogue import ConnectorRecord, EvseRecord, LocationRecord, Patch, TariffRecord
from roaming.models import DriverToken, Partner


@dataclass(frozen=True)
class SkippedObject:
    """A partner object we could not take, and why (shown to admins on the sync run)."""

    object_id: str
    reason: str


@dataclass(frozen=True)
class Cost:
    """An amount in major units of the record's currency, before and after VAT."""

    excl_vat: Decimal
    incl_vat: Decimal


@dataclass(frozen=True)
class ChargePeriod:
    """One stretch of a charge at one set of prices: from `start`, `energy_kwh` charged over
    `charging_hours`, then `parking_hours` plugged in without charging; `max_power_kw` when
    the partner reported it (a power-restricted tariff needs it)."""

    start: datetime
    energy_kwh: Decimal
    charging_hours: Decimal
    parking_hours: Decimal
    max_power_kw: Decimal | None = None
    tariff_id: str = ""


@dataclass(frozen=True)
class ChargeRecord:
    """A partner's charge detail record (CDR): what one finished charge cost, and why.

    `total` is what the partner bills; the `*_cost` parts break it down when the partner gave
    them. A credit record (`credit`, negative `total`) cancels or corrects the record named by
    `credit_reference_id`. `tariffs` are those the partner priced it with; `payload` is the
    record exactly as received, kept for the partner's GET and for audits.
    """

    country_code: str
    party_id: str
    id: str
    session_id: str
    authorization_reference: str
    token_country_code: str
    token_party_id: str
    token_uid: str
    location_id: str
    location_name: str
    location_address: str
    evse_uid: str
    evse_id: str
    connector_id: str
    currency: str
    started_at: datetime
    ended_at: datetime
    total: Cost
    fixed_cost: Cost | None
    energy_cost: Cost | None
    time_cost: Cost | None
    parking_cost: Cost | None
    total_energy_kwh: Decimal
    total_time_hours: Decimal
    total_parking_hours: Decimal
    periods: tuple[ChargePeriod, ...]
    tariffs: tuple[TariffRecord, ...]
    credit: bool
    credit_reference_id: str
    last_updated: datetime
    payload: dict[str, Any] = field(compare=False, repr=False)


Record = TypeVar("Record", LocationRecord, TariffRecord, ChargeRecord)


@dataclass
class PulledPage(Generic[Record]):
    """One page of a pull: the objects we could read, those we skipped, and what the operator
    should hear of how it was read (a partner's Link not followed, say)."""

    records: list[Record] = field(default_factory=list)
    skipped: list[SkippedObject] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


class CommandOutcome(StrEnum):
    """What a partner made of a command, in our words (its own word is kept beside it)."""

    ACCEPTED = "accepted"  # a response: it will try; a result: it did
    REFUSED = "refused"  # rejected (a bad token, an unknown EVSE, the operator said no)
    NOT_SUPPORTED = "not_supported"  # the charger cannot do this remotely
    UNKNOWN_SESSION = "unknown_session"  # STOP/UNLOCK of a session the partner does not know
    EVSE_OCCUPIED = "evse_occupied"
    EVSE_INOPERATIVE = "evse_inoperative"
    TIMEOUT = "timeout"  # the charger did not answer the partner
    FAILED = "failed"  # anything else that went wrong at the charger


@dataclass(frozen=True)
class CommandReply:
    """The partner's answer to a command: at once (a response, with how long it may take to
    send the result) or later (the result, POSTed to the command's response URL)."""

    outcome: CommandOutcome
    word: str  # the partner's own result name, e.g. "EVSE_OCCUPIED", for the timeline
    message: str = ""  # the partner's explanation, if it gave one
    timeout: timedelta | None = None  # responses only


class SessionStatus(StrEnum):
    PENDING = "pending"  # accepted, not charging yet
    ACTIVE = "active"
    COMPLETED = "completed"
    INVALID = "invalid"  # the session never became valid (no charge)
    RESERVATION = "reservation"


@dataclass(frozen=True)
class PeriodReport:
    """One charging period: from when, its measured dimensions (ENERGY in kWh, POWER and
    MAX_POWER in kW, TIME in hours, ... under the protocol's dimension names) and tariff."""

    start: datetime
    dimensions: dict[str, Decimal]
    tariff_id: str = ""


@dataclass(frozen=True)
class SessionReport:
    """A whole Session as the partner pushed it (PUT). Money is incl. VAT where the partner
    gave VAT, in major units of `currency` (the partner's figure, not ours)."""

    country_code: str
    party_id: str
    session_id: str
    status: SessionStatus
    started_at: datetime
    ended_at: datetime | None
    kwh: Decimal
    token_country_code: str
    token_party_id: str
    token_uid: str
    authorization_reference: str
    started_by_command: bool
    location_id: str
    evse_uid: str
    connector_id: str
    currency: str
    periods: tuple[PeriodReport, ...]
    cost: Decimal | None
    last_updated: datetime


@dataclass(frozen=True)
class SessionChange:
    """A partial Session (PATCH): None is "unchanged"; `periods` are to be appended."""

    last_updated: datetime
    status: SessionStatus | None = None
    kwh: Decimal | None = None
    ended_at: datetime | None = None
    cost: Decimal | None = None
    periods: tuple[PeriodReport, ...] = ()


@dataclass(frozen=True)
class PartyRole:
    """A country_code/party_id a partner speaks for, under which role (CPO, HUB, ...)."""

    role: str
    country_code: str
    party_id: str
    business_name: str


@dataclass(frozen=True)
class PartnerCredentials:
    """A partner's credentials object: the token to call it with, its versions URL, its
    parties."""

    token: str
    url: str
    roles: tuple[PartyRole, ...]


class RoamingAdapter(ABC):
    """A partner network, seen through one protocol version.

    The class methods read and write what the registration handshake exchanges before there is
    a partner to speak of (credentials and version details); they never touch the database."""

    # Whether this version sends credentials tokens as they are (2.1.1) rather than base64.
    raw_tokens: ClassVar[bool] = False
    # The token types this version has, and the one our drivers' tokens are given as (the
    # type a partner names when it asks about one: `?type=` of an authorization).
    token_types: ClassVar[frozenset[str]]
    token_type: ClassVar[str]

    def __init__(self, partner: Partner) -> None:
        self.partner = partner

    @classmethod
    @abstractmethod
    def credentials_parse(cls, data: Any) -> PartnerCredentials:
        """A partner's credentials object. Raises PartnerError (2001) naming the bad field."""

    @classmethod
    @abstractmethod
    def credentials_render(cls, token: str) -> dict[str, Any]:
        """Our credentials object holding `token`, for the partner to call us with."""

    @classmethod
    @abstractmethod
    def endpoints_parse(cls, data: Any) -> dict[str, dict[str, str]]:
        """A partner's version details as {module: {our view of its role: url}} (SENDER for
        a module it serves data from, RECEIVER for one it takes data or commands on). Raises
        PartnerError (3001) when they are not version details of this version."""

    @classmethod
    @abstractmethod
    def endpoints_render(cls, modules: list[tuple[str, str]], base_url: str) -> list[Any]:
        """Our endpoints, (module, our role) each served at `base_url` + module, as this
        version lists them in its version details."""

    @abstractmethod
    def token_render(self, token: DriverToken, *, valid: bool | None = None) -> dict[str, Any]:
        """One of our drivers' tokens as this version's Token (`valid` as given, else as
        stored), for the partner's GET of our tokens list."""

    @abstractmethod
    def authorization_render(
        self, token: DriverToken, *, allowed: str, reason: str, location: dict[str, Any] | None
    ) -> dict[str, Any]:
        """This version's AuthorizationInfo for a real-time authorization: `allowed` is one of
        ALLOWED, BLOCKED, EXPIRED, NO_CREDIT, NOT_ALLOWED; `location` the LocationReferences
        the partner asked about (`location_references_parse`), or None."""

    @abstractmethod
    def location_references_parse(self, body: bytes) -> dict[str, Any] | None:
        """The optional LocationReferences body of an authorization request (None without a
        body). Raises PartnerError (2001) naming what is wrong."""

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
        """A PATCH of a location's own fields, holding only fields the catalogue may patch
        (others the protocol has but the catalogue does not keep are left out). Raises
        PartnerError (without `last_updated`, with an unknown or invalid field, or with a list
        of sub-objects to patch)."""

    @abstractmethod
    def evse_patch_parse(self, payload: Any) -> Patch:
        """As `location_patch_parse`, for an EVSE."""

    @abstractmethod
    def connector_patch_parse(self, payload: Any) -> Patch:
        """As `location_patch_parse`, for a connector."""

    @abstractmethod
    def cdr_parse(self, payload: Any) -> ChargeRecord:
        """A CDR the partner POSTed (or that we fetched). Raises PartnerError naming the bad
        field; never looks at the database (matching it to a session is the caller's job)."""

    @abstractmethod
    def cdrs_fetch(self, *, since: datetime) -> Iterator[PulledPage[ChargeRecord]]:
        """Yield the partner's CDRs last updated at or after `since`, page by page, from its
        CDRs sender (`date_from`). An unreadable CDR is skipped and reported in its page.
        Raises PartnerError (permanent) when the partner offers no CDRs sender, or when a page
        cannot be fetched."""

    @abstractmethod
    def location_render(self, location: LocationRecord) -> dict[str, Any]:
        """Our stored copy of one of the partner's locations (EVSEs and connectors included),
        in this protocol's shape, for the partner's GET on our receiver."""

    @abstractmethod
    def tariff_render(self, tariff: TariffRecord) -> dict[str, Any]:
        """As `location_render`, for a tariff."""

    # --- charging ---------------------------------------------------------------------------

    @abstractmethod
    def start_session(
        self,
        *,
        token: DriverToken,
        location_id: str,
        evse_uid: str,
        connector_id: str,
        authorization_reference: str,
        response_url: str,
    ) -> CommandReply:
        """Ask the partner to start charging `evse_uid` for the driver holding `token`.

        Called after the driver's hold is in place and the Command row is committed, outside
        any database transaction (the result may reach `response_url` before this returns).
        `authorization_reference` is ours; the partner repeats it on the Session it opens, so
        a late Session can be matched. Returns the partner's immediate answer; raises
        PartnerError when the partner cannot be reached or answers something unreadable."""

    @abstractmethod
    def stop_session(self, *, session_id: str, response_url: str) -> CommandReply:
        """Ask the partner to stop its session `session_id` (its own id). As `start_session`:
        no transaction open, PartnerError when the partner cannot be asked."""

    @abstractmethod
    def unlock_connector(
        self, *, location_id: str, evse_uid: str, connector_id: str, response_url: str
    ) -> CommandReply:
        """Ask the partner to unlock a connector (helpdesk only: never on a driver's request).
        As `start_session`: no transaction open, PartnerError when the partner cannot be
        asked."""

    @abstractmethod
    def command_result_parse(self, payload: Any) -> CommandReply:
        """The result the partner POSTed to a command's response URL. Raises PartnerError
        naming the bad field."""

    @abstractmethod
    def session_parse(self, payload: Any) -> SessionReport:
        """A full Session the partner pushed (PUT). Raises PartnerError naming the bad field."""

    @abstractmethod
    def session_patch_parse(self, payload: Any) -> SessionChange:
        """A PATCH of a Session (whole-object PATCH; `last_updated` required). Raises
        PartnerError naming the bad field."""

    @abstractmethod
    def token_push(self, *, token: DriverToken) -> None:
        """Tell the partner about one of our drivers' tokens as it stands (`token.valid`), whole,
        replacing what the partner held: called when the token is issued and whenever its
        validity changes, from a Celery task, never while a database transaction is open.

        Only called for a partner that has a tokens receiver. Sends exactly one request (the
        caller retries, and sends again when the token changed meanwhile); writes nothing to the
        database beyond the call record `roaming.http` keeps. Raises PartnerError:
        `permanent=True` when the partner refused the token or our credentials (sending it
        again cannot help), `permanent=False` when it may (timeouts, 5xx)."""
