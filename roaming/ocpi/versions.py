"""Which OCPI versions we speak and which modules we offer in each.

Adding 2.1.1 or 2.3.0 means an adapter under `roaming/adapters/` and an entry here.
"""

from django.conf import settings
from django.urls import reverse

# Highest first: negotiation picks the first one the partner also speaks.
SUPPORTED_VERSIONS = ("2.2.1",)

# (module identifier, our interface role) offered per version; each module is served at
# /ocpi/<version>/<module>.
OFFERED_MODULES: dict[str, list[tuple[str, str]]] = {
    "2.2.1": [
        ("credentials", "SENDER"),
        ("locations", "RECEIVER"),
        ("tariffs", "RECEIVER"),
        ("sessions", "RECEIVER"),
        ("commands", "SENDER"),
    ],
}


def absolute(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def our_versions_url() -> str:
    return absolute(reverse("ocpi-versions"))


def our_version_details_url(version: str) -> str:
    return absolute(reverse("ocpi-version-details", kwargs={"version": version}))


def our_endpoints(version: str) -> list[dict[str, str]]:
    base = our_version_details_url(version)
    return [
        {"identifier": module, "role": role, "url": f"{base}{module}"}
        for module, role in OFFERED_MODULES[version]
    ]


def our_roles() -> list[dict[str, object]]:
    return [
        {
            "role": "EMSP",
            "business_details": {"name": settings.OCPI_BUSINESS_NAME, "website": settings.SITE_URL},
            "party_id": settings.OCPI_PARTY_ID,
            "country_code": settings.OCPI_COUNTRY_CODE,
        }
    ]


def our_credentials(token: str) -> dict[str, object]:
    return {"token": token, "url": our_versions_url(), "roles": our_roles()}
