"""Driver tokens: the OCPI token (type APP_USER) a driver charges with on partner networks.

**Issue.** A driver gets one token once they have a usable card (a default card that has not
expired): a random uid (24 upper-case hex digits, 96 bits from `secrets`: not guessable, and
unique by constraint) and a contract id in eMA-ID form, `NL-PLW-C1A2B3C4D-K` (our
OCPI_COUNTRY_CODE and OCPI_PARTY_ID, `C` and 8 random characters, and the check character of
eMI3's "Check Digit Calculation for Contract-IDs", see `ema_id_check_character`).

**Validity** is judged from payments' rows alone (`roaming.selectors.token_standing`): the
account is open, its default card has not expired, and no failed payment is unsettled. Payments
never imports roaming, so it cannot tell us when a card goes or a payment fails; roaming finds
out itself:

- `driver_tokens_reconcile` (Celery beat, every minute) issues the tokens of drivers who saved
  a first card and re-judges every token; each whose validity changed is written and pushed.
  So a removed card or a failed payment reaches partners within about a minute.
- Where roaming sees a change first it applies it at once: at a Start
  (`driver_token_for_start`), when a real-time authorization finds the stored validity out of
  date, and through `driver_token_refresh(user=)` for roaming code that has just caused one
  (a capture that failed).
- A real-time authorization judges the live rows on every call, so it is right even before
  any of the above has run.

**Pushes.** Each change is PUT, as the whole Token, to every connected partner with a tokens
receiver: one Celery task per (token, partner), queued after the commit. The task sends the
token as it is when it runs and sends again if the token changed meanwhile, so the last token
a partner receives is the current one, whatever the order tasks run in. Transient failures are
retried with backoff; permanent ones are recorded on the partner. A push lost to a broker
outage is not replayed: as OCPI intends, the partner catches up by pulling our tokens sender.
"""

import logging
import secrets
from datetime import date
from functools import cache

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from config.outbox import task_enqueue
from payments.selectors import (
    card_expiry_usable,
    card_usable_user_ids,
    default_card_expiry,
    unpaid_user_ids,
)
from roaming.adapters import adapter_for
from roaming.errors import PartnerError, SessionError
from roaming.models import DriverToken, Partner, PartnerKind, PartnerState
from roaming.selectors import (
    NO_CARD,
    TokenStanding,
    driver_token_judged,
    driver_tokens_judged,
    token_standing,
)

logger = logging.getLogger(__name__)

ALPHANUMERIC = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
# Sending a token again because it changed while it was being sent: at most this many times in
# one task (a token that changes faster than it can be sent gets a new task with each change).
PUSH_ROUNDS = 3
RECONCILE_BATCH = 1000


def ema_id_check_character(ema_id: str) -> str:
    """The check character of an eMA-ID's first 14 characters (country, provider, `C`,
    instance; separators removed), by eMI3's "Check Digit Calculation for Contract-IDs", the
    rule ISO 15118 and DIN SPEC 91286 adopt.

    Each character's value v (0-9, A-Z = 0..35) is split into q = v // 9, a vector over Z2
    (its two bits), and r = v % 9, a vector over Z3 (its two base-3 digits). The character at
    position i (from 1) is weighted by P1^i over Z2 and P2^i over Z3, with P1 = [[0,1],[1,1]]
    and P2 = [[0,1],[1,2]]; the check character is the one that, weighted as position 15,
    makes both weighted sums zero. It catches any single wrong character, any swap of two
    neighbours, and twin and jump errors.
    """
    text = ema_id.replace("-", "").replace("*", "").upper()
    if len(text) != 14 or any(char not in ALPHANUMERIC for char in text):
        raise ValueError(f"{ema_id!r} is not the first 14 characters of an eMA-ID")
    weights = ema_id_weights()
    q_sum, r_sum = (0, 0), (0, 0)
    for position, char in enumerate(text, start=1):
        q_part, r_part = weights[position][char]
        q_sum = ((q_sum[0] + q_part[0]) % 2, (q_sum[1] + q_part[1]) % 2)
        r_sum = ((r_sum[0] + r_part[0]) % 3, (r_sum[1] + r_part[1]) % 3)
    cancelling = ((-q_sum[0] % 2, -q_sum[1] % 2), (-r_sum[0] % 3, -r_sum[1] % 3))
    return next(char for char, parts in weights[15].items() if parts == cancelling)


Weighted = tuple[tuple[int, int], tuple[int, int]]


