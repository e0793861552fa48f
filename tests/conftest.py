"""Fixtures shared by the whole suite.

Tests run Celery tasks in-process unless they ask for `celery_worker`, which starts a real
worker on the real Redis named by REDIS_URL. Each test gets its own cache key prefix, so rate
limits and cached answers never leak between tests, even on a shared Redis; nor do the partners
OCPI authentication remembers, or the EVSEs the status fast path remembers.
"""

import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
import redis
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.conf import settings as django_settings
from django.contrib.auth.models import User
from django.db import connection
from kombu import pools as kombu_pools
from pytest_django.fixtures import Settings

from config.celery import app as celery_app
from locator.catalogue import known_evses
from roaming.ocpi import known_partners

ROOT = Path(__file__).resolve().parent.parent
# The sandbox CPO fixtures, for the sandbox's own tests and for roaming's end-to-end ones.
pytest_plugins = ["tests.sandbox.fixtures"]


@pytest.fixture(autouse=True)
def _isolated_cache(settings: Settings) -> None:
    settings.CACHES = {
        name: {**config, "KEY_PREFIX": f"test-{uuid.uuid4().hex}"}
        for name, config in django_settings.CACHES.items()
    }


@pytest.fixture(autouse=True)
def _nothing_remembered(monkeypatch: pytest.MonkeyPatch) -> None:
    """Partners and EVSEs an earlier test's calls remembered were rolled back with its
    database."""
    monkeypatch.setattr(known_partners, "_known", None)
    monkeypatch.setattr(known_evses, "_known", None)


@pytest.fixture(autouse=True)
def _eager_celery() -> Iterator[None]:
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = eager


def with_authenticator(user: User) -> User:
    """A staff member as the admin admits one: with an authenticator app set up
    (config.accounts.StaffMfaMiddleware)."""
    TOTP.activate(user, generate_totp_secret())
    return user


@pytest.fixture
def admin_user(admin_user: User) -> User:
    """pytest-django's superuser (and so `admin_client`), with an authenticator app."""
    return with_authenticator(admin_user)


def skip_or_fail(reason: str) -> None:
    """Skip a test whose real service is missing; CI (PLUGWAY_REQUIRE_SERVICES=1) fails instead."""
    if os.environ.get("PLUGWAY_REQUIRE_SERVICES") == "1":
        pytest.fail(f"required service missing: {reason}")
    pytest.skip(reason)


def database_connect(*, autocommit: bool = False) -> psycopg.Connection:
    """A connection of its own to the test database (PostgreSQL), e.g. to hold row locks."""
    params = connection.settings_dict
    return psycopg.connect(
        dbname=params["NAME"],
        user=params["USER"],
        password=params["PASSWORD"],
        host=params["HOST"],
        port=params["PORT"] or None,
        autocommit=autocommit,
    )


def redis_unreachable_reason() -> str | None:
    url = os.environ.get("REDIS_URL")
    if not url:
        return "REDIS_URL is not set, so there is no Redis for a real Celery worker"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.RedisError as exc:
        return f"no Redis answers at REDIS_URL ({exc})"
    return None


@dataclass
class CeleryWorker:
    queue: str
    mail_dir: Path


@contextmanager
def celery_workers(
    queue: str,
    mail_dir: Path,
    *,
    app: str = "config",
    count: int = 1,
    pool: str = "solo",
    concurrency: int = 1,
    env: dict[str, str] | None = None,
    log_dir: Path | None = None,
) -> Iterator[list[subprocess.Popen[bytes]]]:
    """`count` real `celery worker` processes on Redis, consuming `queue`, mailing to files in
    `mail_dir`; stopped on exit. With `log_dir`, each logs at INFO (every task received and
    finished, with its id) to `<log_dir>/<queue>-<n>.log` instead of the test's output."""
    reason = redis_unreachable_reason()
    if reason:
        skip_or_fail(reason)
    worker_env = os.environ | {
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(mail_dir),
        **(env or {}),
    }
    names = [f"{queue}-{n}" for n in range(count)]
    processes = [
        process_start(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                app,
                "worker",
                f"--pool={pool}",
                f"--concurrency={concurrency}",
                "-Q",
                queue,
                "-n",
                f"{name}@%h",
                "--without-gossip",
                "--without-mingle",
                "--loglevel=" + ("INFO" if log_dir else "WARNING"),
            ],
            worker_env,
            log_dir / f"{name}.log" if log_dir else None,
        )
        for name in names
    ]
    celery_app.conf.task_always_eager = False
    try:
        deadline = time.monotonic() + 60
        for name, process in zip(names, processes, strict=True):
            while not celery_app.control.ping(
                destination=[f"{name}@{socket.gethostname()}"], timeout=0.5
            ):
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("a Celery worker did not start; its output is above")
        yield processes
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)
        # Close what talking to the workers left open in this process (a reply consumer may be
        # mid-BRPOP): a child forked later (a pull's reader) runs kombu's after-fork cleanup on
        # these inherited sockets and would wait for ever on a reply that is not its own.
        broker_pools_reset()


