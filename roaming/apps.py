from django.apps import AppConfig
from django.db.models.signals import post_delete


class RoamingConfig(AppConfig):
    name = "roaming"
    verbose_name = "Roaming partners"

    def ready(self) -> None:
        from locator.models import Location
        from roaming.ocpi.known_evses import station_deleted

        # The status fast path remembers EVSEs per process; EVSEs are only ever deleted with
        # their station (an admin or a script deleting it).
        post_delete.connect(station_deleted, sender=Location, dispatch_uid="known-evses")
