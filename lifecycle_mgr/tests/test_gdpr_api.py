"""The GDPR API: roles, the export's key shown once, the download by POST only and once
(410 after), 409 for a second running export or a legal hold, erasure confirmations, and
tenant B never seeing A's export, link or certificate."""

from __future__ import annotations

import base64

import pytest

from jobs_mgr import engine
from lifecycle_mgr import exports_archive as fmt
from lifecycle_mgr.holds import do_place_hold
from tenancy.context import tenant_context
from tenancy.models import Membership
from tests.personas import api_as

pytestmark = pytest.mark.django_db
BASE = "/api/v1/lifecycle"


def _ready_export(client, tenant, **body):
    created = client.post(f"{BASE}/exports/", body or {"scope": "tenant"}, format="json")
    assert created.status_code == 202, created.content
    data = created.json()
    with tenant_context(tenant):
        engine.run_job(data["job"])
    detail = client.get(f"{BASE}/exports/{data['id']}/").json()
    return data, detail


def test_export_api_request_run_download_once(alpha_owner, tenant_alpha):
    client = api_as(alpha_owner, tenant_alpha)
    created, detail = _ready_export(client, tenant_alpha)
    assert detail["state"] == "ready" and detail["progress"] == 1.0
    assert "key" not in detail  # the key is shown once, at creation
    path = detail["download_path"]
    assert client.get(path).status_code == 405  # a GET never takes the archive
    taken = client.post(path)
    assert taken.status_code == 200 and taken["Cache-Control"] == "no-store"
    files = fmt.read_archive(taken.content, base64.urlsafe_b64decode(created["key"]))
    assert fmt.MANIFEST in files
    again = client.post(path)
    assert again.status_code == 410 and again.json()["error"]["code"] == "export_gone"
    assert client.get(f"{BASE}/exports/{created['id']}/").json()["state"] == "downloaded"


def test_export_api_second_running_export_is_409(alpha_owner, tenant_alpha):
    client = api_as(alpha_owner, tenant_alpha)
    assert client.post(f"{BASE}/exports/", {"scope": "tenant"}, format="json").status_code == 202
    second = client.post(f"{BASE}/exports/", {"scope": "user"}, format="json")
    assert second.status_code == 409 and second.json()["error"]["code"] == "export_running"


def test_export_api_roles_viewer_exports_own_data_only(alpha_viewer, alpha_owner, tenant_alpha):
    client = api_as(alpha_viewer, tenant_alpha)
    refused = client.post(f"{BASE}/exports/", {"scope": "tenant"}, format="json")
    assert refused.status_code == 403
    other = client.post(
        f"{BASE}/exports/", {"scope": "user", "user_id": alpha_owner.pk}, format="json"
    )
    assert other.status_code == 403
    own = client.post(f"{BASE}/exports/", {"scope": "user"}, format="json")
    assert own.status_code == 202 and own.json()["user"] == alpha_viewer.pk
    assert [e["id"] for e in client.get(f"{BASE}/exports/").json()] == [own.json()["id"]]


def test_export_api_bad_input_is_400_not_500(alpha_owner, tenant_alpha):
    client = api_as(alpha_owner, tenant_alpha)
    assert client.post(f"{BASE}/exports/", {"scope": "all"}, format="json").status_code == 400
    assert client.get(f"{BASE}/exports/abc/").status_code == 404
    assert client.post(f"{BASE}/exports/download/not-a-token/").status_code == 404
    stranger = client.post(f"{BASE}/exports/", {"scope": "user", "user_id": 999999}, format="json")
    assert stranger.status_code == 404


def test_export_api_tenant_b_cannot_see_or_download_as_export(
    alpha_owner, tenant_alpha, beta_owner, tenant_beta
):
    alpha = api_as(alpha_owner, tenant_alpha)
    created, detail = _ready_export(alpha, tenant_alpha)
    beta = api_as(beta_owner, tenant_beta)
    assert beta.get(f"{BASE}/exports/{created['id']}/").status_code == 404
    assert beta.get(f"{BASE}/exports/").json() == []
    assert beta.post(detail["download_path"]).status_code == 404  # the link is A's
    assert alpha.post(detail["download_path"]).status_code == 200  # still A's to take


def test_erasure_api_user_needs_owner_and_confirmation(
    alpha_owner, alpha_admin, alpha_viewer, tenant_alpha
):
    body = {"user_id": alpha_viewer.pk, "confirm": alpha_viewer.username}
    assert (
        api_as(alpha_admin, tenant_alpha)
        .post(f"{BASE}/erasure/user/", body, format="json")
        .status_code
        == 403
    )
    owner = api_as(alpha_owner, tenant_alpha)
    wrong = owner.post(f"{BASE}/erasure/user/", {**body, "confirm": "someone"}, format="json")
    assert wrong.status_code == 400 and wrong.json()["error"]["code"] == "confirmation_mismatch"
    assert Membership.objects.filter(user=alpha_viewer, tenant=tenant_alpha).exists()
    done = owner.post(f"{BASE}/erasure/user/", body, format="json")
    assert done.status_code == 201, done.content
    certificate = done.json()
    assert certificate["receipt"]["scope"] == f"user:{alpha_viewer.pk}"
    assert not Membership.objects.filter(user=alpha_viewer, tenant=tenant_alpha).exists()
    listed = owner.get(f"{BASE}/erasure/certificates/").json()
    assert [c["id"] for c in listed] == [certificate["id"]]
    verified = owner.get(f"{BASE}/erasure/certificates/{certificate['id']}/verify/").json()
    assert verified["ok"], verified["problems"]


def test_erasure_api_under_legal_hold_is_409(alpha_owner, alpha_viewer, tenant_alpha):
    do_place_hold(tenant_alpha.pk, reason="litigation", actor="legal")
    body = {"user_id": alpha_viewer.pk, "confirm": alpha_viewer.username}
    refused = api_as(alpha_owner, tenant_alpha).post(f"{BASE}/erasure/user/", body, format="json")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "legal_hold"
    assert Membership.objects.filter(user=alpha_viewer, tenant=tenant_alpha).exists()


def test_erasure_api_tenant_is_for_platform_operators(
    alpha_owner, superuser, tenant_alpha, tenant_beta
):
    body = {"confirm": tenant_alpha.slug}
    owner = api_as(alpha_owner, tenant_alpha)
    assert owner.post(f"{BASE}/erasure/tenant/", body, format="json").status_code == 403
    operator = api_as(superuser, tenant_alpha)
    wrong = operator.post(f"{BASE}/erasure/tenant/", {"confirm": "beta"}, format="json")
    assert wrong.status_code == 400
    done = operator.post(f"{BASE}/erasure/tenant/", body, format="json")
    assert done.status_code == 201 and done.json()["receipt"]["scope"] == "tenant"
    # Tenant B sees no certificate of A, and A's id answers 404 there.
    as_beta = api_as(superuser, tenant_beta)
    assert as_beta.get(f"{BASE}/erasure/certificates/").json() == []
    cert = done.json()["id"]
    assert as_beta.get(f"{BASE}/erasure/certificates/{cert}/verify/").status_code == 404