def process_start(
    argv: list[str], env: dict[str, str], log: Path | None
) -> subprocess.Popen[bytes]:
    """A child in the repository's root, its output in `log` (else the test's output)."""
    if log is None:
        return subprocess.Popen(argv, cwd=ROOT, env=env)
    with log.open("wb") as out:
        return subprocess.Popen(argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)


@pytest.fixture
def celery_worker(tmp_path: Path) -> Iterator[CeleryWorker]:
    """A real `celery worker` process on Redis, consuming a queue of its own.

    It sends mail to files in `mail_dir`, so a test can read what the worker delivered.
    """
    worker = CeleryWorker(queue=f"test-{uuid.uuid4().hex[:12]}", mail_dir=tmp_path / "mail")
    with celery_workers(worker.queue, worker.mail_dir):
        yield worker


def broker_pools_reset() -> None:
    """Close every pooled broker connection of this process and forget the pools and the result
    backend, so the app builds fresh ones (on the broker and backend URLs it has now) on its
    next use."""
    kombu_pools.reset()
    celery_app._pool = None
    celery_app.amqp._producer_pool = None
    celery_app._backend_cache = None  # the result backend, made again from the conf when used
    celery_app._local.__dict__.pop("backend", None)


@pytest.fixture
def worker_database(monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker started from here on uses the test database (request this before
    `celery_worker`)."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        pytest.skip("a worker process shares the test database only on PostgreSQL")
    monkeypatch.setenv(
        "DATABASE_URL", url.rsplit("/", 1)[0] + "/" + connection.settings_dict["NAME"]
    )


@pytest.fixture
def default_queue(celery_worker: CeleryWorker) -> Iterator[None]:
    """Tasks sent without a queue go to the test worker's queue."""
    previous = celery_app.conf.task_default_queue
    celery_app.conf.task_default_queue = celery_worker.queue
    yield
    celery_app.conf.task_default_queue = previous


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.fixture
def broker_unreachable(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Celery as in production (not eager), with its broker on a loopback port where nothing
    listens: Redis is down. Yields that broker URL."""
    from config import outbox

    url = f"redis://127.0.0.1:{free_port()}/0"
    previous = celery_app.conf.broker_url
    monkeypatch.setattr(outbox, "_broker_down_until", 0.0)
    celery_app.conf.task_always_eager = False
    celery_app.conf.broker_url = url
    broker_pools_reset()
    yield url
    celery_app.conf.broker_url = previous
    broker_pools_reset()


@dataclass
class RedisServer:
    """A redis-server of the test's own on a free loopback port, to stop and start again."""

    port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--save", ""],
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                redis.Redis.from_url(self.url, socket_connect_timeout=0.5).ping()
                return
            except redis.RedisError:
                if time.monotonic() > deadline:
                    pytest.fail(f"redis-server did not start on port {self.port}")
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    if shutil.which("redis-server") is None:
        skip_or_fail("redis-server is not installed")
    server = RedisServer(port=free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def own_broker(redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[RedisServer]:
    """Celery's broker is `redis_server`, here and in a worker started after this fixture, so a
    test can stop and start the broker under a real worker."""
    from config import outbox

    monkeypatch.setenv("REDIS_URL", redis_server.url)
    monkeypatch.setattr(outbox, "_broker_down_until", 0.0)
    previous = celery_app.conf.broker_url, celery_app.conf.result_backend
    celery_app.conf.broker_url = celery_app.conf.result_backend = redis_server.url
    broker_pools_reset()
    yield redis_server
    celery_app.conf.broker_url, celery_app.conf.result_backend = previous
    broker_pools_reset()
