"""Roaming adapters: one per protocol version, chosen by the partner's negotiated version.

The rest of roaming (pulls, receivers) asks a partner network for things through
`adapter_for(partner)` and the `RoamingAdapter` interface (base.py), never through a version's
module directly."""

from importlib import import_module

from roaming.adapters.base import RoamingAdapter
from roaming.errors import PartnerError
from roaming.models import Partner

# Imported lazily so a version's code loads only when a partner speaks it.
ADAPTERS = {
    "2.1.1": "roaming.adapters.ocpi211.Ocpi211Adapter",
    "2.2.1": "roaming.adapters.ocpi221.Ocpi221Adapter",
    "2.3.0": "roaming.adapters.ocpi230.Ocpi230Adapter",
}


def adapter_class(version: str) -> type[RoamingAdapter]:
    """The adapter class of an OCPI version we speak (KeyError for one we do not)."""
    module, _, name = ADAPTERS[version].rpartition(".")
    found: type[RoamingAdapter] = getattr(import_module(module), name)
    return found


def adapter_for(partner: Partner) -> RoamingAdapter:
    """The adapter for the partner's negotiated OCPI version."""
    if partner.version not in ADAPTERS:
        raise PartnerError(
            f"{partner.name} speaks OCPI {partner.version or '(none negotiated)'}, "
            f"which Plugway has no adapter for",
            permanent=True,
        )
    return adapter_class(partner.version)(partner)
