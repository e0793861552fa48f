"""The driver's charging pages (the session API sits beside the station API, under /api/v1/)."""

from django.urls import path

from roaming import views_sessions

urlpatterns = [
    path("sessions/", views_sessions.session_history, name="sessions"),
    path("sessions/<uuid:public_id>/", views_sessions.session_live, name="session"),
]
