#!/usr/bin/env python3
"""Token authorize benchmark: how fast a partner's real-time authorization is answered.

    .venv/bin/python bench/token_authorize.py [--drivers 100000] [--seconds 15] [--reuse]

1. Builds a fresh PostgreSQL database (BENCH_DATABASE_URL) with --drivers drivers, each with a
   billing account, a card (3 % have none), four captured charges, 3 % with a failed charge
   above the hold (unpaid), and a driver token; then runs the token reconciliation once (its
   time at this size is printed, then again: the minutely run's) so every stored validity is
   current. One CPO partner. `--reuse` skips the build and uses an earlier run's database.
2. Serves the app as README's "Production deployment" does: `DJANGO_ENV=production` settings,
   `gunicorn -c config/gunicorn.conf.py config.wsgi`, PostgreSQL and Redis. Production insists on
   secrets; this benchmark calls no Stripe and signs nothing that leaves it, so it passes
   throwaway ones (SECRET_KEY, STRIPE_*). Requests carry `X-Forwarded-Proto: https`, as the TLS
   proxy in front of gunicorn adds.
3. wrk (Debian package `wrk`) sends `POST /ocpi/2.2.1/tokens/{uid}/authorize?type=APP_USER`
   with a LocationReferences body, for random drivers, first over one connection (a lone
   request's latency), then over --connections (throughput under load; the default, 4, keeps
   each of the 4 workers busy without queueing requests behind them).
4. References, measured in the same run on the same machine:
   - the same lookup as bare SQL: the statement Django sends, on one psycopg connection;
   - a minimal WSGI app (a fixed JSON answer) under the same gunicorn and the same wrk load:
     the floor that HTTP, gunicorn and wrk set before any Django or database work.

Prints p50/p95/p99 in milliseconds, requests/s and the server's CPU time per request (which
other load on a shared machine inflates far less than it does latency). The goal: authorize
p95 <= 10 ms.
Not a test: it prints figures. Needs PostgreSQL, Redis and wrk; defaults below.
"""

import argparse
import base64
import os
import random
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import processes  # noqa: E402 (after the path is set)
from bench.roaming_ingest import process_tree_cpu  # noqa: E402

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/plugway_bench_tokens"
DEFAULT_REDIS = "redis://127.0.0.1:6379/10"
CPO_TOKEN = "bench-cpo-token"  # noqa: S105 (only in the benchmark's throwaway database)
NO_CARD_SHARE = 0.03
UNPAID_SHARE = 0.03
CHARGES_EACH = 4
BODY = '{"location_id": "LOC-1", "evse_uids": ["NL*SBX*E1"]}'

WRK_LUA = """
local uids = {}
for line in io.lines("%(uids)s") do uids[#uids + 1] = line end
local headers = {
  ["Authorization"] = "Token %(token)s",
  ["Content-Type"] = "application/json",
  ["X-Forwarded-Proto"] = "https",
}
local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("seed", counter)
end
function init(args)
  math.randomseed(seed * 7919 + os.time())
end
request = function()
  local uid = uids[math.random(#uids)]
  return wrk.format("POST", "%(path)s" .. uid .. "%(query)s", headers, '%(body)s')
end
"""

# What `wrk_run` reads: appended to a request script (a %-template, like WRK_LUA).
WRK_RESULT_LUA = """
done = function(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    "RESULT %%d %%d %%d %%f %%f %%f %%f\\n",
    summary.requests,
    errors.status,
    errors.connect + errors.read + errors.write + errors.timeout,
    summary.duration / 1e6,
    latency:percentile(50) / 1e3,
    latency:percentile(95) / 1e3,
    latency:percentile(99) / 1e3))
end
"""
WRK_LUA += WRK_RESULT_LUA


