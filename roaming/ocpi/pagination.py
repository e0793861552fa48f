"""Paged GETs of OCPI lists, tolerant of the mistakes real peers make; and the paging of the
lists we serve ourselves (`page_request_parse`, `page_headers`).

Follows `Link: <...>; rel="next"` while it stays on the module's own URL with our filters; copes
with a missing or empty Link (computes the next offset while pages keep coming full and
`X-Total-Count` says there is more), an `X-Limit` smaller than asked, single objects sent
without their list, `null` data, and a Link that points back at a page already read. A Link
that goes elsewhere (another scheme, host or path) or drops or mangles our filters (say
`date_from=None`) is not followed: the rest of the list is read by offset on the module URL,
and the page carries a warning for the partner's health page. Following it would lose the
pull, or hand our token to another address.
"""

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from roaming.errors import PartnerError
from roaming.http import peer_request
from roaming.models import Partner
from roaming.ocpi.transport import envelope_data, ocpi_datetime_parse

MAX_PAGES = 100_000


def url_with_params(url: str, params: dict[str, Any]) -> str:
    """`url` with `params` added to its query, its own values kept where both name one."""
    parts = urlsplit(url)
    query = {key: str(value) for key, value in params.items() if value is not None}
    query.update(dict(parse_qsl(parts.query)))
    return urlunsplit(parts._replace(query=urlencode(query)))


class Page(list[Any]):
    """One page's objects (raw JSON values), and what the pager has to say about how it got
    there (`warning`: a Link it did not follow), for the partner's health page."""

    warning: str = ""


def link_problem(link: str, *, module_url: str, filters: dict[str, Any]) -> str:
    """Why a next-page Link cannot be trusted, or "" when it can: it must stay on the module's
    scheme, host and path, carry a whole-number offset, and keep each filter we sent as we sent
    it (and add none we did not)."""
    parts, ours = urlsplit(link), urlsplit(module_url)
    for what, theirs, wanted in (
        ("scheme", parts.scheme.lower(), ours.scheme.lower()),
        ("host", parts.netloc.lower(), ours.netloc.lower()),
        ("path", parts.path.rstrip("/"), ours.path.rstrip("/")),
    ):
        if theirs != wanted:
            return f"its {what} is {theirs or '(none)'!r}, not {wanted!r}"
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    if whole_number(query.get("offset")) is None:
        return f"its offset is {query.get('offset', '(none)')!r}"
    for name, value in filters.items():
        if value is None and name in query:
            return f"it adds {name}={query[name]!r}, which we did not ask for"
        if value is not None and query.get(name) != str(value):
            return f"it {'drops' if name not in query else 'changes'} {name}"
    return ""


def ocpi_paginate(
    url: str,
    *,
    partner: Partner | None,
    module: str,
    token: str | None,
    raw_token: bool = False,
    params: dict[str, Any] | None = None,
    limit: int = 1000,
    extra_headers: dict[str, str] | None = None,
) -> Iterator[Page]:
    """Yield each page's objects until the list ends (see the module's docstring for the Link
    rules; a page after one not followed carries the warning).

    Raises PartnerError when a page cannot be fetched or is not an OCPI list.
    """
    filters = {**(params or {})}
    next_url: str | None = url_with_params(url, {**filters, "offset": 0, "limit": limit})
    seen: set[str] = set()
    offset = 0
    by_offset = False  # once a Link is found untrustworthy, the rest is read by offset
    warning = ""
    while next_url:
        if next_url in seen or len(seen) >= MAX_PAGES:
            raise PartnerError(f"{module}: the partner's pages lead in a circle at {next_url}")
        seen.add(next_url)
        reply = peer_request(
            "GET",
            next_url,
            partner=partner,
            module=module,
            token=token,
            raw_token=raw_token,
            headers=extra_headers,
        )
        data = envelope_data(reply.body, what=f"{module} page")
        page = Page([] if data is None else data if isinstance(data, list) else [data])
        page.warning, warning = warning, ""
        yield page
        offset += len(page)
        step = next_page(
            next_url,
            module_url=url,
            module=module,
            links=reply.links,
            headers=reply.headers,
            filters=filters,
            offset=offset,
            page_size=len(page),
            limit=limit,
            by_offset=by_offset,
        )
        next_url, by_offset, warning = step.url, step.by_offset, step.warning


