"""The OCPI 2.2.1 wire schemas accept the spec's own example payloads.

The examples in `ocpi_examples_221/` are copied unchanged from the spec repository (ocpi/ocpi,
tag v2.2.1-d2, `examples/`). Known mistakes in them that are still valid syntax: the CDR
example has latitude and longitude swapped; `version_details_example.json` says "2.2".
Two examples break the spec's own required fields, and the schemas rightly refuse them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pydantic
import pytest

from roaming.ocpi.v221 import schemas

EXAMPLES = Path(__file__).parent / "ocpi_examples_221"
PARTIALS = {  # examples that are one field, PATCH bodies or embedded objects
    "location_energymix_example_complete.json": None,
    "location_energymix_example_energy_provider.json": None,
    "location_energymix_example_simple.json": None,
    "location_regularhours_example.json": None,
    "location_patch_example_location.json": None,
    "location_patch_example_remove_evse.json": schemas.EvsePatch,
    "location_patch_example_status.json": schemas.EvsePatch,
    "location_patch_example_tariff.json": None,
    "location_hours_247_open_exception_closing.json": schemas.Hours,
    "location_hours_opening_hours_with_exceptional_closing.json": schemas.Hours,
    "location_hours_opening_hours_with_exceptional_opening.json": schemas.Hours,
    "session_patch_example_charging_period.json": schemas.SessionPatch,
    "session_patch_example_total_cost.json": schemas.SessionPatch,
    "token_patch_example.json": None,
    "type_displaytext_example.json": schemas.DisplayText,
    "versions_info_example.json": pydantic.TypeAdapter(list[schemas.Version]),
}
SPEC_MISTAKES = {
    # Its connector lacks power_type, max_voltage, max_amperage and last_updated, and its
    # physical_reference is a number, not a string.
    "location_put_example_add_evse.json": schemas.EVSE,
    # No last_updated, which every Tariff requires.
    "tariff_put_example.json": schemas.Tariff,
}
PREFIXES: tuple[tuple[str, Any], ...] = (
    ("cdr_", schemas.CDR),
    ("credentials_", schemas.Credentials),
    ("location_", schemas.Location),
    ("session_", schemas.Session),
    ("tariff", schemas.Tariff),
    ("token_", schemas.Token),
    ("transport_and_format_", schemas.OcpiResponse[Any]),
    ("version_details", schemas.VersionDetails),
)


def _model_for(name: str) -> Any:
    if name in PARTIALS:
        return PARTIALS[name]
    return next(model for prefix, model in PREFIXES if name.startswith(prefix))


@pytest.mark.parametrize(
    "path",
    sorted(p for p in EXAMPLES.glob("*.json") if p.name not in SPEC_MISTAKES),
    ids=lambda p: p.name,
)
def test_spec_example_validates(path: Path) -> None:
    model = _model_for(path.name)
    if model is None:
        pytest.skip("a fragment of an object, not a whole one")
    payload = json.loads(path.read_text())
    if isinstance(model, pydantic.TypeAdapter):
        model.validate_python(payload)
    else:
        model.model_validate(payload)


@pytest.mark.parametrize(("name", "model"), sorted(SPEC_MISTAKES.items()))
def test_spec_examples_with_known_mistakes_are_refused(name: str, model: Any) -> None:
    with pytest.raises(pydantic.ValidationError):
        model.model_validate(json.loads((EXAMPLES / name).read_text()))


def test_authorization_info_carries_a_full_token() -> None:
    token = json.loads((EXAMPLES / "token_example_1_app_user.json").read_text())
    info = schemas.AuthorizationInfo.model_validate(
        {"allowed": "ALLOWED", "token": token, "location": {"location_id": "LOC1"}}
    )
    assert info.allowed == schemas.AllowedType.ALLOWED
    with pytest.raises(pydantic.ValidationError):
        schemas.AuthorizationInfo.model_validate({"allowed": "MAYBE", "token": token})
