"""Onboarding (issue 12, point 6): an operator creates a tenant and invites its owner by
email; the owner follows the link once, chooses a password, and lands on their tenant's
console home. The same from `manage.py create_tenant` and `POST /api/v1/tenants/`."""

import io
import json
import re
import unicodedata
from datetime import datetime, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.urls import reverse
from hypothesis import given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from tenancy.actions import do_onboard_tenant
from tenancy.context import tenant_context
from tenancy.middleware import SESSION_KEY
from tenancy.models import Membership, Role, Tenant, TenantSetting
from tenancy.onboarding import InvitationTokenGenerator, invitation_path, parse_onboarding
from tests.personas import api_as, audit_entries

NEW_PASSWORD = "a-long-new-password-42"
LINK_RE = re.compile(r"https?://\S+/invitation/\S+/")


def onboard(*, slug="gamma", email="grace@gamma.example", **extra):
    return do_onboard_tenant(slug, "Gamma SA", email, actor="root", **extra)


def link_path(mail) -> str:
    found = LINK_RE.search(mail.body)
    assert found, mail.body
    return "/" + found.group(0).split("/", 3)[3]


@pytest.fixture
def onboarded(db, django_capture_on_commit_callbacks, mailoutbox):
    with django_capture_on_commit_callbacks(execute=True):
        done = onboard()
    return done


# --- the action -----------------------------------------------------------------------------


def test_onboarding_creates_tenant_owner_key_ring_and_audit_and_sends_one_email(
    onboarded, mailoutbox
):
    from security_mgr.models import KeyRing

    tenant, owner = onboarded.tenant, onboarded.owner
    assert (tenant.slug, tenant.name, tenant.state) == ("gamma", "Gamma SA", "active")
    assert owner.email == "grace@gamma.example" and owner.is_staff and not owner.is_superuser
    assert not owner.has_usable_password() and onboarded.owner_created and onboarded.invited
    assert list(Membership.objects.filter(user=owner).values_list("tenant__slug", "role")) == [
        ("gamma", Role.OWNER)
    ]
    with tenant_context(tenant):
        assert KeyRing.objects.count() >= 1  # through the tenant_created hook
    [entry] = audit_entries(tenant, "tenant.onboarded")
    assert entry.actor == "root" and json.loads(entry.data)["payload"]["owner"] == owner.username
    [mail] = mailoutbox
    assert mail.to == ["grace@gamma.example"] and "Gamma SA" in mail.subject
    assert "expires in 3 days" in mail.body and "/invitation/gamma/" in mail.body


def test_onboarding_refuses_a_taken_slug_and_writes_nothing(onboarded, mailoutbox):
    users = get_user_model().objects.count()
    with pytest.raises(ValidationError) as refused:
        onboard(email="other@example.com")
    assert "already exists" in refused.value.message_dict["slug"][0]
    assert get_user_model().objects.count() == users and len(mailoutbox) == 1


def test_existing_user_with_a_password_becomes_owner_and_gets_a_notice_without_link(
    alpha_viewer, django_capture_on_commit_callbacks, mailoutbox
):
    alpha_viewer.email = "Victor@Example.com"
    alpha_viewer.save()
    with django_capture_on_commit_callbacks(execute=True):
        done = onboard(email="victor@example.com")
    assert done.owner == alpha_viewer and not done.owner_created and not done.invited
    assert done.owner.is_staff
    [mail] = mailoutbox
    assert "/invitation/" not in mail.body and "/admin/login/" in mail.body


def test_mail_goes_to_the_configured_public_url(db, settings, django_capture_on_commit_callbacks):
    settings.DIM_PUBLIC_URL = "https://console.example.org"
    from django.core import mail

    with django_capture_on_commit_callbacks(execute=True):
        onboard(base_url="http://evil.example/")
    assert "https://console.example.org/invitation/gamma/" in mail.outbox[0].body
    assert "evil.example" not in mail.outbox[0].body


# --- the parser ---------------------------------------------------------------------------------


