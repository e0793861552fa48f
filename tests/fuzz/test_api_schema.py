"""Schemathesis against the public API's OpenAPI schema, in-process through WSGI: whatever a
client sends, no answer is a 5xx, every answer (errors included) is one the schema documents
with the body it describes, and data the schema rules out is refused with a 4xx.

Each operation is tried as a signed-in driver with a few real objects in the catalogue: with
the ids schemathesis makes up (mostly unknown, so 404s), then again with the ids of our station,
comment and session, so fuzzed parameters and bodies also reach the code past the lookup. The
budget is the hypothesis profile's (tests/fuzz/conftest.py).
"""

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import schemathesis
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import Client
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from rest_framework import throttling
from schemathesis.specs.openapi.checks import positive_data_acceptance

from config.wsgi import application
from locator.catalogue import catalogue_locations_upsert
from locator.models import Comment, Location
from roaming.models import Partner, PartnerState
from tests.locator.conftest import SOURCE, location
from tests.roaming.charging import session_row

pytestmark = pytest.mark.django_db

# Not checked: that every schema-valid request succeeds. Some rules join parameters (a bbox or
# lat and lon; a bbox at most 12 degrees a side; min_lat south of max_lat) and OpenAPI 3.0 cannot
# state them, so such a request is rightly a documented 400.
EXCLUDED_CHECKS = [positive_data_acceptance]


def served_schema() -> dict[str, Any]:
    """The document /api/v1/schema/ serves (the same generator), as plain JSON values."""
    document = SchemaGenerator().get_schema(request=None, public=True)
    return json.loads(OpenApiJsonRenderer().render(document))


schema = schemathesis.openapi.from_dict(served_schema())
schema.app = application


@schema.auth(refresh_interval=None, retry_on=[])
class DriverCookie:
    """The schema's `cookieAuth`: the fuzzing driver's session cookie. Schemathesis also leaves
    it out on purpose, and checks that the API then refuses (401 or 403)."""

    session_id = ""  # set by the `driver` fixture: each test has its own driver

    def get(self, case: schemathesis.Case, ctx: schemathesis.AuthContext) -> str:
        return DriverCookie.session_id

    def set(self, case: schemathesis.Case, data: str, ctx: schemathesis.AuthContext) -> None:
        case.cookies = {**(case.cookies or {}), "sessionid": data}


@pytest.fixture(autouse=True)
def _connection_kept() -> Iterator[None]:
    """Like Django's test client: the test's database connection (and transaction) stays open
    between the requests schemathesis sends straight to the WSGI application."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@dataclass
class Driver:
    csrf: dict[str, dict[str, str]]  # the CSRF cookie and header, as call() takes them
    real_ids: dict[str, str]


@pytest.fixture
def driver(monkeypatch: pytest.MonkeyPatch) -> Driver:
    """A signed-in driver (session cookie and CSRF token) with a station, a comment of theirs
    and a finished charge. The API's throttles are raised so the fuzzing is not all 429s (DRF
    reads their rates once, so this patches what it read)."""
    monkeypatch.setattr(
        throttling.SimpleRateThrottle,
        "THROTTLE_RATES",
        {"anon": "100000/min", "user": "100000/min"},
    )
    user: User = get_user_model().objects.create_user(username="fuzz", password="a-long-password-1")
    catalogue_locations_upsert(source=SOURCE, records=[location("FUZZ1")])
    station = Location.objects.get(source=SOURCE, ocpi_id="FUZZ1")
    comment = Comment.objects.create(location=station, author=user, text="Fast and free.")
    partner = Partner.objects.create(name="Fuzz CPO", state=PartnerState.ACTIVE, version="2.2.1")
    session = session_row(user, partner, state="completed")
    client = Client()
    client.force_login(user)
    DriverCookie.session_id = client.cookies["sessionid"].value
    token = "fuzz" * 8  # any 32 characters; the cookie and the header must match
    return Driver(
        csrf={"cookies": {"csrftoken": token}, "headers": {"X-CSRFToken": token}},
        real_ids={
            "station_id": str(station.pk),
            "comment_id": str(comment.pk),
            "public_id": str(session.public_id),
        },
    )


@schema.parametrize()
def test_api_answers_as_its_schema_says(case: schemathesis.Case, driver: Driver) -> None:
    case.call_and_validate(**driver.csrf, excluded_checks=EXCLUDED_CHECKS)
    if case.path_parameters:
        case.path_parameters = {
            name: driver.real_ids.get(name, value) for name, value in case.path_parameters.items()
        }
        case.call_and_validate(**driver.csrf, excluded_checks=EXCLUDED_CHECKS)


def test_the_fuzzed_schema_is_the_one_served() -> None:
    response = Client().get("/api/v1/schema/", {"format": "json"})
    assert response.status_code == 200
    assert json.loads(response.content) == served_schema()


# What the fuzzing found, each pinned by a plain test.


def test_an_api_address_that_names_nothing_is_a_json_404() -> None:
    response = Client().get("/api/v1/stations/null,null/")
    assert response.status_code == 404
    assert response.json() == {"code": "not_found", "detail": "Not found."}


def test_a_site_address_that_names_nothing_is_still_the_html_page() -> None:
    response = Client().get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_a_format_the_api_cannot_render_is_ignored_not_a_404() -> None:
    response = Client().get("/api/v1/stations/", {"bbox": "4,52,5,53", "format": "null"})
    assert response.status_code == 200
    assert response.json() == []


def test_a_refused_csrf_check_has_the_session_apis_error_shape() -> None:
    user = get_user_model().objects.create_user(username="csrf", password="a-long-password-1")
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    response = client.post("/api/v1/sessions/", {"evse": 1}, content_type="application/json")
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert "CSRF" in response.json()["detail"]


def test_a_session_without_receipt_or_start_says_null_as_documented(driver: Driver) -> None:
    client = Client()
    client.cookies["sessionid"] = DriverCookie.session_id
    body = client.get(f"/api/v1/sessions/{driver.real_ids['public_id']}/").json()
    assert body["receipt_url"] is None
    assert body["duration_seconds"] is None
