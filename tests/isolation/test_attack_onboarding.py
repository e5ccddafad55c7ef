"""Red team on onboarding (issue 12, point 6): tenant B's staff (`bob`, beta's owner, and
`bea`, its admin) and an anonymous visitor against the onboarding API, the console form
and the invitation link.

Each attack has a positive control beside it (the platform operator, or the invited
owner with their own untouched link, does get through), so a refusal cannot pass
because the feature is simply broken.
"""

from __future__ import annotations

import json

import pytest
from django.contrib.auth import SESSION_KEY as AUTH_SESSION_KEY
from django.contrib.auth import get_user_model
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from tenancy.actions import do_accept_invitation
from tenancy.context import tenant_context
from tenancy.exceptions import TenantMismatch
from tenancy.middleware import SESSION_KEY
from tenancy.models import Membership, Role, Tenant
from tenancy.onboarding import check_link
from tenancy.tests.test_onboarding import NEW_PASSWORD, link_path, onboard
from tests.personas import PASSWORD, api_as, audit_entries

BODY = {"slug": "eta", "name": "Eta", "owner_email": "bob-again@eta.example"}
CHOSEN = {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}


@pytest.fixture
def gamma(db, django_capture_on_commit_callbacks, mailoutbox):
    """Tenant gamma onboarded for grace, a new user, and the path of her invitation link."""
    with django_capture_on_commit_callbacks(execute=True):
        done = onboard()
    return done, link_path(mailoutbox[-1])


def uid_of(user) -> str:
    return urlsafe_base64_encode(force_bytes(user.pk))


# --- who may onboard ------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["beta_owner", "beta_admin"])
def test_api_onboard_refused_to_tenant_staff_whatever_the_method_or_tenant(
    request, who, tenant_alpha, tenant_beta, superuser
):
    staff = request.getfixturevalue(who)
    for tenant in (tenant_beta, tenant_alpha, None):
        api = api_as(staff, tenant)
        assert api.post("/api/v1/tenants/", BODY, format="json").status_code == 403
        assert api.post("/api/v1/tenants/", BODY).status_code == 403  # a form body
        for method in (api.put, api.patch):
            assert method("/api/v1/tenants/", BODY, format="json").status_code in (403, 405)
        overridden = api.get(
            "/api/v1/tenants/", BODY, HTTP_X_HTTP_METHOD_OVERRIDE="POST", format="json"
        )
        assert overridden.status_code in (403, 405)
    assert not Tenant.objects.filter(slug="eta").exists()
    assert not get_user_model().objects.filter(email__iexact=BODY["owner_email"]).exists()
    # Positive control: the operator's same request creates it.
    made = api_as(superuser).post("/api/v1/tenants/", BODY, format="json")
    assert made.status_code == 201, made.content


def test_console_onboard_refused_to_beta_owner_and_needs_csrf_for_operator(
    beta_owner, tenant_beta, superuser
):
    url = reverse("console-onboard-tenant")
    form = {**BODY, "tier": "free"}
    bob = Client(enforce_csrf_checks=True)
    bob.force_login(beta_owner)
    assert bob.get(url).status_code == 403
    token = bob.get("/").cookies.get("csrftoken")
    headers = {"HTTP_X_CSRFTOKEN": token.value} if token else {}
    assert bob.post(url, form, **headers).status_code == 403
    # The operator's browser, driven by another site (no CSRF token): refused.
    root = Client(enforce_csrf_checks=True)
    root.force_login(superuser)
    assert root.post(url, form).status_code == 403
    assert not Tenant.objects.filter(slug="eta").exists()
    # Positive control: with the form's own token it works.
    page = root.get(url)
    csrf = page.context["csrf_token"]
    made = root.post(url, {**form, "csrfmiddlewaretoken": str(csrf)})
    assert made.status_code == 302 and Tenant.objects.filter(slug="eta").exists()