@cache
def ema_id_weights() -> dict[int, dict[str, Weighted]]:
    """Each character's weighted (q, r) at each position 1-15 (see `ema_id_check_character`)."""
    weights: dict[int, dict[str, Weighted]] = {}
    for position in range(1, 16):
        weights[position] = {}
        for char in ALPHANUMERIC:
            q, r = divmod(ALPHANUMERIC.index(char), 9)
            weights[position][char] = (
                vector_times_power(divmod(q, 2), ((0, 1), (1, 1)), position, 2),
                vector_times_power(divmod(r, 3), ((0, 1), (1, 2)), position, 3),
            )
    return weights


def vector_times_power(
    vector: tuple[int, int], matrix: tuple[tuple[int, int], ...], power: int, modulus: int
) -> tuple[int, int]:
    """`vector · matrix^power`, modulo `modulus` (2x2, row vector)."""
    a, b = vector
    for _ in range(power):
        a, b = (
            (a * matrix[0][0] + b * matrix[1][0]) % modulus,
            (a * matrix[0][1] + b * matrix[1][1]) % modulus,
        )
    return a, b


def contract_id_new() -> str:
    """A fresh random eMA-ID of ours, `CC-PPP-CXXXXXXXX-K`."""
    country, party = settings.OCPI_COUNTRY_CODE.upper(), settings.OCPI_PARTY_ID.upper()
    instance = "C" + "".join(secrets.choice(ALPHANUMERIC) for _ in range(8))
    check = ema_id_check_character(f"{country}{party}{instance}")
    return f"{country}-{party}-{instance}-{check}"


def uid_new() -> str:
    return secrets.token_hex(12).upper()


def driver_token_issue(*, user: User) -> DriverToken:
    """The driver's token, issued and pushed to partners if they have none yet.

    Callers issue it once the driver has a usable card; it is judged before it is first pushed
    all the same (a driver who owes money gets a blocked token). Issuing twice at once gives
    one token: the second call finds the first's row."""
    existing = DriverToken.objects.filter(user=user).first()
    if existing is not None:
        return existing
    for _attempt in range(5):
        try:
            with transaction.atomic():
                token = DriverToken.objects.create(
                    user=user, uid=uid_new(), contract_id=contract_id_new()
                )
                judged = driver_token_judged(uid=token.uid)
                assert judged is not None
                standing = token_standing(token=judged, today=today())
                if not standing.valid:
                    token.valid, token.blocked_reason = False, standing.reason
                    token.save(update_fields=["valid", "blocked_reason"])
                driver_token_pushes_queue(token=token)
                return token
        except IntegrityError:
            existing = DriverToken.objects.filter(user=user).first()
            if existing is not None:
                return existing
            # A random uid or contract id that was already taken: draw again.
    raise RuntimeError("could not draw a unique token uid and contract id in 5 attempts")


def driver_token_standing_apply(*, token: DriverToken, standing: TokenStanding) -> bool:
    """Store the token's standing (valid, or blocked with the reason) and push it to partners
    when its validity changed; False when the token already stood so (or a concurrent caller
    just stored the same change, which it pushes)."""
    reason = "" if standing.valid else standing.reason
    if token.valid == standing.valid and token.blocked_reason == reason:
        return False
    now = timezone.now()
    with transaction.atomic():
        changed = DriverToken.objects.filter(
            pk=token.pk, valid=token.valid, blocked_reason=token.blocked_reason
        ).update(
            valid=standing.valid,
            blocked_reason=reason,
            last_updated=now if token.valid != standing.valid else token.last_updated,
        )
        if not changed:
            return False
        validity_changed = token.valid != standing.valid
        token.valid, token.blocked_reason = standing.valid, reason
        if validity_changed:
            token.last_updated = now
            driver_token_pushes_queue(token=token)
    return True


def driver_token_refresh(*, user: User) -> DriverToken | None:
    """Re-judge the driver's token now (after something that may change it, e.g. a failed
    capture), issuing it if they have become able to charge; None if they have none."""
    token = DriverToken.objects.filter(user=user).first()
    if token is None:
        if not card_usable(user=user):
            return None
        token = driver_token_issue(user=user)
    judged = driver_token_judged(uid=token.uid)
    assert judged is not None
    driver_token_standing_apply(token=judged, standing=token_standing(token=judged, today=today()))
    return judged


def card_usable(*, user: User) -> bool:
    """Whether the driver has a default card that has not expired."""
    expiry = User.objects.filter(pk=user.pk).values_list(
        default_card_expiry(user=user.pk), flat=True
    )
    return card_expiry_usable(expiry=expiry.first(), today=today())


def today() -> date:
    return timezone.now().date()