SLUG = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")


def expected_bad(slug, name) -> set:
    """What the parser must refuse, said independently of it (the email is Django's
    validator's to judge)."""
    bad = set()
    if not SLUG.fullmatch(slug.strip()):
        bad.add("slug")
    clean = name.strip()
    if not clean or len(clean) > 200 or any(unicodedata.category(c) == "Cc" for c in clean):
        bad.add("name")
    return bad


@settings(max_examples=300, deadline=None)
@given(
    slug=st.one_of(
        st.text(max_size=70),
        st.from_regex(r"[a-z0-9][a-z0-9-]{0,61}[a-z0-9]", fullmatch=True),
        st.from_regex(r"\s*[a-z0-9]{1,5}\s*", fullmatch=True),
    ),
    name=st.one_of(st.text(max_size=210), st.text(min_size=195, max_size=205)),
    email=st.one_of(st.text(max_size=60), st.emails()),
)
def test_parser_accepts_exactly_valid_input_and_names_each_bad_field(slug, name, email):
    try:
        parsed = parse_onboarding(slug, name, email)
    except ValidationError as exc:
        refused = set(exc.message_dict)
        assert refused - {"owner_email"} == expected_bad(slug, name)
        for field, messages in exc.message_dict.items():
            assert messages and all(m.strip() for m in messages), field
        return
    assert expected_bad(slug, name) == set()
    assert parsed.slug == slug.strip() and parsed.name == name.strip()
    local, _, domain = parsed.owner_email.rpartition("@")
    assert local == email.strip().rpartition("@")[0] and domain == domain.lower()
    assert len(parsed.owner_email) <= 254 and parsed.tier == "free"


@pytest.mark.parametrize(
    "slug,name,email,bad",
    [
        ("Gamma", "G", "g@example.com", {"slug"}),
        ("-gamma", "G", "g@example.com", {"slug"}),
        ("gamma", "  ", "g@example.com", {"name"}),
        ("gamma", "G\x00", "g@example.com", {"name"}),
        ("gamma", "G", "not-an-email", {"owner_email"}),
        ("", "", "", {"slug", "name", "owner_email"}),
        (None, 3, ["x"], {"slug", "name", "owner_email"}),
    ],
)
def test_parser_refusals(slug, name, email, bad):
    with pytest.raises(ValidationError) as refused:
        parse_onboarding(slug, name, email)
    assert set(refused.value.message_dict) == bad


# --- the set-password page ---------------------------------------------------------------------


