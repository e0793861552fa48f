"""Driver tokens: issued once a driver has a usable card, blocked when the card goes or a
payment fails, valid again when put right; our tokens sender and real-time authorization."""

import base64
import re
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.utils import timezone
from pytest_django.fixtures import DjangoAssertNumQueries, Settings

from payments.models import Payment, PaymentMethod
from payments.services import hold_capture, hold_place, payment_method_remove
from roaming.crypto import token_hash
from roaming.models import DriverToken, Partner, PartnerState
from roaming.ocpi.v211 import schemas as v211
from roaming.ocpi.v221 import schemas
from roaming.services.sessions import SessionError
from roaming.services.tokens import (
    driver_token_for_start,
    driver_token_issue,
    driver_token_refresh,
    driver_tokens_reconcile,
    ema_id_check_character,
)
from tests.conftest import redis_unreachable_reason, skip_or_fail
from tests.payments import conftest as payments_fixtures
from tests.payments.conftest import LocalStripe, card_add

pytestmark = pytest.mark.django_db

# The payments app's localstripe fixtures: drivers save real cards.
localstripe_server = payments_fixtures.localstripe_server
localstripe = payments_fixtures.localstripe

CPO_TOKEN = "cpo-token-b"
DriverWithToken = tuple[Any, PaymentMethod, DriverToken]
CONTRACT_ID = re.compile(r"^NL-PLW-C[0-9A-Z]{8}-[0-9A-Z]$")


@pytest.fixture
def cpo() -> Partner:
    return Partner.objects.create(
        name="CPO",
        state=PartnerState.ACTIVE,
        version="2.2.1",
        inbound_token_hash=token_hash(CPO_TOKEN),
    )


def auth(token: str = CPO_TOKEN) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": "Token " + base64.b64encode(token.encode()).decode()}


def new_driver(name: str = "driver") -> Any:
    return get_user_model().objects.create_user(username=name)  # no password: hashing is slow


def authorize(
    client: Client,
    uid: str,
    body: Any = None,
    query: str = "?type=APP_USER",
    version: str = "2.2.1",
    **headers: str,
) -> tuple[int, dict[str, Any]]:
    response = client.post(
        f"/ocpi/{version}/tokens/{uid}/authorize{query}",
        data=body if isinstance(body, str | bytes) else ("" if body is None else body),
        content_type="application/json",
        **(headers or auth()),
    )
    return response.status_code, response.json()


def verdict(client: Client, token: DriverToken) -> tuple[str, str]:
    status, body = authorize(client, token.uid)
    assert status == 200, body
    info = schemas.AuthorizationInfo.model_validate(body["data"])
    assert info.token.uid == token.uid
    assert info.token.valid == (info.allowed == "ALLOWED")
    return str(info.allowed), info.info.text if info.info else ""


@pytest.fixture
def driver_with_token(localstripe: LocalStripe) -> DriverWithToken:
    driver = new_driver()
    card = card_add(localstripe, driver)
    return driver, card, driver_token_for_start(user=driver)


# --- issue ------------------------------------------------------------------------------------


def test_a_driver_gets_one_token_once_they_have_a_usable_card(localstripe: LocalStripe) -> None:
    driver = new_driver()
    assert driver_tokens_reconcile() == (0, 0)
    assert not DriverToken.objects.exists()

    card_add(localstripe, driver)
    assert driver_tokens_reconcile() == (1, 0)
    assert driver_tokens_reconcile() == (0, 0)

    token = DriverToken.objects.get(user=driver)
    assert token.valid
    assert re.fullmatch(r"[0-9A-F]{24}", token.uid)
    assert CONTRACT_ID.fullmatch(token.contract_id)
    body = token.contract_id.replace("-", "")
    assert ema_id_check_character(body[:14]) == body[14]
    assert driver_token_for_start(user=driver) == token


def test_a_driver_who_owes_money_is_issued_a_blocked_token(localstripe: LocalStripe) -> None:
    driver = new_driver()
    card_add(localstripe, driver)
    unpaid_capture(localstripe, driver, "session-t0")

    assert driver_tokens_reconcile() == (1, 0)

    token = DriverToken.objects.get(user=driver)
    assert (token.valid, token.blocked_reason) == (
        False,
        "A payment failed and is not settled yet.",
    )


def test_uids_and_contract_ids_are_drawn_afresh_for_every_driver() -> None:
    tokens = [driver_token_issue(user=new_driver(f"driver{n}")) for n in range(30)]
    assert len({token.uid for token in tokens}) == 30
    assert len({token.contract_id for token in tokens}) == 30
    assert all(CONTRACT_ID.fullmatch(token.contract_id) for token in tokens)


