#!/usr/bin/env python3
"""Charging benchmark: 200 drivers charge at once against the sandbox CPO, and each charge must
end settled, nothing left pending: one receipt, and the hold captured for the CDR's cost plus our
fee with the rest released, or, for a free charge (CDR 0.00: no fee), released whole.

    .venv/bin/python bench/charging.py [--charges 200] [--ramp 60] [--threads 4]

1. Starts localstripe (scripts/localstripe_server.py), a sandbox CPO (`manage.py sandbox_cpo`,
   CommandResults after --command-delay, Session PATCHes every --push-interval), and the app
   as in production: gunicorn (DEBUG off; README's 4 sync workers unless --threads) on a fresh
   PostgreSQL database, Redis, Celery worker and beat. DJANGO_ENV stays `development`:
   production refuses STRIPE_API_BASE (localstripe). The sandbox sends every push (command
   results, Session PUT/PATCHes, EVSE statuses, CDRs) in order from one thread and drops one
   not answered within 5 s, so a short --push-interval at 200 sessions queues the command
   results behind PATCHes until the starts time out (60 s keeps them flowing).
2. Registers with the sandbox through the real handshake (`partner_register`) and pulls its
   stations (`partner_sync --full`).
3. Makes --charges drivers, each with a card saved in localstripe the way the card page does
   (SetupIntent, the browser's confirm, save) and a driver token, each signed in (a session
   cookie per driver, as Django's force_login makes it; CSRF as a browser sends it).
4. Each driver, in its own thread (all started within --ramp seconds), through HTTP: its own
   startable EVSE (station API `can_start`), POST /api/v1/sessions/, polls GET until active,
   charges --charge-seconds, POST .../stop/, polls until the session is completed and its
   receipt exists (the CDR billed).
5. Prints the wall time, start -> active and stop -> billed p50/p95 (by the database's clock,
   and as the driver saw it polling every --poll seconds, 2.5 like the live session page),
   and what the database and localstripe hold afterwards.

Not a test: it prints figures. Needs PostgreSQL (BENCH_DATABASE_URL) and Redis (BENCH_REDIS_URL;
the whole Redis db is flushed first); defaults below. Token authorize: bench/token_authorize.py.
"""

import argparse
import os
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
import redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import processes  # noqa: E402 (after the path is set)

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/plugway_bench_charging"
DEFAULT_REDIS = "redis://127.0.0.1:6379/14"
TOKEN_A = "bench-charging-a"  # noqa: S105 (the sandbox's throwaway registration token)
VISA = "4242424242424242"
FAILED_ENDS = {"rejected", "failed", "timed_out", "cancelled"}


