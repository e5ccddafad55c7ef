"""The console's GDPR page: admins see their tenant's exports and certificates only, the
key once on the answer to an export request, and the once-only download by POST."""

import base64

import pytest

from jobs_mgr import engine
from lifecycle_mgr import exports_archive as fmt
from lifecycle_mgr.erasure import erase_user
from lifecycle_mgr.exports import request_export
from lifecycle_mgr.gdpr_models import ExportArchive
from tenancy.context import tenant_context

pytestmark = pytest.mark.django_db
PAGE = "/console/lifecycle/gdpr/"


def test_gdpr_page_lists_own_exports_and_certificates_only(
    client, alpha_owner, alpha_viewer, tenant_alpha, tenant_beta, beta_owner, beta_viewer
):
    with tenant_context(tenant_beta):
        theirs, _key = request_export(actor="bob")
    erase_user(tenant_beta.pk, beta_viewer.pk)
    certificate = erase_user(tenant_alpha.pk, alpha_viewer.pk)
    client.force_login(alpha_owner)
    page = client.get(PAGE)
    assert page.status_code == 200
    html = page.content.decode()
    assert f'data-export-id="{theirs.pk}"' not in html
    assert [row["certificate"].pk for row in page.context["certificates"]] == [certificate.pk]
    assert page.context["certificates"][0]["verification"]["ok"]


def test_gdpr_page_is_for_admins(client, alpha_viewer):
    client.force_login(alpha_viewer)
    assert client.get(PAGE).status_code == 403


def test_gdpr_page_export_shows_the_key_once_and_downloads_once(client, alpha_owner, tenant_alpha):
    client.force_login(alpha_owner)
    answer = client.post(f"{PAGE}exports/")
    assert answer.status_code == 202
    key = answer.context["key"]
    assert key in answer.content.decode()
    assert key not in client.get(PAGE).content.decode()
    with tenant_context(tenant_alpha):
        export = ExportArchive.objects.get()
        engine.run_job(export.job_id)
    token = client.get(PAGE).context["rows"][0]["token"]
    assert client.get(f"{PAGE}download/{token}/").status_code == 405
    taken = client.post(f"{PAGE}download/{token}/")
    assert taken.status_code == 200
    assert fmt.MANIFEST in fmt.read_archive(taken.content, base64.urlsafe_b64decode(key))
    again = client.post(f"{PAGE}download/{token}/", follow=True)
    assert "already downloaded" in again.content.decode()


def test_gdpr_page_second_export_while_one_runs_is_409(client, alpha_owner):
    client.force_login(alpha_owner)
    assert client.post(f"{PAGE}exports/").status_code == 202
    assert client.post(f"{PAGE}exports/").status_code == 409
