from django.apps import AppConfig
from django.db.models.signals import post_delete


class LocatorConfig(AppConfig):
    name = "locator"
    verbose_name = "Station catalogue"

    def ready(self) -> None:
        from locator.catalogue.known_evses import station_deleted
        from locator.models import Location

        # The status queue remembers EVSEs per process; EVSEs are only ever deleted with their
        # station (an admin or a script deleting it), which must make every process forget.
        post_delete.connect(station_deleted, sender=Location, dispatch_uid="known-evses")
