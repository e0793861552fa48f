"""Every OCPI 2.1.1 example in the spec text and every OCPI 2.3.0 example goes in and
round-trips, through the adapter of its version (table-driven: one case per example file).

"Goes in": the version's wire schema reads it, and the adapter reads a whole object into our
neutral record (a PATCH into a Patch). "Round-trips": the wire schema gives back exactly what
came in (numbers compared as numbers, unknown fields kept); a location or tariff rendered back
by the adapter (as our receiver's GET serves it) reads into the same record.

The examples are copies (`ocpi_examples_211/`, `ocpi_examples_230/`, see their READMEs). Those
that break the spec's own rules are listed in SPEC_MISTAKES with what is wrong: their copies
are refused, and the fixed copies (`*_fixed/`) go in. The 2.3.0 `payment_*` examples belong to
the Payments module between a payment terminal provider and a CPO, which an eMSP neither sends
nor receives; they are only checked to be JSON.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import pydantic
import pytest

from roaming.adapters import adapter_class
from roaming.adapters.base import RoamingAdapter
from roaming.errors import PartnerError
from roaming.models import Partner, PartnerKind, PartnerRole, PartnerState
from roaming.ocpi.v211 import schemas as v211
from roaming.ocpi.v221 import schemas as v221
from roaming.ocpi.v230 import schemas as v230

pytestmark = pytest.mark.django_db

HERE = Path(__file__).parent
REQUEST_LINE = re.compile(r"^(GET|PUT|PATCH|POST|DELETE) To URL: (\S+)\s*")
SCHEMAS = {"2.1.1": v211, "2.3.0": v230}

# Examples that break their spec's own rules (refused as published, fixed in *_fixed/).
SPEC_MISTAKES = {
    "2.1.1/mod_cdrs_0249_example_of_a_cdr.txt": (
        "the tariff's last_updated sits in its element; location type in lower case, `STATUS` "
        "for status, country `BE` (alpha-2); no connector last_updated"
    ),
    "2.1.1/mod_locations_0431_example.txt": "the second EVSE's connector has no last_updated",
    "2.1.1/mod_locations_0725_complete.txt": (
        "not JSON (trailing commas); environ_impact entries use `source` for `category`"
    ),
    "2.1.1/mod_sessions_0244_simple_session_example_of_a_just_starting_sessio.txt": (
        "no auth_method; location type in lower case, `STATUS` for status, country `BE`"
    ),
    "2.1.1/mod_sessions_0326_simple_session_example_of_a_short_finished_sessi.txt": (
        "no auth_method; location type in lower case, `STATUS` for status, country `BE`; "
        "dimension types in lower case"
    ),
    "2.1.1/mod_locations_1004_4_19_1_example.txt": (
        "exceptional periods at +02:00, where a DateTime is UTC"
    ),
    "2.1.1/transport_and_format_0278_example_tokens_get_response_with_one_token_objec.txt": (
        "the token has 2.0's allow_whitelist for whitelist, and no last_updated"
    ),
    "2.1.1/transport_and_format_0298_example_tokens_get_response_with_list_of_token_o.txt": (
        "the tokens have 2.0's allow_whitelist for whitelist, and no last_updated"
    ),
    "2.1.1/mod_locations_0328_example_add_an_evse.txt": (
        "`floor` for floor_level, a number for physical_reference, no last_updated, a connector "
        "without power_type, voltage, amperage and last_updated"
    ),
    "2.1.1/mod_tariffs_0186_example_new_tariff_2_euro_per_hour.txt": "no last_updated",
    "2.1.1/mod_tariffs_0208_example_change_tariff_to_2_50.txt": (
        "a PUT (a whole Tariff) without id, currency and last_updated"
    ),
    "2.3.0/cdr_example.json": "its tariff has no tax_included (required from 2.3.0)",
    "2.3.0/location_put_example_add_evse.json": (
        "`floor` for floor_level, numbers for strings, a connector without power_type, "
        "max_voltage, max_amperage and last_updated (as in 2.2.1, fixed the same way)"
    ),
    "2.3.0/tariff_put_example.json": "no last_updated",
}


@dataclass(frozen=True)
class Example:
    version: str
    name: str
    data: Any
    method: str  # the request's method and URL, for a request example
    url: str

    @property
    def key(self) -> str:
        return f"{self.version}/{self.name}"


def example_read(path: Path, version: str) -> Example:
    """An example as published: a request body may follow its request line, and a member
    on its own (`"energy_mix": {...}`) is read as an object holding it."""
    text = path.read_text().strip()
    method = url = ""
    if found := REQUEST_LINE.match(text):
        method, url, text = found.group(1), found.group(2), text[found.end() :]
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        data = json.loads("{" + text + "}")
    return Example(version, path.name, data, method, url)


def examples() -> list[Any]:
    cases = []
    for version, folder in (("2.1.1", "ocpi_examples_211"), ("2.3.0", "ocpi_examples_230")):
        for path in sorted((HERE / folder).iterdir()):
            if path.suffix not in (".txt", ".json"):
                continue
            fixed = HERE / f"{folder}_fixed" / path.name
            key = f"{version}/{path.name}"
            if key in SPEC_MISTAKES:
                cases.append(pytest.param(path, version, fixed, id=key))
            else:
                cases.append(pytest.param(path, version, None, id=key))
    return cases


def as_numbers(value: Any) -> Any:
    """JSON with every number (and numeric string) as a Decimal, to compare by value."""
    if isinstance(value, dict):
        return {key: as_numbers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [as_numbers(item) for item in value]
    if isinstance(value, bool) or value is None:
        return value
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return value


def wire_round_trip(model: Any, data: Any) -> None:
    adapter = pydantic.TypeAdapter(model)
    back = json.loads(adapter.dump_json(adapter.validate_python(data), exclude_unset=True))
    assert as_numbers(back) == as_numbers(data)


def schema(version: str, name: str) -> Any:
    return getattr(SCHEMAS[version], name, None) or getattr(v221, name)


@pytest.fixture
def partner() -> Partner:
    """The partner the examples come from: one CPO party (2.1.1 objects name no owner)."""
    partner = Partner.objects.create(
        name="Examples", kind=PartnerKind.OCPI, state=PartnerState.ACTIVE
    )
    PartnerRole.objects.create(
        partner=partner, role="CPO", country_code="NL", party_id="TNM", business_name="TNM"
    )
    return partner


def kind_of(example: Example) -> str:
    """What an example is, from its request URL, its content or its file name."""
    if example.url:
        module, *ids = example.url.split("/ocpi/")[1].split("/")[2:]
        depth = len(ids) - 2  # after country_code and party_id
        kind = {"locations": ("location", "evse", "connector")[depth - 1]}.get(module, module[:-1])
        return kind if example.method == "PUT" else f"{kind}_patch"
    if isinstance(example.data, dict) and set(example.data) <= {"energy_mix", "opening_times"}:
        return "member"
    name = example.name
    rules = (
        ("transport_and_format", "envelope"),
        ("location_hours", "hours"),
        ("location_patch_example_location", "location_patch"),
        ("location_patch_example_tariff", "connector_patch"),
        ("location_patch_example", "evse_patch"),
        ("location_put_example_add_evse", "evse"),
        ("session_patch", "session_patch"),
        ("token_patch", "token_patch"),
        ("type_displaytext", "displaytext"),
        ("versions_info", "versions"),
        ("version_information_endpoint_0049", "versions"),
        ("version_details", "version_details"),
        ("version_information_endpoint", "version_details"),
        ("credentials", "credentials"),
        ("cdr", "cdr"),
        ("location", "location"),
        ("session", "session"),
        ("tariff", "tariff"),
        ("token", "token"),
    )
    return next(kind for prefix, kind in rules if prefix in name)


def goes_in_and_round_trips(example: Example, adapter: RoamingAdapter) -> None:
    version, data = example.version, example.data
    kind = kind_of(example)
    whole = {
        "location": "Location",
        "evse": "EVSE",
        "connector": "Connector",
        "tariff": "Tariff",
        "session": "Session",
        "cdr": "CDR",
        "credentials": "Credentials",
        "token": "Token",
        "hours": "Hours",
        "displaytext": "DisplayText",
        "version_details": "VersionDetails",
    }
    if kind in whole:
        wire_round_trip(schema(version, whole[kind]), data)
    reads = {
        "location": adapter.location_parse,
        "evse": adapter.evse_parse,
        "connector": adapter.connector_parse,
        "tariff": adapter.tariff_parse,
        "session": adapter.session_parse,
        "session_patch": adapter.session_patch_parse,
        "cdr": adapter.cdr_parse,
        "credentials": adapter.credentials_parse,
        "version_details": adapter.endpoints_parse,
        "location_patch": adapter.location_patch_parse,
        "evse_patch": adapter.evse_patch_parse,
        "connector_patch": adapter.connector_patch_parse,
    }
    if kind in reads:
        record = reads[kind](data)
        assert record
    if kind == "location":
        assert adapter.location_parse(adapter.location_render(record)) == record
    elif kind == "tariff":
        assert adapter.tariff_parse(adapter.tariff_render(record)) == record
    elif kind == "member":
        [(name, value)] = data.items()
        wire_round_trip(schema(version, {"energy_mix": "EnergyMix"}.get(name, "Hours")), value)
    elif kind == "versions":  # read with the open model discovery reads them with
        wire_round_trip(list[v230.Version], data)
    elif kind == "envelope":
        wire_round_trip(v221.OcpiResponse[Any], data)
        if "data" in data:
            wire_round_trip(envelope_data_model(version, data["data"]), data["data"])
    elif kind == "token_patch":
        assert "last_updated" in data or version == "2.1.1"
        assert set(data) <= set(schema(version, "Token").model_fields)


def envelope_data_model(version: str, data: Any) -> Any:
    """What an example response's `data` holds: version details, versions or tokens."""
    first = data[0] if isinstance(data, list) else data
    if "endpoints" in first:
        model = schema(version, "VersionDetails")
    else:
        model = v230.Version if "version" in first else schema(version, "Token")
    return list[model] if isinstance(data, list) else model  # type: ignore[valid-type]


@pytest.mark.parametrize(("path", "version", "fixed"), examples())
def test_each_example_goes_in_and_round_trips(
    path: Path, version: str, fixed: Path | None, partner: Partner
) -> None:
    partner.version = version
    partner.save()
    adapter = adapter_class(version)(partner)
    if path.name.startswith("payment_"):
        json.loads(path.read_text())
        return
    if fixed is None:
        goes_in_and_round_trips(example_read(path, version), adapter)
        return
    with pytest.raises((PartnerError, pydantic.ValidationError, ValueError)):
        goes_in_and_round_trips(example_read(path, version), adapter)
    goes_in_and_round_trips(example_read(fixed, version), adapter)
