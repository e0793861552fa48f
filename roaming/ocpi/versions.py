"""Which OCPI versions we speak and which modules we offer in each.

Adding a version means an adapter under `roaming/adapters/`, registered there, and an entry
here.
"""

from django.conf import settings
from django.urls import reverse

# Highest first: negotiation picks the first one the partner also speaks.
SUPPORTED_VERSIONS = ("2.3.0", "2.2.1", "2.1.1")

# (module identifier, our interface role) offered per version; each module is served at
# /ocpi/<version>/<module>.
# The same in every version we speak (2.1.1 lists them without roles).
MODULES = [
    ("credentials", "SENDER"),
    ("locations", "RECEIVER"),
    ("tariffs", "RECEIVER"),
    ("cdrs", "RECEIVER"),
    ("sessions", "RECEIVER"),
    ("commands", "SENDER"),
    ("tokens", "SENDER"),
]
OFFERED_MODULES: dict[str, list[tuple[str, str]]] = dict.fromkeys(SUPPORTED_VERSIONS, MODULES)


def absolute(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def our_versions_url() -> str:
    return absolute(reverse("ocpi-versions"))


def our_version_details_url(version: str) -> str:
    return absolute(reverse("ocpi-version-details", kwargs={"version": version}))


def our_roles() -> list[dict[str, object]]:
    return [
        {
            "role": "EMSP",
            "business_details": {"name": settings.OCPI_BUSINESS_NAME, "website": settings.SITE_URL},
            "party_id": settings.OCPI_PARTY_ID,
            "country_code": settings.OCPI_COUNTRY_CODE,
        }
    ]
