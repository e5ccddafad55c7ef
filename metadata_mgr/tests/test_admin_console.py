"""Metadata in the console: the records list per tenant, a record's page with its
content and version history, the diff page, the rollback page (GET asks, POST rolls
back, viewers may not), soft delete and restore actions, subjects with their versions,
the sidebar section and the home card."""

import pytest
from django.urls import reverse

from metadata_mgr import actions, selectors
from metadata_mgr.models import Record, Subject
from tenancy.console_registry import sections
from tenancy.context import tenant_context
from tests.console_home import home_cards, rows

pytestmark = pytest.mark.django_db
CHANGELIST = "admin:metadata_mgr_record_changelist"


@pytest.fixture
def record(tenant_alpha):
    with tenant_context(tenant_alpha):
        made = actions.do_create_record(metadata_type="schema", content={"a": 1}, name="users")
        actions.do_update_record(made.pk, content={"a": 1, "b": "two"})
        actions.do_update_record(made.pk, content={"b": "two"})
    return made


@pytest.fixture
def beta_record(tenant_beta):
    with tenant_context(tenant_beta):
        return actions.do_create_record(metadata_type="schema", content={"z": 1}, name="users")


def test_console_records_listed_per_tenant(client, alpha_owner, record, beta_record):
    client.force_login(alpha_owner)
    listing = client.get(reverse(CHANGELIST))
    assert [r.pk for r in listing.context["cl"].result_list] == [record.pk]
    foreign = client.get(reverse("admin:metadata_mgr_record_change", args=[beta_record.pk]))
    assert foreign.status_code == 302  # "does not exist", like a missing id


def test_console_record_page_shows_content_and_history(client, alpha_owner, record):
    client.force_login(alpha_owner)
    page = client.get(reverse("admin:metadata_mgr_record_change", args=[record.pk]))
    html = page.content.decode()
    assert page.status_code == 200 and "data-history" in html
    assert "2.0" in html and "1.1" in html and "Roll back to this version" in html
    assert "&quot;two&quot;" in html  # the content, escaped


def test_console_diff_page(client, alpha_owner, record):
    client.force_login(alpha_owner)
    url = reverse("admin:metadata_mgr_record_diff", args=[record.pk])
    page = client.get(url, {"from": 1, "to": 3})
    html = page.content.decode()
    assert page.status_code == 200 and "/content/a" in html and "breaking" in html
    missing = client.get(url, {"from": 1, "to": 9})
    assert missing.status_code == 200 and "no version 9" in missing.content.decode()


def test_console_rollback_asks_then_rolls_back(client, alpha_owner, record, tenant_alpha):
    client.force_login(alpha_owner)
    url = reverse("admin:metadata_mgr_record_rollback", args=[record.pk, 1])
    asked = client.get(url)
    assert asked.status_code == 200 and "/content/a" in asked.content.decode()
    with tenant_context(tenant_alpha):
        assert selectors.get_record(record.pk).version_seq == 3  # GET wrote nothing
    done = client.post(url)
    assert done.status_code == 302
    with tenant_context(tenant_alpha):
        rolled = selectors.get_record(record.pk)
        assert rolled.version_seq == 4 and rolled.content == {"a": 1}


def test_console_rollback_refused_to_a_viewer(client, alpha_viewer, record, tenant_alpha):
    alpha_viewer.is_staff = True
    alpha_viewer.save()
    client.force_login(alpha_viewer)
    url = reverse("admin:metadata_mgr_record_rollback", args=[record.pk, 1])
    assert client.get(url).status_code == 200
    assert client.post(url).status_code == 403
    with tenant_context(tenant_alpha):
        assert selectors.get_record(record.pk).version_seq == 3


def test_console_soft_delete_and_restore_actions(client, alpha_owner, record, tenant_alpha):
    client.force_login(alpha_owner)
    client.post(
        reverse(CHANGELIST), {"action": "soft_delete_selected", "_selected_action": [record.pk]}
    )
    with tenant_context(tenant_alpha):
        assert Record.objects.get(pk=record.pk).deleted_at is not None
    client.post(
        reverse(CHANGELIST), {"action": "restore_selected", "_selected_action": [record.pk]}
    )
    with tenant_context(tenant_alpha):
        assert Record.objects.get(pk=record.pk).deleted_at is None


def test_console_subject_page_lists_versions(client, alpha_owner, tenant_alpha):
    with tenant_context(tenant_alpha):
        actions.do_register_schema("users-value", {"type": "object"})
        subject = Subject.objects.get()
    client.force_login(alpha_owner)
    page = client.get(reverse("admin:metadata_mgr_subject_change", args=[subject.pk]))
    assert page.status_code == 200 and "v1" in page.content.decode()


def test_console_sidebar_has_the_metadata_section():
    section = next(s for s in sections() if s.key == "metadata")
    assert str(section.title) == "Metadata" and Record in section.models


def test_metadata_card_counts_the_tenant(client, alpha_owner, record, beta_record, tenant_alpha):
    with tenant_context(tenant_alpha):
        actions.do_create_record(metadata_type="business", content={}, name="s", sensitive=True)
    client.force_login(alpha_owner)
    card = home_cards(client)["metadata"]
    assert card.value == 2 and not card.empty
    assert rows(card) == {
        "Versions written, last 24 h": 4,
        "Sensitive (encrypted) records": 1,
        "Deleted (restorable)": 0,
        "Schema subjects": 0,
    }


def test_metadata_card_for_the_operator_sums_every_tenant(client, superuser, record, beta_record):
    client.force_login(superuser)
    assert home_cards(client)["metadata"].value == 2
    assert home_cards(client, tenant="beta")["metadata"].value == 1


def test_metadata_card_with_nothing_says_what_fills_it(client, alpha_owner):
    client.force_login(alpha_owner)
    card = home_cards(client)["metadata"]
    assert card.empty.startswith("No metadata record yet.") and card.rows == ()
    assert card.empty in client.get("/").content.decode()
