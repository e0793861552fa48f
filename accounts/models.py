"""A driver's public face: the name other drivers see on comments."""

import secrets

from django.conf import settings
from django.db import models

DISPLAY_NAME_MAX = 30


def display_name_default() -> str:
    """What a driver who chose no name is called: nothing taken from the account."""
    return f"Driver {1000 + secrets.randbelow(9000)}"


class DriverProfile(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="driver_profile"
    )
    display_name = models.CharField(max_length=DISPLAY_NAME_MAX, default=display_name_default)

    def __str__(self) -> str:
        return self.display_name