def test_owner_follows_the_link_sets_a_password_and_lands_on_their_tenant_home(
    onboarded, mailoutbox, client, tenant_alpha, overlapping_settings
):
    path = link_path(mailoutbox[0])
    shown = client.get(path)
    assert shown.status_code == 200 and b"Choose your password" in shown.content
    assert shown["Referrer-Policy"] == "no-referrer"
    assert not get_user_model().objects.get(pk=onboarded.owner.pk).has_usable_password()

    done = client.post(path, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert done.status_code == 302 and done["Location"] == reverse("console-home")
    assert client.session[SESSION_KEY] == "gamma"
    home = client.get(done["Location"])
    assert home.status_code == 200
    assert [row["tenant"].slug for row in home.context["overview"]] == ["gamma"]
    # Isolation: the new owner belongs to gamma only and sees nothing of alpha or beta.
    assert b"alpha" not in home.content and b"beta" not in home.content
    assert list(Membership.objects.filter(user=onboarded.owner)) == [
        Membership.objects.get(tenant=onboarded.tenant)
    ]
    assert client.get("/?tenant=alpha").context["tenant_error"].code == "tenant_not_accessible"
    with tenant_context(onboarded.tenant):
        assert TenantSetting.objects.count() == 0

    api = APIClient()
    assert api.login(username=onboarded.owner.username, password=NEW_PASSWORD)
    me = api.get("/api/v1/me/").json()
    assert [m["tenant"]["slug"] for m in me["memberships"]] == ["gamma"]
    assert me["current_tenant"]["slug"] == "gamma" and me["role"] == "owner"
    assert api.get("/api/v1/settings/", HTTP_X_TENANT="alpha").status_code == 403
    assert api.get("/api/v1/settings/").json()["results"] == []
    [accepted] = audit_entries(onboarded.tenant, "tenant.invitation_accepted")
    assert accepted.actor == onboarded.owner.username


def test_a_used_link_is_refused_like_an_altered_one(onboarded, mailoutbox, client):
    # Not a 410 of its own: that would tell which user ids have a password
    # (tests/isolation/test_attack_onboarding.py).
    path = link_path(mailoutbox[0])
    client.post(path, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    client.logout()
    for method in (client.get, client.post):
        again = method(
            path, {"new_password1": "x-other-pass-99", "new_password2": "x-other-pass-99"}
        )
        assert again.status_code == 400 and b"already used" in again.content
    assert client.login(username=onboarded.owner.username, password=NEW_PASSWORD)


def test_an_expired_link_is_refused_with_410(onboarded, client):
    class Earlier(InvitationTokenGenerator):
        def _now(self):
            return datetime.now() - timedelta(days=4)

    old_token = Earlier().make_token(onboarded.owner)
    expired = client.get(invitation_path(onboarded.owner, onboarded.tenant, old_token))
    assert expired.status_code == 410 and b"expired" in expired.content
    fresh = client.get(invitation_path(onboarded.owner, onboarded.tenant))
    assert fresh.status_code == 200


def test_the_timeout_is_the_setting(onboarded, client, settings):
    path = invitation_path(onboarded.owner, onboarded.tenant)
    settings.PASSWORD_RESET_TIMEOUT = -1  # every link is already too old
    assert client.get(path).status_code == 410


def test_altered_links_are_refused_with_400_never_500(onboarded, mailoutbox, client, tenant_alpha):
    path = link_path(mailoutbox[0])
    _, _, slug, uid, token, _ = path.split("/")
    bad = [
        f"/invitation/{slug}/{uid}/{token[:-2]}xx/",
        f"/invitation/{slug}/{uid}/nodash/",
        f"/invitation/{slug}/{uid}/zzzzzzzzzzzzzzzzzzz-abc/",
        f"/invitation/{slug}/!!/{token}/",
        f"/invitation/{slug}/MTIzNDU2Nzg5/{token}/",  # another user's id
        f"/invitation/alpha/{uid}/{token}/",  # another tenant
        f"/invitation/nope/{uid}/{token}/",
    ]
    for url in bad:
        response = client.get(url)
        assert response.status_code == 400, url
        assert b"not valid" in response.content
    assert client.post(bad[0], {"new_password1": NEW_PASSWORD}).status_code == 400
    assert not get_user_model().objects.get(pk=onboarded.owner.pk).has_usable_password()


def test_a_weak_password_shows_the_form_again_and_keeps_the_link(onboarded, mailoutbox, client):
    path = link_path(mailoutbox[0])
    weak = client.post(path, {"new_password1": "123", "new_password2": "123"})
    assert weak.status_code == 200 and weak.context["form"].errors
    assert client.get(path).status_code == 200


# --- the console form ---------------------------------------------------------------------------


def test_console_form_onboards_for_operators_only(
    client, superuser, alpha_owner, django_capture_on_commit_callbacks, mailoutbox
):
    url = reverse("console-onboard-tenant")
    client.force_login(alpha_owner)
    assert client.get(url).status_code == 403
    assert (
        client.post(url, {"slug": "delta", "name": "D", "owner_email": "d@d.example"}).status_code
        == 403
    )
    client.force_login(superuser)
    assert client.get(url).status_code == 200
    taken = client.post(
        url, {"slug": "alpha", "name": "A", "owner_email": "a@a.example", "tier": "free"}
    )
    assert taken.status_code == 200 and "already exists" in str(taken.context["form"].errors)
    with django_capture_on_commit_callbacks(execute=True):
        made = client.post(
            url, {"slug": "delta", "name": "Delta", "owner_email": "d@d.example", "tier": "free"}
        )
    assert made.status_code == 302 and Tenant.objects.filter(slug="delta").exists()
    assert [m.to for m in mailoutbox] == [["d@d.example"]]
    assert not Tenant.objects.filter(slug="alpha", name="A").exists()


# --- the API ------------------------------------------------------------------------------------


def test_api_onboards_201_for_operators(superuser, django_capture_on_commit_callbacks, mailoutbox):
    api = api_as(superuser)
    with django_capture_on_commit_callbacks(execute=True):
        made = api.post(
            "/api/v1/tenants/",
            {"slug": "epsilon", "name": "Epsilon", "owner_email": "eve@eps.example"},
            format="json",
        )
    assert made.status_code == 201, made.content
    body = made.json()
    assert body["slug"] == "epsilon" and body["tier"] == "free"
    assert body["owner"] == {
        "username": "eve@eps.example",
        "email": "eve@eps.example",
        "created": True,
        "invited": True,
    }
    assert [m.to for m in mailoutbox] == [["eve@eps.example"]]
    assert "http://testserver/invitation/epsilon/" in mailoutbox[0].body


@pytest.mark.parametrize(
    "body,field,words",
    [
        ({"slug": "alpha", "name": "A", "owner_email": "a@x.example"}, "slug", "already exists"),
        ({"slug": "Bad Slug", "name": "A", "owner_email": "a@x.example"}, "slug", "lowercase"),
        ({"slug": "zeta", "name": "Z", "owner_email": "nope"}, "owner_email", "email address"),
        ({"slug": "zeta", "name": "Z"}, "owner_email", "required"),
        ({"slug": "zeta", "name": "Z", "owner_email": "z@x.example", "tier": "gold"}, "tier", ""),
    ],
)
def test_api_400_names_the_field(superuser, tenant_alpha, mailoutbox, body, field, words):
    refused = api_as(superuser).post("/api/v1/tenants/", body, format="json")
    assert refused.status_code == 400, refused.content
    error = refused.json()["error"]
    assert field in error["fields"] and words in " ".join(error["fields"][field])
    assert Tenant.objects.count() == 1 and mailoutbox == []


def test_api_403_for_tenant_staff_and_401_for_strangers(alpha_owner, tenant_alpha, api):
    body = {"slug": "eta", "name": "Eta", "owner_email": "e@eta.example"}
    staff = api_as(alpha_owner, tenant_alpha).post("/api/v1/tenants/", body, format="json")
    assert staff.status_code == 403
    assert staff.json()["error"]["message"] == "Only platform operators may do this."
    assert api.post("/api/v1/tenants/", body, format="json").status_code in (401, 403)
    assert not Tenant.objects.filter(slug="eta").exists()


# --- the command --------------------------------------------------------------------------------


def test_command_creates_and_reports(db, django_capture_on_commit_callbacks, mailoutbox):
    out = io.StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command(
            "create_tenant",
            "theta",
            "--name",
            "Theta",
            "--owner-email",
            "t@theta.example",
            "--base-url",
            "https://dim.example",
            stdout=out,
        )
    text = out.getvalue()
    assert "Created tenant theta (Theta)." in text
    assert "Owner: t@theta.example <t@theta.example> (new user)." in text
    assert "Invitation with a set-password link sent to t@theta.example." in text
    assert "https://dim.example/invitation/theta/" in mailoutbox[0].body

    with pytest.raises(CommandError, match="already exists"):
        call_command("create_tenant", "theta", "--owner-email", "x@theta.example", stdout=out)
    with pytest.raises(CommandError, match="--owner-email is required"):
        call_command("create_tenant", "iota", stdout=out)

    out = io.StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("create_tenant", "theta", "--resend-invitation", stdout=out)
    assert "Invitation sent again to t@theta.example" in out.getvalue()
    assert len(mailoutbox) == 2 and "/invitation/theta/" in mailoutbox[1].body
