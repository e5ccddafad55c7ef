"""The console's Lifecycle and Compliance pages and the quotas card on the home: a member
sees the tenant's state, tier and quota usage; an operator sees every enrolled tenant and
starts transitions (a refused one is a message, nothing changed); the Compliance page
shows docs/compliance.md, every framework of the seed's list, and claims no
certification."""

from __future__ import annotations

import pytest
from django.urls import reverse

from lifecycle_mgr import actions, compliance
from lifecycle_mgr.models import TenantLifecycle
from tests.console_home import home_cards, rows

pytestmark = pytest.mark.django_db
FRAMEWORKS = ("SOC 2", "ISO/IEC 27001", "GDPR Article 25", "HIPAA", "PCI DSS", "SOX")


def test_member_sees_state_tier_and_quotas(client, alpha_owner, tenant_alpha):
    actions.create_tenant_lifecycle(tenant_alpha.pk, "free")
    client.force_login(alpha_owner)
    page = client.get(reverse("console-lifecycle"))
    html = page.content.decode()
    assert page.status_code == 200
    assert 'data-state="active"' in html and 'data-quota="metadata_records"' in html
    assert 'id="lifecycle-tenants"' not in html  # operators only
    forbidden = client.post(
        reverse("console-lifecycle-transition", args=[tenant_alpha.slug]),
        {"transition": "suspend"},
    )
    assert forbidden.status_code == 403
    assert TenantLifecycle.objects.get(tenant=tenant_alpha).state == "active"


def test_home_shows_the_quotas_card(client, alpha_owner, tenant_alpha):
    actions.create_tenant_lifecycle(tenant_alpha.pk, "free")
    client.force_login(alpha_owner)
    card = home_cards(client)["quotas"]
    assert card.value == "free"
    assert rows(card)["users"] == "1 / 5"


def test_operator_starts_a_transition_and_sees_a_refusal(
    client, superuser, tenant_alpha, django_capture_on_commit_callbacks
):
    actions.create_tenant_lifecycle(tenant_alpha.pk, "free")
    client.force_login(superuser)
    page = client.get(reverse("console-lifecycle")).content.decode()
    assert 'data-tenant="alpha"' in page
    url = reverse("console-lifecycle-transition", args=[tenant_alpha.slug])
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(url, {"transition": "suspend"}, follow=True)
    assert "suspend started" in done.content.decode()
    assert TenantLifecycle.objects.get(tenant=tenant_alpha).state == "suspended"
    refused = client.post(url, {"transition": "purge"}, follow=True).content.decode()
    assert "cannot purge" in refused
    assert TenantLifecycle.objects.get(tenant=tenant_alpha).state == "suspended"


def test_compliance_page_renders_the_document(client, alpha_owner):
    client.force_login(alpha_owner)
    page = client.get(reverse("console-compliance"))
    html = page.content.decode()
    assert page.status_code == 200
    for framework in FRAMEWORKS:
        assert framework in html
    assert "not a certification" in html and "lifecycle.retention_purged" in html


def test_compliance_document_maps_each_framework_to_controls_and_evidence():
    sections = {s.title: s for s in compliance.sections()}
    for framework in FRAMEWORKS:
        found = [s for title, s in sections.items() if title.startswith(framework)]
        assert found, framework
        section = found[0]
        assert section.header[-1] == "Evidence" and len(section.rows) >= 4
        assert all(len(row) == 3 and all(row) for row in section.rows)
    preamble = " ".join(sections["Compliance map"].paragraphs)
    assert "not a certificate" in preamble