@pytest.mark.parametrize(
    ("first_14", "check"),
    [
        # The examples published with eMI3's "Check Digit Calculation for Contract-IDs".
        ("NN123ABCDEFGHI", "T"),
        ("FRXYZ123456789", "2"),
        ("ITA1B2C3E4F5G6", "4"),
        ("ESZU8WOX834H1D", "R"),
        ("PT73902837ABCZ", "Z"),
        ("DE83DUIEN83QGZ", "D"),
        ("DE83DUIEN83ZGQ", "M"),
        ("DE8AA001234567", "0"),
        ("DE-83D-UIEN83QGZ", "D"),
    ],
)
def test_contract_id_check_character_is_emi3s(first_14: str, check: str) -> None:
    assert ema_id_check_character(first_14) == check


def test_check_character_catches_a_swap_of_neighbours() -> None:
    assert ema_id_check_character("NLPLWC12345678") != ema_id_check_character("NLPLWC21345678")
    with pytest.raises(ValueError, match="not the first 14"):
        ema_id_check_character("NLPLWC1234")


# --- the token for a start ----------------------------------------------------------------------


def test_no_card_means_no_token_and_a_clear_message(localstripe: LocalStripe) -> None:
    driver = new_driver()
    with pytest.raises(SessionError) as error:
        driver_token_for_start(user=driver)
    assert (error.value.code, error.value.http_status) == ("no_card", 402)
    assert "Add a card" in error.value.message
    assert not DriverToken.objects.exists()


def test_an_expired_card_blocks_the_token(
    driver_with_token: DriverWithToken,
) -> None:
    driver, card, token = driver_with_token
    last_year = timezone.now().year - 1
    PaymentMethod.objects.filter(pk=card.pk).update(exp_year=last_year, exp_month=12)
    with pytest.raises(SessionError) as error:
        driver_token_for_start(user=driver)
    assert (error.value.code, error.value.http_status) == ("no_card", 402)
    assert "expired" in error.value.message
    token.refresh_from_db()
    assert (token.valid, token.blocked_reason) == (False, "The payment card on file has expired.")


def test_an_unpaid_capture_blocks_the_token_until_settled(
    localstripe: LocalStripe, driver_with_token: DriverWithToken
) -> None:
    driver, _, _ = driver_with_token
    hold = unpaid_capture(localstripe, driver, "session-t1")
    with pytest.raises(SessionError) as error:
        driver_token_for_start(user=driver)
    assert (error.value.code, error.value.http_status) == ("token_blocked", 402)
    assert "payment for an earlier charge failed" in error.value.message

    # Settled: a later payment for the same charge was captured.
    Payment.objects.create(
        account=hold.account,
        kind=Payment.Kind.EXCESS,
        parent=hold,
        reference=hold.reference,
        status=Payment.Status.CAPTURED,
        amount=1500,
        amount_captured=1500,
        currency="eur",
        idempotency_key="settle-t1",
    )
    assert driver_token_for_start(user=driver).valid


def test_the_minutely_reconciliation_blocks_expired_cards_and_unpaid_balances(
    localstripe: LocalStripe,
) -> None:
    drivers = [new_driver(f"driver{n}") for n in range(3)]
    cards = [card_add(localstripe, driver) for driver in drivers]
    assert driver_tokens_reconcile() == (3, 0)
    expired, owing, fine = drivers
    PaymentMethod.objects.filter(pk=cards[0].pk).update(exp_year=timezone.now().year - 1)
    unpaid_capture(localstripe, owing, "session-t3")

    assert driver_tokens_reconcile() == (0, 2)
    assert driver_tokens_reconcile() == (0, 0)

    blocked = {t.user_id: (t.valid, t.blocked_reason) for t in DriverToken.objects.all()}
    assert blocked == {
        expired.pk: (False, "The payment card on file has expired."),
        owing.pk: (False, "A payment failed and is not settled yet."),
        fine.pk: (True, ""),
    }


def test_roaming_code_that_causes_a_change_applies_it_at_once(
    localstripe: LocalStripe, driver_with_token: DriverWithToken
) -> None:
    driver, _, token = driver_with_token
    unpaid_capture(localstripe, driver, "session-t4")  # e.g. billing's capture of a CDR failed

    refreshed = driver_token_refresh(user=driver)

    assert refreshed is not None
    assert (refreshed.pk, refreshed.valid) == (token.pk, False)
    token.refresh_from_db()
    assert token.blocked_reason == "A payment failed and is not settled yet."
    assert driver_token_refresh(user=new_driver("cardless")) is None


