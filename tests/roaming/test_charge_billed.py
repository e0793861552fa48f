"""A charge billed end to end on loopback: the driver starts and stops through the API, the
sandbox CPO POSTs its CDR to our receiver, localstripe captures it (issue 13, "Done when")."""

from decimal import Decimal

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import mail

from locator.models import Connector, Evse
from payments.models import Payment, Receipt
from roaming.models import ChargeDetailRecord, Command, CommandType
from roaming.services.cdrs import to_minor
from tests.conftest import with_authenticator
from tests.roaming.charging import Net, session_in, wait_for
from tests.sandbox.fixtures import OCPI_VERSIONS

pytestmark = pytest.mark.django_db(transaction=True)


def flat_fee_evse(net: Net) -> Evse:
    """An EVSE priced €1.00 per charge + energy, so even a few seconds' charge costs money."""
    priced = Connector.objects.filter(tariff_ids__contains=["DC-FLAT-ENERGY"]).values("evse")
    tried: tuple[int, ...] = ()
    while True:
        evse = net.evse(exclude=tried)
        if Evse.objects.filter(pk=evse.pk, pk__in=priced).exists():
            return evse
        tried += (evse.pk,)


@pytest.mark.parametrize("sandbox_ocpi_version", OCPI_VERSIONS)
def test_the_cdr_leads_to_one_capture_of_its_cost_plus_fee_one_receipt_and_the_rest_released(
    charging_net: Net,
) -> None:
    net = charging_net
    driver = net.driver()
    client = net.client(driver)
    status, body = net.start(client, flat_fee_evse(net))
    assert status == 201, body
    public_id, hold = body["id"], body["hold"]["amount"]
    session_in(public_id, "active")
    wait_for(lambda: net.show(client, public_id)["kwh"] > 0, what="kWh above 0")
    assert net.stop(client, public_id)[0] == 202
    session = session_in(public_id, "completed")

    cdr = wait_for(
        lambda: ChargeDetailRecord.objects.filter(session=session, billing="billed").first(),
        what="the CDR billed",
    )
    # The simulator's own record (2.2.1-shaped, whatever version it spoke to us).
    [sent] = [
        c for c in net.sandbox.cpo.simulator.cdrs if c["session_id"] == session.ocpi_session_id
    ]
    charged = to_minor(Decimal(str(sent["total_cost"]["incl_vat"])), "EUR") + settings.CHARGING_FEE
    payment = Payment.objects.get(pk=session.payment_id)
    assert (payment.status, payment.amount_captured) == ("captured", charged)
    assert cdr.amount == charged
    assert len(net.localstripe.writes("/capture")) == 1
    stripe = net.localstripe.payment_intent(payment.stripe_payment_intent_id or "")
    assert stripe["charges"]["data"][0]["amount_refunded"] == hold - charged  # released
    assert Receipt.objects.get().amount == charged
    assert len([m for m in mail.outbox if "receipt" in m.subject]) == 1
    assert net.show(client, public_id)["receipt_url"] == f"/receipts/{public_id}/"
    assert client.get(f"/receipts/{public_id}/").status_code == 200


def test_helpdesk_unlocks_a_stuck_connector_from_the_admin(charging_net: Net) -> None:
    net = charging_net
    client = net.client(net.driver())
    status, body = net.start(client, net.evse(also="UNLOCK_CAPABLE"))
    assert status == 201, body
    session = session_in(body["id"], "active")
    admin = get_user_model().objects.create_superuser("ops", "ops@example.com", "pw-long-1")
    ops = net.client(with_authenticator(admin))

    done = ops.post(
        "/admin/roaming/chargingsession/",
        {"action": "unlock_connector", "_selected_action": [session.pk]},
        follow=True,
    )

    assert "Unlock asked of Sandbox" in done.content.decode()
    unlock = Command.objects.get(session=session, type=CommandType.UNLOCK_CONNECTOR)
    assert unlock.requested_by == admin
    wait_for(
        lambda: Command.objects.get(pk=unlock.pk).status == "succeeded", what="the unlock result"
    )
    page = ops.get(f"/admin/roaming/chargingsession/{session.pk}/change/").content.decode()
    assert "Unlock connector sent: Succeeded" in page
