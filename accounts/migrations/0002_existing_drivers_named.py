"""Drivers who signed up before display names get a neutral one ("Driver 4821"), never
anything from their email address; they can change it on their account page."""

import secrets
from typing import Any

from django.db import migrations


def drivers_name(apps: Any, schema_editor: Any) -> None:
    user_model = apps.get_model("auth", "User")
    profile_model = apps.get_model("accounts", "DriverProfile")
    profile_model.objects.bulk_create(
        [
            profile_model(user_id=pk, display_name=f"Driver {1000 + secrets.randbelow(9000)}")
            for pk in user_model.objects.filter(driver_profile__isnull=True).values_list(
                "pk", flat=True
            )
        ],
        batch_size=1000,
    )


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]

    operations = [migrations.RunPython(drivers_name, migrations.RunPython.noop)]