def unpaid_capture(localstripe: LocalStripe, driver: Any, reference: str) -> Payment:
    """A hold that lapsed at the card network before the charge's cost was known: the capture
    fails and the money is owed."""
    hold = hold_place(user=driver, reference=reference, amount=2000, currency="eur")
    localstripe.request("POST", f"/v1/payment_intents/{hold.stripe_payment_intent_id}/cancel")
    with pytest.raises(Exception):  # noqa: B017, PT011 - the capture's own message is payments'
        hold_capture(payment=hold, amount=1500)
    hold.refresh_from_db()
    assert (hold.status, hold.amount_to_capture, hold.amount_captured) == ("canceled", 1500, 0)
    return hold


# --- real-time authorization ------------------------------------------------------------------


def test_a_valid_token_is_allowed_at_the_location_asked_about(
    client: Client, cpo: Partner, driver_with_token: DriverWithToken
) -> None:
    _, _, token = driver_with_token
    references = {"location_id": "LOC1", "evse_uids": ["BE*BEC*E041503001"]}
    status, body = authorize(client, token.uid.lower(), references)
    assert (status, body["status_code"]) == (200, 1000)
    info = schemas.AuthorizationInfo.model_validate(body["data"])
    assert info.allowed == "ALLOWED"
    assert info.location is not None
    assert info.location.location_id == "LOC1"
    token_object = body["data"]["token"]
    assert token_object == {
        "country_code": "NL",
        "party_id": "PLW",
        "uid": token.uid,
        "type": "APP_USER",
        "contract_id": token.contract_id,
        "issuer": "Plugway",
        "valid": True,
        "whitelist": "NEVER",
        "last_updated": token_object["last_updated"],
    }


def test_authorization_is_one_query(
    client: Client,
    cpo: Partner,
    driver_with_token: DriverWithToken,
    django_assert_num_queries: DjangoAssertNumQueries,
) -> None:
    reason = redis_unreachable_reason()
    if reason:  # without Redis, every call also looks the partner up
        skip_or_fail(reason)
    _, _, token = driver_with_token
    verdict(client, token)  # the partner's token is looked up and remembered
    with django_assert_num_queries(1):
        assert verdict(client, token) == ("ALLOWED", "")


def test_authorization_is_planned_once_per_connection(
    client: Client, cpo: Partner, driver_with_token: DriverWithToken
) -> None:
    """Planning the lookup's subqueries costs several times what running it does: on
    PostgreSQL it is a prepared statement that settles on one plan for every uid."""
    if connection.vendor != "postgresql":
        pytest.skip("prepared statements are PostgreSQL's; SQLite plans every statement anew")
    _, _, token = driver_with_token
    for _ in range(8):  # PostgreSQL tries a plan of the uid's own for the first five runs
        assert verdict(client, token) == ("ALLOWED", "")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT generic_plans FROM pg_prepared_statements "
            "WHERE statement LIKE %s AND statement LIKE %s",
            ["%roaming_drivertoken%", "%card_expiry%"],
        )
        (generic_plans,) = cursor.fetchone()
    assert generic_plans >= 2


def test_a_removed_card_blocks_at_once_and_a_new_card_puts_it_right(
    client: Client,
    cpo: Partner,
    localstripe: LocalStripe,
    driver_with_token: DriverWithToken,
) -> None:
    driver, card, token = driver_with_token
    payment_method_remove(user=driver, payment_method_id=card.pk)

    # Before any reconciliation has run, authorization already sees the card gone ...
    assert verdict(client, token) == ("BLOCKED", "No payment card on file.")
    # ... and has stored it (a push follows).
    token.refresh_from_db()
    assert (token.valid, token.blocked_reason) == (False, "No payment card on file.")

    card_add(localstripe, driver)
    assert verdict(client, token) == ("ALLOWED", "")
    token.refresh_from_db()
    assert (token.valid, token.blocked_reason) == (True, "")


def test_an_unpaid_balance_is_no_credit(
    client: Client,
    cpo: Partner,
    localstripe: LocalStripe,
    driver_with_token: DriverWithToken,
) -> None:
    driver, _, token = driver_with_token
    unpaid_capture(localstripe, driver, "session-t2")
    assert verdict(client, token) == ("NO_CREDIT", "A payment failed and is not settled yet.")


