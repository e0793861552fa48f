"""The reference for bench/roaming_ingest.py's status PATCHes: what this design costs bare.

    gunicorn -c config/gunicorn.conf.py bench.patch_reference:application

A minimal WSGI app doing per PATCH only what the receiver's design cannot do without: one
parse of the body, and the same one Redis EVALSHA (status_queue.QUEUE_IF, through the same
redis-py client) that queues the change, answered with an OCPI envelope. Served by the same
gunicorn settings beside Plugway, its rate is this machine's ceiling for the design; what
Plugway adds (Django, authentication, the adapter's validation, the push counter) is the
difference. It queues under keys of its own, which nothing drains (the bench deletes them).
Not part of the app, and it checks nothing: the EVSE, the token and the party are taken as
given.
"""

import os
from datetime import UTC, datetime

import django
import orjson

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()

from config.redis_connection import redis_connection  # noqa: E402 (after django.setup)
from locator.catalogue.status_queue import queue_script  # noqa: E402

QUEUE_KEY = "bench:reference:status-pushes"
DRAIN_SCHEDULED_KEY = "bench:reference:drain-scheduled"
CLIENT = redis_connection()


def application(environ: dict, start_response):  # type: ignore[no-untyped-def,type-arg]
    path = environ["PATH_INFO"].split("/")
    if len(path) != 8:  # not /ocpi/{version}/locations/{cc}/{party}/{location}/{evse}
        start_response("404 Not Found", [("Content-Length", "0")])
        return [b""]
    country_code, party_id, location_id, evse_uid = path[4:]
    body = orjson.loads(environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0)))
    item = {
        "source": "reference",
        "country_code": country_code,
        "party_id": party_id,
        "location_id": location_id,
        "evse_uid": evse_uid,
        "status": body["status"],
        "last_updated": datetime.fromisoformat(body["last_updated"]).isoformat(),
    }
    assert CLIENT is not None, "REDIS_URL is not set"
    keys = (QUEUE_KEY, DRAIN_SCHEDULED_KEY, QUEUE_KEY, QUEUE_KEY)
    queue_script(CLIENT)(keys, (orjson.dumps(item), 200, "", ""))
    answer = orjson.dumps({"status_code": 1000, "timestamp": datetime.now(UTC).isoformat()})
    start_response(
        "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(answer)))]
    )
    return [answer]