def test_command_and_api_onboard_existing_alpha_owner_without_touching_alpha(
    alpha_owner, tenant_alpha, superuser, django_capture_on_commit_callbacks, mailoutbox
):
    """Onboarding an email that belongs to alice (alpha's owner) makes her owner of the
    new tenant: her password is not reset, no link is mailed, alpha's membership and
    audit log are untouched, and the new tenant's log says who it was."""
    alpha_owner.email = "alice@alpha.example"
    alpha_owner.save()
    hash_before = alpha_owner.password
    with django_capture_on_commit_callbacks(execute=True):
        made = api_as(superuser).post(
            "/api/v1/tenants/",
            {"slug": "eta", "name": "Eta", "owner_email": "ALICE@alpha.example"},
            format="json",
        )
    assert made.status_code == 201, made.content
    assert made.json()["owner"] == {
        "username": "alice",
        "email": "alice@alpha.example",
        "created": False,
        "invited": False,
    }
    alpha_owner.refresh_from_db()
    assert alpha_owner.password == hash_before and alpha_owner.check_password(PASSWORD)
    eta = Tenant.objects.get(slug="eta")
    assert sorted(
        Membership.objects.filter(user=alpha_owner).values_list("tenant__slug", "role")
    ) == [("alpha", Role.OWNER), ("eta", Role.OWNER)]
    [mail] = mailoutbox
    assert mail.to == ["alice@alpha.example"] and "/invitation/" not in mail.body
    [entry] = audit_entries(eta, "tenant.onboarded")
    payload = json.loads(entry.data)["payload"]
    assert payload["owner"] == "alice" and payload["owner_created"] is False
    assert entry.actor == "root"
    assert audit_entries(tenant_alpha, "tenant.onboarded") == []


# --- the invitation link ------------------------------------------------------------------------


def test_invitation_link_bent_to_beta_or_to_bob_is_refused(gamma, beta_owner, tenant_beta, client):
    done, path = gamma
    _, _, slug, uid, token, _ = path.split("/")
    bent = [
        f"/invitation/beta/{uid}/{token}/",  # grace's link, aimed at beta
        f"/invitation/{slug}/{uid_of(beta_owner)}/{token}/",  # grace's token, bob's id
        f"/invitation/beta/{uid_of(beta_owner)}/{token}/",
    ]
    for url in bent:
        assert client.get(url).status_code == 400, url
        assert client.post(url, CHOSEN).status_code == 400, url
    beta_owner.refresh_from_db()
    assert beta_owner.check_password(PASSWORD)
    assert not Membership.objects.filter(user=done.owner, tenant=tenant_beta).exists()
    assert "_auth_user_id" not in client.session
    assert client.get(path).status_code == 200  # positive control: grace's own link


def test_invitation_link_replayed_after_use_changes_nothing(gamma, client):
    done, path = gamma
    assert client.post(path, CHOSEN).status_code == 302
    other = Client()
    again = other.post(
        path, {"new_password1": "x-other-pass-99", "new_password2": "x-other-pass-99"}
    )
    assert again.status_code == 400
    assert AUTH_SESSION_KEY not in other.session
    owner = get_user_model().objects.get(pk=done.owner.pk)
    assert owner.check_password(NEW_PASSWORD) and not owner.check_password("x-other-pass-99")
    assert len(audit_entries(done.tenant, "tenant.invitation_accepted")) == 1


def test_invitation_two_uses_at_once_only_the_first_sets_the_password(gamma, client):
    """Two requests with one link both pass the check before either writes (the second
    holds the user as it was before the first's password)."""
    done, path = gamma
    _, _, slug, uid, token, _ = path.split("/")
    checked_by_second = check_link(slug, uid, token)
    assert checked_by_second.ok
    assert client.post(path, CHOSEN).status_code == 302  # the first request
    accepted = do_accept_invitation(
        checked_by_second.user, checked_by_second.tenant, "x-other-pass-99"
    )
    assert accepted is False
    owner = get_user_model().objects.get(pk=done.owner.pk)
    assert owner.check_password(NEW_PASSWORD) and not owner.check_password("x-other-pass-99")
    assert len(audit_entries(done.tenant, "tenant.invitation_accepted")) == 1


