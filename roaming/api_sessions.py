"""The drivers' charging API: start a charge, follow it, stop it (contract in wt CHARGING.md).

    POST /api/v1/sessions/                   {"evse": <EVSE id>}  → 201 session
    GET  /api/v1/sessions/<public id>/       → 200 session (the driver's own, else 404)
    POST /api/v1/sessions/<public id>/stop/  → 202 session

Errors are `{"code": ..., "detail": <message for the driver>}` with the status the code
implies (see `SessionError`), DRF's own refusals (CSRF, throttling) included; a session is
reached only by its random public id, and another driver's is a 404, never a 403.
"""

from typing import Any
from uuid import UUID

from django.contrib.auth.models import User
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.exceptions import APIException, AuthenticationFailed, NotAuthenticated
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from payments.models import Payment
from payments.money import format_money
from roaming.errors import SessionError
from roaming.models import (
    ENDED_WITHOUT_CHARGE,
    ChargingSession,
    SessionEvent,
    SessionSample,
    SessionState,
)
from roaming.selectors import session_for_driver
from roaming.services.sessions import session_start, session_stop

# The live chart needs the shape of the charge, not every push of a long one.
MAX_SAMPLES = 720


class MoneyOutput(serializers.Serializer[dict[str, Any]]):
    amount = serializers.IntegerField()
    display = serializers.CharField()


class StationOutput(serializers.Serializer[ChargingSession]):
    id = serializers.IntegerField(source="evse.location_id", allow_null=True)
    name = serializers.CharField(source="location_name")
    address = serializers.CharField(source="location_address")


class EvseOutput(serializers.Serializer[ChargingSession]):
    id = serializers.IntegerField(source="evse_id", allow_null=True)
    label = serializers.CharField(source="evse_label")  # type: ignore[assignment]  # Field.label


class SampleOutput(serializers.ModelSerializer[SessionSample]):
    kwh = serializers.FloatField()
    power_kw = serializers.FloatField()

    class Meta:
        model = SessionSample
        fields = ["at", "kwh", "power_kw", "cost"]


class TimelineOutput(serializers.ModelSerializer[SessionEvent]):
    at = serializers.DateTimeField(source="created_at")
    text = serializers.CharField(source="cause")

    class Meta:
        model = SessionEvent
        fields = ["at", "text"]


