"""The one HTTP seam for every outbound partner call (after healthchecks' `hc/lib/curl.py`).

Every call: checks the target URL (http/https only, https in production; no private,
loopback, link-local or reserved address unless its network is allowed in
OUTBOUND_ALLOWED_NETWORKS), sends `X-Request-ID` / `X-Correlation-ID` and the token, never
follows redirects, enforces connect/read timeouts AND a total deadline and a body size cap
(a peer dripping one byte a second cannot hold a worker), retries idempotent GETs on
transient failures with jittered exponential backoff, and records an `OutboundCall` row.
"""

import ipaddress
import logging
import socket
import ssl
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import cache
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson
from django.conf import settings
from tenacity import (
    retry,
    retry_if_exception,
    stop_after_attempt,
    wait_random_exponential,
)

from roaming.errors import PartnerError
from roaming.models import OutboundCall, Partner
from roaming.ocpi.transport import authorization_header

logger = logging.getLogger(__name__)

TRANSIENT_HTTP_STATUSES = {429, 500, 502, 503, 504}

# Set by `calls_kept`: this context's OutboundCall rows go here instead of to the database.
kept_calls: ContextVar[list[OutboundCall] | None] = ContextVar("kept_calls", default=None)


@contextmanager
def calls_kept() -> Iterator[list[OutboundCall]]:
    """Collect the OutboundCall rows of calls made in this block, unsaved, for code running
    in a thread that must not use the database (a pull's read-ahead); the caller saves them."""
    calls: list[OutboundCall] = []
    token = kept_calls.set(calls)
    try:
        yield calls
    finally:
        kept_calls.reset(token)


@dataclass
class PeerResponse:
    status: int
    headers: httpx.Headers
    body: bytes
    links: dict[str | None, dict[str, str]] = field(default_factory=dict)

    def json(self) -> Any:
        return orjson.loads(self.body)


def outbound_url_check(url: str) -> None:
    """Refuse a URL an admin or a partner gave us that would reach somewhere it must not."""
    parts = urlsplit(url)
    allowed_schemes = {"https"} if settings.OUTBOUND_REQUIRE_HTTPS else {"http", "https"}
    if parts.scheme not in allowed_schemes or not parts.hostname:
        raise PartnerError(
            f"{url!r} is not an allowed URL: use {' or '.join(sorted(allowed_schemes))}",
            permanent=True,
        )
    try:
        addresses = {
            str(info[4][0]) for info in socket.getaddrinfo(parts.hostname, parts.port or 443)
        }
    except socket.gaierror as exc:
        raise PartnerError(f"the host {parts.hostname!r} cannot be resolved") from exc
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%")[0])
        if ip.is_global:
            continue
        if any(ip in network for network in settings.OUTBOUND_ALLOWED_NETWORKS):
            continue
        raise PartnerError(
            f"{parts.hostname} resolves to {ip}, a private or internal address; outbound calls "
            "there are refused (allow its network in OUTBOUND_ALLOWED_NETWORKS if intended)",
            permanent=True,
        )


@cache
def tls_context() -> ssl.SSLContext:
    """httpx's default verifying context, built once: building it reads the CA bundle, which
    cost more than a whole page of locations when done per call."""
    return httpx.create_ssl_context()


def is_transient(error: BaseException) -> bool:
    return isinstance(error, PartnerError) and not error.permanent


