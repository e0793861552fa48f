"""The database going away: the app answers 503 with Retry-After at once, never a 500 and never
a hang, and serves again by itself once the database is back; work a worker meets during the
outage is done once it is back, not lost (issue 16).

The test makes a PostgreSQL cluster of its own on a free port (so the shared server is never
touched), serves the app from it with gunicorn and a real Celery worker (on the suite's Redis),
stops the cluster, puts a server that accepts connections and never answers in its place (a
database host gone silent), and starts it again.
"""

import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
import pytest
from django.db import InterfaceError, OperationalError

from config.celery import app as celery_app
from config.db.errors import database_unreachable
from tests.conftest import celery_workers, skip_or_fail

ROOT = Path(__file__).resolve().parent.parent
PG_BIN = Path(os.environ.get("PLUGWAY_PG_BIN", "/usr/lib/postgresql/15/bin"))
ANSWER_WITHIN = 3.0  # seconds, the bound
# Search, a page, and an OCPI call (answered by a middleware, so through handler500), each with
# what it answers while the database is up.
PAGES = {
    "/api/v1/stations/?lat=52.37&lon=4.89&radius_km=5": 200,
    "/": 200,
    "/ocpi/versions": 401,
}
PARTNER = {"Authorization": "Token bm90LWEtcGFydG5lcg=="}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def as_postgres(*command: str | Path, check: bool = True) -> None:
    """PostgreSQL refuses to run as root: its tools run as the `postgres` user when we are."""
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    done = subprocess.run(
        [*prefix, *map(str, command)], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0 or not check, f"{command[0]}: {done.stdout}{done.stderr}"


@dataclass
class Cluster:
    directory: Path
    port: int

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/plugway_down"

    def start(self) -> None:
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1"
        try:
            as_postgres(
                PG_BIN / "pg_ctl", "-D", self.directory / "data", "-o", options,
                "-l", self.directory / "log", "-w", "start",
            )  # fmt: skip
        except AssertionError as failure:
            raise AssertionError(f"{failure}\n{(self.directory / 'log').read_text()}") from None

    def stop(self) -> None:
        as_postgres(PG_BIN / "pg_ctl", "-D", self.directory / "data", "-m", "fast", "-w", "stop")


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    if not (PG_BIN / "initdb").exists():
        skip_or_fail(f"no PostgreSQL server binaries at {PG_BIN} (set PLUGWAY_PG_BIN)")
    directory = Path(tempfile.mkdtemp(prefix="plugway-db-down-"))
    if os.geteuid() == 0:
        shutil.chown(directory, "postgres", "postgres")
    made = Cluster(directory=directory, port=free_port())
    as_postgres(PG_BIN / "initdb", "-D", directory / "data", "-A", "trust", "-U", "postgres")
    made.start()
    try:
        as_postgres(PG_BIN / "createdb", "-h", "127.0.0.1", "-p", made.port, "plugway_down")
        yield made
    finally:
        as_postgres(
            PG_BIN / "pg_ctl", "-D", directory / "data", "-m", "immediate", "stop", check=False
        )
        shutil.rmtree(directory, ignore_errors=True)


def app_env(cluster: Cluster) -> dict[str, str]:
    return {
        key: value
        for key, value in os.environ.items()
        if key not in ("REDIS_URL", "DJANGO_SETTINGS_MODULE")
    } | {"DATABASE_URL": cluster.url, "DEBUG": "0"}


@pytest.fixture
def app(cluster: Cluster) -> Iterator[str]:
    """The app, migrated onto the cluster and served by gunicorn as in production (DEBUG off),
    with no Redis: the database is the only service that goes away here."""
    env = app_env(cluster)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--no-input", "-v0"],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=300,
    )
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable, "-m", "gunicorn", "config.wsgi:application",
            "--bind", f"127.0.0.1:{port}", "--workers", "2", "--timeout", "30",
            "--log-level", "warning",
        ],
        cwd=ROOT,
        env=env,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and server.poll() is None:
            try:
                if httpx.get(f"{base}/api/v1/map/?zoom=3&bbox=0,0,1,1").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        else:
            pytest.fail("gunicorn did not start serving; its output is above")
        yield base
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)


@pytest.fixture
def worker(cluster: Cluster, app: str, tmp_path: Path) -> Iterator[str]:
    """A real Celery worker on the (migrated) cluster, its broker the suite's Redis; yields the
    queue it consumes."""
    queue = f"test-{uuid.uuid4().hex[:12]}"
    with celery_workers(queue, tmp_path / "mail", env={"DATABASE_URL": cluster.url}):
        yield queue