@dataclass
class Charge:
    """One driver's charge as the driver saw it through the API."""

    driver: str
    evse: int
    session: str = ""
    started: float = 0.0  # when the POST was sent (monotonic)
    start_sent_at: float = 0.0  # the same, as a Unix time, to compare with the database's
    stop_sent_at: float = 0.0
    start_reply: float | None = None  # how long the POST took to answer
    active_after: float | None = None
    stop_after: float | None = None  # from the stop POST to completed with a receipt
    outcome: str = "start not answered"
    seen: list[str] = field(default_factory=list)  # the states the driver saw, in order


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--charges", type=int, default=200)
    parser.add_argument("--stations", type=int, default=300, help="sandbox locations")
    parser.add_argument("--charge-seconds", type=float, default=20.0)
    parser.add_argument("--command-delay", type=float, default=0.2)
    parser.add_argument(
        "--push-interval",
        type=float,
        default=60.0,
        help="seconds between a session's PATCHes (the sandbox sends every push from one thread)",
    )
    parser.add_argument(
        "--poll", type=float, default=2.5, help="seconds between a driver's GETs (as the page)"
    )
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers (README: 4)")
    parser.add_argument(
        "--threads", type=int, default=1, help="threads per gunicorn worker (README: 1, sync)"
    )
    parser.add_argument(
        "--ramp", type=float, default=0, help="spread the Start presses over this many seconds"
    )
    parser.add_argument("--concurrency", type=int, default=2, help="Celery worker processes")
    parser.add_argument("--patience", type=float, default=300, help="seconds a charge may take")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("terminated"))  # still stop the children

    database_url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB)
    redis_url = os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS)
    processes.fresh_database(database_url)
    redis.Redis.from_url(redis_url).flushdb()  # queued tasks and cache of an earlier run
    app_port, cpo_port, stripe_port = (processes.free_port() for _ in range(3))
    site = f"http://127.0.0.1:{app_port}"
    env = processes.app_env(database_url, redis_url, app_port) | {
        "DJANGO_ENV": "development",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "STRIPE_API_BASE": f"http://127.0.0.1:{stripe_port}",
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
    }
    processes.manage(env, "migrate", "--no-input")
    os.environ.update(env)  # this process saves the cards and signs the drivers in

    children: list[subprocess.Popen[bytes]] = []
    logs = Path(tempfile.mkdtemp(prefix="plugway-bench-charging-"))
    print(f"logs of localstripe, the sandbox, gunicorn (and access.log), Celery: {logs}/")
    try:
        children.append(
            processes.spawn(
                env,
                processes.PYTHON,
                "scripts/localstripe_server.py",
                "--port",
                str(stripe_port),
                log=logs / "localstripe.log",
            )
        )
        sandbox, versions_url = processes.sandbox_start(
            env,
            cpo_port,
            args.stations,
            "--command-delay",
            str(args.command_delay),
            "--push-interval",
            str(args.push_interval),
            "--vehicle-kwh",
            "60",
            token_a=TOKEN_A,
            log=logs / "sandbox.log",
        )
        children.append(sandbox)
        children.append(
            processes.gunicorn_start(
                "config.wsgi",
                app_port,
                env,
                args.workers,
                "--threads",
                str(args.threads),
                "--timeout",
                "30",
                "--access-logfile",
                str(logs / "access.log"),
                "--access-logformat",
                "%(t)s %(m)s %(U)s %(s)s %(D)s",  # %(D)s: microseconds in the worker
                production=False,
                log=logs / "gunicorn.log",
            )
        )
        children.append(
            processes.celery_start(
                env, "worker", "--concurrency", str(args.concurrency), log=logs / "worker.log"
            )
        )
        children.append(
            processes.celery_start(
                env, "beat", "--schedule", str(logs / "beat-schedule"), log=logs / "beat.log"
            )
        )
        processes.wait_for(versions_url)
        processes.wait_for(f"{site}/healthz")
        processes.wait_for(f"http://127.0.0.1:{stripe_port}/_config/requests")
        print(processes.partner_register(env, "Bench CPO", versions_url, TOKEN_A))
        print(
            processes.manage(env, "partner_sync", "Bench CPO", "--full", "--verbosity", "0").strip()
        )

        started = time.monotonic()
        cookies = drivers_make(args.charges, f"http://127.0.0.1:{stripe_port}")
        print(
            f"{args.charges} drivers with a saved card, a token and a session cookie in "
            f"{time.monotonic() - started:.1f} s"
        )
        evses = evses_startable(site, cookies[0][1], args.charges)
        charges = [
            Charge(driver=name, evse=evse) for (name, _), evse in zip(cookies, evses, strict=True)
        ]

        load = os.getloadavg()
        started = time.monotonic()
        threads = [
            threading.Thread(target=charge_run, args=(site, cookie, charge, args), daemon=True)
            for (_, cookie), charge in zip(cookies, charges, strict=True)
        ]
        for n, thread in enumerate(threads):
            time.sleep(max(0.0, started + args.ramp * n / len(threads) - time.monotonic()))
            thread.start()
        for thread in threads:  # each charge gives up --patience after its start
            thread.join(timeout=max(0.0, started + args.ramp + args.patience - time.monotonic()))
        wall = time.monotonic() - started
        report(charges, wall, load, args, database_url, f"http://127.0.0.1:{stripe_port}")
    finally:
        processes.children_stop(children)


