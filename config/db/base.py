"""Django's PostgreSQL backend, checking a persistent connection's health only after a pause.

With CONN_HEALTH_CHECKS Django sends `SELECT 1` before the first query of every request, a
round trip that cost as much as the real-time token authorization's own query. The check is
there for a connection that died while it sat idle (the server restarted, a proxy or firewall
dropped it): one used moments ago was alive then, so it is checked only when it has been idle
for HEALTH_CHECK_IDLE seconds. Under steady traffic that is almost never; after a quiet spell,
always. A connection that fails mid-request is still closed at the request's end (Django checks
it when an error occurred), and the next request opens a new one.

It also gives a cursor whose statements PostgreSQL prepares (`prepared_cursor`), for a hot
statement whose planning costs more than running it.
"""

import time
from typing import Any, Self

import psycopg
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.postgresql import base
from django.db.backends.utils import CursorDebugWrapper, CursorWrapper

HEALTH_CHECK_IDLE = 1.0
# Django sets psycopg's prepare_threshold to None, which also refuses a statement prepared on
# request; a threshold no statement reaches by repetition prepares only what is asked for.
PREPARE_ONLY_WHEN_ASKED = 2**62


class PreparingCursor(psycopg.Cursor[Any]):
    """A server-side binding cursor that has PostgreSQL prepare every statement it runs."""

    def execute(
        self,
        query: Any,
        params: Any = None,
        *,
        prepare: bool | None = None,
        binary: bool | None = None,
    ) -> Self:
        return super().execute(query, params, prepare=True, binary=binary)


class DatabaseWrapper(base.DatabaseWrapper):
    last_used = 0.0  # monotonic time of this connection's last cursor

    def get_connection_params(self) -> dict[str, Any]:
        params: dict[str, Any] = super().get_connection_params()
        if params.get("prepare_threshold") is None:
            params["prepare_threshold"] = PREPARE_ONLY_WHEN_ASKED
        return params

    def close_if_health_check_failed(self) -> None:
        if self.connection is not None and time.monotonic() - self.last_used < HEALTH_CHECK_IDLE:
            self.health_check_done = True  # in use a moment ago: no round trip to check it
        super().close_if_health_check_failed()

    def create_cursor(self, name: Any = None) -> Any:
        self.last_used = time.monotonic()
        return super().create_cursor(name)

    def prepared_cursor(self) -> CursorWrapper:
        """A cursor as `cursor()` gives (logged, errors wrapped, the health check kept) whose
        statements PostgreSQL prepares: each is planned once on this connection, and later
        runs with other parameter values reuse the plan where PostgreSQL finds it as good.

        Django turns psycopg's automatic preparing off, for connection poolers in transaction
        mode; such a pooler needs prepared-statement support (PgBouncer 1.21+) for this."""
        self.close_if_health_check_failed()
        self.ensure_connection()
        self.last_used = time.monotonic()
        self.validate_thread_sharing()
        cursor = PreparingCursor(self.connection)
        wrapper = CursorDebugWrapper if self.queries_logged else CursorWrapper
        return wrapper(cursor, self)


def statement_cursor(database: BaseDatabaseWrapper) -> CursorWrapper:
    """A cursor for a hot raw statement: prepared (`DatabaseWrapper.prepared_cursor`) on this
    backend, Django's plain cursor on another (the embedded SQLite)."""
    if isinstance(database, DatabaseWrapper):
        return database.prepared_cursor()
    return database.cursor()
