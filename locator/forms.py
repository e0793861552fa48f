from django import forms
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from locator.models import CheckInOutcome
from locator.services import COMMENT_MAX_LENGTH


class CommentForm(forms.Form):
    text = forms.CharField(
        label=_("Your comment"),
        max_length=COMMENT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=format_lazy(
            _("Up to {limit} characters. Links are shown as plain text."), limit=COMMENT_MAX_LENGTH
        ),
    )
    rating = forms.TypedChoiceField(
        label=_("Rating"),
        choices=[("", _("No rating")), *[(n, "★" * n) for n in range(5, 0, -1)]],
        coerce=int,
        empty_value=None,
        required=False,
    )
    outcome = forms.ChoiceField(
        label=_("Check-in"),
        choices=[("", _("No check-in")), *CheckInOutcome.choices],
        required=False,
    )
