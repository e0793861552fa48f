"""Signing in as a person does: through allauth's forms, with a verified email address."""

from typing import Any

from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.test import Client

PASSWORD = "correct-horse-battery-staple"


def account(email: str, **extra: Any) -> Any:
    """A user who verified their email, as after sign-up (or an admin made by createsuperuser)."""
    user = get_user_model().objects.create_user(email, email, PASSWORD, **extra)
    EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    return user


def sign_in(client: Client, email: str, next_url: str = "") -> str:
    """Email and password on allauth's form; returns where it sends the browser."""
    response = client.post(
        f"/accounts/login/{'?next=' + next_url if next_url else ''}",
        {"login": email, "password": PASSWORD},
    )
    assert response.status_code == 302, response.content
    return str(response["Location"])


def signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session