def peer_request(
    method: str,
    url: str,
    *,
    partner: Partner | None,
    module: str,
    token: str | None = None,
    raw_token: bool = False,
    json: Any = None,
    params: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    correlation_id: str | None = None,
) -> PeerResponse:
    """Call a partner. GETs are retried on transient failures; other methods are sent once
    (OCPI pushes are never queued or replayed; the receiver resyncs by GET).

    Raises PartnerError (permanent for refused URLs, 4xx other than 429, and answers too big).
    """
    attempts = settings.OUTBOUND_GET_ATTEMPTS if method == "GET" else 1
    send = retry(
        retry=retry_if_exception(is_transient),
        stop=stop_after_attempt(attempts),
        wait=wait_random_exponential(multiplier=settings.OUTBOUND_RETRY_BASE_SECONDS, max=10),
        reraise=True,
    )(send_once)
    request_headers = {
        "X-Request-ID": str(uuid.uuid4()),
        "X-Correlation-ID": correlation_id or str(uuid.uuid4()),
        **(headers or {}),
    }
    if token:
        request_headers["Authorization"] = authorization_header(token, raw=raw_token)
    return send(
        method,
        url,
        partner=partner,
        module=module,
        json=json,
        params=params,
        headers=request_headers,
    )


def send_once(
    method: str,
    url: str,
    *,
    partner: Partner | None,
    module: str,
    json: Any,
    params: dict[str, Any] | None,
    headers: dict[str, str],
) -> PeerResponse:
    outbound_url_check(url)
    headers = {**headers, "X-Request-ID": str(uuid.uuid4())}
    started = time.monotonic()
    deadline = started + settings.OUTBOUND_TOTAL_TIMEOUT
    status: int | None = None
    error = ""
    try:
        content = orjson.dumps(json) if json is not None else None
        if content is not None:
            headers["Content-Type"] = "application/json"
        with (
            httpx.Client(
                timeout=httpx.Timeout(
                    settings.OUTBOUND_READ_TIMEOUT, connect=settings.OUTBOUND_CONNECT_TIMEOUT
                ),
                follow_redirects=False,
                verify=tls_context(),
            ) as client,
            client.stream(method, url, params=params, content=content, headers=headers) as reply,
        ):
            status = reply.status_code
            body = bytearray()
            for chunk in reply.iter_bytes():
                body += chunk
                if len(body) > settings.OUTBOUND_MAX_BODY_BYTES:
                    raise PartnerError(
                        f"{module}: the answer is larger than "
                        f"{settings.OUTBOUND_MAX_BODY_BYTES // 1_000_000} MB",
                        permanent=True,
                    )
                if time.monotonic() > deadline:
                    raise PartnerError(
                        f"{module}: the answer took longer than "
                        f"{settings.OUTBOUND_TOTAL_TIMEOUT:g} s in all"
                    )
            response = PeerResponse(
                status=status, headers=reply.headers, body=bytes(body), links=reply.links
            )
        problem = http_status_problem(response, module=module)
        if problem:
            raise problem
        return response
    except httpx.TimeoutException as exc:
        error = f"{module}: {url} did not answer in time"
        raise PartnerError(error) from exc
    except httpx.HTTPError as exc:
        error = f"{module}: {url} cannot be reached ({type(exc).__name__})"
        raise PartnerError(error) from exc
    except PartnerError as exc:
        error = exc.message
        raise
    finally:
        call = OutboundCall(
            partner=partner,
            module=module,
            method=method,
            url=url[:500],
            http_status=status,
            duration_ms=int((time.monotonic() - started) * 1000),
            error=error[:2000],
            request_id=headers["X-Request-ID"],
        )
        kept = kept_calls.get()
        if kept is None:
            call.save()
        else:
            kept.append(call)
        if error:
            logger.warning("partner call failed: %s %s: %s", method, url, error)


def http_status_problem(response: PeerResponse, *, module: str) -> PartnerError | None:
    status = response.status
    if status < 300:
        return None
    if 300 <= status < 400:
        return PartnerError(
            f"{module}: the partner answered a redirect ({status}), which we do not follow",
            permanent=True,
        )
    if status in (401, 403):
        return PartnerError(
            f"{module}: the partner refused our token (HTTP {status})", permanent=True
        )
    if status == 404:
        return PartnerError(
            f"{module}: the partner has no such endpoint or object (HTTP 404)", permanent=True
        )
    if status in TRANSIENT_HTTP_STATUSES:
        return PartnerError(f"{module}: the partner answered HTTP {status}")
    return PartnerError(f"{module}: the partner answered HTTP {status}", permanent=True)
