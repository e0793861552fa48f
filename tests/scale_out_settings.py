"""Settings of the processes tests/test_scale_out.py starts (web, Celery workers, beat): the
app's own, with all Celery work on the test's queue (SCALE_OUT_QUEUE) and every interval job of
beat's schedule due every BEAT_PERIOD seconds, so each runs several times within the test. The
daily and half-hourly (crontab) jobs keep their schedules."""

import os
from datetime import timedelta

from config.settings import *  # noqa: F403 (these are the app's settings, changed below)
from config.settings import CELERY_BEAT_SCHEDULE

BEAT_PERIOD = 3.0

CELERY_TASK_DEFAULT_QUEUE = os.environ.get("SCALE_OUT_QUEUE", "celery")
CELERY_BEAT_SCHEDULE = {
    name: {**job, "schedule": timedelta(seconds=BEAT_PERIOD)}
    if isinstance(job["schedule"], timedelta)
    else job
    for name, job in CELERY_BEAT_SCHEDULE.items()
}
