"""Production refuses to start without its Stripe keys, or pointed at localstripe."""

import pytest

from tests.test_settings import PRODUCTION_ENV, manage


@pytest.mark.parametrize(
    "missing", ["STRIPE_SECRET_KEY", "STRIPE_PUBLISHABLE_KEY", "STRIPE_WEBHOOK_SECRET"]
)
def test_production_refuses_to_start_without_a_stripe_key(missing: str) -> None:
    env = {key: value for key, value in PRODUCTION_ENV.items() if key != missing}
    result = manage("check", env=env)
    assert result.returncode != 0
    assert f"DJANGO_ENV=production needs the environment variable {missing}." in result.stderr


def test_production_refuses_localstripe() -> None:
    result = manage("check", env=PRODUCTION_ENV | {"STRIPE_API_BASE": "http://127.0.0.1:8420"})
    assert result.returncode != 0
    assert "STRIPE_API_BASE is for localstripe" in result.stderr
