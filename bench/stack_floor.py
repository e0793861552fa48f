"""The stack's floor for a nearby search: the API's nearby SQL with its rows straight to JSON,
as the minimal WSGI app (bench.scale:reference_app) answers it, but through Django with the
project's settings and middleware and a DRF view with the project's API defaults (session
authentication, the client throttle, the JSON renderer), as the station list has them.

    gunicorn bench.stack_floor:application      # GET /nearby?lat=..&lon=..

What the fixed stack (Django, DRF) costs a request before any of our own code runs:
bench/scale.py serves it beside the app and the minimal WSGI app. Not part of the product: it
adds /nearby to the product's routes.
"""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django
from django.conf import settings
from django.core.wsgi import get_wsgi_application

django.setup()

from django.db import connection  # noqa: E402
from django.urls import path  # noqa: E402
from rest_framework.permissions import IsAuthenticatedOrReadOnly  # noqa: E402
from rest_framework.request import Request  # noqa: E402
from rest_framework.response import Response  # noqa: E402
from rest_framework.views import APIView  # noqa: E402

from bench.search_index import nearby  # noqa: E402
from config import urls as product_urls  # noqa: E402


class NearbyRows(APIView):
    permission_classes = [IsAuthenticatedOrReadOnly]  # as locator.api.StationListApi

    def get(self, request: Request) -> Response:
        statement, params = nearby(
            float(request.query_params["lat"]), float(request.query_params["lon"])
        )
        with connection.cursor() as cursor:
            cursor.execute(statement, params)
            return Response({"results": cursor.fetchall()})


# The product's routes too: its middleware reverses some (the admin's, for staff MFA).
urlpatterns = [path("nearby", NearbyRows.as_view()), *product_urls.urlpatterns]
settings.ROOT_URLCONF = __name__  # once its routes are all here
application = get_wsgi_application()
