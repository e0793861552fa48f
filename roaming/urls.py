from django.urls import path

from roaming import api
from roaming.receivers import catalogue as receivers
from roaming.receivers import commands, sessions

urlpatterns = [
    path("versions", api.versions, name="ocpi-versions"),
    path("<str:version>/", api.version_details, name="ocpi-version-details"),
    path("<str:version>/credentials", api.credentials, name="ocpi-credentials"),
    path(
        "<str:version>/locations/<str:country_code>/<str:party_id>/<str:location_id>",
        receivers.locations,
        name="ocpi-locations",
    ),
    path(
        "<str:version>/locations/<str:country_code>/<str:party_id>/<str:location_id>/<str:evse_uid>",
        receivers.locations,
    ),
    path(
        "<str:version>/locations/<str:country_code>/<str:party_id>/<str:location_id>/<str:evse_uid>/<str:connector_id>",
        receivers.locations,
    ),
    path(
        "<str:version>/tariffs/<str:country_code>/<str:party_id>/<str:tariff_id>",
        receivers.tariffs,
        name="ocpi-tariffs",
    ),
    path(
        "<str:version>/sessions/<str:country_code>/<str:party_id>/<str:session_id>",
        sessions.sessions,
        name="ocpi-sessions",
    ),
    path(
        "<str:version>/commands/<str:command_type>/<uuid:public_id>",
        commands.command_result,
        name="ocpi-command-result",
    ),
]
