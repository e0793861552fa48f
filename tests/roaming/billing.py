"""What the billing tests share: a CPO partner, a driver with a card and a hold, a session made
directly (the way charging-core's start makes one), and CDRs shaped like a real CPO's.
localstripe comes from the payments tests (see conftest)."""

import base64
import json
import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from locator.models import Tariff
from payments.services import hold_place
from roaming.crypto import token_hash
from roaming.models import (
    ChargingSession,
    DriverToken,
    Partner,
    PartnerRole,
    PartnerState,
    SessionState,
)
from roaming.ocpi.transport import ocpi_timestamp
from roaming.services.sync import catalogue_source
from tests.payments.conftest import LocalStripe, card_add

CPO_TOKEN = "cpo-token-b"
# The sandbox's AC-ENERGY tariff: EUR 0.39 per kWh + 21 % VAT, per Wh.
ENERGY_TARIFF = [
    {"price_components": [{"type": "ENERGY", "price": 0.39, "vat": 21.0, "step_size": 1}]}
]
ENERGY_PRICE_INCL_VAT = Decimal("0.39") * Decimal("1.21")


def cpo_partner(
    *, name: str = "Sandbox CPO", party_id: str = "SBX", token: str = CPO_TOKEN
) -> Partner:
    partner = Partner.objects.create(
        name=name,
        state=PartnerState.ACTIVE,
        version="2.2.1",
        inbound_token_hash=token_hash(token),
    )
    PartnerRole.objects.create(
        partner=partner, role="CPO", country_code="NL", party_id=party_id, business_name=name
    )
    Tariff.objects.create(
        source=catalogue_source(partner),
        country_code="NL",
        party_id=party_id,
        ocpi_id="AC-ENERGY",
        currency="EUR",
        elements=ENERGY_TARIFF,
        last_updated=timezone.now(),
    )
    return partner


def driver_make(localstripe: LocalStripe, username: str = "driver") -> Any:
    user = get_user_model().objects.create_user(
        username=username, email=f"{username}@example.com", password="a-long-password-1"
    )
    card_add(localstripe, user)
    DriverToken.objects.create(
        user=user,
        uid=f"APP-{username.upper()}",
        contract_id=f"NL-PLW-C{uuid.uuid4().hex[:8].upper()}-X",
    )
    return user


def session_make(
    *,
    user: Any,
    partner: Partner,
    hold: int = 5000,
    state: str = SessionState.ACTIVE,
    ocpi_session_id: str = "",
    started_at: datetime | None = None,
    ended_at: datetime | None = None,
) -> ChargingSession:
    """A session with its hold placed (as the start does), at the partner's EVSE EVSE-1."""
    public_id = uuid.uuid4()
    payment = hold_place(user=user, reference=f"session-{public_id}", amount=hold, currency="eur")
    started_at = started_at or timezone.now() - timedelta(minutes=40)
    return ChargingSession.objects.create(
        public_id=public_id,
        user=user,
        token=user.driver_token,
        partner=partner,
        state=state,
        authorization_reference=uuid.uuid4().hex[:20],
        country_code="NL",
        party_id=partner.roles.get().party_id,
        ocpi_session_id=ocpi_session_id or uuid.uuid4().hex[:12].upper(),
        location_ocpi_id="LOC-1",
        evse_uid="EVSE-1",
        evse_label="NL*SBX*E1",
        connector_id="1",
        location_name="Marktplein",
        location_address="Marktplein 1, Utrecht",
        operator_name=partner.name,
        tariff_id="AC-ENERGY",
        started_at=started_at,
        ended_at=ended_at,
        currency="EUR",
        estimate=hold,
        payment=payment,
        created_at=started_at - timedelta(seconds=20),
    )


