import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_home_page_has_the_main_navigation(client: Client) -> None:
    page = client.get("/").content.decode()
    assert 'aria-label="Main"' in page
    assert ">Map</a>" in page
    assert ">Account</a>" in page


def test_html_pages_carry_a_content_security_policy(client: Client) -> None:
    response = client.get("/accounts/login/")
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert response["X-Frame-Options"] == "DENY"


def test_openapi_schema_and_docs_are_served(client: Client) -> None:
    schema = client.get("/api/v1/schema/")
    assert schema.status_code == 200
    assert b"openapi: 3" in schema.content
    docs = client.get("/api/v1/docs/")
    assert docs.status_code == 200
    assert b"swagger-ui" in docs.content


def test_a_nul_in_a_page_query_is_a_400_page_not_a_server_error(admin_client: Client) -> None:
    """The admin's search reaches the database with whatever `q` holds."""
    response = admin_client.get("/admin/locator/location/?q=%00")
    assert response.status_code == 400
    assert "NUL" in response.content.decode()
    assert 'aria-label="Main"' in response.content.decode()
