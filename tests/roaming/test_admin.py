"""The operations admin for partners: list, feed health, and actions."""

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from roaming.crypto import token_hash
from roaming.models import Partner, PartnerRole, PartnerState, SyncKind, SyncRun, SyncState
from roaming.push_counts import push_count_record
from roaming.services import partner_invite
from tests.conftest import with_authenticator

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client: Client) -> Client:
    client.force_login(
        with_authenticator(
            User.objects.create_superuser("ops@example.com", "ops@example.com", "x" * 12)
        )
    )
    return client


@pytest.fixture
def partners() -> tuple[Partner, Partner]:
    healthy = Partner.objects.create(
        name="Healthy CPO",
        state=PartnerState.ACTIVE,
        version="2.2.1",
        inbound_token_hash=token_hash("t1"),
    )
    PartnerRole.objects.create(partner=healthy, role="CPO", country_code="NL", party_id="HLT")
    SyncRun.objects.create(
        partner=healthy,
        kind=SyncKind.FULL,
        state=SyncState.SUCCEEDED,
        finished_at=timezone.now(),
        received=120,
        written=120,
    )
    broken = Partner.objects.create(
        name="Broken CPO",
        state=PartnerState.DEGRADED,
        version="2.2.1",
        last_error="locations: the partner refused our token (HTTP 401)",
    )
    SyncRun.objects.create(
        partner=broken,
        kind=SyncKind.DELTA,
        state=SyncState.FAILED,
        finished_at=timezone.now(),
        error="locations: the partner refused our token (HTTP 401)",
        invalid_objects=[{"object_id": "LOC9", "reason": "invalid location: city: Field required"}],
    )
    return healthy, broken


def test_partner_list_shows_state_roles_last_pull_and_pushes(
    admin_client: Client, partners
) -> None:  # type: ignore[no-untyped-def]
    healthy, _ = partners
    for _ in range(3):
        push_count_record(partner=healthy, now=timezone.now())
    page = admin_client.get("/admin/roaming/partner/").content.decode()
    assert "NL*HLT" in page
    assert "Succeeded" in page
    assert "120 written" in page
    assert "Degraded" in page
    assert ">3<" in page  # pushes in the last hour
    assert "Feed health" in page


def test_feed_health_puts_failing_feeds_first_with_their_errors(
    admin_client: Client, partners
) -> None:  # type: ignore[no-untyped-def]
    page = admin_client.get("/admin/roaming/partner/health/").content.decode()
    assert page.index("Broken CPO") < page.index("Healthy CPO")
    assert "FAILING" in page
    assert "OK" in page
    assert "refused our token" in page
    assert "invalid LOC9" in page
    assert "<polyline" in page


def test_disable_action_locks_the_partner_out(admin_client: Client, partners) -> None:  # type: ignore[no-untyped-def]
    healthy, _ = partners
    admin_client.post(
        "/admin/roaming/partner/", {"action": "disable", "_selected_action": [healthy.pk]}
    )
    healthy.refresh_from_db()
    assert healthy.state == PartnerState.DISABLED
    response = Client().get("/ocpi/versions", HTTP_AUTHORIZATION="Token t1")
    assert response.status_code == 401


def test_tokens_never_appear_in_the_admin(admin_client: Client, partners) -> None:  # type: ignore[no-untyped-def]
    healthy, _ = partners
    healthy.outbound_token = "super-secret-token-c"
    healthy.save()
    page = admin_client.get(f"/admin/roaming/partner/{healthy.pk}/change/").content.decode()
    assert "super-secret-token-c" not in page
    assert healthy.outbound_token_encrypted not in page
    assert token_hash("t1") not in page


def test_sync_now_action_pulls_the_partner(  # type: ignore[no-untyped-def]
    admin_client: Client, partners, django_capture_on_commit_callbacks
) -> None:
    healthy, _ = partners
    with django_capture_on_commit_callbacks(execute=True):  # the pull is queued in the outbox
        response = admin_client.post(
            "/admin/roaming/partner/",
            {"action": "sync_now", "_selected_action": [healthy.pk]},
            follow=True,
        )
    # Eager in tests: the pull ran and failed cleanly (this partner has no locations endpoint).
    assert "Queued a delta pull of 1 partner(s)." in response.content.decode()
    assert healthy.sync_runs.filter(state=SyncState.FAILED).exists()


def test_feed_health_warns_of_an_invite_never_answered(admin_client: Client, partners) -> None:  # type: ignore[no-untyped-def]
    partner_invite(name="Silent Hub")
    page = admin_client.get("/admin/roaming/partner/health/").content.decode()
    assert "PENDING" in page
    assert page.index("Healthy CPO") > page.index("Silent Hub")  # above the ones working
    assert "no stations or statuses arrive from it until it registers" in page
