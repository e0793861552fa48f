"""Which database errors mean the database cannot be reached: the web answers those with a 503
(config.middleware), and a task that meets one is tried again later (config.celery)."""

import psycopg
from django.db import InterfaceError, OperationalError

# SQLSTATEs of a server that is shutting down or not yet accepting connections; class 08 is a
# connection exception. (A client-side failure to connect or a dropped socket has none.)
SERVER_GOING_OR_COMING = {"57P01", "57P02", "57P03"}


def database_unreachable(exception: BaseException) -> bool:
    """Whether this error means the database cannot be reached (down, restarting, silent past
    the connect timeout), as opposed to a query that failed: only the first is worth a retry."""
    if isinstance(exception, InterfaceError):  # the connection was closed under us
        return True
    if not isinstance(exception, OperationalError):
        return False
    cause = exception.__cause__
    if not isinstance(cause, psycopg.OperationalError):
        return False  # SQLite's "database is locked" and friends are not an outage
    state = cause.sqlstate
    return state is None or state.startswith("08") or state in SERVER_GOING_OR_COMING
