"""Pushes from the sandbox CPO to the registered eMSP, over real HTTP, in order, never raising.

One worker thread sends the queued requests one at a time, so an eMSP sees a CommandResult
before the Session PUT it announces, and the PUT before its PATCHes. Every send has a timeout;
a failed push is logged and dropped (OCPI never queues failed pushes: the receiver resyncs by
GET). A down eMSP therefore costs at most `timeout` per push and never stops the server.
"""

from __future__ import annotations

import logging
import queue
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson

logger = logging.getLogger("sandbox.push")

JSON_OPTIONS = orjson.OPT_UTC_Z | orjson.OPT_OMIT_MICROSECONDS


@dataclass
class PushRecord:
    method: str
    url: str
    status: int | None
    error: str = ""


@dataclass
class _Push:
    method: str
    url: str
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


class Pusher:
    """A FIFO of pushes to one eMSP, sent by a single worker thread."""

    def __init__(self, *, timeout: float, max_queued: int = 10_000) -> None:
        self._queue: queue.Queue[_Push | None] = queue.Queue(maxsize=max_queued)
        self._client = httpx.Client(timeout=httpx.Timeout(timeout, connect=min(timeout, 2.0)))
        self._thread = threading.Thread(target=self._run, name="sandbox-push", daemon=True)
        self.history: list[PushRecord] = []  # the last pushes, for logs and tests

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Drop what is still queued (as a shutdown loses it anyway) and end the worker."""
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        self._queue.put(None)
        self._thread.join(timeout=5)
        self._client.close()

    def push(self, method: str, url: str, body: Any, headers: dict[str, str]) -> None:
        """Queue a push; when the queue is full the push is dropped, as a failed one would be."""
        try:
            self._queue.put_nowait(_Push(method, url, body, headers))
        except queue.Full:
            logger.warning("push queue full, dropped %s %s", method, url)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            self._send(item)

    def _send(self, item: _Push) -> None:
        request_id = uuid.uuid4().hex
        headers = {
            "Content-Type": "application/json",
            "X-Request-ID": request_id,
            "X-Correlation-ID": request_id,
            **item.headers,
        }
        record = PushRecord(item.method, item.url, None)
        try:
            response = self._client.request(
                item.method,
                item.url,
                content=orjson.dumps(item.body, option=JSON_OPTIONS),
                headers=headers,
            )
            record.status = response.status_code
            if response.status_code >= 300:
                record.error = response.text[:200]
        except httpx.HTTPError as exc:
            record.error = f"{type(exc).__name__}: {exc}"
        except Exception as exc:  # a push must never take the sandbox down
            record.error = f"unexpected {type(exc).__name__}: {exc}"
            logger.exception("push %s %s failed unexpectedly", item.method, item.url)
        self.history = [*self.history[-499:], record]
        level = logging.INFO if record.status and record.status < 300 else logging.WARNING
        logger.log(level, "push %s %s -> %s %s", item.method, item.url, record.status, record.error)