class SessionOutput(serializers.ModelSerializer[ChargingSession]):
    id = serializers.UUIDField(source="public_id")
    state_label = serializers.CharField(source="get_state_display")
    message = serializers.CharField(source="state_message")
    live = serializers.BooleanField(source="is_live")
    can_stop = serializers.SerializerMethodField()
    station = StationOutput(source="*")
    evse = EvseOutput(source="*")
    operator = serializers.CharField(source="operator_name")
    duration_seconds = serializers.SerializerMethodField()
    kwh = serializers.FloatField()
    power_kw = serializers.FloatField()
    cost = serializers.SerializerMethodField()
    hold = serializers.SerializerMethodField()
    samples = serializers.SerializerMethodField()
    receipt_url = serializers.SerializerMethodField()
    timeline = TimelineOutput(source="events", many=True)

    class Meta:
        model = ChargingSession
        fields = [
            "id",
            "state",
            "state_label",
            "message",
            "live",
            "can_stop",
            "station",
            "evse",
            "operator",
            "started_at",
            "ended_at",
            "duration_seconds",
            "kwh",
            "power_kw",
            "currency",
            "cost",
            "hold",
            "samples",
            "receipt_url",
            "timeline",
        ]

    @extend_schema_field(OpenApiTypes.BOOL)
    def get_can_stop(self, session: ChargingSession) -> bool:
        return session.state == SessionState.ACTIVE and bool(session.ocpi_session_id)

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_duration_seconds(self, session: ChargingSession) -> int | None:
        if session.started_at is None:
            return None
        end = session.ended_at or timezone.now()
        return max(0, int((end - session.started_at).total_seconds()))

    @extend_schema_field(MoneyOutput)
    def get_cost(self, session: ChargingSession) -> dict[str, Any]:
        return money(session.running_cost, session.currency)

    @extend_schema_field(MoneyOutput(allow_null=True))
    def get_hold(self, session: ChargingSession) -> dict[str, Any] | None:
        payment = session.payment
        if (
            payment is None
            or session.state in ENDED_WITHOUT_CHARGE
            or payment.status in (Payment.Status.CANCELED, Payment.Status.FAILED)
        ):
            return None
        return money(payment.amount, payment.currency)

    @extend_schema_field(SampleOutput(many=True))
    def get_samples(self, session: ChargingSession) -> list[dict[str, Any]]:
        samples = list(session.samples.all())
        step = max(1, -(-len(samples) // MAX_SAMPLES))
        kept = samples[::step]
        if samples and kept[-1] is not samples[-1]:
            kept.append(samples[-1])
        return SampleOutput(kept, many=True).data  # type: ignore[return-value]

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_receipt_url(self, session: ChargingSession) -> str | None:
        payment = session.payment
        if payment is None or not hasattr(payment, "receipt"):
            return None
        return f"/receipts/{session.public_id}/"


def money(amount: int, currency: str) -> dict[str, Any]:
    return {"amount": amount, "display": format_money(amount, currency)}


class SessionStartInput(serializers.Serializer[None]):
    evse = serializers.IntegerField(min_value=1, max_value=2**63 - 1)


class SessionErrorOutput(serializers.Serializer[None]):
    code = serializers.CharField(help_text="The case, for programs: no_card, not_found, ...")
    detail = serializers.CharField(help_text="What happened, for the driver.")
    session = serializers.CharField(required=False, help_text="The session already charging.")
    authenticate_url = serializers.CharField(required=False, help_text="Where to confirm a card.")


def failures(*codes: int) -> dict[int, OpenApiResponse]:
    """The error answers of an operation (always: 401 to a visitor, 429 when throttled, 503
    when a service behind the API is down)."""
    return {code: OpenApiResponse(SessionErrorOutput) for code in (*codes, 401, 429, 503)}


def error(code: str, detail: str, http_status: int, **extra: str) -> Response:
    return Response({"code": code, "detail": detail, **extra}, status=http_status)


class DriverApi(APIView):
    """Signed-in drivers only: a visitor gets 401 `not_authenticated` (DRF would say 403 with
    session authentication); a SessionError becomes its code, message and status."""

    permission_classes = [IsAuthenticated]

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, NotAuthenticated | AuthenticationFailed):
            return error("not_authenticated", "Sign in to charge.", 401)
        if isinstance(exc, SessionError):
            return error(exc.code, exc.message, exc.http_status, **exc.extra)
        response = super().handle_exception(exc)
        # DRF's own refusals (a failed CSRF check, a throttle) in this API's error shape too;
        # their headers (Retry-After, Allow) are kept.
        if isinstance(exc, APIException) and isinstance(exc.detail, str):
            response.data = {"code": str(exc.get_codes()), "detail": str(exc.detail)}
        return response

    def driver_session(self, request: Request, public_id: UUID) -> ChargingSession:
        session = session_for_driver(user=self.driver(request), public_id=public_id)
        if session is None:
            raise SessionError(_("No such charging session."), code="not_found", http_status=404)
        return session

    @staticmethod
    def driver(request: Request) -> User:
        user: User = request.user  # type: ignore[assignment]
        return user


def session_json(session: ChargingSession) -> dict[str, Any]:
    session = (
        ChargingSession.objects.select_related("evse", "payment__receipt")
        .prefetch_related("events", "samples")
        .get(pk=session.pk)
    )
    return SessionOutput(session).data


class SessionStartApi(DriverApi):
    @extend_schema(
        request=SessionStartInput,
        responses={201: SessionOutput, **failures(400, 402, 403, 404, 409)},
    )
    def post(self, request: Request) -> Response:
        """Start a charge on an EVSE (`id` from the station API): places a hold on the
        driver's card, then asks the operator to start."""
        data = SessionStartInput(data=request.data)
        if not data.is_valid():
            return error("invalid", 'Send the charger to start as {"evse": <id>}.', 400)
        session = session_start(user=self.driver(request), evse_id=data.validated_data["evse"])
        return Response(session_json(session), status=status.HTTP_201_CREATED)


class SessionDetailApi(DriverApi):
    @extend_schema(responses={200: SessionOutput, **failures(404)})
    def get(self, request: Request, public_id: UUID) -> Response:
        """One of the driver's sessions, live: state, kWh, power, cost, chart points."""
        return Response(session_json(self.driver_session(request, public_id)))


class SessionStopApi(DriverApi):
    @extend_schema(request=None, responses={202: SessionOutput, **failures(404, 409)})
    def post(self, request: Request, public_id: UUID) -> Response:
        """Ask the operator to stop the driver's charge; it completes when the charger says so."""
        session = self.driver_session(request, public_id)
        session = session_stop(user=self.driver(request), session=session)
        return Response(session_json(session), status=status.HTTP_202_ACCEPTED)
