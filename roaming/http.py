"""The one HTTP seam for every outbound partner call (after healthchecks' `hc/lib/curl.py`).

Every call: checks the target URL (http/https only, https in production; no private,
loopback, link-local or reserved address unless its network is allowed in
OUTBOUND_ALLOWED_NETWORKS) and connects only to addresses that pass the same rule, resolved
by us at connection time (a DNS server that answers a public address to the check and an
internal one to the connection gains nothing); sends `X-Request-ID` / `X-Correlation-ID` and
the token, never follows redirects, enforces connect/read timeouts AND a total deadline and a
body size cap, retries idempotent GETs on transient failures with jittered exponential backoff,
and records an `OutboundCall` row.

The total deadline (OUTBOUND_TOTAL_TIMEOUT) covers the whole call, retries and backoff
included, and every socket operation in it: each connect, write and read waits at most the
time left, so a peer dripping its headers or its body one byte a second is cut off when the
deadline passes, not after a read timeout per byte. (Through a proxy from the environment, the
proxy's connection is httpx's own: there, only the per-read timeouts and the body cap apply.)
"""

import contextlib
import ipaddress
import logging
import socket
import ssl
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import cache
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx
import orjson
from django.conf import settings
from httpx._utils import get_environment_proxies
from tenacity import (
    retry,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
    wait_random_exponential,
)

from roaming.errors import NOT_OCPI, REFUSED_TOKEN, UNREACHABLE, PartnerError
from roaming.models import OutboundCall, Partner
from roaming.ocpi.transport import authorization_header

logger = logging.getLogger(__name__)

TRANSIENT_HTTP_STATUSES = {429, 500, 502, 503, 504}

# Set by `calls_kept`: this context's OutboundCall rows go here instead of to the database.
kept_calls: ContextVar[list[OutboundCall] | None] = ContextVar("kept_calls", default=None)
# Set by `peer_request`: the monotonic time by which the whole call must be over.
call_deadline: ContextVar[float | None] = ContextVar("call_deadline", default=None)


class DeadlineExceededError(PartnerError):
    """The call as a whole took longer than OUTBOUND_TOTAL_TIMEOUT."""


def time_left(timeout: float | None) -> float | None:
    """`timeout`, shortened to what is left of the call's deadline (at least a sliver, so an
    expired deadline still surfaces as a timeout from the socket, where httpcore expects it)."""
    deadline = call_deadline.get()
    if deadline is None:
        return timeout
    left = max(deadline - time.monotonic(), 0.001)
    return left if timeout is None else min(timeout, left)


@contextmanager
def calls_kept() -> Iterator[list[OutboundCall]]:
    """Collect the OutboundCall rows of calls made in this block, unsaved, for code running
    where the database must not be used (a pull's reader process); the caller saves them."""
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
    """Refuse a URL an admin or a partner gave us that would reach somewhere it must not.

    This answers early and clearly (before any row is written or connection made); the
    connection itself is held to the same addresses by `PermittedAddressBackend`."""
    parts = urlsplit(url)
    allowed_schemes = {"https"} if settings.OUTBOUND_REQUIRE_HTTPS else {"http", "https"}
    if parts.scheme not in allowed_schemes or not parts.hostname:
        raise PartnerError(
            f"{url!r} is not an allowed URL: use {' or '.join(sorted(allowed_schemes))}",
            permanent=True,
        )
    permitted_addresses(parts.hostname)


def permitted_addresses(host: str) -> list[str]:
    """The addresses `host` resolves to, in the resolver's order, when every one is public or
    in a network OUTBOUND_ALLOWED_NETWORKS allows; otherwise PartnerError naming the host and
    the address. One internal answer among public ones refuses the host: a connection may use
    any of them. A literal IP address needs no lookup."""
    try:
        ipaddress.ip_address(host)
        addresses = [host]
    except ValueError:
        try:
            found = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise PartnerError(f"the host {host!r} cannot be resolved") from exc
        except UnicodeError as exc:  # a label longer than DNS allows, say
            raise PartnerError(f"{host!r} is not a valid host name", permanent=True) from exc
        addresses = list(dict.fromkeys(str(info[4][0]) for info in found))
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%")[0])
        if ip.is_global or any(ip in network for network in settings.OUTBOUND_ALLOWED_NETWORKS):
            continue
        raise PartnerError(
            f"{host} resolves to {ip}, a private or internal address; outbound calls "
            "there are refused (allow its network in OUTBOUND_ALLOWED_NETWORKS if intended)",
            permanent=True,
        )
    return addresses


@cache
def tls_context() -> ssl.SSLContext:
    """httpx's default verifying context, built once: building it reads the CA bundle, which
    cost more than a whole page of locations when done per call."""
    return httpx.create_ssl_context()


