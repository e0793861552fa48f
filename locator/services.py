"""Locator's writes other than the catalogue's (those are all in locator.catalogue): drivers'
comments on stations and their moderation, and drivers' favourite stations. Called by
locator's API, pages and admin.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import User
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext, ngettext

from locator.models import CheckInOutcome, Comment, Favourite, Location


class CommentError(Exception):
    """A comment a driver cannot post or change, with the reason to show them."""


COMMENT_MAX_LENGTH = 1000
COMMENT_RATE = 5  # comments per driver per COMMENT_RATE_WINDOW seconds
COMMENT_RATE_WINDOW = 600


@dataclass(frozen=True, slots=True)
class CommentDraft:
    """What a driver typed for a comment: text, an optional 1-5 rating, a check-in outcome."""

    text: str
    rating: int | None = None
    outcome: str = ""

    @classmethod
    def of(cls, values: Mapping[str, Any]) -> "CommentDraft":
        """From the cleaned input of the comment form or the API."""
        return cls(values["text"], values.get("rating"), values.get("outcome") or "")


def _clean_comment(draft: CommentDraft) -> str:
    text, rating, outcome = draft.text.strip(), draft.rating, draft.outcome
    if not text:
        raise CommentError(gettext("Write something about this station before posting."))
    if len(text) > COMMENT_MAX_LENGTH:
        raise CommentError(
            gettext("Comments are limited to %(limit)s characters; yours has %(count)s.")
            % {"limit": COMMENT_MAX_LENGTH, "count": len(text)}
        )
    if rating is not None and not 1 <= rating <= 5:
        raise CommentError(gettext("A rating is a whole number of stars from 1 to 5."))
    if outcome and outcome not in CheckInOutcome.values:
        raise CommentError(
            gettext("Check-in outcome must be one of: %(outcomes)s.")
            % {"outcomes": ", ".join(CheckInOutcome.values)}
        )
    return text


@transaction.atomic
def comment_create(*, location: Location, author: User, draft: CommentDraft) -> Comment:
    """Post a driver's comment on a station, with an optional 1-5 rating and check-in outcome.

    Text is stored as typed (pages escape it and never turn links into anchors). Raises
    CommentError when the text is empty or too long, the rating or outcome is invalid, or the
    driver posted more than COMMENT_RATE comments in the last ten minutes.
    """
    text = _clean_comment(draft)
    key = f"locator:comment-rate:{author.pk}"
    cache.add(key, 0, COMMENT_RATE_WINDOW)
    if cache.incr(key) > COMMENT_RATE:
        raise CommentError(
            gettext(
                "You have posted several comments in the last few minutes; please wait a little."
            )
        )
    return Comment.objects.create(
        location=location, author=author, text=text, rating=draft.rating, outcome=draft.outcome
    )


def _own(comment: Comment, user: User) -> None:
    if comment.author_id != user.pk:
        raise CommentError(gettext("You can only change your own comments."))


@transaction.atomic
def comment_update(*, comment: Comment, user: User, draft: CommentDraft) -> Comment:
    """Edit a comment; only its author may. Same rules as posting (bar the rate limit)."""
    _own(comment, user)
    comment.text = _clean_comment(draft)
    comment.rating = draft.rating
    comment.outcome = draft.outcome
    comment.edited_at = timezone.now()
    comment.save()
    return comment


@transaction.atomic
def comment_delete(*, comment: Comment, user: User) -> None:
    """Delete a comment; only its author may (admins hide instead, see comments_hide)."""
    _own(comment, user)
    comment.delete()


@transaction.atomic
def comments_hide(*, comment_ids: Iterable[int], hidden: bool = True) -> int:
    """Hide (or show again) comments, for moderators. Returns how many changed."""
    return (
        Comment.objects.filter(id__in=list(comment_ids))
        .exclude(hidden=hidden)
        .update(hidden=hidden)
    )


FAVOURITES_MAX = 500  # per driver: a list to glance at, not a catalogue copy


class FavouriteError(Exception):
    """A favourite a driver cannot add, with the reason to show them."""


@transaction.atomic
def favourite_add(*, user: User, location: Location) -> bool:
    """Star a station for this driver; False when it was starred already (adding twice is
    harmless: a double click, a second tab)."""
    if Favourite.objects.filter(user=user, location=location).exists():
        return False
    if Favourite.objects.filter(user=user).count() >= FAVOURITES_MAX:
        raise FavouriteError(
            ngettext(
                "You have %(count)s favourite already; remove it to add another.",
                "You have %(count)s favourites already; remove one to add another.",
                FAVOURITES_MAX,
            )
            % {"count": FAVOURITES_MAX}
        )
    _, created = Favourite.objects.get_or_create(user=user, location=location)
    return created


def favourite_remove(*, user: User, location: Location) -> bool:
    """Unstar a station for this driver; False when it was not starred."""
    deleted, _ = Favourite.objects.filter(user=user, location=location).delete()
    return deleted > 0