def driver_token_for_start(*, user: User) -> DriverToken:
    """The token to start a charge with: the driver's, valid now (issued if they have a usable
    card and no token yet).

    Raises SessionError: `no_card` (402) without a usable card, `token_blocked` (402, or 403
    for a closed account) with the reason otherwise. The stored validity is brought up to date
    (and pushed) on the way, so partners agree with what the driver is told."""
    token = DriverToken.objects.filter(user=user).first()
    if token is None and card_usable(user=user):
        token = driver_token_issue(user=user)
    judged = driver_token_judged(uid=token.uid) if token is not None else None
    if judged is None:
        raise SessionError(NO_CARD.driver_message, code="no_card", http_status=402)
    standing = token_standing(token=judged, today=today())
    driver_token_standing_apply(token=judged, standing=standing)
    if standing.code in ("no_card", "card_expired"):
        raise SessionError(standing.driver_message, code="no_card", http_status=402)
    if not standing.valid:
        raise SessionError(
            standing.driver_message,
            code="token_blocked",
            http_status=403 if standing.code == "account_closed" else 402,
        )
    return judged


def driver_tokens_reconcile() -> tuple[int, int]:
    """Issue the tokens of drivers who have a usable card and none yet, and store (and push)
    the standing of every token whose validity or reason changed. Returns (issued, changed).

    One query finds the tokens to look at: every blocked one (few; it may have been put right
    or its reason changed), and those stored valid whose account, card or payments say
    otherwise; drivers with a usable card and drivers who owe money are read from payments'
    rows once each, as sets of user ids, not token by token. Those tokens are then judged."""
    day = today()
    usable = card_usable_user_ids(today=day)
    issued = 0
    drivers = User.objects.filter(driver_token__isnull=True, is_active=True, pk__in=usable)
    for user in drivers.iterator():
        driver_token_issue(user=user)
        issued += 1
    suspect = DriverToken.objects.filter(
        Q(valid=False)
        | Q(user__is_active=False)
        | ~Q(user_id__in=usable)
        | Q(user_id__in=unpaid_user_ids())
    ).values_list("pk", flat=True)
    changed = 0
    ids = list(suspect)
    # Judged a batch at a time: for the whole set at once PostgreSQL expects so much work that
    # it compiles the query to machine code first (JIT), which takes longer than the query.
    for start in range(0, len(ids), RECONCILE_BATCH):
        batch = ids[start : start + RECONCILE_BATCH]
        for token in driver_tokens_judged().filter(pk__in=batch):
            standing = token_standing(token=token, today=day)
            changed += driver_token_standing_apply(token=token, standing=standing)
    return issued, changed


def token_push_partners() -> list[Partner]:
    """Connected partners with a tokens receiver."""
    return [
        partner
        for partner in Partner.objects.filter(
            kind=PartnerKind.OCPI, state__in=[PartnerState.ACTIVE, PartnerState.DEGRADED]
        )
        if partner.endpoint("tokens", "RECEIVER")
    ]


def driver_token_pushes_queue(*, token: DriverToken) -> None:
    """Queue one push task per partner with a tokens receiver, in the caller's transaction."""
    from roaming.tasks import driver_token_push_task  # the task module imports services

    for partner in token_push_partners():
        task_enqueue(driver_token_push_task, token.pk, partner.pk)


def driver_token_push(*, token_id: int, partner_id: int) -> None:
    """Send the token as it is now to one partner, again if it changed meanwhile.

    Raises PartnerError; a permanent one is first recorded on the partner (its last error,
    and degraded, as for a failed pull)."""
    partner = Partner.objects.filter(pk=partner_id).first()
    if partner is None or partner.state not in (PartnerState.ACTIVE, PartnerState.DEGRADED):
        return
    adapter = adapter_for(partner)
    for _round in range(PUSH_ROUNDS):
        token = DriverToken.objects.filter(pk=token_id).first()
        if token is None:
            return
        try:
            adapter.token_push(token=token)
        except PartnerError as error:
            if error.permanent:
                connected = [PartnerState.ACTIVE, PartnerState.DEGRADED]
                Partner.objects.filter(pk=partner.pk, state__in=connected).update(
                    last_error=f"token push: {error.message}"[:2000],
                    state=PartnerState.DEGRADED,
                    updated_at=timezone.now(),
                )
                logger.warning("token push to %s refused: %s", partner.name, error.message)
            raise
        if not DriverToken.objects.filter(
            pk=token_id, last_updated__gt=token.last_updated
        ).exists():
            return
    from roaming.tasks import driver_token_push_task  # the task module imports services

    task_enqueue(driver_token_push_task, token_id, partner_id)
