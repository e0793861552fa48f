"""Pages of a driver's charging: the live session page and the history with monthly totals.

Both render on the server (they work without JavaScript and survive a reload); the live page's
script then follows the session through the session API.
"""

from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import quote
from uuid import UUID

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from payments.money import format_money
from roaming import selectors_sessions as selectors
from roaming.api_sessions import session_json
from roaming.models import ChargingSession, SessionState
from roaming.selectors import session_for_driver

HISTORY_PAGE_SIZE = 20
# How often the live page asks for news while the session is live.
POLL_INTERVAL_MS = 2500


def duration_words(seconds: int) -> str:
    """45 → "45 s"; 754 → "12 min"; 4500 → "1 h 15 min"."""
    hours, rest = divmod(max(0, seconds), 3600)
    minutes = rest // 60
    if hours:
        return f"{hours} h {minutes:02d} min"
    return f"{minutes} min" if minutes else f"{seconds} s"


def duration_clock(seconds: int) -> str:
    """754 → "12:34"; 4500 → "1:15:00" (the live page's running clock)."""
    hours, rest = divmod(max(0, seconds), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def shown_power_kw(detail: dict[str, Any]) -> float:
    """The power now while charging; once it is over, the average over the charge."""
    if detail["live"]:
        return float(detail["power_kw"])
    seconds = detail["duration_seconds"]  # None until the charger reports a start
    return detail["kwh"] * 3600 / seconds if seconds else 0.0


@login_required
def session_live(request: HttpRequest, public_id: UUID) -> HttpResponse:
    session = session_for_driver(user=request.user, public_id=public_id)  # type: ignore[arg-type]
    if session is None:
        raise Http404("No such charge on your account.")
    # The session API's own document: the page starts from what its script then polls.
    detail = session_json(session)
    api_url = f"/api/v1/sessions/{session.public_id}/"
    return render(
        request,
        "roaming/session_live.html",
        {
            "session": session,
            "detail": detail,
            "duration": duration_clock(detail["duration_seconds"] or 0),
            "power_kw": shown_power_kw(detail),
            "live_config": {
                "session": detail,
                "api": api_url,
                "stop": f"{api_url}stop/",
                "signIn": f"{reverse('account_login')}?next={quote(request.path)}",
                "interval": POLL_INTERVAL_MS,
            },
        },
    )


@dataclass
class HistoryRow:
    """One line of the history: the session, its duration and its amount in words."""

    session: ChargingSession
    duration: str
    amount: str
    receipt_url: str


def _history_row(session: ChargingSession) -> HistoryRow:
    paid = getattr(session, "paid", None)  # annotated by sessions_for_driver
    cost = format_money(session.running_cost, session.currency)
    if paid is not None:
        amount = format_money(paid, session.currency)
    elif session.is_live:
        amount = f"{cost} so far"
    elif session.state == SessionState.COMPLETED:
        amount = f"about {cost}, bill to come"
    else:
        amount = "No charge"
    return HistoryRow(
        session=session,
        duration=(
            duration_words(selectors.session_duration_seconds(session))
            if session.started_at
            else "\N{EN DASH}"
        ),
        amount=amount,
        receipt_url=selectors.session_receipt_path(session.public_id) if paid is not None else "",
    )


@login_required
def session_history(request: HttpRequest) -> HttpResponse:
    user = request.user
    page = Paginator(selectors.sessions_for_driver(user=user), HISTORY_PAGE_SIZE).get_page(  # type: ignore[arg-type]
        request.GET.get("page")
    )
    # The page's sessions by month, newest first.
    months: dict[date, list[HistoryRow]] = {}
    for session in page.object_list:
        month = timezone.localdate(session.created_at).replace(day=1)
        months.setdefault(month, []).append(_history_row(session))
    totals = selectors.session_month_totals(user=user, months=list(months))  # type: ignore[arg-type]
    return render(
        request,
        "roaming/session_history.html",
        {
            "page": page,
            "months": [(totals[month], sessions) for month, sessions in months.items()],
        },
    )
