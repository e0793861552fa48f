"""Roaming reads: which partners are due a pull, how each feed is doing, drivers' sessions,
how a driver's token stands."""

import functools
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.models import F, OuterRef, QuerySet
from psycopg import sql as pgsql

from config.db.base import DatabaseWrapper as PreparingDatabase
from payments.selectors import card_expiry_usable, default_card_expiry, unpaid_exists
from roaming.models import (
    LIVE_STATES,
    ChargingSession,
    DriverToken,
    Partner,
    PartnerRole,
    PartnerState,
    SyncKind,
    SyncRun,
    SyncState,
)
from roaming.push_counts import push_counts


def partners_due_for_sync(
    *, now: datetime, delta_every: timedelta, full_every: timedelta
) -> list[tuple[int, bool]]:
    """(partner id, full?) for each connected partner whose next pull is due."""
    due = []
    for partner in Partner.objects.filter(state__in=[PartnerState.ACTIVE, PartnerState.DEGRADED]):
        runs = SyncRun.objects.filter(partner=partner).exclude(state=SyncState.RUNNING)
        last_full = (
            runs.filter(kind=SyncKind.FULL, state=SyncState.SUCCEEDED)
            .values_list("started_at", flat=True)
            .first()
        )
        last_any = runs.values_list("started_at", flat=True).first()
        # Spread nightly full pulls over the hour so partners are not all hit at once.
        splay = timedelta(minutes=partner.pk * 7 % 60)
        if last_full is None or now - last_full >= full_every + splay:
            due.append((partner.pk, True))
        elif last_any is None or now - last_any >= delta_every:
            due.append((partner.pk, False))
    return due


def our_party(*, country_code: str, party_id: str) -> bool:
    """Whether this country_code/party_id is Plugway's own (OCPI_COUNTRY_CODE, OCPI_PARTY_ID)."""
    return (country_code.upper(), party_id.upper()) == (
        settings.OCPI_COUNTRY_CODE.upper(),
        settings.OCPI_PARTY_ID.upper(),
    )


def partner_owns(*, partner: Partner, country_code: str, party_id: str) -> bool:
    """Whether the partner may write this country_code/party_id's objects: its own roles, and,
    for a hub (which in 2.2.1 names only itself), every party no other partner speaks for, but
    never ours."""
    if our_party(country_code=country_code, party_id=party_id):
        return False
    party = {"country_code": country_code.upper(), "party_id": party_id.upper()}
    roles = PartnerRole.objects.filter(**party)
    if roles.filter(partner=partner).exists():
        return True
    return partner.roles.filter(role="HUB").exists() and not roles.exists()


@dataclass(frozen=True)
class FeedHealth:
    partner: Partner
    verdict: str  # "failing", "stale", "pending", "ok", "off"
    last_success: SyncRun | None
    last_run: SyncRun | None
    pushes_last_hour: int
    received_by_hour: list[int]  # oldest first, one per hour
    warnings: list[str]  # what an operator should know though nothing failed