class PermittedAddressBackend(httpcore.SyncBackend):
    """Opens TCP connections only to addresses `permitted_addresses` passes, resolving the name
    itself and connecting to the address it checked: left to the socket library, the name would
    be resolved a second time, after the check, and could then answer 127.0.0.1 or
    169.254.169.254. Addresses are tried in order, as the socket library does (`localhost` may
    answer ::1 first to a server that listens on 127.0.0.1 only). TLS still verifies the
    certificate against the host name: httpcore passes that to `start_tls` separately."""

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        *others, last = permitted_addresses(host)
        for address in others:
            with contextlib.suppress(httpcore.ConnectError, httpcore.ConnectTimeout):
                return DeadlineStream(
                    super().connect_tcp(
                        address, port, time_left(timeout), local_address, socket_options
                    )
                )
        return DeadlineStream(
            super().connect_tcp(last, port, time_left(timeout), local_address, socket_options)
        )


class DeadlineStream(httpcore.NetworkStream):
    """A connection whose every read and write waits at most what is left of the call's
    deadline (`time_left`): httpcore's own timeouts apply per operation, so without this a peer
    sending a byte just within each read timeout could hold a call for ever."""

    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self.stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self.stream.read(max_bytes, time_left(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self.stream.write(buffer, time_left(timeout))

    def close(self) -> None:
        self.stream.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        return DeadlineStream(
            self.stream.start_tls(ssl_context, server_hostname, time_left(timeout))
        )

    def get_extra_info(self, info: str) -> Any:
        return self.stream.get_extra_info(info)


class PermittedAddressTransport(httpx.HTTPTransport):
    """httpx's own transport (its request, response, timeout and error handling unchanged) over
    a connection pool that connects through `PermittedAddressBackend`. httpx 0.28 takes no
    network backend (encode/httpx#3749 proposes one), so the pool it builds is replaced; the
    DNS-rebinding test in tests/roaming/test_transport.py fails if that ever stops working."""

    def __init__(self) -> None:
        super().__init__(verify=tls_context())
        self._pool = httpcore.ConnectionPool(
            ssl_context=tls_context(), network_backend=PermittedAddressBackend()
        )


def outbound_client() -> httpx.Client:
    """A client for one partner call: direct connections go only to permitted addresses.

    A proxy named in the environment (HTTP_PROXY, HTTPS_PROXY, ALL_PROXY, less NO_PROXY) is
    still used as httpx would use it (an explicit transport turns that off, so the mounts are
    rebuilt from httpx's own reading of the environment); through a proxy, the proxy resolves
    the name and connects, so it must refuse internal addresses itself."""
    proxies = {
        pattern: None if proxy is None else httpx.HTTPTransport(verify=tls_context(), proxy=proxy)
        for pattern, proxy in get_environment_proxies().items()
    }
    return httpx.Client(
        timeout=httpx.Timeout(
            settings.OUTBOUND_READ_TIMEOUT, connect=settings.OUTBOUND_CONNECT_TIMEOUT
        ),
        follow_redirects=False,
        transport=PermittedAddressTransport(),
        mounts=proxies,
    )


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
        stop=stop_after_attempt(attempts) | stop_after_delay(settings.OUTBOUND_TOTAL_TIMEOUT),
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
    deadline = call_deadline.set(time.monotonic() + settings.OUTBOUND_TOTAL_TIMEOUT)
    try:
        return send(
            method,
            url,
            partner=partner,
            module=module,
            json=json,
            params=params,
            headers=request_headers,
        )
    finally:
        call_deadline.reset(deadline)


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
    status: int | None = None
    error = ""
    try:
        content = orjson.dumps(json) if json is not None else None
        if content is not None:
            headers["Content-Type"] = "application/json"
        with (
            outbound_client() as client,
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
            response = PeerResponse(
                status=status, headers=reply.headers, body=bytes(body), links=reply.links
            )
        problem = http_status_problem(response, module=module)
        if problem:
            raise problem
        return response
    except httpx.TimeoutException as exc:
        if time.monotonic() >= (call_deadline.get() or float("inf")):
            error = (
                f"{module}: the answer took longer than "
                f"{settings.OUTBOUND_TOTAL_TIMEOUT:g} s in all"
            )
            raise DeadlineExceededError(error, reason=UNREACHABLE) from exc
        error = f"{module}: {url} did not answer in time"
        raise PartnerError(error, reason=UNREACHABLE) from exc
    except httpx.HTTPError as exc:
        error = f"{module}: {url} cannot be reached ({type(exc).__name__})"
        raise PartnerError(error, reason=UNREACHABLE) from exc
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
            f"{module}: the partner refused our token (HTTP {status})",
            permanent=True,
            reason=REFUSED_TOKEN,
        )
    if status == 404:
        return PartnerError(
            f"{module}: the partner has no such endpoint or object (HTTP 404)",
            permanent=True,
            reason=NOT_OCPI,
        )
    if status in TRANSIENT_HTTP_STATUSES:
        return PartnerError(f"{module}: the partner answered HTTP {status}")
    return PartnerError(f"{module}: the partner answered HTTP {status}", permanent=True)
