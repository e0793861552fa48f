"""Django's PostgreSQL backend, checking a persistent connection's health only after a pause.

With CONN_HEALTH_CHECKS Django sends `SELECT 1` before the first query of every request, a
round trip that cost as much as the real-time token authorization's own query. The check is
there for a connection that died while it sat idle (the server restarted, a proxy or firewall
dropped it): one used moments ago was alive then, so it is checked only when it has been idle
for HEALTH_CHECK_IDLE seconds. Under steady traffic that is almost never; after a quiet spell,
always. A connection that fails mid-request is still closed at the request's end (Django checks
it when an error occurred), and the next request opens a new one.
"""

import time
from typing import Any

from django.db.backends.postgresql import base

HEALTH_CHECK_IDLE = 1.0


class DatabaseWrapper(base.DatabaseWrapper):
    last_used = 0.0  # monotonic time of this connection's last cursor

    def close_if_health_check_failed(self) -> None:
        if self.connection is not None and time.monotonic() - self.last_used < HEALTH_CHECK_IDLE:
            self.health_check_done = True  # in use a moment ago: no round trip to check it
        super().close_if_health_check_failed()

    def create_cursor(self, name: Any = None) -> Any:
        self.last_used = time.monotonic()
        return super().create_cursor(name)
