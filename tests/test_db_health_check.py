"""The database connection's health check (config/db): skipped for a connection in use a moment
ago, still run after a pause, so a connection that died while idle is replaced, not failed on."""

import time

import psycopg
import pytest
from django.db import connection

from config.db.base import HEALTH_CHECK_IDLE

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's backend"),
]


def request_starts() -> None:
    """What Django does for the database when a request starts (request_started)."""
    connection.close_if_unusable_or_obsolete()


def test_a_connection_that_died_while_idle_is_replaced_before_the_next_query() -> None:
    connection.ensure_connection()
    assert connection.health_check_enabled
    pid = connection.connection.info.backend_pid
    dsn = connection.get_connection_params()
    params = {k: v for k, v in dsn.items() if k in ("host", "port", "user", "password", "dbname")}
    with psycopg.connect(**params, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])  # the server dropped it
    connection.last_used = time.monotonic() - HEALTH_CHECK_IDLE - 0.1

    request_starts()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        assert cursor.fetchone()[0] != pid


def test_a_connection_used_a_moment_ago_is_not_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    checks: list[bool] = []
    monkeypatch.setattr(connection, "is_usable", lambda: checks.append(True) or True)

    request_starts()
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    assert checks == []  # no SELECT 1 round trip before this request's query

    connection.last_used = time.monotonic() - HEALTH_CHECK_IDLE - 0.1
    request_starts()
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    assert checks == [True]  # after a pause, checked once
