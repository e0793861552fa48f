"""Scale-out (issue 16): two web processes (gunicorn), two Celery workers and one beat on
loopback, against one PostgreSQL and one Redis, all with the app's settings except the test's
own queue and a short beat schedule (tests/scale_out_settings.py).

Two sandbox CPOs register, one with each web process, and push there (command results, session
updates, CDRs, EVSE statuses); six drivers start their charges through one web process and stop
them through the other; both workers take whatever is queued. Nothing is processed twice or lost:
each CDR captured once at localstripe with one receipt, every EVSE status as the CPO last sent
it, one pull per trigger, every beat job once per period and every queued task run by one worker.
"""

import itertools
import os
import re
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.test import Client
from pytest_django.fixtures import Settings

from bench.charging import api_client, until
from config.celery import app as celery_app
from config.outbox import task_enqueue
from locator.models import Evse
from payments.models import Payment, Receipt
from roaming.models import ChargeDetailRecord, ChargingSession, Partner, SyncRun
from roaming.services import partner_register
from roaming.tasks import partner_sync_task
from tests.conftest import (
    celery_workers,
    free_port,
    process_start,
    redis_unreachable_reason,
    skip_or_fail,
)
from tests.payments.conftest import (
    LocalStripe,
    card_add,
    localstripe,
    localstripe_server,
)
from tests.roaming.charging import Net, wait_for
from tests.sandbox.fixtures import SandboxHandle
from tests.scale_out_settings import BEAT_PERIOD, CELERY_BEAT_SCHEDULE

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]
__all__ = ["localstripe", "localstripe_server"]  # fixtures

CHARGES = 6
POLL = 0.2  # seconds between a driver's GETs
PATIENCE = 60.0  # seconds a charge may take, start to receipt, on a loaded machine
# While the charges run, each CPO takes this many other AVAILABLE EVSEs through these statuses.
STATUS_EVSES = 5
STATUSES = ("BLOCKED", "OUTOFORDER", "INOPERATIVE")
# Beat runs until it has sent each interval job this many times.
BEAT_SENDS = 3
INTERVAL_JOBS = {
    name for name, job in CELERY_BEAT_SCHEDULE.items() if isinstance(job["schedule"], timedelta)
}
CELERY = [sys.executable, "-m", "celery", "-A", "config"]
# A Celery log line: its time, then what happened to which task.
LOG_TIME = r"^\[(?P<at>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}):"
TASK_DONE = re.compile(LOG_TIME + r".*Task (?P<task>[\w.]+)\[(?P<id>[\w-]+)\] succeeded", re.M)
BEAT_SENT = re.compile(
    LOG_TIME + r".*Scheduler: Sending due task (?P<job>\S+) \((?P<task>[\w.]+)\)", re.M
)


@dataclass
class Web:
    url: str
    process: subprocess.Popen[bytes]


@dataclass
class TaskRun:
    at: datetime
    task: str
    id: str
    worker: str


def log_time(stamp: str) -> datetime:
    return datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S,%f").replace(tzinfo=UTC)


def task_runs(logs: list[Path]) -> list[TaskRun]:
    """Every task the workers finished, as their logs say."""
    return [
        TaskRun(log_time(m["at"]), m["task"], m["id"], log.stem)
        for log in logs
        for m in TASK_DONE.finditer(log.read_text())
    ]


def beat_sends(log: Path) -> dict[tuple[str, str], list[datetime]]:
    """When beat sent each job (name, task), as its log says."""
    sends: dict[tuple[str, str], list[datetime]] = {}
    for m in BEAT_SENT.finditer(log.read_text()):
        sends.setdefault((m["job"], m["task"]), []).append(log_time(m["at"]))
    return sends


@contextmanager
def stopped_on_exit(*processes: subprocess.Popen[bytes]) -> Iterator[None]:
    try:
        yield
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)


def web_start(env: dict[str, str], log: Path) -> Web:
    """A gunicorn of its own (one worker, four threads) on a free loopback port."""
    url = f"http://127.0.0.1:{free_port()}"
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    process = process_start(
        [gunicorn, "config.wsgi", "--bind", url.removeprefix("http://"), "--threads", "4"],
        env | {"SITE_URL": url},
        log,
    )
    return Web(url, process)