def test_a_closed_account_is_blocked(
    client: Client, cpo: Partner, driver_with_token: DriverWithToken
) -> None:
    driver, _, token = driver_with_token
    get_user_model().objects.filter(pk=driver.pk).update(is_active=False)
    assert verdict(client, token) == ("BLOCKED", "The driver's Plugway account is closed.")


def test_an_unknown_token_is_404_with_2004(client: Client, cpo: Partner) -> None:
    status, body = authorize(client, "0123456789ABCDEF01234567")
    assert (status, body["status_code"]) == (404, 2004)
    assert "data" not in body


def test_without_a_type_the_partner_asks_about_an_rfid_which_we_never_issue(
    client: Client, cpo: Partner, driver_with_token: DriverWithToken
) -> None:
    _, _, token = driver_with_token
    status, body = authorize(client, token.uid, query="")
    assert (status, body["status_code"]) == (404, 2004)
    assert "ask with ?type=" in body["status_message"]


@pytest.mark.parametrize(
    ("version", "query", "answer"),
    [
        # 2.1.1 has only OTHER and RFID: our app tokens are OTHER there.
        ("2.1.1", "?type=OTHER", (200, 1000)),
        ("2.1.1", "", (404, 2004)),
        ("2.1.1", "?type=RFID", (404, 2004)),
        ("2.1.1", "?type=APP_USER", (400, 2001)),
        ("2.2.1", "?type=APP_USER", (200, 1000)),
        ("2.2.1", "?type=OTHER", (404, 2004)),
        ("2.2.1", "?type=EMAID", (400, 2001)),
        # 2.3.0 adds EMAID, and keeps APP_USER.
        ("2.3.0", "?type=APP_USER", (200, 1000)),
        ("2.3.0", "?type=EMAID", (404, 2004)),
    ],
)
def test_authorization_takes_the_token_types_of_the_partners_version(
    client: Client,
    cpo: Partner,
    driver_with_token: DriverWithToken,
    version: str,
    query: str,
    answer: tuple[int, int],
) -> None:
    Partner.objects.filter(pk=cpo.pk).update(version=version)
    _, _, token = driver_with_token
    status, body = authorize(client, token.uid, query=query, version=version)
    assert (status, body["status_code"]) == answer, body
    ours = "OTHER" if version == "2.1.1" else "APP_USER"
    if answer == (200, 1000):
        assert body["data"]["allowed"] == "ALLOWED"
        # 2.1.1's AuthorizationInfo echoes no token; later ones echo it with its type.
        assert body["data"].get("token", {}).get("type", ours) == ours
        assert ("token" in body["data"]) == (version != "2.1.1")
    elif answer[1] == 2004:
        assert f"ours are {ours}: ask with ?type=" in body["status_message"]
    else:
        assert f"in OCPI {version}" in body["status_message"]


def test_a_211_partner_lists_our_tokens_as_211_tokens_of_type_other(
    client: Client, cpo: Partner, driver_with_token: DriverWithToken
) -> None:
    Partner.objects.filter(pk=cpo.pk).update(version="2.1.1")
    _, _, token = driver_with_token
    response = client.get("/ocpi/2.1.1/tokens", **auth())
    assert response.status_code == 200
    [listed] = response.json()["data"]
    read = v211.Token.model_validate(listed)
    assert (read.uid, read.type, read.auth_id, read.valid) == (token.uid, "OTHER", token.uid, True)
    assert "country_code" not in listed


@pytest.mark.parametrize(
    ("body", "query", "message"),
    [
        ("{not json", "?type=APP_USER", "not valid JSON"),
        ([1, 2], "?type=APP_USER", "not LocationReferences"),
        ({"evse_uids": ["E1"]}, "?type=APP_USER", "location_id: Field required"),
        ({"location_id": "L" * 37}, "?type=APP_USER", "location_id"),
        ("", "?type=BADGE", "type must be one of"),
    ],
)
def test_a_malformed_authorization_request_is_2001(
    client: Client,
    cpo: Partner,
    driver_with_token: DriverWithToken,
    body: Any,
    query: str,
    message: str,
) -> None:
    _, _, token = driver_with_token
    status, answer = authorize(client, token.uid, body, query=query)
    assert (status, answer["status_code"]) == (400, 2001)
    assert message in answer["status_message"]