def drivers_make(count: int, stripe_url: str) -> list[tuple[str, dict[str, str]]]:
    """`count` drivers, each with a card saved through payments' services against localstripe
    (SetupIntent, the confirm Stripe.js would send, save) and a driver token; returns each
    driver's name and cookies (session, CSRF). Eight at a time."""
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client

    from payments.services import payment_method_save, payment_method_setup_start
    from roaming.services.tokens import driver_token_issue

    def make(n: int) -> tuple[str, dict[str, str]]:
        name = f"driver{n:03d}"
        try:
            user = get_user_model().objects.create_user(username=name, email=f"{name}@example.com")
            setup = payment_method_setup_start(user=user)
            stripe_setup_confirm(stripe_url, setup.client_secret)
            payment_method_save(user=user, setup_intent_id=setup.id)
            driver_token_issue(user=user)
            client = Client()
            client.force_login(user)
            session = client.cookies[settings.SESSION_COOKIE_NAME].value
        finally:
            connection.close()
        return name, {
            settings.SESSION_COOKIE_NAME: session,
            settings.CSRF_COOKIE_NAME: secrets.token_hex(16),  # a browser's csrftoken cookie
        }

    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(make, range(count)))


def stripe_setup_confirm(stripe_url: str, client_secret: str) -> None:
    """What Stripe.js does in the browser: confirm the SetupIntent with the card."""
    seti = client_secret.split("_secret_")[0]
    reply = httpx.post(
        f"{stripe_url}/v1/setup_intents/{seti}/confirm",
        json={
            "key": "pk_test_localstripe",
            "client_secret": client_secret,
            "payment_method_data": {
                "type": "card",
                "card": {"number": VISA, "exp_month": 12, "exp_year": 2034, "cvc": "123"},
            },
        },
        headers={"Authorization": "Bearer pk_test_localstripe"},
    )
    reply.raise_for_status()


def api_client(site: str, cookies: dict[str, str]) -> httpx.Client:
    from django.conf import settings

    return httpx.Client(
        base_url=site,
        cookies=cookies,
        headers={"X-CSRFToken": cookies[settings.CSRF_COOKIE_NAME]},
        timeout=60,
        # Forget an idle connection before gunicorn's keep-alive (2 s) closes it under us.
        limits=httpx.Limits(keepalive_expiry=1.0),
    )


def evses_startable(site: str, cookies: dict[str, str], count: int) -> list[int]:
    """`count` distinct EVSEs the station API says can start and are AVAILABLE."""
    from locator.models import Location

    found: list[int] = []
    with api_client(site, cookies) as client:
        for pk in Location.objects.filter(visible=True).order_by("pk").values_list("pk", flat=True):
            station = client.get(f"/api/v1/stations/{pk}/").json()
            found += [
                e["id"] for e in station["evses"] if e["can_start"] and e["status"] == "AVAILABLE"
            ]
            if len(found) >= count:
                return found[:count]
    sys.exit(f"only {len(found)} startable EVSEs in the sandbox: raise --stations")


def charge_run(
    site: str, cookies: dict[str, str], charge: Charge, args: argparse.Namespace
) -> None:
    """One driver's charge, as the live session page drives it."""
    deadline = time.monotonic() + args.patience
    with api_client(site, cookies) as client:
        charge.started, charge.start_sent_at = time.monotonic(), time.time()
        reply = client.post("/api/v1/sessions/", json={"evse": charge.evse})
        charge.start_reply = time.monotonic() - charge.started
        if reply.status_code != 201:
            charge.outcome = f"start {reply.status_code} {reply.json().get('code')}"
            return
        charge.session = reply.json()["id"]
        charge.outcome = "still waiting to go active"
        path = f"/api/v1/sessions/{charge.session}/"
        body = until(
            client,
            path,
            args.poll,
            deadline,
            charge.seen,
            lambda b: b["state"] not in ("requested", "accepted"),
        )
        if body is None or body["state"] != "active":
            charge.outcome = f"never active: {body and body['state']} {body and body['message']}"
            return
        charge.active_after = time.monotonic() - charge.started
        charge.outcome = "still waiting to be billed"
        time.sleep(args.charge_seconds)
        stopped, charge.stop_sent_at = time.monotonic(), time.time()
        reply = client.post(f"{path}stop/")
        if reply.status_code != 202:
            charge.outcome = f"stop {reply.status_code} {reply.json().get('code')}"
            return
        body = until(
            client,
            path,
            args.poll,
            deadline,
            charge.seen,
            lambda b: b["state"] in FAILED_ENDS or (b["state"] == "completed" and b["receipt_url"]),
        )
        if body is None or not body["receipt_url"]:
            charge.outcome = f"not billed: {body and body['state']} {body and body['message']}"
            return
        charge.stop_after = time.monotonic() - stopped
        charge.outcome = "billed"