def web_wait(web: Web, log: Path) -> None:
    def answers() -> bool:
        if web.process.poll() is not None:
            pytest.fail(f"gunicorn exited: {log.read_text()[-2000:]}")
        try:
            return httpx.get(f"{web.url}/healthz", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    wait_for(answers, timeout=60, what=f"gunicorn at {web.url}")


def signed_in(user: Any) -> dict[str, str]:
    """The cookies of the driver's browser: a session (as Django's login makes it) and CSRF."""
    client = Client()
    client.force_login(user)
    return {
        django_settings.SESSION_COOKIE_NAME: client.cookies[
            django_settings.SESSION_COOKIE_NAME
        ].value,
        django_settings.CSRF_COOKIE_NAME: uuid.uuid4().hex,
    }


def charge(start_at: str, stop_at: str, cookies: dict[str, str], evse: Evse) -> str:
    """One driver's charge as the live session page drives it: started through `start_at`,
    followed and stopped through `stop_at` once the CPO reports a cost (a charge that costs
    nothing is released, not captured), then followed through
    `start_at` until it is completed with its receipt. Returns the session's id."""
    deadline = time.monotonic() + PATIENCE
    seen: list[str] = []
    with api_client(start_at, cookies) as first, api_client(stop_at, cookies) as second:
        reply = first.post("/api/v1/sessions/", json={"evse": evse.pk})
        assert reply.status_code == 201, reply.text
        path = f"/api/v1/sessions/{reply.json()['id']}/"
        body = until(
            second,
            path,
            POLL,
            deadline,
            seen,
            lambda b: b["state"] not in ("requested", "accepted", "active") or b["cost"]["amount"],
        )
        assert body is not None, (evse.uid, seen)
        assert body["state"] == "active", (evse.uid, seen, body)
        assert body["cost"]["amount"] > 0, f"{evse.uid}: the CPO reported no cost in time"
        reply = second.post(f"{path}stop/")
        assert reply.status_code == 202, reply.text
        body = until(
            first,
            path,
            POLL,
            deadline,
            seen,
            lambda b: b["state"] not in ("active", "stopping") and b["receipt_url"],
        )
        assert body is not None, (evse.uid, seen)
        assert body["state"] == "completed", (evse.uid, seen, body)
        return str(body["id"])


def evse_priced(net: Net, exclude: list[int]) -> Evse:
    """An EVSE to charge at whose tariff is not free, so that its CDR is captured (a free
    charge's hold is released instead)."""
    skipped = list(exclude)
    while True:
        evse = net.evse(exclude=tuple(skipped))
        if net.sandbox_evse(evse)["connectors"][0]["tariff_ids"] != ["AC-FREE"]:
            return evse
        skipped.append(evse.pk)


def statuses_apart(partner: Partner, sandbox: SandboxHandle) -> dict[str, tuple[str, str]]:
    """The EVSEs whose status we hold differs from the CPO's: {uid: (ours, theirs)}."""
    theirs = {uid: evse["status"] for uid, (_, evse) in sandbox.cpo.catalogue.evses.items()}
    ours = dict(
        Evse.objects.filter(location__source=f"partner:{partner.pk}").values_list("uid", "status")
    )
    return {
        uid: (ours.get(uid, "missing"), status)
        for uid, status in theirs.items()
        if ours.get(uid) != status
    }


def until_none(check: Callable[[], Any], *, timeout: float) -> Any:
    """Wait for `check()` to return nothing; what it last returned."""
    deadline = time.monotonic() + timeout
    while (found := check()) and time.monotonic() < deadline:
        time.sleep(0.2)
    return found


def test_two_webs_and_two_workers_process_everything_once(
    request: pytest.FixtureRequest,
    localstripe: LocalStripe,
    sandbox_cpo_factory: Callable[..., SandboxHandle],
    settings: Settings,
    tmp_path: Path,
) -> None:
    started = time.monotonic()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        skip_or_fail("the scale-out test shares one PostgreSQL between its processes")
    if reason := redis_unreachable_reason():
        skip_or_fail(reason)
    request.getfixturevalue("worker_database")  # the processes use this test's database
    queue = f"scale-out-{uuid.uuid4().hex[:8]}"
    mail_dir, logs = tmp_path / "mail", tmp_path / "logs"
    logs.mkdir()
    env = os.environ | {
        "DJANGO_SETTINGS_MODULE": "tests.scale_out_settings",
        "SCALE_OUT_QUEUE": queue,
        "DJANGO_ENV": "development",  # production refuses localstripe
        "DEBUG": "false",
        "STRIPE_API_BASE": localstripe.url,
        "STRIPE_SECRET_KEY": "sk_test_localstripe",
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(mail_dir),
    }
    previous_queue = celery_app.conf.task_default_queue
    celery_app.conf.task_default_queue = queue
    celery_app.conf.task_always_eager = False
    broker = redis.Redis.from_url(os.environ["REDIS_URL"])
    sandboxes = [
        sandbox_cpo_factory(stations=20, party_id=party, seed=seed, push_timeout=10.0)
        for party, seed in (("SBX", 7), ("SBY", 8))
    ]
    webs = [web_start(env, logs / f"web{n}.log") for n in (1, 2)]
    try:
        with (
            stopped_on_exit(*(web.process for web in webs)),
            celery_workers(queue, mail_dir, count=2, env=env, log_dir=logs),
        ):
            for n, web in enumerate(webs, 1):
                web_wait(web, logs / f"web{n}.log")
            # Each CPO registers with its own web process (our versions URL is that web's), so
            # it pushes there; both pulls are triggered as an admin's "pull now" does.
            partners = []
            for n, (web, sandbox) in enumerate(zip(webs, sandboxes, strict=True), 1):
                settings.SITE_URL = web.url
                partners.append(
                    partner_register(
                        name=f"CPO {n}", versions_url=sandbox.versions_url, token_a=sandbox.token_a
                    )
                )
            for partner in partners:
                task_enqueue(partner_sync_task, partner.pk, True)
            pulled = SyncRun.objects.filter(partner__in=partners, state="succeeded")
            wait_for(lambda: pulled.count() == 2, timeout=60, what="both full pulls")
            # Beat starts once the pulls are done, so every pull it asks for would be its own.
            beat = process_start(
                [*CELERY, "beat", "--loglevel=INFO", "--schedule", str(tmp_path / "beat")],
                env,
                logs / "beat.log",
            )
            with stopped_on_exit(beat):
                nets = [
                    Net(sandbox=sandbox, partner=partner, localstripe=localstripe)
                    for sandbox, partner in zip(sandboxes, partners, strict=True)
                ]
                picked: list[int] = []
                charges = []
                for n in range(CHARGES):
                    driver = get_user_model().objects.create_user(
                        username=f"driver{n}", email=f"driver{n}@example.com"
                    )
                    card_add(localstripe, driver)
                    evse = evse_priced(nets[n // 2 % 2], picked)
                    picked.append(evse.pk)
                    # Started through one web process, stopped through the other.
                    sites = (webs[n % 2].url, webs[(n + 1) % 2].url)
                    charges.append((*sites, signed_in(driver), evse))
                with ThreadPoolExecutor(CHARGES) as pool:
                    running = [pool.submit(charge, *c) for c in charges]
                    # Meanwhile each CPO changes other EVSEs' statuses, several times each.
                    for net in nets:
                        for _ in range(STATUS_EVSES):
                            evse = net.evse(exclude=tuple(picked))
                            picked.append(evse.pk)
                            for status in STATUSES:
                                net.sandbox.cpo.simulator.evse_status_push(evse.uid, status)
                    sessions = [run.result() for run in running]
                apart = [
                    until_none(partial(statuses_apart, net.partner, net.sandbox), timeout=30)
                    for net in nets
                ]

                def beat_sends_short() -> set[str]:
                    sent = {job: len(t) for (job, _), t in beat_sends(logs / "beat.log").items()}
                    return {job for job in INTERVAL_JOBS if sent.get(job, 0) < BEAT_SENDS}

                wait_for(
                    lambda: not beat_sends_short(),
                    timeout=BEAT_PERIOD * BEAT_SENDS + 30,
                    what=f"beat to send each interval job {BEAT_SENDS} times",
                )
            # Beat is stopped: wait for the workers to finish what it sent, then compare.
            sends = beat_sends(logs / "beat.log")
            worker_logs = sorted(logs.glob(f"{queue}-*.log"))

            def runs_behind() -> dict[str, tuple[int, int]]:
                done = Counter(run.task for run in task_runs(worker_logs))
                return {
                    job: (len(times), done[task])
                    for (job, task), times in sends.items()
                    if len(times) != done[task]
                }

            behind = until_none(runs_behind, timeout=60)
            runs = task_runs(worker_logs)
    finally:
        celery_app.conf.task_default_queue = previous_queue
        broker.delete(queue)

    print(f"\nscale-out: {time.monotonic() - started:.1f} s; logs in {logs}")
    # Every charge billed once: completed with its receipt, one capture per CDR at Stripe.
    assert len(set(sessions)) == CHARGES
    assert ChargingSession.objects.filter(state="completed").count() == CHARGES
    cdrs = ChargeDetailRecord.objects.all()
    assert [cdr.billing for cdr in cdrs] == [ChargeDetailRecord.Billing.BILLED] * CHARGES
    captures = localstripe.writes("/capture")
    holds = Payment.objects.filter(kind=Payment.Kind.HOLD)
    assert sorted(captures) == sorted(
        f"/v1/payment_intents/{pi}/capture"
        for pi in holds.values_list("stripe_payment_intent_id", flat=True)
    )
    assert len(set(captures)) == CHARGES, "a hold was captured twice, or a CDR was not billed"
    for cdr in cdrs.select_related("session__payment"):
        assert cdr.session.payment.amount_captured == cdr.amount
    assert Receipt.objects.count() == CHARGES
    mails = "".join(p.read_text() for p in mail_dir.iterdir())
    assert mails.count("Subject: Your Plugway receipt") == CHARGES
    # No status push lost, whichever web process took it: we hold what each CPO last sent.
    assert apart == [{}, {}]
    # One pull per trigger, however often beat asked which pulls are due.
    assert [run.task for run in runs].count(partner_sync_task.name) == 2
    assert list(SyncRun.objects.values_list("kind", "state")) == [("full", "succeeded")] * 2
    # Every task sent was run by one worker only, and both workers took work.
    assert [i for i, n in Counter(run.id for run in runs).items() if n > 1] == []
    assert {run.worker for run in runs} == {f"{queue}-0", f"{queue}-1"}
    # Each beat job ran once per period: beat sent it every BEAT_PERIOD, and each send ran once.
    assert behind == {}
    for (job, _), times in sends.items():
        gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(times)]
        assert all(BEAT_PERIOD * 0.9 <= gap < BEAT_PERIOD * 2 for gap in gaps), (job, gaps)
