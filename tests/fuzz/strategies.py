"""Hypothesis strategies for what a partner can send us: any JSON, and the spec's own examples
with one member anywhere replaced by something else."""

import json
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from roaming.ocpi.v221 import schemas

EXAMPLES = Path(__file__).resolve().parent.parent / "roaming" / "ocpi_examples_221"
FIXED_EXAMPLES = EXAMPLES.parent / "ocpi_examples_221_fixed"

# Any text, NUL included (issue 16 item 6: a NUL in partner data is refused with 2001).
TEXT = st.text(max_size=40)

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    TEXT,
    # Values that pass for the right type at a glance.
    st.sampled_from(
        [
            "2015-06-29T20:39:09Z",
            "2015-06-29T20:39:09+02:00",
            "9999-12-31T23:59:59Z",
            "NaN",
            "1e999",
            "-0",
            "AVAILABLE",
            "IEC_62196_T2",
            "EUR",
            "NL",
            "²",
            "٣",
            " ",
            "",
        ]
    ),
)
JSON = st.recursive(
    SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(TEXT, children, max_size=4)
    ),
    max_leaves=12,
)


def spec_example(name: str) -> dict[str, Any]:
    fixed = FIXED_EXAMPLES / name
    loaded: dict[str, Any] = json.loads((fixed if fixed.exists() else EXAMPLES / name).read_text())
    return loaded


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*prefix, index))
    return found


def _replaced(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    copy = json.loads(json.dumps(value))
    holder = copy
    for step in path[:-1]:
        holder = holder[step]
    holder[path[-1]] = new
    return copy


@st.composite
def mutated(draw: st.DrawFn, name: str) -> Any:
    """The example `name` with one member (at any depth) replaced by any JSON value."""
    original = spec_example(name)
    path = draw(st.sampled_from(_paths(original)))
    return _replaced(original, path, draw(JSON))


PRINTABLE = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=1, max_size=36)
WORDS = st.text(st.characters(exclude_categories=["Cs", "Cc"]), min_size=1, max_size=45).filter(
    str.strip
)
COORDINATE = st.decimals(min_value=-80, max_value=80, places=6).map(str)


@st.composite
def locations(draw: st.DrawFn) -> dict[str, Any]:
    """The spec's example location with its text, place, EVSEs and connectors generated."""
    location = spec_example("location_example.json")
    location.update(
        name=draw(WORDS),
        address=draw(WORDS),
        city=draw(WORDS),
        coordinates={"latitude": draw(COORDINATE), "longitude": draw(COORDINATE)},
    )
    evse_template = location["evses"][0]
    uids = draw(st.lists(PRINTABLE, min_size=1, max_size=3, unique_by=str.upper))
    location["evses"] = [
        {
            **evse_template,
            "uid": uid,
            "status": draw(st.sampled_from([s.value for s in schemas.Status])),
            "connectors": [
                {
                    **evse_template["connectors"][0],
                    "standard": draw(st.sampled_from([c.value for c in schemas.ConnectorType])),
                    "max_voltage": draw(st.integers(0, 1000)),
                    "max_amperage": draw(st.integers(0, 500)),
                }
            ],
        }
        for uid in uids
    ]
    return location