def until(
    client: httpx.Client,
    path: str,
    poll: float,
    deadline: float,
    seen: list[str],
    done: Callable[[dict[str, Any]], Any],
) -> dict[str, Any] | None:
    """GET the session every `poll` seconds until `done(body)` or the deadline; the last body.
    Each new state is added to `seen`."""
    body: dict[str, Any] | None = None
    while time.monotonic() < deadline:
        try:
            reply = client.get(path)
        except httpx.TransportError:  # as the page does: try again at the next poll
            time.sleep(poll)
            continue
        if reply.status_code == 200:
            body = dict(reply.json())
            if not seen or seen[-1] != body["state"]:
                seen.append(body["state"])
            if done(body):
                return body
        time.sleep(poll)
    return body


def percentiles(values: list[float]) -> str:
    if len(values) < 2:
        return "n/a"
    cuts = statistics.quantiles(values, n=20, method="inclusive")
    return f"p50 {statistics.median(values):.2f} s, p95 {cuts[18]:.2f} s, max {max(values):.2f} s"


def report(
    charges: list[Charge],
    wall: float,
    load: tuple[float, float, float],
    args: argparse.Namespace,
    database_url: str,
    stripe_url: str,
) -> None:
    """Latencies, then what the database and localstripe hold once the drivers are done."""
    with psycopg.connect(database_url, autocommit=True) as conn:

        def rows(sql: str) -> list[tuple[Any, ...]]:
            return conn.execute(sql).fetchall()

        active_at = dict(
            rows(
                "SELECT s.public_id::text, extract(epoch FROM min(e.created_at))::float "
                "FROM roaming_sessionevent e JOIN roaming_chargingsession s ON s.id = e.session_id "
                "WHERE e.to_state = 'active' GROUP BY s.public_id"
            )
        )
        receipt_at = dict(
            rows(
                "SELECT s.public_id::text, extract(epoch FROM r.issued_at)::float "
                "FROM payments_receipt r JOIN roaming_chargingsession s "
                "ON s.payment_id = r.payment_id"
            )
        )
        states = dict(rows("SELECT state, count(*) FROM roaming_chargingsession GROUP BY 1"))
        cdrs = dict(rows("SELECT billing, count(*) FROM roaming_chargedetailrecord GROUP BY 1"))
        payments = rows(
            "SELECT kind, status, amount, amount_captured, stripe_payment_intent_id "
            "FROM payments_payment"
        )
        receipts = rows("SELECT count(*) FROM payments_receipt")[0][0]
        # Each session's hold, its receipt and what its billed CDR charged (README, Billing).
        settlements = rows(
            "SELECT p.stripe_payment_intent_id, p.status, r.amount, c.amount "
            "FROM roaming_chargingsession s JOIN payments_payment p ON p.id = s.payment_id "
            "LEFT JOIN payments_receipt r ON r.payment_id = p.id "
            "LEFT JOIN roaming_chargedetailrecord c ON c.session_id = s.id "
            "AND NOT c.credit AND c.billing = 'billed'"
        )

    print(
        f"load average at the start: {' '.join(f'{x:.2f}' for x in load)} ({os.cpu_count()} cores)"
    )
    print(
        f"WALL: {len(charges)} concurrent charges in {wall:.1f} s (each charging "
        f"{args.charge_seconds:g} s; Start presses spread over {args.ramp:g} s; gunicorn "
        f"{args.workers} workers x {args.threads} threads)"
    )
    print("START POST answered: " + percentiles([c.start_reply for c in charges if c.start_reply]))
    print(
        "START -> ACTIVE: "
        + percentiles(
            [active_at[c.session] - c.start_sent_at for c in charges if c.session in active_at]
        )
        + " (POST sent -> 'active' recorded); as the drivers saw it, "
        + f"polling every {args.poll:g} s: "
        + percentiles([c.active_after for c in charges if c.active_after is not None])
    )
    print(
        "STOP -> BILLED: "
        + percentiles(
            [
                receipt_at[c.session] - c.stop_sent_at
                for c in charges
                if c.stop_sent_at and c.session in receipt_at
            ]
        )
        + " (stop POST sent -> receipt written); as the drivers saw it (completed, receipt_url): "
        + percentiles([c.stop_after for c in charges if c.stop_after is not None])
    )
    outcomes = Counter(f"{c.outcome} (seen: {' > '.join(c.seen)})" for c in charges)
    print("OUTCOMES: " + ", ".join(f"{n} {what}" for what, n in outcomes.most_common()))

    holds = [p for p in payments if p[0] == "hold"]
    captured = [p for p in holds if p[1] == "captured"]
    excess = [p for p in payments if p[0] == "excess" and p[1] == "captured"]
    not_final = [p for p in payments if p[1] not in ("captured", "canceled", "failed")]
    released: set[str] = set()  # captured holds whose remainder localstripe released
    with httpx.Client(
        base_url=stripe_url, headers={"Authorization": "Bearer sk_test_localstripe"}
    ) as stripe:
        for _, _, amount, taken, intent in captured:
            charge = stripe.get(f"/v1/payment_intents/{intent}").json()["charges"]["data"][0]
            if taken < amount and charge["amount_refunded"] == amount - taken:
                released.add(intent)
            else:
                print(
                    f"  hold {intent}: {amount} held, {taken} captured, "
                    f"{charge['amount_refunded']} released"
                )
        # A free charge (CDR 0.00) is settled with no capture and no fee: hold released whole.
        free = {
            intent
            for intent, status, receipt, billed in settlements
            if status == "canceled"
            and receipt == 0
            and billed == 0
            and stripe.get(f"/v1/payment_intents/{intent}").json()["status"] == "canceled"
        }
    paid = {
        intent
        for intent, status, receipt, billed in settlements
        if intent in released and receipt is not None and receipt == billed
    }
    live = sum(n for state, n in states.items() if state not in ("completed", *FAILED_ENDS))
    pending = live + cdrs.get("pending", 0) + cdrs.get("review", 0) + len(not_final)
    print("SESSIONS: " + ", ".join(f"{n} {state}" for state, n in sorted(states.items())))
    print("CDRS: " + ", ".join(f"{n} {billing}" for billing, n in sorted(cdrs.items())))
    print(
        f"COUNTS: {states.get('completed', 0)} sessions completed, {len(captured)} captures "
        f"(+{len(excess)} excess charges), {receipts} receipts, {len(released)} holds with the "
        f"remainder released, {len([p for p in holds if p[1] == 'canceled'])} holds released whole"
    )
    print(
        f"SETTLED: {len(paid) + len(free)} of {len(charges)} charges, each with its receipt and "
        f"its hold captured or released: {len(paid)} captured (CDR + fee, the rest released), "
        f"{len(free)} free (CDR 0.00: no fee, no capture, hold released whole, receipt 0.00)"
    )
    print(
        f"PENDING: {live} sessions live, {cdrs.get('pending', 0)} CDRs unbilled "
        f"(+{cdrs.get('review', 0)} held for an admin), {len(not_final)} payments not final"
        + ("" if pending else ": nothing pending")
    )


if __name__ == "__main__":
    main()