def cdr_payload(session: ChargingSession, *, kwh: str = "10", **changes: Any) -> dict[str, Any]:
    """The CDR a CPO sends for `session`: `kwh` at the AC-ENERGY tariff, priced as it prices."""
    energy = Decimal(kwh)
    excl = (energy * Decimal("0.39")).quantize(Decimal("0.0001"))
    incl = (energy * ENERGY_PRICE_INCL_VAT).quantize(Decimal("0.0001"))
    start = session.started_at or timezone.now() - timedelta(minutes=40)
    end = session.ended_at or start + timedelta(minutes=30)
    hours = round((end - start).total_seconds() / 3600, 4)
    token = session.token
    payload = {
        "country_code": session.country_code,
        "party_id": session.party_id,
        "id": f"CDR-{session.ocpi_session_id}",
        "start_date_time": ocpi_timestamp(start),
        "end_date_time": ocpi_timestamp(end),
        "session_id": session.ocpi_session_id,
        "cdr_token": {
            "country_code": settings.OCPI_COUNTRY_CODE,
            "party_id": settings.OCPI_PARTY_ID,
            "uid": token.uid,
            "type": "APP_USER",
            "contract_id": token.contract_id,
        },
        "auth_method": "COMMAND",
        "authorization_reference": session.authorization_reference,
        "cdr_location": {
            "id": session.location_ocpi_id,
            "name": session.location_name,
            "address": "Marktplein 1",
            "city": "Utrecht",
            "postal_code": "3511 AA",
            "country": "NLD",
            "coordinates": {"latitude": "52.09074", "longitude": "5.12142"},
            "evse_uid": session.evse_uid,
            "evse_id": session.evse_label,
            "connector_id": "1",
            "connector_standard": "IEC_62196_T2",
            "connector_format": "SOCKET",
            "connector_power_type": "AC_3_PHASE",
        },
        "currency": "EUR",
        "charging_periods": [
            {
                "start_date_time": ocpi_timestamp(start),
                "dimensions": [
                    {"type": "ENERGY", "volume": float(energy)},
                    {"type": "TIME", "volume": hours},
                ],
                "tariff_id": "AC-ENERGY",
            }
        ],
        "total_cost": {"excl_vat": float(excl), "incl_vat": float(incl)},
        "total_energy_cost": {"excl_vat": float(excl), "incl_vat": float(incl)},
        "total_energy": float(energy),
        "total_time": hours,
        "last_updated": ocpi_timestamp(end),
    }
    payload.update(changes)
    return payload


def minor(kwh: str) -> int:
    """The AC-ENERGY cost of `kwh` incl. VAT in cents, rounded as we round."""
    return int((Decimal(kwh) * ENERGY_PRICE_INCL_VAT * 100).quantize(Decimal(1), "ROUND_HALF_UP"))


class Ocpi:
    """The partner's side of our OCPI endpoints, through Django's test client. What a request
    queues after its commit (billing, the receipt email) runs before `post_cdr` returns, as a
    worker would run it: pass pytest-django's `django_capture_on_commit_callbacks`."""

    def __init__(self, client: Client, on_commit: Any = None, token: str = CPO_TOKEN) -> None:
        self.client = client
        self.on_commit = on_commit
        self.auth = {"HTTP_AUTHORIZATION": "Token " + base64.b64encode(token.encode()).decode()}

    def post_cdr(self, body: Any = None, raw: bytes | None = None) -> Any:
        data = raw if raw is not None else json.dumps(body)
        with self.on_commit(execute=True):
            return self.client.post(
                "/ocpi/2.2.1/cdrs", data=data, content_type="application/json", **self.auth
            )

    def get(self, url: str) -> Any:
        return self.client.get(url, **self.auth)


def session_billed(client: Client, localstripe: LocalStripe, on_commit: Any) -> ChargingSession:
    """A charge of 10 kWh at €0.39/kWh + 21 % VAT, billed through our CDRs receiver: €4.72 +
    our €0.35 fee, with its receipt. `on_commit` is `django_capture_on_commit_callbacks`."""
    driver = driver_make(localstripe)
    session = session_make(user=driver, partner=cpo_partner(), state=SessionState.COMPLETED)
    Ocpi(client, on_commit).post_cdr(cdr_payload(session, kwh="10"))
    session.refresh_from_db()
    return session
