"""One error format for everything under /api/ (and the seed's aliases): bad bodies,
unknown paths, wrong methods, too large bodies and server errors all answer JSON in
`{"error": {"code", "message", ...}}`, never an HTML page or a traceback, whatever DEBUG
is; and bad input writes nothing."""

import json

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tenancy.context import tenant_context
from tenancy.models import TenantSetting
from tests.personas import PASSWORD, api_as

pytestmark = pytest.mark.django_db

SETTINGS_URL = "/api/v1/settings/"


def _error(response, status=None):
    if status is not None:
        assert response.status_code == status, (response.status_code, response.content[:300])
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = json.loads(response.content)
    assert set(body) == {"error"}, body
    assert {"code", "message"} <= set(body["error"]), body
    assert "Traceback" not in response.content.decode("utf-8", "replace")
    return body["error"]


def _raw_client(user, **extra):
    client = Client(raise_request_exception=False, **extra)
    client.login(username=user.get_username(), password=PASSWORD)
    return client


def _post_raw(client, body: bytes | str, url=SETTINGS_URL, content_type="application/json"):
    if isinstance(body, str):
        body = body.encode("utf-8", "surrogatepass")
    return client.generic("POST", url, body, content_type=content_type)


def _setting_count(tenant):
    with tenant_context(tenant):
        return TenantSetting.objects.count()


@pytest.fixture(params=[False, True], ids=["debug-off", "debug-on"])
def debug(request, settings):
    settings.DEBUG = request.param
    return request.param


# --- bodies -------------------------------------------------------------------------------


def test_body_unparseable_json_is_400_json(alpha_owner, tenant_alpha, debug):
    error = _error(_post_raw(_raw_client(alpha_owner), b'{"key": '), 400)
    assert error["code"] == "invalid_json"
    assert _setting_count(tenant_alpha) == 0


def test_body_invalid_utf8_is_400_json(alpha_owner, tenant_alpha, debug):
    error = _error(_post_raw(_raw_client(alpha_owner), b'{"key": "\xff\xfe"}'), 400)
    assert error["code"] == "invalid_json"


@pytest.mark.parametrize(
    "body,path",
    [
        ('{"key": "a.b", "value": "x\\u0000y"}', "$.value"),
        ('{"key": "a.b", "value": {"in\\u0000key": 1}}', "$.value"),
        ('{"key": "a.b", "value": [1, {"deep": ["ok", "\\u0000"]}]}', "$.value[1].deep[1]"),
        ('{"key\\u0000": "a.b"}', "$"),
    ],
)
def test_body_nul_character_is_400_with_path(alpha_owner, tenant_alpha, debug, body, path):
    error = _error(_post_raw(_raw_client(alpha_owner), body), 400)
    assert error["code"] == "nul_character"
    assert error["path"] == path
    assert _setting_count(tenant_alpha) == 0


@pytest.mark.parametrize(
    "body,path",
    [
        ('{"key": "a.b", "value": "\\ud800"}', "$.value"),
        ('{"key": "a.b", "value": {"\\udfff": true}}', "$.value"),
        ('{"key": "a.b", "description": "half \\ud83d pair"}', "$.description"),
    ],
)
def test_body_lone_surrogate_is_400_with_path(alpha_owner, tenant_alpha, debug, body, path):
    error = _error(_post_raw(_raw_client(alpha_owner), body), 400)
    assert error["code"] == "lone_surrogate"
    assert error["path"] == path
    assert _setting_count(tenant_alpha) == 0


def test_body_paired_surrogates_are_fine(alpha_owner, tenant_alpha):
    body = '{"key": "emoji.ok", "value": "\\ud83d\\ude00"}'
    response = _post_raw(_raw_client(alpha_owner), body)
    assert response.status_code == 201, response.content
    with tenant_context(tenant_alpha):
        assert TenantSetting.objects.get(key="emoji.ok").value == "\U0001f600"


@pytest.mark.parametrize("depth", [5000, 100_000])
def test_body_nested_too_deep_is_400(alpha_owner, tenant_alpha, debug, depth):
    body = '{"key": "a.b", "value": ' + "[" * depth + "]" * depth + "}"
    error = _error(_post_raw(_raw_client(alpha_owner), body), 400)
    assert error["code"] == "json_too_deep"
    assert _setting_count(tenant_alpha) == 0


def test_body_nested_within_limit_is_accepted(alpha_owner, tenant_alpha):
    body = '{"key": "a.b", "value": ' + "[" * 30 + "]" * 30 + "}"
    assert _post_raw(_raw_client(alpha_owner), body).status_code == 201


def test_body_too_large_is_413_json(alpha_owner, tenant_alpha, debug):
    body = '{"key": "a.b", "value": "' + "x" * (10 * 1024 * 1024) + '"}'
    error = _error(_post_raw(_raw_client(alpha_owner), body), 413)
    assert error["code"] == "body_too_large"
    assert _setting_count(tenant_alpha) == 0


def test_form_body_too_large_is_413_json(alpha_owner, tenant_alpha, debug):
    body = "key=a.b&value=" + "x" * (10 * 1024 * 1024)
    response = _post_raw(
        _raw_client(alpha_owner), body, content_type="application/x-www-form-urlencoded"
    )
    assert _error(response, 413)["code"] == "body_too_large"
    assert _setting_count(tenant_alpha) == 0


def test_form_body_with_nul_is_400(alpha_owner, tenant_alpha, debug):
    response = _post_raw(
        _raw_client(alpha_owner),
        "key=a.b&description=x%00y",
        content_type="application/x-www-form-urlencoded",
    )
    error = _error(response, 400)
    assert error["code"] == "nul_character" and error["path"] == "description"
    assert _setting_count(tenant_alpha) == 0


