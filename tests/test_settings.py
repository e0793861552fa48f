"""The production posture: refuses to start half-configured, and passes Django's deploy checks."""

import os
import secrets
import subprocess
import sys

import pytest

from tests.conftest import ROOT

PRODUCTION_ENV = {
    "DJANGO_ENV": "production",
    "SECRET_KEY": secrets.token_urlsafe(64),
    "DATABASE_URL": "postgres://plugway@db.internal:5432/plugway",
    "REDIS_URL": "redis://redis.internal:6379/0",
    "ALLOWED_HOSTS": "plugway.example.com",
    "STRIPE_SECRET_KEY": "sk_live_example",
    "STRIPE_PUBLISHABLE_KEY": "pk_live_example",
    "STRIPE_WEBHOOK_SECRET": "whsec_example",
}
# Set by tests/browser/conftest.py for Playwright; a deploy check rightly refuses it.
NOT_INHERITED = {"DJANGO_ALLOW_ASYNC_UNSAFE"}


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {
        key: value
        for key, value in os.environ.items()
        if key not in PRODUCTION_ENV and key not in NOT_INHERITED
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=base | env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_production_settings_pass_the_deploy_check() -> None:
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize("missing", ["SECRET_KEY", "DATABASE_URL", "REDIS_URL", "ALLOWED_HOSTS"])
def test_production_refuses_to_start_without(missing: str) -> None:
    env = {key: value for key, value in PRODUCTION_ENV.items() if key != missing}
    result = manage("check", env=env)
    assert result.returncode != 0
    assert missing in result.stderr


def test_production_refuses_a_weak_secret_key() -> None:
    result = manage("check", env=PRODUCTION_ENV | {"SECRET_KEY": "short"})
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_production_refuses_sqlite() -> None:
    result = manage(
        "check", env=PRODUCTION_ENV | {"DATABASE_URL": "sqlite:////tmp/plugway.sqlite3"}
    )
    assert result.returncode != 0
    assert "PostgreSQL" in result.stderr


def test_production_does_not_install_the_sandbox_cpo() -> None:
    result = manage("sandbox_cpo", "--help", env=PRODUCTION_ENV)
    assert result.returncode != 0
    assert "Unknown command: 'sandbox_cpo'" in result.stderr


def site_url(env: dict[str, str]) -> str:
    command = "from django.conf import settings; print(settings.SITE_URL)"
    base = {key: value for key, value in os.environ.items() if key not in ("SITE_URL", "PORT")}
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", command],
        cwd=ROOT,
        env=base | env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]  # after what the shell imported


def test_site_url_follows_the_port_the_app_serves_in_development() -> None:
    assert site_url({"PORT": "8123"}) == "http://127.0.0.1:8123"
    assert site_url({}) == "http://127.0.0.1:8000"
    assert site_url({"PORT": "8123", "SITE_URL": "https://ev.example/"}) == "https://ev.example"


def test_site_url_defaults_to_the_allowed_host_in_production() -> None:
    assert site_url(PRODUCTION_ENV) == "https://plugway.example.com"
