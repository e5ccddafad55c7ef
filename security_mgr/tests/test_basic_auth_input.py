"""Credentials the database cannot store (a NUL character) are a refused sign-in, never
a 500: Basic authentication and the console's login form."""

import base64

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.personas import PASSWORD

pytestmark = pytest.mark.django_db


def _basic(client, username: str, password: str, path="/api/v1/me/"):
    raw = f"{username}:{password}".encode()
    header = "Basic " + base64.b64encode(raw).decode()
    return client.get(path, HTTP_AUTHORIZATION=header)


@pytest.mark.parametrize(
    "username,password",
    [("ali\x00ce", PASSWORD), ("\x00", "x"), ("alice", "pass\x00word"), ("a\x00", "\x00")],
)
def test_basic_auth_nul_is_401_json(alpha_owner, username, password):
    response = _basic(Client(raise_request_exception=False), username, password)
    assert response.status_code == 401, response.content
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["error"]["code"] == "authentication_failed"


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    username=st.text(min_size=1, max_size=20).filter(lambda u: ":" not in u),
    password=st.text(max_size=20),
)
def test_basic_auth_any_text_never_5xx(alpha_owner, username, password):
    try:
        raw = f"{username}:{password}".encode()
    except UnicodeEncodeError:
        raw = f"{username}:{password}".encode("utf-8", "surrogatepass")
    header = "Basic " + base64.b64encode(raw).decode()
    response = Client(raise_request_exception=False).get("/api/v1/me/", HTTP_AUTHORIZATION=header)
    assert response.status_code in (200, 401, 403, 429), response.content[:200]
    assert response["Content-Type"].startswith("application/json")


def test_console_login_nul_username_is_a_form_error(alpha_owner):
    response = Client(raise_request_exception=False).post(
        "/admin/login/", {"username": "ali\x00ce", "password": PASSWORD}
    )
    assert response.status_code == 200  # the form again, with its error
