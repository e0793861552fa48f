"""`manage.py sandbox_connect`: how `scripts/dev.py run` connects Plugway to its sandbox CPO."""

from collections.abc import Callable
from io import StringIO

import pytest
from django.core.management import call_command
from pytest_django.fixtures import Settings

from locator.models import Location
from roaming.services import feed_add, partner_invite
from tests.sandbox.fixtures import SandboxHandle

pytestmark = pytest.mark.django_db(transaction=True)


def test_sandbox_connect_registers_afresh_each_start_and_steps_aside_for_real_partners(
    live_server,
    settings: Settings,
    sandbox_cpo_factory: Callable[..., SandboxHandle],  # type: ignore[no-untyped-def]
) -> None:
    settings.SITE_URL = live_server.url
    for stations in (10, 12):  # two runs of scripts/dev.py, each with a new sandbox process
        sandbox = sandbox_cpo_factory(stations=stations)
        call_command(
            "sandbox_connect",
            "--versions-url",
            sandbox.versions_url,
            "--token-a",
            sandbox.token_a,
            stdout=StringIO(),
        )
    assert Location.objects.filter(hidden=False).count() == 12
    call_command("sandbox_connect", "--check", stdout=StringIO())  # only the sandbox: wanted
    feed_add(name="Real feed", locations_url="http://127.0.0.1:9/locations")
    with pytest.raises(SystemExit) as exited:
        call_command("sandbox_connect", "--check", stdout=StringIO())
    assert exited.value.code == 1


def test_a_pending_invite_does_not_stop_the_sandbox_starting() -> None:
    partner_invite(name="Hub that never registered")
    out = StringIO()
    call_command("sandbox_connect", "--check", stdout=out)  # no SystemExit: still wanted
    assert "Hub that never registered" in out.getvalue()  # said, so the choice is not silent
