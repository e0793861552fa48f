from django.urls import path

from roaming import api

urlpatterns = [
    path("versions", api.versions, name="ocpi-versions"),
    path("<str:version>/", api.version_details, name="ocpi-version-details"),
    path("<str:version>/credentials", api.credentials, name="ocpi-credentials"),
]