def test_invitation_accept_while_signed_in_as_bob_drops_bobs_session(
    gamma, beta_owner, tenant_beta, client
):
    """Session fixation: accepting signs the invited owner in on a new session key, and
    nothing of bob's session (his user, his tenant choice) survives into it."""
    done, path = gamma
    client.force_login(beta_owner)
    session = client.session
    session[SESSION_KEY] = "beta"
    session.save()
    bobs_key = client.session.session_key
    assert client.post(path, CHOSEN).status_code == 302
    assert client.session.session_key != bobs_key
    assert client.session[AUTH_SESSION_KEY] == str(done.owner.pk)
    assert client.session[SESSION_KEY] == "gamma"
    from django.conf import settings
    from django.contrib.sessions.backends.base import SessionBase
    from django.utils.module_loading import import_string

    store: SessionBase = import_string(settings.SESSION_ENGINE + ".SessionStore")(bobs_key)
    assert AUTH_SESSION_KEY not in store.load()  # bob's old key signs in nobody
    me = client.get("/api/v1/me/").json()
    assert [m["tenant"]["slug"] for m in me["memberships"]] == ["gamma"]
    assert client.get("/api/v1/settings/", HTTP_X_TENANT="beta").status_code == 403
    # Bob's account itself is untouched.
    beta_owner.refresh_from_db()
    assert beta_owner.check_password(PASSWORD)


def test_invitation_page_answers_missing_and_existing_users_the_same(
    gamma, beta_owner, tenant_beta, client
):
    """Missing and forbidden answer the same way: a made-up token for bob (who exists and
    has a password) must not be told apart from one for a user id that does not exist,
    or anyone can list the users by id."""
    missing = get_user_model().objects.order_by("-pk").first().pk + 1000
    answers = []
    for uid in (uid_of(beta_owner), urlsafe_base64_encode(force_bytes(missing))):
        response = client.get(f"/invitation/beta/{uid}/cafe12-0123456789abcdef0123/")
        answers.append((response.status_code, response.context["message"]))
    assert answers[0] == answers[1]


def test_invitation_refusal_never_logs_the_token(gamma, client, caplog):
    """A link edited only in its slug carries a live token: Django's "Bad Request: <path>"
    line would put it in the logs."""
    done, path = gamma
    _, _, slug, uid, token, _ = path.split("/")
    caplog.set_level("DEBUG")
    assert client.get(f"/invitation/beta/{uid}/{token}/").status_code == 400
    assert caplog.records  # the refusal is logged ...
    for record in caplog.records:  # ... without the token
        assert token not in record.getMessage() and token not in str(record.__dict__)
    assert client.get(path).status_code == 200  # and the token still works


def test_invitation_pages_never_send_the_token_as_referer(gamma, client):
    done, path = gamma
    _, _, slug, uid, token, _ = path.split("/")
    for url in (path, f"/invitation/beta/{uid}/{token}/"):
        response = client.get(url)
        assert response["Referrer-Policy"] == "no-referrer", url
        assert (
            response["Cache-Control"]
            and "no-store" in response["Cache-Control"]
            or (response.status_code != 200)
        )


def test_invitation_audit_lands_in_the_new_tenant_only(
    gamma, tenant_alpha, tenant_beta, beta_owner, client
):
    done, path = gamma
    client.force_login(beta_owner)  # bob's browser, with beta chosen
    session = client.session
    session[SESSION_KEY] = "beta"
    session.save()
    assert client.post(path, CHOSEN).status_code == 302
    gamma_events = [e.event for e in audit_entries(done.tenant)]
    assert "tenant.onboarded" in gamma_events and "tenant.invitation_accepted" in gamma_events
    for other in (tenant_alpha, tenant_beta, None):
        events = [e.event for e in audit_entries(other)]
        assert not [e for e in events if e.startswith("tenant.")], (other, events)