def test_only_a_registered_partners_own_token_opens_the_tokens_module(
    client: Client, cpo: Partner, driver_with_token: DriverWithToken
) -> None:
    _, _, token = driver_with_token
    Partner.objects.create(
        name="Invited", inbound_token_hash=token_hash("token-a"), inbound_token_is_a=True
    )
    Partner.objects.create(
        name="Gone", state=PartnerState.DISABLED, inbound_token_hash=token_hash("gone-token")
    )
    cpo.outbound_token = "their-token-c"  # the token we present to them is not one for us
    cpo.save()
    for presented in ("nobody", "token-a", "gone-token", "their-token-c"):
        status, body = authorize(client, token.uid, **auth(presented))
        assert (status, body["status_code"]) == (401, 2000), presented
        listing = client.get("/ocpi/2.2.1/tokens", **auth(presented))
        assert listing.status_code == 401, presented
    assert authorize(client, token.uid, **auth(CPO_TOKEN))[0] == 200


# --- the tokens sender ------------------------------------------------------------------------


def next_page(link: str | None) -> str:
    """The path and query of a `Link: <url>; rel="next"` header ("" without one)."""
    if not link:
        return ""
    match = re.fullmatch(r'<([^>]+)>; rel="next"', link)
    assert match, link
    parts = urlsplit(match.group(1))
    return f"{parts.path}?{parts.query}"


def tokens_a_day_apart(count: int, start: datetime) -> list[str]:
    """The uids of `count` drivers' tokens, last updated a day apart from `start` on."""
    uids = []
    for day in range(count):
        token = driver_token_issue(user=new_driver(f"driver{day}"))
        DriverToken.objects.filter(pk=token.pk).update(last_updated=start + timedelta(days=day))
        uids.append(token.uid)
    return uids


def test_the_tokens_list_pages_with_link_total_and_limit(client: Client, cpo: Partner) -> None:
    tokens = tokens_a_day_apart(7, timezone.now() - timedelta(days=10))

    first = client.get("/ocpi/2.2.1/tokens?limit=3", **auth())
    assert first.status_code == 200
    assert (first["X-Total-Count"], first["X-Limit"]) == ("7", "1000")
    assert [t["uid"] for t in first.json()["data"]] == tokens[:3]

    seen, url, pages = [], "/ocpi/2.2.1/tokens?limit=3", 0
    while url:
        response = client.get(url, **auth())
        assert response.status_code == 200
        seen += [schemas.Token.model_validate(t).uid for t in response.json()["data"]]
        pages += 1
        url = next_page(response.get("Link"))
    assert (seen, pages) == (tokens, 3)


def test_date_from_is_inclusive_date_to_exclusive_and_link_keeps_them(
    client: Client, cpo: Partner
) -> None:
    start = timezone.now().replace(microsecond=0) - timedelta(days=10)
    uids = tokens_a_day_apart(6, start)

    def stamp(day: int) -> str:
        return (start + timedelta(days=day)).strftime("%Y-%m-%dT%H:%M:%SZ")

    query = f"date_from={stamp(1)}&date_to={stamp(4)}"
    response = client.get(f"/ocpi/2.2.1/tokens?{query}&limit=2", **auth())
    assert response["X-Total-Count"] == "3"
    assert [t["uid"] for t in response.json()["data"]] == uids[1:3]
    link = response["Link"]
    assert f"date_from={stamp(1)}".replace(":", "%3A") in link
    assert f"date_to={stamp(4)}".replace(":", "%3A") in link
    assert "offset=2" in link
    assert "limit=2" in link
    last = client.get(next_page(link), **auth())
    assert [t["uid"] for t in last.json()["data"]] == uids[3:4]
    assert "Link" not in last


@pytest.mark.parametrize(
    "query",
    ["date_from=yesterday", "offset=-1", "limit=0", "limit=ten", "date_to=2026-13-01T00:00:00Z"],
)
def test_bad_list_parameters_are_2001(client: Client, cpo: Partner, query: str) -> None:
    response = client.get(f"/ocpi/2.2.1/tokens?{query}", **auth())
    assert (response.status_code, response.json()["status_code"]) == (400, 2001)
    assert query.split("=")[0] in response.json()["status_message"]


def test_our_version_details_offer_the_tokens_sender(
    client: Client, cpo: Partner, settings: Settings
) -> None:
    response = client.get("/ocpi/2.2.1/", **auth())
    endpoints = response.json()["data"]["endpoints"]
    url = f"{settings.SITE_URL}/ocpi/2.2.1/tokens"
    assert {"identifier": "tokens", "role": "SENDER", "url": url} in endpoints
