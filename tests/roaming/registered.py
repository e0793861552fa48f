"""Plugway registered with a running sandbox CPO through its live server (the sandbox speaks
`sandbox_ocpi_version`, 2.2.1 unless a test parametrizes it)."""

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from pytest_django.fixtures import Settings

from roaming.models import Partner
from roaming.ocpi.transport import ocpi_datetime_parse
from roaming.services import partner_register
from tests.sandbox.fixtures import SandboxHandle


@pytest.fixture
def registered(
    live_server: Any, settings: Settings, sandbox_cpo_factory: Callable[..., SandboxHandle]
) -> tuple[SandboxHandle, Partner]:
    """The sandbox CPO (60 stations) with Plugway registered at it through our live server."""
    settings.SITE_URL = live_server.url
    settings.OUTBOUND_RETRY_BASE_SECONDS = 0.01
    sandbox = sandbox_cpo_factory(stations=60)
    partner = partner_register(
        name="Sandbox", versions_url=sandbox.versions_url, token_a=sandbox.token_a
    )
    return sandbox, partner


def as_time(value: Any) -> datetime | Any:
    return ocpi_datetime_parse(value) if isinstance(value, str) else value