def test_console_onboard_by_an_operator_working_in_beta_lands_in_the_new_tenant(
    superuser, tenant_beta, tenant_alpha, django_capture_on_commit_callbacks, mailoutbox
):
    """An operator who is also a member of beta, with beta chosen, onboards: the request
    runs in beta's context, yet the membership and the audit entry belong to the new
    tenant only (on PostgreSQL the database checks the membership's tenant)."""
    from tests.personas import _member

    _member(superuser, tenant_beta, Role.ADMIN)
    client = Client()
    client.force_login(superuser)
    session = client.session
    session[SESSION_KEY] = "beta"
    session.save()
    with django_capture_on_commit_callbacks(execute=True):
        made = client.post(
            reverse("console-onboard-tenant"),
            {**BODY, "tier": "free"},
            HTTP_X_TENANT="beta",
        )
    assert made.status_code == 302, made.content
    eta = Tenant.objects.get(slug="eta")
    owner = get_user_model().objects.get(email=BODY["owner_email"])
    assert list(Membership.objects.filter(user=owner).values_list("tenant__slug", "role")) == [
        ("eta", Role.OWNER)
    ]
    assert [e.event for e in audit_entries(eta)] == ["tenant.onboarded"]
    for other in (tenant_beta, tenant_alpha):
        assert not [e for e in audit_entries(other) if e.event.startswith("tenant.")]
    api = api_as(superuser, tenant_beta)
    body = {"slug": "theta", "name": "Theta", "owner_email": "t@theta.example"}
    assert api.post("/api/v1/tenants/", body, format="json").status_code == 201
    theta = Tenant.objects.get(slug="theta")
    assert [e.event for e in audit_entries(theta)] == ["tenant.onboarded"]
    assert not [e for e in audit_entries(tenant_beta) if e.event.startswith("tenant.")]


def test_tenant_event_hook_refuses_another_tenants_log_from_beta_context(tenant_alpha, tenant_beta):
    """Code running for beta that names alpha's id in `tenant_event` must not write into
    alpha's audit log; the same call for beta does (positive control)."""
    from tenancy import hooks

    with tenant_context(tenant_beta):
        with pytest.raises(TenantMismatch):
            with transaction.atomic():
                hooks.tenant_event.call(tenant_alpha.pk, "tenant.forged", {}, "bob")
        hooks.tenant_event.call(tenant_beta.pk, "tenant.noted", {}, "bob")
    assert audit_entries(tenant_alpha, "tenant.forged") == []
    assert [e.actor for e in audit_entries(tenant_beta, "tenant.noted")] == ["bob"]


def test_beta_owner_cannot_claim_an_email_that_onboarding_would_find(
    beta_owner, tenant_beta, superuser, django_capture_on_commit_callbacks
):
    """Onboarding finds an existing owner by email. If bob could set his own email to the
    one an operator is about to onboard, he would become the new tenant's owner: tenant
    staff have no way to change a user's email (admin 403, /me/ read only)."""
    client = Client()
    client.force_login(beta_owner)
    change = f"/admin/auth/user/{beta_owner.pk}/change/"
    assert client.get(change).status_code == 403
    assert client.post(change, {"username": "bob", "email": "ceo@eta.example"}).status_code == 403
    api = api_as(beta_owner, tenant_beta)
    for method in (api.patch, api.put, api.post):
        assert method("/api/v1/me/", {"email": "ceo@eta.example"}, format="json").status_code in (
            403,
            405,
        )
    beta_owner.refresh_from_db()
    assert beta_owner.email == ""
    with django_capture_on_commit_callbacks(execute=True):
        made = api_as(superuser).post(
            "/api/v1/tenants/",
            {"slug": "eta", "name": "Eta", "owner_email": "ceo@eta.example"},
            format="json",
        )
    assert made.json()["owner"]["created"] is True
    assert not Membership.objects.filter(user=beta_owner, tenant__slug="eta").exists()