def feeds_health(*, now: datetime, stale_after: timedelta, hours: int = 24) -> list[FeedHealth]:
    """Every partner and feed with a verdict an operator can scan: failing first, then stale."""
    partners = list(Partner.objects.prefetch_related("roles").order_by("name"))
    pushes = push_counts(partner_ids=[p.pk for p in partners], now=now)
    since = now - timedelta(hours=hours)
    received: dict[int, list[int]] = {p.pk: [0] * hours for p in partners}
    for partner_id, started_at, count in SyncRun.objects.filter(started_at__gte=since).values_list(
        "partner_id", "started_at", "received"
    ):
        slot = min(hours - 1, int((started_at - since).total_seconds() // 3600))
        received[partner_id][slot] += count
    rows = []
    for partner in partners:
        runs = SyncRun.objects.filter(partner=partner).exclude(state=SyncState.RUNNING)
        last_run = runs.first()
        last_success = runs.filter(state=SyncState.SUCCEEDED).first()
        warnings = list(last_run.warnings) if last_run else []
        if partner.state in (PartnerState.INVITED, PartnerState.REGISTERING):
            # An invite nobody answered is not a connection: nothing of it reaches the map.
            verdict = "pending"
            warnings.append(
                f"{partner.get_state_display()} since {partner.created_at:%Y-%m-%d %H:%M}: "
                "no stations or statuses arrive from it until it registers."
            )
        elif partner.state in (PartnerState.DISABLED, PartnerState.UNREGISTERED):
            verdict = "off"
        elif partner.state == PartnerState.DEGRADED or (
            last_run and last_run.state == SyncState.FAILED
        ):
            verdict = "failing"
        elif last_success is None or now - last_success.started_at > stale_after:
            verdict = "stale"
        else:
            verdict = "ok"
        rows.append(
            FeedHealth(
                partner,
                verdict,
                last_success,
                last_run,
                pushes[partner.pk],
                received[partner.pk],
                warnings,
            )
        )
    order = {"failing": 0, "stale": 1, "pending": 2, "ok": 3, "off": 4}
    return sorted(rows, key=lambda row: (order[row.verdict], row.partner.name))


def partner_for_source(*, source: str) -> Partner | None:
    """The partner whose catalogue objects carry `source` (see `catalogue_source`)."""
    kind, _, pk = source.partition(":")
    if kind != "partner" or not pk.isdigit():
        return None
    return Partner.objects.filter(pk=int(pk)).first()


def session_for_driver(*, user: User, public_id: uuid.UUID | str) -> ChargingSession | None:
    """One of the driver's own sessions by its public id; None for anyone else's."""
    return (
        ChargingSession.objects.filter(user=user, public_id=public_id)
        .select_related("evse__location", "payment")
        .first()
    )


def session_live_for_driver(*, user: User) -> ChargingSession | None:
    return ChargingSession.objects.filter(user=user, state__in=LIVE_STATES).first()


# --- driver tokens ----------------------------------------------------------------------------


@dataclass(frozen=True)
class TokenStanding:
    """Whether a driver's token may charge now, and if not why: `allowed` is the OCPI
    AllowedType, `reason` is for partners (AuthorizationInfo.info, the token's blocked_reason),
    `driver_message` for the driver, `code` for API clients."""

    allowed: str
    code: str = ""
    reason: str = ""
    driver_message: str = ""

    @property
    def valid(self) -> bool:
        return self.allowed == "ALLOWED"


ALLOWED = TokenStanding("ALLOWED")
# In the order they are checked: a driver with several problems is told the first.
ACCOUNT_CLOSED = TokenStanding(
    "BLOCKED",
    "account_closed",
    "The driver's Plugway account is closed.",
    "Your account is closed.",
)
NO_CARD = TokenStanding(
    "BLOCKED",
    "no_card",
    "No payment card on file.",
    "Add a card in Payment methods before you start a charge.",
)
CARD_EXPIRED = TokenStanding(
    "BLOCKED",
    "card_expired",
    "The payment card on file has expired.",
    "Your card has expired. Add a current card in Payment methods.",
)
UNPAID = TokenStanding(
    "NO_CREDIT",
    "unpaid",
    "A payment failed and is not settled yet.",
    "A payment for an earlier charge failed and is still open, so charging is paused until it "
    "is settled. Contact us to settle it.",
)


def driver_publish_tokens(*, user: User) -> list[dict[str, str]]:
    """The driver's token as a CPO's `publish_allowed_to` can name it (uid, type, issuer, and
    the contract id as its visual number), for locator.audience; [] for a user without one."""
    token = DriverToken.objects.filter(user=user).only("uid", "contract_id").first()
    if token is None:
        return []
    return [
        {
            "uid": token.uid,
            "type": "APP_USER",
            "visual_number": token.contract_id,
            "issuer": settings.OCPI_BUSINESS_NAME[:64],
        }
    ]


def driver_tokens_judged() -> QuerySet[DriverToken]:
    """Driver tokens with the live facts their standing is judged from, read in the same query:
    `account_active`, `card_expiry` (see payments' `default_card_expiry`) and `unpaid`."""
    return DriverToken.objects.annotate(
        account_active=F("user__is_active"),
        card_expiry=default_card_expiry(user=OuterRef("user_id")),
        unpaid=unpaid_exists(user=OuterRef("user_id")),
    )


def driver_token_judged(*, uid: str) -> DriverToken | None:
    """The token with this uid and its live facts: one query on the uid's unique index (its
    subqueries use the user's unique billing account and the account's payments index).

    Real-time authorization calls this on every request, and building and compiling the
    query cost several times what running it does, so the statement is compiled once per
    process (`token_lookup_compiled`) and run as it is with each uid. On PostgreSQL it runs
    as a prepared statement whose only parameter is the uid: planning its subqueries costs
    several times what running it does, and a prepared statement is planned once per
    connection instead of on every request."""
    lookup = token_lookup_compiled()
    database = connections[DEFAULT_DB_ALIAS]
    if isinstance(database, PreparingDatabase):
        cursor, statement, params = database.prepared_cursor(), lookup.prepared_sql, [uid]
    else:
        cursor, statement, params = database.cursor(), lookup.sql, list(lookup.params)
        params[lookup.uid_at] = uid
    with cursor:
        cursor.execute(statement, params)
        row = cursor.fetchone()
    if row is None:
        return None
    fields = len(TOKEN_FIELDS)
    token = DriverToken.from_db(connection.alias, TOKEN_FIELDS, row[:fields])
    for name, value in zip(lookup.facts, row[fields:], strict=True):
        setattr(token, name, value)
    return token


TOKEN_FIELDS = [field.attname for field in DriverToken._meta.concrete_fields]
UID_MARK = "\x00uid"  # stands for the uid while the statement is compiled


@dataclass(frozen=True)
class TokenLookup:
    """`driver_tokens_judged` for one uid as SQL: its parameters, where among them the uid
    goes, and the facts its columns hold after the token's own fields."""

    sql: str
    params: tuple[Any, ...]
    uid_at: int
    facts: tuple[str, ...]

    @functools.cached_property
    def prepared_sql(self) -> str:
        """The statement with every parameter but the uid written in as a literal, so that
        PostgreSQL keeps one generic plan for it (with the enum values as parameters, it
        judges each run worth a plan of its own and never stops planning)."""
        pieces = self.sql.split("%s")
        statement: list[pgsql.Composable] = [pgsql.SQL(pieces[0])]
        for at, (param, piece) in enumerate(zip(self.params, pieces[1:], strict=True)):
            statement.append(pgsql.Placeholder() if at == self.uid_at else pgsql.Literal(param))
            statement.append(pgsql.SQL(piece))
        return pgsql.Composed(statement).as_string()


@functools.cache
def token_lookup_compiled() -> TokenLookup:
    query = driver_tokens_judged().filter(uid=UID_MARK)[:1].query
    sql_text, params = query.sql_with_params()
    return TokenLookup(
        sql_text, tuple(params), list(params).index(UID_MARK), tuple(query.annotation_select)
    )


def token_standing(*, token: DriverToken, today: date) -> TokenStanding:
    """How a token from `driver_tokens_judged` stands today, from payments' rows alone."""
    # The facts are that query's annotations, which the Django type stubs cannot see here.
    if not token.account_active:  # type: ignore[attr-defined]
        return ACCOUNT_CLOSED
    expiry = token.card_expiry  # type: ignore[attr-defined]
    if expiry is None:
        return NO_CARD
    if not card_expiry_usable(expiry=expiry, today=today):
        return CARD_EXPIRED
    if token.unpaid:  # type: ignore[attr-defined]
        return UNPAID
    return ALLOWED


def driver_tokens_page(
    *, date_from: datetime | None, date_to: datetime | None, offset: int, limit: int
) -> tuple[list[DriverToken], int]:
    """One page of our tokens in `last_updated` order (`date_from` inclusive, `date_to`
    exclusive), and how many match in all."""
    tokens = DriverToken.objects.order_by("last_updated", "id")
    if date_from is not None:
        tokens = tokens.filter(last_updated__gte=date_from)
    if date_to is not None:
        tokens = tokens.filter(last_updated__lt=date_to)
    return list(tokens[offset : offset + limit]), tokens.count()
