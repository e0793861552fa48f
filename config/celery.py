"""The Celery app. Configured from Django settings (the CELERY_* names); tasks are found in each
app's tasks.py and in config.tasks, and all are `PlugwayTask`s."""

import os
import random
from typing import Any

from celery import Celery, Task
from django.db import InterfaceError, OperationalError

from config.db.errors import database_unreachable

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

# A task that finds the database unreachable is tried again after 1, 2, 4... seconds, then once
# a minute, for about a day.
DATABASE_RETRY_MAX_SECONDS = 60
DATABASE_RETRIES = 24 * 60


class PlugwayTask(Task[Any, Any]):
    """Every task of ours. One that finds the database unreachable is tried again, with capped
    exponential backoff, until the database is back: failing would have Celery acknowledge the
    message and the work (a CDR's billing, a Stripe event's processing) would be lost. A task
    beat schedules is left to fail: its next run does the work, and retrying each run would
    pile the copies up through a long outage. Each task's own retries (a partner, Stripe
    unreachable) are its own business; every task is safe to run twice anyway.

    Eager (the embedded default, and most tests) the error is raised: no broker holds a retry.
    """

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().__call__(*args, **kwargs)
        except (OperationalError, InterfaceError) as error:
            if self.request.is_eager or not database_unreachable(error) or self.scheduled:
                raise
            backoff = min(DATABASE_RETRY_MAX_SECONDS, 2**self.request.retries)
            countdown = backoff * random.uniform(0.5, 1.0)  # noqa: S311
            retry = self.retry(exc=error, countdown=countdown, max_retries=DATABASE_RETRIES)
            raise retry from error

    @property
    def scheduled(self) -> bool:
        """Whether beat runs this task on a schedule."""
        return any(entry["task"] == self.name for entry in self.app.conf.beat_schedule.values())


app = Celery("plugway", include=["config.tasks"], task_cls=PlugwayTask)
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
