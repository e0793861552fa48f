"""The sign-up form's extra field: the display name (allauth's ACCOUNT_SIGNUP_FORM_CLASS)."""

from typing import Any

from django import forms
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from accounts import services
from accounts.models import DISPLAY_NAME_MAX


def _display_name_field() -> forms.CharField:
    return forms.CharField(
        label=_("Display name"),
        max_length=DISPLAY_NAME_MAX,
        help_text=_("Other drivers see this on your comments. Not your email address."),
        widget=forms.TextInput(attrs={"autocomplete": "nickname"}),
    )


def _display_name_checked(form: forms.Form, email: str) -> None:
    if "display_name" not in form.cleaned_data:
        return
    try:
        form.cleaned_data["display_name"] = services.display_name_clean(
            name=form.cleaned_data["display_name"], email=email
        )
    except services.DisplayNameError as exc:
        form.add_error("display_name", str(exc))


class DisplayNameForm(forms.Form):
    """Change the display name (the account page)."""

    display_name = _display_name_field()

    def __init__(self, *args: Any, email: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.email = email

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean() or {}
        _display_name_checked(self, self.email)
        return cleaned


class SignupFields(forms.Form):
    """allauth's sign-up form is built on this: the display name comes with the email."""

    field_order = ("email", "display_name")
    display_name = _display_name_field()

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean() or {}
        _display_name_checked(self, str(cleaned.get("email", "")))
        return cleaned

    def signup(self, request: HttpRequest, user: Any) -> None:
        """allauth calls this once the user is saved."""
        services.display_name_set(user=user, name=self.cleaned_data["display_name"])
