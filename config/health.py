"""`/healthz` for load balancers: is this process able to serve?

Database and cache/broker are required (503 when either fails). Celery workers are reported
but do not fail the check: a web process is still useful while workers restart.
"""

import time
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from config.celery import app as celery_app

WORKER_STATUS_CACHE_KEY = "healthz:workers"
WORKER_STATUS_TTL = 15


def check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def check_cache() -> None:
    cache.set("healthz:probe", "ok", 10)
    if cache.get("healthz:probe") != "ok":
        raise RuntimeError("cache did not return what was written")


def worker_status() -> dict[str, Any]:
    """How many workers answered a ping; cached briefly so probes do not flood the broker."""
    if celery_app.conf.task_always_eager:
        return {"ok": True, "detail": "tasks run eagerly in the web process"}
    cached: dict[str, Any] | None = cache.get(WORKER_STATUS_CACHE_KEY)
    if cached is not None:
        return cached
    status: dict[str, Any]
    try:
        replies = celery_app.control.ping(timeout=settings.HEALTHZ_WORKER_TIMEOUT) or []
        status = {"ok": bool(replies), "workers": len(replies)}
    except Exception as exc:  # any broker failure is reported, not raised
        status = {"ok": False, "detail": type(exc).__name__}
    cache.set(WORKER_STATUS_CACHE_KEY, status, WORKER_STATUS_TTL)
    return status


def run_check(check: Any) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        check()
    except Exception as exc:  # a failing dependency is the answer, not an error
        return {"ok": False, "detail": type(exc).__name__}
    return {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 1)}


@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    checks = {"database": run_check(check_database), "cache": run_check(check_cache)}
    try:
        checks["worker"] = worker_status()
    except Exception as exc:  # the cache itself may be down
        checks["worker"] = {"ok": False, "detail": type(exc).__name__}
    serving = checks["database"]["ok"] and checks["cache"]["ok"]
    return JsonResponse({"ok": serving, "checks": checks}, status=200 if serving else 503)