def minimal_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """The reference WSGI app: reads the body and answers a fixed OCPI-sized JSON body."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    if length:
        environ["wsgi.input"].read(length)
    body = b'{"data": {"allowed": "ALLOWED"}, "status_code": 1000}' + b" " * 300
    start_response(
        "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    )
    return [body]


def django_setup(database_url: str, redis_url: str) -> None:
    os.environ.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        LOG_LEVEL="WARNING",
    )
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def drivers_build(count: int) -> list[str]:
    """`count` drivers with cards, charges and tokens; returns every token uid."""
    from django.contrib.auth.models import User
    from django.db import connection
    from django.utils import timezone

    from payments.models import BillingAccount, Payment, PaymentMethod
    from roaming.crypto import token_hash
    from roaming.models import DriverToken, Partner, PartnerState
    from roaming.services.tokens import contract_id_new, uid_new

    rng = random.Random(7)  # noqa: S311 - a reproducible data set, not a secret
    batch = 5000
    now = timezone.now()
    uids: list[str] = []
    for first in range(0, count, batch):
        size = min(batch, count - first)
        unusable = "!"  # no password: these drivers never sign in
        users = User.objects.bulk_create(
            [User(username=f"driver{first + n}", password=unusable) for n in range(size)]
        )
        accounts = BillingAccount.objects.bulk_create(
            [BillingAccount(user=user, stripe_customer_id=f"cus_{user.pk}") for user in users]
        )
        cards = PaymentMethod.objects.bulk_create(
            [
                PaymentMethod(
                    account=account,
                    stripe_payment_method_id=f"pm_{account.pk}",
                    brand="visa",
                    last4="4242",
                    exp_month=rng.randint(1, 12),
                    exp_year=now.year + rng.randint(1, 5),
                )
                for account in accounts
            ]
        )
        for account, card in zip(accounts, cards, strict=True):
            account.default_payment_method = None if rng.random() < NO_CARD_SHARE else card
        BillingAccount.objects.bulk_update(accounts, ["default_payment_method"])
        payments = []
        for account, card in zip(accounts, cards, strict=True):
            for charge in range(CHARGES_EACH):
                reference = f"session-{account.pk}-{charge}"
                payments.append(
                    Payment(
                        account=account,
                        reference=reference,
                        status=Payment.Status.CAPTURED,
                        amount=5000,
                        amount_to_capture=1234,
                        amount_captured=1234,
                        currency="eur",
                        payment_method=card,
                        idempotency_key=f"hold-{reference}",
                        captured_at=now,
                    )
                )
            if rng.random() < UNPAID_SHARE:
                reference = f"session-{account.pk}-{CHARGES_EACH - 1}"
                payments.append(
                    Payment(
                        account=account,
                        kind=Payment.Kind.EXCESS,
                        reference=reference,
                        status=Payment.Status.FAILED,
                        amount=800,
                        currency="eur",
                        payment_method=card,
                        idempotency_key=f"excess-{reference}",
                        failure_code="card_declined",
                    )
                )
        Payment.objects.bulk_create(payments)
        tokens = DriverToken.objects.bulk_create(
            [DriverToken(user=user, uid=uid_new(), contract_id=contract_id_new()) for user in users]
        )
        uids += [token.uid for token in tokens]
        print(f"\r  {first + size:,} drivers", end="", flush=True)
    print()
    Partner.objects.create(
        name="Bench CPO",
        state=PartnerState.ACTIVE,
        version="2.2.1",
        inbound_token_hash=token_hash(CPO_TOKEN),
    )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    return uids


def bare_sql_latencies(uids: list[str], samples: int) -> list[float]:
    """The authorize lookup as bare SQL: the statement Django sends (prepared, the uid its only
    parameter), on one connection."""
    import psycopg
    from django.db import connection

    from roaming.selectors import token_lookup_compiled

    statement = token_lookup_compiled().prepared_sql
    settings = connection.settings_dict
    latencies = []
    with psycopg.connect(
        dbname=settings["NAME"],
        user=settings["USER"],
        password=settings["PASSWORD"] or None,
        host=settings["HOST"],
        port=settings["PORT"] or 5432,
        autocommit=True,
    ) as conn:
        for uid in random.Random(3).choices(uids, k=samples):  # noqa: S311
            started = time.perf_counter()
            conn.execute(statement, [uid], prepare=True).fetchall()
            latencies.append((time.perf_counter() - started) * 1000)
    return latencies


def percentiles(values: list[float]) -> tuple[float, float, float]:
    cuts = statistics.quantiles(values, n=100)
    return cuts[49], cuts[94], cuts[98]


def wrk_run(
    wrk: str, base: str, script: Path, *, connections: int, seconds: int, server_pid: int
) -> dict[str, float]:
    """One wrk run; with the CPU time the server (gunicorn and its workers) spent per request,
    which other load on the machine does not inflate the way it does latency."""
    threads = min(2, connections)
    cpu_before = process_tree_cpu(server_pid)
    result = subprocess.run(
        [wrk, f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "-s", str(script), base],
        capture_output=True,
        text=True,
        check=True,
    )
    cpu = process_tree_cpu(server_pid) - cpu_before
    match = re.search(r"^RESULT (.*)$", result.stdout, re.MULTILINE)
    if match is None:
        sys.exit(f"wrk printed no result:\n{result.stdout}\n{result.stderr}")
    requests, bad_status, socket_errors, duration, p50, p95, p99 = (
        float(value) for value in match.group(1).split()
    )
    return {
        "requests": requests,
        "bad_status": bad_status,
        "socket_errors": socket_errors,
        "rate": requests / duration,
        "p50": p50,
        "p95": p95,
        "p99": p99,
        "cpu_ms": cpu * 1000 / max(requests, 1),
    }


def verdicts_check(base: str, uids: list[str]) -> dict[str, int]:
    """Ask about a sample of drivers (and one unknown uid) and count the answers."""
    import httpx

    from roaming.models import DriverToken

    counts: dict[str, int] = {}
    headers = {
        "Authorization": "Token " + base64.b64encode(CPO_TOKEN.encode()).decode(),
        "X-Forwarded-Proto": "https",
    }
    blocked = list(DriverToken.objects.filter(valid=False).values_list("uid", flat=True)[:50])
    with httpx.Client(base_url=base, headers=headers) as client:
        sample = random.Random(5).sample(uids, 200)  # noqa: S311
        for uid in [*sample, *blocked, "0" * 24]:
            reply = client.post(f"/ocpi/2.2.1/tokens/{uid}/authorize?type=APP_USER", content=BODY)
            body = reply.json()
            verdict = (
                body["data"]["allowed"] if reply.status_code == 200 else str(body["status_code"])
            )
            counts[verdict] = counts.get(verdict, 0) + 1
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--drivers", type=int, default=100_000)
    parser.add_argument("--seconds", type=int, default=15, help="each wrk run")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers (README: 4)")
    parser.add_argument(
        "--connections", type=int, default=4, help="wrk connections under load (one a worker)"
    )
    parser.add_argument("--sql-samples", type=int, default=5000)
    parser.add_argument(
        "--reuse", action="store_true", help="use the drivers an earlier run left in the database"
    )
    args = parser.parse_args()
    wrk = shutil.which("wrk")
    if not wrk:
        sys.exit("wrk is not installed: apt-get install wrk")
    database_url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB)
    redis_url = os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS)
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    if not args.reuse:
        processes.fresh_database(database_url)
    django_setup(database_url, redis_url)
    from roaming.models import DriverToken
    from roaming.services.tokens import driver_tokens_reconcile

    if args.reuse and DriverToken.objects.count() == args.drivers:
        uids = list(DriverToken.objects.values_list("uid", flat=True))
        print(f"BUILD: reused the {args.drivers:,} drivers already in {database_url}")
    else:
        if args.reuse:
            sys.exit(f"--reuse: {database_url} does not hold {args.drivers:,} drivers")
        started = time.monotonic()
        uids = drivers_build(args.drivers)
        took = time.monotonic() - started
        print(f"BUILD: {args.drivers:,} drivers with cards, charges and tokens in {took:.0f} s")
    for run in ("first", "again"):
        started = time.monotonic()
        issued, changed = driver_tokens_reconcile()
        print(
            f"RECONCILE ({run}): {args.drivers:,} tokens in {time.monotonic() - started:.1f} s "
            f"({changed:,} changed, {issued} issued)"
        )

    app_port, floor_port = processes.free_port(), processes.free_port()
    env = os.environ | {
        "DJANGO_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "STRIPE_SECRET_KEY": "sk_test_bench_not_called",
        "STRIPE_PUBLISHABLE_KEY": "pk_test_bench_not_called",
        "STRIPE_WEBHOOK_SECRET": "whsec_bench_not_called",
        "SITE_URL": f"http://127.0.0.1:{app_port}",
        "LOG_LEVEL": "WARNING",
    }
    env.pop("STRIPE_API_BASE", None)
    env.pop("DEBUG", None)
    children = [
        processes.gunicorn_start("config.wsgi", app_port, env, args.workers),
        processes.gunicorn_start(
            "bench.token_authorize:minimal_app", floor_port, env, args.workers
        ),
    ]
    try:
        processes.wait_for(f"http://127.0.0.1:{app_port}/healthz")
        processes.wait_for(f"http://127.0.0.1:{floor_port}/")
        base = f"http://127.0.0.1:{app_port}"
        print(f"VERDICTS (250 drivers, then 1 unknown uid): {verdicts_check(base, uids)}")

        sql = bare_sql_latencies(uids, args.sql_samples)
        figures: dict[str, dict[str, float]] = {}
        with tempfile.TemporaryDirectory() as tmp:
            uid_file = Path(tmp) / "uids.txt"
            uid_file.write_text("\n".join(uids))
            token = base64.b64encode(CPO_TOKEN.encode()).decode()
            authorize = Path(tmp) / "authorize.lua"
            authorize.write_text(
                WRK_LUA
                % {
                    "uids": uid_file,
                    "token": token,
                    "path": "/ocpi/2.2.1/tokens/",
                    "query": "/authorize?type=APP_USER",
                    "body": BODY,
                }
            )
            floor = Path(tmp) / "floor.lua"
            floor.write_text(
                WRK_LUA % {"uids": uid_file, "token": token, "path": "/", "query": "", "body": BODY}
            )
            for name, script, port, server in (
                ("authorize", authorize, app_port, children[0]),
                ("minimal WSGI app", floor, floor_port, children[1]),
            ):
                # A short loaded run first warms up: every worker connects and remembers the
                # partner. Then one connection (a lone request), then the load.
                runs = ((args.connections, 2), (1, args.seconds), (args.connections, args.seconds))
                for connections, seconds in runs:
                    figures[f"{name}, {connections} conn"] = wrk_run(
                        wrk,
                        f"http://127.0.0.1:{port}",
                        script,
                        connections=connections,
                        seconds=seconds,
                        server_pid=server.pid,
                    )
    finally:
        processes.children_stop(children)

    print()
    print(
        f"Token authorize through HTTP: gunicorn ({args.workers} workers, config/gunicorn.conf.py, "
        "production "
        f"settings), PostgreSQL, Redis, wrk; {args.drivers:,} drivers; all on the same "
        f"{os.cpu_count()} cores"
    )
    print(
        f"{'':32} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'req/s':>9} {'errors':>7} "
        f"{'server CPU ms/req':>18}"
    )
    for name, measured in figures.items():
        errors = int(measured["bad_status"] + measured["socket_errors"])
        print(
            f"{name:32} {measured['p50']:8.2f} {measured['p95']:8.2f} {measured['p99']:8.2f} "
            f"{measured['rate']:9,.0f} {errors:7d} {measured['cpu_ms']:18.2f}"
        )
    p50, p95, p99 = percentiles(sql)
    print(f"{'bare SQL (same statement)':32} {p50:8.2f} {p95:8.2f} {p99:8.2f} {len(sql):>9,}x")
    p95_loaded = figures[f"authorize, {args.connections} conn"]["p95"]
    outcome = "met" if p95_loaded <= 10 else "NOT met"
    print(f"\nGOAL authorize p95 <= 10 ms under load: {outcome} ({p95_loaded:.2f} ms)")
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
