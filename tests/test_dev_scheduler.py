"""`scripts/dev.py run` starts Celery beat, so the embedded default (no Redis: tasks eager) runs
production's scheduled jobs: a start the charger never answers times out and the driver is told."""

import importlib.util
import os
import signal
import subprocess
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone

from roaming.models import ChargingSession, Command, CommandType, Partner, PartnerState
from tests.roaming.charging import session_row

ROOT = Path(__file__).resolve().parent.parent


def dev_script():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("dev", ROOT / "scripts" / "dev.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the scheduler process needs the test database"
)
@pytest.mark.django_db(transaction=True)
def test_a_start_never_answered_times_out_on_the_embedded_default(tmp_path: Path) -> None:
    driver = get_user_model().objects.create_user(username="driver", email="d@example.com")
    partner = Partner.objects.create(name="Quiet CPO", state=PartnerState.ACTIVE)
    session = session_row(driver, partner, state="accepted")
    Command.objects.create(
        partner=partner,
        session=session,
        type=CommandType.START_SESSION,
        status=Command.Status.WAITING,
        result_due_at=timezone.now() - timedelta(seconds=1),
    )
    db = connection.settings_dict
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")}
    env["DATABASE_URL"] = (
        f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    )
    if db.get("PASSWORD"):
        env["DATABASE_URL"] = env["DATABASE_URL"].replace("@", f":{db['PASSWORD']}@", 1)
    scheduler = subprocess.Popen(
        dev_script().scheduler_command(tmp_path / "celerybeat-schedule"),
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120  # the job runs every 15 s; the machine may be busy
        while time.monotonic() < deadline:
            session.refresh_from_db()
            if session.state != "accepted":
                break
            time.sleep(0.5)
    finally:
        os.killpg(scheduler.pid, signal.SIGTERM)
        scheduler.wait(timeout=30)
    assert session.state == "timed_out"
    assert session.state_message.startswith("The charger did not answer. Nothing was charged.")
    assert (
        ChargingSession.objects.get(pk=session.pk)
        .events.filter(cause="No result from the charger in time")
        .exists()
    )
