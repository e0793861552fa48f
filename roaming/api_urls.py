"""The drivers' charging API under /api/v1/ (see roaming.api_sessions)."""

from django.urls import path

from roaming import api_sessions

urlpatterns = [
    path("sessions/", api_sessions.SessionStartApi.as_view(), name="api-sessions"),
    path("sessions/<uuid:public_id>/", api_sessions.SessionDetailApi.as_view(), name="api-session"),
    path(
        "sessions/<uuid:public_id>/stop/",
        api_sessions.SessionStopApi.as_view(),
        name="api-session-stop",
    ),
]