@dataclass(frozen=True)
class NextPage:
    """Where the list goes on (None: it has ended), whether by offset from now on, and why."""

    url: str | None
    by_offset: bool = False
    warning: str = ""


def next_page(
    current_url: str,
    *,
    module_url: str,
    module: str,
    links: Mapping[str | None, Mapping[str, str]],
    headers: Any,
    filters: dict[str, Any],
    offset: int,
    page_size: int,
    limit: int,
    by_offset: bool,
) -> NextPage:
    """The page after `current_url` (`offset` objects read so far): the peer's Link while it
    can be trusted, else the next offset on the module URL while the headers say there is more."""
    link = "" if by_offset else (links.get("next") or {}).get("url", "")
    problem = ""
    if link:
        try:
            link = urljoin(current_url, link)
            problem = link_problem(link, module_url=module_url, filters=filters)
        except ValueError:  # e.g. "http://[::1": not a URL urllib can split
            problem = "it is not a URL"
    if link and not problem:
        return NextPage(link)
    if not page_size:
        return NextPage(None)  # an empty page ends the list whatever its Link says
    by_offset_url = url_with_params(module_url, {**filters, "offset": offset, "limit": limit})
    if problem:
        return NextPage(
            by_offset_url,
            by_offset=True,
            warning=f"{module}: the partner's next-page Link {link[:200]!r} was not followed "
            f"({problem}); the list was read by offset on {module_url} instead",
        )
    if more_expected(headers, offset=offset, page_size=page_size, limit=limit):
        return NextPage(by_offset_url, by_offset=by_offset)
    return NextPage(None)


def whole_number(text: str | None) -> int | None:
    """A header's or parameter's count in ASCII digits, else None. (`str.isdigit` also takes
    "²" and other digits `int` refuses.)"""
    text = (text or "").strip()
    return int(text) if text.isascii() and text.isdigit() else None


def more_expected(headers: Any, *, offset: int, page_size: int, limit: int) -> bool:
    """Without a Link: keep going only while the total says there is more to read."""
    total = whole_number(headers.get("X-Total-Count"))
    if total is not None:
        return offset < total
    server_limit = whole_number(headers.get("X-Limit"))
    full_page = min(limit, server_limit) if server_limit else limit
    return page_size >= full_page


# --- the server's half: our own paged lists (the tokens sender) -------------------------------


@dataclass(frozen=True)
class PageRequest:
    """What a partner asked of one of our paged lists."""

    date_from: datetime | None
    date_to: datetime | None
    offset: int
    limit: int
    filters: dict[str, str]  # date_from/date_to as the partner wrote them, for the next Link


def page_request_parse(query: Mapping[str, str], *, max_limit: int) -> PageRequest:
    """Read `date_from` (inclusive), `date_to` (exclusive), `offset` and `limit` (at most
    `max_limit`, which is also the default). Raises ValueError saying which is wrong."""
    moments: dict[str, datetime | None] = {}
    filters: dict[str, str] = {}
    for name in ("date_from", "date_to"):
        text = query.get(name)
        moments[name] = None
        if text:
            try:
                moments[name] = ocpi_datetime_parse(text)
            except ValueError as exc:
                raise ValueError(f"{name} is not an RFC 3339 date-time: {text!r}") from exc
            filters[name] = text
    numbers = {}
    for name, default, low in (("offset", 0, 0), ("limit", max_limit, 1)):
        text = query.get(name) or str(default)
        number = whole_number(text)
        if number is None or number < low:
            raise ValueError(f"{name} must be a whole number of at least {low}, not {text!r}")
        numbers[name] = number
    return PageRequest(
        date_from=moments["date_from"],
        date_to=moments["date_to"],
        offset=numbers["offset"],
        limit=min(numbers["limit"], max_limit),
        filters=filters,
    )


def page_headers(
    *, url: str, page: PageRequest, count: int, total: int, max_limit: int
) -> dict[str, str]:
    """`X-Total-Count`, `X-Limit` and, unless this page is the last, a `Link` to the next one
    that keeps the partner's filters and limit."""
    headers = {"X-Total-Count": str(total), "X-Limit": str(max_limit)}
    following = page.offset + count
    if count and following < total:
        query = urlencode({**page.filters, "offset": following, "limit": page.limit})
        headers["Link"] = f'<{url}?{query}>; rel="next"'
    return headers
