"""A simulated charge: the OCPI Session the sandbox CPO reports, metered at the car's power,
priced with the connector's tariff (`pricing.price_session`), and its CDR at the end."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sandbox.pricing import MeterSegment, PricedSession, price_session


def now_utc() -> datetime:
    return datetime.now(UTC)


@dataclass
class SimSession:
    """A running or finished charge: the OCPI Session plus what the simulation needs."""

    session: dict[str, Any]
    location: dict[str, Any]
    evse: dict[str, Any]
    connector: dict[str, Any]
    tariff: dict[str, Any]
    target_kwh: float
    car_kw: float
    segments: list[MeterSegment] = field(default_factory=list)
    reported_periods: int = 0
    kwh: float = 0.0
    last_at: datetime = field(default_factory=now_utc)

    @property
    def active(self) -> bool:
        status: str = self.session["status"]
        return status == "ACTIVE"

    def power_kw(self) -> float:
        """The power now: the lower of connector and car, tapering above 80 % full."""
        connector_kw = (self.connector.get("max_electric_power") or 11000) / 1000
        power = min(connector_kw, self.car_kw)
        filled = self.kwh / self.target_kwh if self.target_kwh else 1.0
        if filled > 0.8:
            power *= max(0.2, (1 - filled) / 0.2)
        return round(power, 3)

    def advance(self, until: datetime) -> None:
        """Meter the session from its last update to `until` at the current power."""
        if until <= self.last_at:
            return
        power = self.power_kw()
        hours = (until - self.last_at).total_seconds() / 3600
        full = power > 0 and self.kwh + power * hours >= self.target_kwh
        if full:
            # The car fills up within this stretch: meter exactly up to the full moment.
            until = self.last_at + timedelta(hours=(self.target_kwh - self.kwh) / power)
        voltage = self.connector["max_voltage"] or 230
        if until > self.last_at:
            self.segments.append(
                MeterSegment(self.last_at, until, power, round(power * 1000 / voltage, 1))
            )
            hours = (until - self.last_at).total_seconds() / 3600
            self.last_at = until
        self.kwh = self.target_kwh if full else self.kwh + power * hours

    def progress(self) -> tuple[dict[str, Any], PricedSession]:
        """Session fields that changed since the last push, and the pricing so far."""
        priced = (
            price_session(self.tariff, self.segments, time_zone=self.location["time_zone"])
            if self.segments
            else None
        )
        new_segments = self.segments[self.reported_periods :]
        self.reported_periods = len(self.segments)
        periods = [
            {
                "start_date_time": seg.start,
                "dimensions": [
                    {
                        "type": "ENERGY",
                        "volume": round(
                            seg.power_kw * (seg.end - seg.start).total_seconds() / 3600, 4
                        ),
                    },
                    {"type": "MAX_POWER", "volume": seg.power_kw},
                ],
                "tariff_id": self.tariff["id"],
            }
            for seg in new_segments
            if seg.end > seg.start
        ]
        self.session["charging_periods"].extend(periods)
        self.session["kwh"] = round(self.kwh, 4)
        if priced is not None:
            self.session["total_cost"] = priced.total.as_price()
        self.session["last_updated"] = now_utc()
        patch = {
            "kwh": self.session["kwh"],
            "charging_periods": periods,
            "total_cost": self.session["total_cost"],
            "last_updated": self.session["last_updated"],
        }
        return patch, priced  # type: ignore[return-value]

    def cdr(self, priced: PricedSession) -> dict[str, Any]:
        session, location, evse, connector = self.session, self.location, self.evse, self.connector
        cdr: dict[str, Any] = {
            "country_code": session["country_code"],
            "party_id": session["party_id"],
            "id": f"CDR-{session['id']}",
            "start_date_time": session["start_date_time"],
            "end_date_time": session["end_date_time"],
            "session_id": session["id"],
            "cdr_token": session["cdr_token"],
            "auth_method": session["auth_method"],
            "cdr_location": {
                "id": location["id"],
                "name": location["name"],
                "address": location["address"],
                "city": location["city"],
                "postal_code": location["postal_code"],
                "country": location["country"],
                "coordinates": location["coordinates"],
                "evse_uid": evse["uid"],
                "evse_id": evse["evse_id"],
                "connector_id": connector["id"],
                "connector_standard": connector["standard"],
                "connector_format": connector["format"],
                "connector_power_type": connector["power_type"],
            },
            "currency": "EUR",
            "tariffs": [self.tariff],
            "charging_periods": priced.charging_periods,
            "total_cost": priced.total.as_price(),
            "total_fixed_cost": priced.fixed.as_price(),
            "total_energy": round(float(priced.total_energy_kwh), 4),
            "total_energy_cost": priced.energy.as_price(),
            "total_time": round(float(priced.total_time_h), 4),
            "total_time_cost": priced.time.as_price(),
            "total_parking_time": round(float(priced.total_parking_time_h), 4),
            "total_parking_cost": priced.parking.as_price(),
            "last_updated": now_utc(),
        }
        if session.get("authorization_reference"):
            cdr["authorization_reference"] = session["authorization_reference"]
        return cdr
