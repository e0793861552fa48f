from django import forms

from locator.models import CheckInOutcome
from locator.services import COMMENT_MAX_LENGTH


class CommentForm(forms.Form):
    text = forms.CharField(
        label="Your comment",
        max_length=COMMENT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=f"Up to {COMMENT_MAX_LENGTH} characters. Links are shown as plain text.",
    )
    rating = forms.TypedChoiceField(
        label="Rating",
        choices=[("", "No rating"), *[(n, "★" * n) for n in range(5, 0, -1)]],
        coerce=int,
        empty_value=None,
        required=False,
    )
    outcome = forms.ChoiceField(
        label="Check-in",
        choices=[("", "No check-in"), *CheckInOutcome.choices],
        required=False,
    )
