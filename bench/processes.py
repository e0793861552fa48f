"""What the benchmarks start and measure against, as real processes on loopback ports: a fresh
PostgreSQL database, the app under gunicorn, a Celery worker, the sandbox CPO and our
registration with it (`manage.py partner_register`); waiting for each to answer, and stopping
them.
"""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path

import httpx
import psycopg

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
TOKEN_A = "bench-a"  # noqa: S105 (the sandbox's throwaway registration token)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(
    url: str,
    seconds: float = 120,
    *,
    poll: float = 0.2,
    child: subprocess.Popen[bytes] | None = None,
) -> None:
    """Return once `url` answers (any status); exit if it has not within `seconds`, or if
    `child`, the process that should answer, ended."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if child is not None and child.poll() is not None:
            sys.exit(f"{url}: the process that serves it exited with {child.returncode}")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(poll)
    sys.exit(f"{url} did not answer within {seconds:.0f} s")


def fresh_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def app_env(database_url: str, redis_url: str, port: int) -> dict[str, str]:
    """This process's environment and the app's settings for a benchmark: DEBUG off, warnings
    only, the site at `port`."""
    return os.environ | {
        "DATABASE_URL": database_url,
        "DEBUG": "false",
        "SITE_URL": f"http://127.0.0.1:{port}",
        "LOG_LEVEL": "WARNING",
        "REDIS_URL": redis_url,
    }


def manage(env: dict[str, str], *args: str) -> str:
    """Run `manage.py args` to its end; what it printed (exit with its output if it failed)."""
    result = subprocess.run(
        [PYTHON, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    if result.returncode:
        sys.exit(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def spawn(
    env: dict[str, str],
    *argv: str,
    log: Path | None = None,
    quiet: bool = False,
    cwd: Path = ROOT,
) -> subprocess.Popen[bytes]:
    """Start `argv` in `cwd`. Its output (stdout and stderr) goes to the file `log`; without
    one, to this script's output, less its stdout if `quiet`."""
    if log is None:
        stdout = subprocess.DEVNULL if quiet else None
        return subprocess.Popen(argv, cwd=cwd, env=env, stdout=stdout)
    with log.open("wb") as out:
        return subprocess.Popen(argv, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)


def sandbox_start(
    env: dict[str, str],
    port: int,
    stations: int,
    *options: str,
    token_a: str = TOKEN_A,
    log: Path | None = None,
) -> tuple[subprocess.Popen[bytes], str]:
    """The sandbox CPO (`manage.py sandbox_cpo`, seed 7, not logging each request, `options`
    added) with `stations` locations on `port`, and its versions URL. It does not wait: the
    URL answers once the stations are made (`wait_for`). Its output (its versions URL, each
    push it sends) goes to `log`, or is dropped but for its errors."""
    process = spawn(
        env,
        PYTHON,
        "manage.py",
        "sandbox_cpo",
        "--port",
        str(port),
        "--stations",
        str(stations),
        "--seed",
        "7",
        "--token-a",
        token_a,
        "--quiet",
        *options,
        log=log,
        quiet=True,
    )
    return process, f"http://127.0.0.1:{port}/ocpi/versions"


def partner_register(
    env: dict[str, str], name: str, versions_url: str, token_a: str = TOKEN_A
) -> str:
    """Register with the sandbox as `name` through the real handshake (`manage.py
    partner_register`, which the app's call-back URL must answer); the line it printed."""
    return manage(
        env,
        "partner_register",
        "--name",
        name,
        "--versions-url",
        versions_url,
        "--token",
        token_a,
    ).strip()


def celery_start(
    env: dict[str, str], *command: str, log: Path | None = None
) -> subprocess.Popen[bytes]:
    """`celery -A config <command>`: the app's worker (`worker --concurrency 1`) or beat,
    logging warnings to `log` or to this script's output."""
    return spawn(
        env, PYTHON, "-m", "celery", "-A", "config", *command, "--loglevel", "WARNING", log=log
    )


def gunicorn_start(
    app: str,
    port: int,
    env: dict[str, str],
    workers: int,
    *options: str,
    checkout: Path = ROOT,
    production: bool = True,
    log: Path | None = None,
) -> subprocess.Popen[bytes]:
    """gunicorn as README's production deployment runs it (config/gunicorn.conf.py), with
    `options` overriding that (`--worker-class sync --threads 1`: the setup before it), on
    the code of `checkout` (this one's by default). Not `production`: gunicorn's own defaults
    (sync workers unless `--threads`, keep-alive 2 s) and `options`."""
    config = ("--config", str(ROOT / "config" / "gunicorn.conf.py")) if production else ()
    return spawn(
        env,
        str(Path(PYTHON).parent / "gunicorn"),
        *config,
        app,
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--log-level",
        "warning",
        *options,
        log=log,
        cwd=checkout,
    )


def children_stop(children: Iterable[subprocess.Popen[bytes]]) -> None:
    """Terminate every child, then wait for each (killing one that takes over 30 s)."""
    started = list(children)
    for child in started:
        child.terminate()
    for child in started:
        try:
            child.wait(timeout=30)
        except subprocess.TimeoutExpired:
            child.kill()
