"""The sandbox CPO's settings: one dataclass, filled by the command line or by tests."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class SandboxConfig:
    """Everything that shapes a sandbox run. Times are in seconds unless named otherwise."""

    ocpi_version: str = "2.2.1"  # 2.1.1, 2.2.1 or 2.3.0 (see sandbox.dialects)
    host: str = "127.0.0.1"
    port: int = 9100  # 0 picks a free port (tests)
    stations: int = 2000
    seed: int = 7
    token_a: str = "sandbox-a"  # noqa: S105 - the documented sandbox default
    country_code: str = "NL"
    party_id: str = "SBX"
    # More than one: the locations are dealt over this many party ids (S01, S02, ... after
    # party_id's first letter), as a hub's or an open feed's are.
    parties: int = 1
    # An AFDC export (shared/data): one location at each of its real US sites, under its
    # registered name, at most `stations` of them, instead of generated sites around cities.
    sites: str | None = None
    region: tuple[float, float] | None = None  # (lat, lon): only the cities nearest to it
    status_churn: float = 0.0  # EVSE status changes a second
    # Every EVSE's status is re-confirmed (PATCHed, same status, new last_updated) within this
    # many seconds, as live CPOs do, so an eMSP can tell a quiet EVSE from a silent feed; 0: never.
    status_refresh: float = 0.0
    latency_ms: int = 0  # added to every request
    fail_rate: float = 0.0  # share of module requests answered 500 / malformed / too late
    fault_delay: float = 30.0  # how long a "timing out" request is held before it is dropped
    invalid_locations: int = 0  # this many locations are served invalid (missing coordinates)
    accept_raw_tokens: bool = False  # also accept `Authorization: Token <raw>` (OCPI 2.1.1 style)
    push_interval: float = 5.0  # session PATCH interval
    command_delay: float = 1.0  # delay between a CommandResponse and its CommandResult
    command_timeout: int = 30  # the `timeout` we announce in a CommandResponse
    push_timeout: float = 5.0  # per push to the eMSP (connect + read)
    page_limit: int = 1000  # the largest page we serve (X-Limit)
    vehicle_kwh: float | None = None  # energy a car takes before it is full; None = random
    log_requests: bool = True
    public_url: str | None = None  # base URL others reach us at, e.g. behind a proxy

    @property
    def base_url(self) -> str:
        if self.public_url:
            return self.public_url.rstrip("/") + "/ocpi"
        # A wildcard bind address is not a place to call: advertise loopback instead.
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host  # noqa: S104
        return f"http://{host}:{self.port}/ocpi"

    @property
    def versions_url(self) -> str:
        return f"{self.base_url}/versions"
