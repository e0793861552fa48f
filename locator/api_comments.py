"""The public JSON API's comments: a station's comments, and a driver's own to edit or delete."""

from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import IsAuthenticatedOrReadOnly
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from locator import selectors, services
from locator.api import visible_station
from locator.api_schema import CommentOutput, answers
from locator.models import CheckInOutcome, Comment


class CommentInput(serializers.Serializer[None]):
    text = serializers.CharField(max_length=services.COMMENT_MAX_LENGTH, trim_whitespace=True)
    rating = serializers.IntegerField(min_value=1, max_value=5, required=False, allow_null=True)
    outcome = serializers.ChoiceField(
        choices=CheckInOutcome.choices, required=False, allow_blank=True
    )


def _comment_json(comment: Comment, user: Any) -> dict[str, Any]:
    return {
        "id": comment.id,
        "author": comment.author_name,
        "text": comment.text,
        "rating": comment.rating,
        "outcome": comment.outcome,
        "created_at": comment.created_at.isoformat(),
        "edited_at": comment.edited_at.isoformat() if comment.edited_at else None,
        "mine": bool(user.is_authenticated and comment.author_id == user.pk),
    }


class StationCommentsApi(APIView):
    permission_classes = [IsAuthenticatedOrReadOnly]

    @extend_schema(responses=answers({200: CommentOutput(many=True)}, 404))
    def get(self, request: Request, station_id: int) -> Response:
        """A station's comments, newest first (text as typed: escape it when you render it)."""
        location = visible_station(station_id, request.user)
        comments = selectors.station_comments(location=location)[:100]
        return Response([_comment_json(c, request.user) for c in comments])

    @extend_schema(request=CommentInput, responses=answers({201: CommentOutput}, 400, 403, 404))
    def post(self, request: Request, station_id: int) -> Response:
        """Post a comment (signed-in drivers; rate-limited)."""
        location = visible_station(station_id, request.user)
        data = CommentInput(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            comment = services.comment_create(
                location=location,
                author=request.user,  # type: ignore[arg-type]
                draft=services.CommentDraft.of(data.validated_data),
            )
        except services.CommentError as exc:
            return Response(
                {"detail": str(exc)},
                status=status.HTTP_429_TOO_MANY_REQUESTS if "wait" in str(exc) else 400,
            )
        return Response(_comment_json(comment, request.user), status=status.HTTP_201_CREATED)


class CommentDetailApi(APIView):
    permission_classes = [IsAuthenticatedOrReadOnly]

    def _comment(self, station_id: int, comment_id: int) -> Comment:
        return get_object_or_404(Comment, id=comment_id, location_id=station_id, hidden=False)

    @extend_schema(request=CommentInput, responses=answers({200: CommentOutput}, 400, 403, 404))
    def patch(self, request: Request, station_id: int, comment_id: int) -> Response:
        """Edit your own comment."""
        comment = self._comment(station_id, comment_id)
        data = CommentInput(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            services.comment_update(
                comment=comment,
                user=request.user,  # type: ignore[arg-type]
                draft=services.CommentDraft.of(data.validated_data),
            )
        except services.CommentError as exc:
            raise PermissionDenied(str(exc)) from exc
        return Response(_comment_json(comment, request.user))

    @extend_schema(responses=answers({204: None}, 403, 404))
    def delete(self, request: Request, station_id: int, comment_id: int) -> Response:
        """Delete your own comment."""
        comment = self._comment(station_id, comment_id)
        try:
            services.comment_delete(comment=comment, user=request.user)  # type: ignore[arg-type]
        except services.CommentError as exc:
            raise PermissionDenied(str(exc)) from exc
        return Response(status=status.HTTP_204_NO_CONTENT)