def test_unsupported_media_type_is_415_json(alpha_owner, debug):
    response = _post_raw(_raw_client(alpha_owner), b"<x/>", content_type="application/xml")
    assert _error(response, 415)["code"] == "unsupported_media_type"


# --- paths, query strings, methods ------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/api/nope", "/api/v1/nope/", "/api/v1/settings/1/extra/", "/api/v2/me/"]
)
def test_unknown_api_path_is_json_404(alpha_owner, debug, path):
    error = _error(_raw_client(alpha_owner).get(path), 404)
    assert error["code"] == "not_found"


def test_unknown_api_path_anonymous_is_json_404(debug):
    error = _error(Client(raise_request_exception=False).get("/api/v1/nope/"), 404)
    assert error["code"] == "not_found"


def test_unknown_console_path_stays_html(debug):
    response = Client(raise_request_exception=False).get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_wrong_method_is_json_405_with_allow(alpha_owner, debug):
    response = _raw_client(alpha_owner).delete("/api/v1/me/")
    _error(response, 405)
    assert "GET" in response["Allow"]


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/settings/?search=a%00b",
        "/api/v1/settings/?ordering=%00",
        "/api/v1/settings/%00/",
        "/api/v1/sessions/ab%00cd/",
    ],
)
def test_nul_in_path_or_query_is_400(alpha_owner, debug, url):
    error = _error(_raw_client(alpha_owner).get(url), 400)
    assert error["code"] == "nul_character"


def test_server_error_under_api_is_json_without_traceback(alpha_owner, debug, monkeypatch):
    from tenancy.api import views

    def boom(self, request, *args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(views.MeView, "get", boom)
    response = _raw_client(alpha_owner).get("/api/v1/me/")
    error = _error(response, 500)
    assert error["code"] == "server_error"
    assert b"secret internals" not in response.content


# --- hypothesis: arbitrary JSON with NUL or lone surrogates somewhere -----------------------

_bad_char = st.sampled_from(["\x00", "\ud800", "\udbff", "\udc00", "\udfff"])
_clean_text = st.text(
    alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"),
    max_size=8,
)
_bad_text = st.builds(lambda a, bad, b: a + bad + b, _clean_text, _bad_char, _clean_text)


def _json_with_one_bad_string():
    """A JSON value of some depth that holds exactly one bad string, as a key or a value."""
    leaf = st.one_of(st.integers(), st.booleans(), st.none(), _clean_text)

    def nest(inner):
        return st.one_of(
            st.lists(inner, max_size=3),
            st.dictionaries(_clean_text, inner, max_size=3),
        )

    clean = st.recursive(leaf, nest, max_leaves=8)

    @st.composite
    def place(draw):
        bad = draw(_bad_text)
        as_key = draw(st.booleans())
        value = {bad: draw(clean)} if as_key else bad
        for _ in range(draw(st.integers(0, 4))):
            if draw(st.booleans()):
                siblings = draw(st.lists(clean, max_size=2))
                value = [*siblings, value]
            else:
                siblings = draw(st.dictionaries(_clean_text, clean, max_size=2))
                value = {**siblings, draw(_clean_text) + "k": value}
        return value

    return place()


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(value=_json_with_one_bad_string(), where=st.sampled_from(["value", "description"]))
def test_body_any_nul_or_lone_surrogate_is_4xx_json_and_writes_nothing(
    alpha_owner, tenant_alpha, value, where
):
    body = {"key": "fuzz.key", "value": 1, "description": ""}
    body[where] = value
    text = json.dumps(body)  # \u escapes: the bad character reaches the server encoded
    response = _post_raw(_raw_client(alpha_owner), text)
    assert 400 <= response.status_code < 500, (response.status_code, response.content[:300])
    error = _error(response)
    assert error["code"] in ("nul_character", "lone_surrogate")
    assert error["path"].startswith(f"$.{where}")
    assert _setting_count(tenant_alpha) == 0


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(depth=st.integers(65, 20_000), kind=st.sampled_from(["list", "object"]))
def test_body_any_depth_beyond_limit_is_400(alpha_owner, tenant_alpha, depth, kind):
    if kind == "list":
        nested = "[" * depth + "]" * depth
    else:
        nested = '{"a":' * depth + "1" + "}" * depth
    body = '{"key": "deep.key", "value": ' + nested + "}"
    response = _post_raw(_raw_client(alpha_owner), body)
    assert _error(response, 400)["code"] == "json_too_deep"
    assert _setting_count(tenant_alpha) == 0


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(raw=st.binary(max_size=200))
def test_body_any_bytes_never_5xx(alpha_owner, tenant_alpha, raw):
    response = _post_raw(_raw_client(alpha_owner), raw)
    assert response.status_code < 500, (raw, response.content[:300])
    if response.status_code >= 400:
        _error(response)


def test_api_as_client_still_works(alpha_owner):
    """The DRF test client (format=json) goes through the same parser."""
    response = api_as(alpha_owner).post(
        SETTINGS_URL, {"key": "a.b", "value": "\x00"}, format="json"
    )
    assert _error(response, 400)["code"] == "nul_character"


@pytest.mark.parametrize("number", ["1e400", "-1e999", "NaN", "Infinity"])
def test_body_number_beyond_a_double_is_400(alpha_owner, tenant_alpha, number):
    body = '{"key": "a.b", "value": ' + number + "}"
    assert _error(_post_raw(_raw_client(alpha_owner), body), 400)["code"] == "invalid_json"
    assert _setting_count(tenant_alpha) == 0
