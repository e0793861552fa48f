from django.urls import path

from roaming import api
from roaming.receivers import catalogue as receivers
from roaming.receivers import cdrs, commands, sessions
from roaming.senders import tokens as token_sender
from roaming.senders.open_locations import open_locations

urlpatterns = [
    # First: an EVSE's URL takes the bulk of partner traffic (status pushes), and each pattern
    # tried before the matching one costs every request a regex match. No two patterns here
    # match the same path, so their order changes nothing else.
    path(
        "<str:version>/locations/<str:country_code>/<str:party_id>/<str:location_id>/<str:evse_uid>",
        receivers.locations,
    ),
    path("versions", api.versions, name="ocpi-versions"),
    path("open/2.2.1/locations", open_locations, name="ocpi-open-locations"),
    path("<str:version>/", api.version_details, name="ocpi-version-details"),
    path("<str:version>/credentials", api.credentials, name="ocpi-credentials"),
    path(
        "<str:version>/locations/<str:country_code>/<str:party_id>/<str:location_id>",
        receivers.locations,
        name="ocpi-locations",
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
    path("<str:version>/cdrs", cdrs.cdrs, name="ocpi-cdrs"),
    path(
        "<str:version>/cdrs/<str:country_code>/<str:party_id>/<path:cdr_id>",
        cdrs.cdr,
        name="ocpi-cdr",
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
    path("<str:version>/tokens", token_sender.tokens, name="ocpi-tokens"),
    path(
        "<str:version>/tokens/<str:token_uid>/authorize",
        token_sender.token_authorize,
        name="ocpi-token-authorize",
    ),
]