def cdr_stored(cluster: Cluster) -> int:
    """A partner's CDR still to bill, stored on the cluster. It matches no session of ours, so
    billing it needs no Stripe: it becomes "unmatched", for an admin."""
    code = (
        "from django.utils import timezone\n"
        "from roaming.models import ChargeDetailRecord, Partner\n"
        "now = timezone.now()\n"
        "cdr = ChargeDetailRecord.objects.create(\n"
        "    partner=Partner.objects.create(name='CPO'), country_code='NL', party_id='CPO',\n"
        "    cdr_id='CDR-1', payload={}, currency='EUR', total_cost=500,\n"
        "    total_cost_excl_vat=413, total_energy=10, total_time_hours=1, started_at=now,\n"
        "    ended_at=now)\n"
        "print(cdr.pk)\n"
    )
    done = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env=app_env(cluster),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return int(done.stdout.split()[-1])


def billing_of(cluster: Cluster, cdr: int) -> str:
    with psycopg.connect(cluster.url) as database:
        row = database.execute(
            "SELECT billing FROM roaming_chargedetailrecord WHERE id = %s", [cdr]
        ).fetchone()
    assert row is not None
    return str(row[0])


class SilentServer:
    """Accepts TCP connections on a port and never says a word: a database host that hangs."""

    def __init__(self, port: int) -> None:
        self.listener = socket.create_server(("127.0.0.1", port))
        self.held: list[socket.socket] = []
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self) -> None:
        while True:
            try:
                self.held.append(self.listener.accept()[0])
            except OSError:  # closed
                return

    def close(self) -> None:
        self.listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept(), freeing the port
        self.listener.close()
        for held in self.held:
            held.close()


def assert_unavailable_at_once(base: str) -> None:
    for path in PAGES:
        started = time.monotonic()
        response = httpx.get(base + path, headers=PARTNER, timeout=30)
        took = time.monotonic() - started
        print(f"{path}: {response.status_code} in {took:.2f} s")  # shown with -s
        assert response.status_code == 503, (path, response.status_code, response.text[:300])
        assert took < ANSWER_WITHIN, (path, took)
        assert int(response.headers["Retry-After"]) > 0
        if path == "/":
            assert "Try again in a minute" in response.text
        else:
            assert response.json()["code"] == "unavailable"


def serving(base: str) -> bool:
    return all(
        httpx.get(base + path, headers=PARTNER).status_code == status
        for path, status in PAGES.items()
    )


def test_database_down_answers_503_at_once_and_everything_recovers_by_itself(
    cluster: Cluster, app: str, worker: str
) -> None:
    assert serving(app)
    cdr = cdr_stored(cluster)

    cluster.stop()
    # Billing reaches the worker during the outage (it was queued before, or is a retry).
    billing = celery_app.send_task("roaming.tasks.cdr_bill_task", args=[cdr], queue=worker)
    for _ in range(2):  # each gunicorn worker, whatever connection it held
        assert_unavailable_at_once(app)

    silent = SilentServer(cluster.port)
    try:
        assert_unavailable_at_once(app)
    finally:
        silent.close()
    assert billing.state == "RETRY"  # not failed, acknowledged and lost, as it used to be

    cluster.start()
    back = time.monotonic()
    deadline = back + 15
    while not serving(app) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert all(serving(app) for _ in range(4))  # every worker, every path
    assert billing.get(timeout=90) == "unmatched"  # billed (here: held for an admin) by itself
    print(f"billing done {time.monotonic() - back:.1f} s after the database was back")
    assert billing_of(cluster, cdr) == "unmatched"


def wrapped(cause: Exception) -> OperationalError:
    """An error as Django raises it from the driver's."""
    error = OperationalError(str(cause))
    error.__cause__ = cause
    return error


@pytest.mark.parametrize(
    ("error", "outage"),
    [
        (wrapped(psycopg.OperationalError("connection refused")), True),
        (wrapped(psycopg.errors.AdminShutdown()), True),
        (wrapped(psycopg.errors.CannotConnectNow()), True),
        (InterfaceError("connection already closed"), True),
        (wrapped(psycopg.errors.QueryCanceled()), False),
        (wrapped(psycopg.errors.DeadlockDetected()), False),
        (wrapped(sqlite3.OperationalError("no such table: x")), False),
        (ValueError("not a database error"), False),
    ],
)
def test_only_an_unreachable_database_is_an_outage(error: Exception, outage: bool) -> None:
    """A query that failed is a bug or a conflict to see, not a 503 to retry."""
    assert database_unreachable(error) is outage
