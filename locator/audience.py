"""Who may see a restricted station: the drivers an operator's `publish_allowed_to` names.

OCPI lets a CPO publish a location only to the owners of certain tokens: each entry of
`publish_allowed_to` sets some of uid, type, visual_number, issuer and group_id, and a token
matching every field an entry sets may see the location. The catalogue marks such stations
`restricted` rather than `visible` (locator.catalogue.rules), so the public never reads them.

Locator knows nothing of the drivers' tokens (roaming issues them): the identities of a
signed-in user's tokens come from the function named in `settings.LOCATOR_VIEWER_TOKENS`,
called with `user=`, returning PublishToken-shaped dicts. Anonymous viewers cost nothing here;
a signed-in one costs its token lookup and a read of the restricted stations (a partial index:
few rows) only.
"""

from collections.abc import Callable, Iterable, Mapping

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet
from django.utils.module_loading import import_string

from locator.models import Location
from locator.selectors import shown

ViewerTokens = Callable[..., list[dict[str, str]]]
# OCPI's CiString fields compare without regard to case; the others exactly.
CASELESS = ("uid", "group_id")
EXACT = ("type", "visual_number", "issuer")


def token_matches(entry: Mapping[str, object], token: Mapping[str, str]) -> bool:
    """Whether `token` has every field this publish_allowed_to entry sets (one at least)."""
    wanted = {name: str(entry[name]) for name in (*CASELESS, *EXACT) if entry.get(name)}
    return bool(wanted) and all(
        token.get(name, "").casefold() == value.casefold()
        if name in CASELESS
        else token.get(name, "") == value
        for name, value in wanted.items()
    )


def restricted_stations_for(*, tokens: Iterable[Mapping[str, str]]) -> frozenset[int]:
    """Ids of the restricted stations one of these tokens may see."""
    tokens = list(tokens)
    if not tokens:
        return frozenset()
    return frozenset(
        pk
        for pk, entries in Location.objects.filter(restricted=True).values_list(
            "id", "publish_allowed_to"
        )
        if any(token_matches(entry, token) for entry in entries or () for token in tokens)
    )


def viewer_restricted_stations(*, user: AbstractBaseUser | AnonymousUser) -> frozenset[int]:
    """Ids of the restricted stations this viewer may see (none for the public)."""
    if not user.is_authenticated:
        return frozenset()
    viewer_tokens: ViewerTokens = import_string(settings.LOCATOR_VIEWER_TOKENS)
    return restricted_stations_for(tokens=viewer_tokens(user=user))


def viewer_stations(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[Location]:
    """The stations this viewer may open: the visible ones and its restricted ones."""
    return Location.objects.filter(shown(viewer_restricted_stations(user=user)))
