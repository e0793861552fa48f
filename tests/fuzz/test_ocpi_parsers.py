"""Hypothesis against the OCPI readers: whatever a partner sends (any JSON, or a spec example
with one member anywhere replaced), reading it either succeeds or raises a PartnerError that
names what is wrong, never anything else; the `Authorization` header decoder and the paging
(`Link`, `X-Total-Count`, `X-Limit`, `offset`/`limit`) never raise on what a peer may send; and
what we write, we read back the same."""

import base64
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from roaming.adapters import adapter_for
from roaming.adapters.base import RoamingAdapter
from roaming.errors import PartnerError
from roaming.models import Partner
from roaming.ocpi.pagination import next_page, page_request_parse
from roaming.ocpi.transport import OcpiStatus, authorization_header, authorization_tokens
from tests.fuzz.strategies import EXAMPLES, JSON, TEXT, locations, mutated, spec_example

ADAPTER: RoamingAdapter = adapter_for(Partner(name="Fuzz", version="2.2.1"))

# Each reader a receiver calls, with a spec example of what it reads.
READERS: dict[str, tuple[Callable[[Any], Any], str]] = {
    "location": (ADAPTER.location_parse, "location_example.json"),
    "evse": (ADAPTER.evse_parse, "location_put_example_add_evse.json"),
    "location patch": (ADAPTER.location_patch_parse, "location_patch_example_location.json"),
    "evse patch": (ADAPTER.evse_patch_parse, "location_patch_example_status.json"),
    "tariff": (ADAPTER.tariff_parse, "tariff_4_complex.json"),
    "session": (ADAPTER.session_parse, "session_example_2_short_finished.json"),
    "session patch": (ADAPTER.session_patch_parse, "session_patch_example_charging_period.json"),
    "cdr": (ADAPTER.cdr_parse, "cdr_example.json"),
}


def read_or_refuse(reader: Callable[[Any], Any], payload: Any) -> None:
    """Reading succeeds, or refuses with 2001 and a message; nothing else may escape."""
    refusal: PartnerError | None = None
    try:
        reader(payload)
    except PartnerError as error:
        refusal = error
    if refusal is not None:
        assert refusal.ocpi_status == OcpiStatus.INVALID_PARAMETERS
        assert refusal.message


@pytest.mark.parametrize("name", READERS)
@given(payload=JSON)
def test_any_json_is_read_or_refused_with_2001(name: str, payload: Any) -> None:
    read_or_refuse(READERS[name][0], payload)


@pytest.mark.parametrize("name", READERS)
@given(data=st.data())
def test_a_spec_example_with_any_member_replaced_is_read_or_refused(
    name: str, data: st.DataObject
) -> None:
    reader, example_name = READERS[name]
    read_or_refuse(reader, data.draw(mutated(example_name)))


# --- Authorization: Token ... -------------------------------------------------------------------


@given(header=st.one_of(st.none(), TEXT, TEXT.map(lambda text: "Token " + text)))
@example(header="Token " + base64.b64encode(b"\xff\xfe").decode())  # base64, but not UTF-8
@example(header="Token " + base64.b64encode(b"\x07bell").decode())  # decodes unprintable
def test_any_authorization_header_gives_token_candidates_or_none(header: str | None) -> None:
    candidates = authorization_tokens(header)
    assert all(isinstance(token, str) and token for token in candidates)


@given(token=st.text(st.characters(codec="utf-8", categories=["L", "N", "P", "S"]), min_size=1))
def test_a_token_we_send_is_the_token_we_read(token: str) -> None:
    assert token in authorization_tokens(authorization_header(token))
    assert token.strip() in authorization_tokens(authorization_header(token, raw=True))


# --- Paging -------------------------------------------------------------------------------------

HEADER_TEXT = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x2FF), max_size=60)
LINKS = st.one_of(
    HEADER_TEXT,
    st.builds(
        lambda url, rel: f"<{url}>; rel={rel}",
        HEADER_TEXT,
        st.sampled_from(['"next"', "next", '"prev"', '"next last"']),
    ),
)
COUNTS = st.one_of(st.none(), st.sampled_from(["10", "²", "٣", " 5 ", "-1", "1e3", ""]), TEXT)


@given(link=LINKS, total=COUNTS, limit=COUNTS, page_size=st.integers(0, 1000))
@example(link='<http://[::1>; rel="next"', total=None, limit=None, page_size=1)
@example(link="", total=None, limit="²", page_size=1)
@example(link="", total="²", limit=None, page_size=1)
def test_any_paging_headers_give_a_next_page_that_keeps_our_filters(
    link: str, total: str | None, limit: str | None, page_size: int
) -> None:
    sent = {"Link": link, "X-Total-Count": total, "X-Limit": limit}
    # As on the wire: bytes, which httpx decodes as it does a real answer's.
    reply = httpx.Response(
        200, headers=[(k.encode(), v.encode()) for k, v in sent.items() if v is not None]
    )
    module_url = "https://cpo.example.com/ocpi/2.2.1/locations"
    step = next_page(
        f"{module_url}?date_from=2026-01-01T00%3A00%3A00Z&offset=0&limit=1000",
        module_url=module_url,
        module="locations",
        links=reply.links,
        headers=reply.headers,
        filters={"date_from": "2026-01-01T00:00:00Z"},
        offset=page_size,
        page_size=page_size,
        limit=1000,
        by_offset=False,
    )
    if step.url is not None:
        assert step.url.startswith(module_url)
        assert "date_from=2026-01-01T00%3A00%3A00Z" in step.url
    assert bool(step.warning) == step.by_offset


@given(
    query=st.dictionaries(
        st.sampled_from(["date_from", "date_to", "offset", "limit"]),
        st.one_of(TEXT, st.sampled_from(["²", "٣", "10", "0", "2026-01-01T00:00:00Z"])),
    )
)
@example(query={"offset": "²"})
@example(query={"limit": "٣"})
def test_any_paging_query_is_read_or_refused_with_a_message(query: dict[str, str]) -> None:
    refusal: ValueError | None = None
    try:
        page = page_request_parse(query, max_limit=100)
    except ValueError as error:
        refusal = error
    if refusal is not None:
        assert str(refusal)
    else:
        assert page.offset >= 0
        assert 1 <= page.limit <= 100


# --- what we render, we read back the same -----------------------------------------------------


@given(location=locations())
def test_a_location_we_render_reads_back_as_the_same_record(location: dict[str, Any]) -> None:
    record = ADAPTER.location_parse(location)
    assert ADAPTER.location_parse(ADAPTER.location_render(record)) == record


@pytest.mark.parametrize("name", sorted(path.name for path in EXAMPLES.glob("tariff_[0-9]*.json")))
def test_a_tariff_we_render_reads_back_as_the_same_record(name: str) -> None:
    record = ADAPTER.tariff_parse(spec_example(name))
    assert ADAPTER.tariff_parse(ADAPTER.tariff_render(record)) == record
