"""Drivers' comments: who may post, edit, delete and hide, and that text stays text."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from locator.models import Comment
from locator.services import COMMENT_RATE, comments_hide
from tests.conftest import with_authenticator
from tests.locator.conftest import location

pytestmark = pytest.mark.django_db


@pytest.fixture
def station(put):
    return put(location("C1"))


@pytest.fixture
def driver(client: Client):
    user = get_user_model().objects.create_user("ann", "ann@example.com", "correct horse battery")
    client.force_login(user)
    return user


def comments_url(station) -> str:
    return f"/api/v1/stations/{station.id}/comments/"


def test_anonymous_visitors_can_read_but_not_post(client: Client, station) -> None:
    assert client.get(comments_url(station)).json() == []
    response = client.post(comments_url(station), {"text": "hello"})
    assert response.status_code == 403


def test_a_driver_posts_a_rated_check_in_and_sees_it_first(client: Client, station, driver) -> None:
    client.post(comments_url(station), {"text": "first"}, content_type="application/json")
    response = client.post(
        comments_url(station),
        {"text": "Fast and free", "rating": 5, "outcome": "charged"},
        content_type="application/json",
    )
    assert response.status_code == 201
    listed = client.get(comments_url(station)).json()
    assert [c["text"] for c in listed] == ["Fast and free", "first"]
    assert listed[0]["mine"] is True
    assert client.get(f"/api/v1/stations/{station.id}/").json()["rating"] == 5.0


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"text": ""}, "text"),
        ({"text": "x" * 1001}, "text"),
        ({"text": "ok", "rating": 6}, "rating"),
        ({"text": "ok", "outcome": "exploded"}, "outcome"),
    ],
)
def test_invalid_comments_are_refused_naming_the_field(
    client: Client, station, driver, payload, field
) -> None:
    response = client.post(comments_url(station), payload, content_type="application/json")
    assert response.status_code == 400
    assert field in response.json()


def test_posting_too_often_is_slowed_down(client: Client, station, driver) -> None:
    for n in range(COMMENT_RATE):
        assert client.post(comments_url(station), {"text": f"n{n}"}).status_code == 201
    response = client.post(comments_url(station), {"text": "one more"})
    assert response.status_code == 429
    assert "wait" in response.json()["detail"]


def test_only_the_author_may_edit_or_delete(client: Client, station, driver) -> None:
    comment_id = client.post(comments_url(station), {"text": "mine"}).json()["id"]
    url = f"{comments_url(station)}{comment_id}/"
    assert (
        client.patch(
            url, {"text": "edited", "rating": 4}, content_type="application/json"
        ).status_code
        == 200
    )
    assert Comment.objects.get(id=comment_id).edited_at is not None
    other = get_user_model().objects.create_user("bob", "bob@example.com", "correct horse battery")
    client.force_login(other)
    assert client.patch(url, {"text": "hijack"}, content_type="application/json").status_code == 403
    assert client.delete(url).status_code == 403
    client.force_login(driver)
    assert client.delete(url).status_code == 204
    assert not Comment.objects.exists()


def test_hidden_comments_disappear_from_lists(client: Client, station, driver) -> None:
    comment_id = client.post(comments_url(station), {"text": "spam"}).json()["id"]
    assert comments_hide(comment_ids=[comment_id]) == 1
    assert client.get(comments_url(station)).json() == []


def test_the_station_page_escapes_comment_text_and_keeps_links_plain(
    client: Client, station, driver
) -> None:
    client.post(
        f"/stations/{station.id}/comments/",
        {
            "text": "<script>alert(1)</script> see https://evil.example/x",
            "rating": "3",
            "outcome": "waited",
        },
    )
    page = client.get(f"/stations/{station.id}/").content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script>alert" not in page
    assert 'href="https://evil.example' not in page
    assert "Had to wait" in page


def test_the_page_form_shows_why_a_comment_was_refused(client: Client, station, driver) -> None:
    response = client.post(f"/stations/{station.id}/comments/", {"text": "   "})
    assert response.status_code == 400
    assert "This field is required" in response.content.decode()


def test_signed_out_visitors_are_invited_to_sign_in(client: Client, station) -> None:
    assert "to leave a comment" in client.get(f"/stations/{station.id}/").content.decode()


def test_admins_hide_comments_from_the_admin(client: Client, station, driver) -> None:
    comment_id = client.post(comments_url(station), {"text": "rude"}).json()["id"]
    admin = get_user_model().objects.create_superuser(
        "root", "root@example.com", "correct horse battery"
    )
    client.force_login(with_authenticator(admin))
    response = client.post(
        "/admin/locator/comment/", {"action": "hide_comments", "_selected_action": [comment_id]}
    )
    assert response.status_code == 302
    assert Comment.objects.get(id=comment_id).hidden


def test_a_driver_edits_their_comment_on_the_page(client: Client, station, driver) -> None:
    comment_id = client.post(comments_url(station), {"text": "slow"}).json()["id"]
    edit_url = f"/stations/{station.id}/comments/{comment_id}/edit/"
    assert "slow" in client.get(edit_url).content.decode()
    response = client.post(
        edit_url, {"text": "fast after all", "rating": "4", "outcome": "charged"}
    )
    assert response.status_code == 302
    page = client.get(f"/stations/{station.id}/").content.decode()
    assert "fast after all" in page
    assert "(edited)" in page


@pytest.mark.parametrize(
    ("method", "route", "data"),
    [
        ("get", "edit", None),
        ("post", "edit", {"text": "hijack", "rating": "1"}),
        ("post", "delete", None),
    ],
)
def test_another_drivers_comment_pages_are_a_404(
    client: Client, station, driver, method: str, route: str, data: dict[str, str] | None
) -> None:
    """Someone else's comment is not there for you to change, as any owned object (issue 16)."""
    comment_id = client.post(comments_url(station), {"text": "mine"}).json()["id"]
    other = get_user_model().objects.create_user("eve", "eve@example.com", "correct horse battery")
    client.force_login(other)
    url = f"/stations/{station.id}/comments/{comment_id}/{route}/"
    response = getattr(client, method)(url, data or {})
    assert response.status_code == 404
    assert Comment.objects.get(id=comment_id).text == "mine"
    assert "only change your own" not in client.get(f"/stations/{station.id}/").content.decode()
