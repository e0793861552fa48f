"""Writes to drivers' profiles."""

from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import DISPLAY_NAME_MAX, DriverProfile


class DisplayNameError(ValueError):
    """A display name other drivers must not see (empty, too long, or an email)."""


def display_name_clean(*, name: str, email: str = "") -> str:
    """The name, spaces tidied; raises DisplayNameError saying what to change."""
    name = " ".join(name.split())
    if len(name) < 2:
        raise DisplayNameError(_("Choose a name of at least 2 characters."))
    if len(name) > DISPLAY_NAME_MAX:
        raise DisplayNameError(
            _("Choose a name of at most %(count)s characters.") % {"count": DISPLAY_NAME_MAX}
        )
    local = email.split("@")[0].casefold()
    if "@" in name or (len(local) >= 3 and local in name.casefold()):
        raise DisplayNameError(
            _("Choose a name that is not your email address: other drivers see it.")
        )
    return name


@transaction.atomic
def display_name_set(*, user: Any, name: str) -> DriverProfile:
    """Give `user` this public name (cleaned by `display_name_clean`)."""
    profile, _ = DriverProfile.objects.update_or_create(
        user=user, defaults={"display_name": display_name_clean(name=name, email=user.email)}
    )
    return profile


def display_name_of(user: Any) -> str:
    """The name other drivers see for `user`. One made outside sign-up (an admin) without a
    profile is "Driver <id>": still nothing from the account's email."""
    try:
        name: str = user.driver_profile.display_name
    except DriverProfile.DoesNotExist:
        name = f"Driver {user.pk}"
    return name
