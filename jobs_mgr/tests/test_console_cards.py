"""The jobs card of the operations home: running and queued jobs, and those that failed
or succeeded in the last 24 hours; per tenant, summed for the operator."""

import datetime as dt

import pytest
from django.utils import timezone

from jobs_mgr.models import Job
from tenancy.context import tenant_context
from tests.console_home import home_cards, rows, tones

pytestmark = pytest.mark.django_db


def _jobs(tenant, **states) -> None:
    """states: {state: count}, a state suffixed `_old` ended two days ago."""
    with tenant_context(tenant):
        for name, count in states.items():
            state = name.removesuffix("_old")
            for _ in range(count):
                job = Job.objects.create(kind="tests.count", state=state)
                if name.endswith("_old"):
                    Job.objects.filter(pk=job.pk).update(
                        updated_at=timezone.now() - dt.timedelta(days=2)
                    )


@pytest.fixture
def jobs_in_both(tenant_alpha, tenant_beta):
    _jobs(tenant_alpha, running=1, queued=2, failed=1, failed_old=3, succeeded=1)
    _jobs(tenant_beta, running=2, queued=0, failed=0, succeeded=4)


def test_jobs_card_of_a_tenant(client, jobs_in_both, alpha_owner):
    client.force_login(alpha_owner)
    card = home_cards(client)["jobs"]
    assert card.value == 1
    assert rows(card) == {
        "Running": 1,
        "Queued": 2,
        "Failed, last 24 h": 1,
        "Succeeded, last 24 h": 1,
    }
    assert tones(card)["Failed, last 24 h"] == "danger"
    links = {str(r.label): r.link for r in card.rows}
    assert card.link == "/console/jobs/"
    assert links["Queued"] == "/console/jobs/?state=queued"
    assert client.get(links["Queued"]).context["page"].paginator.count == 2


def test_jobs_card_for_the_operator_sums_every_tenant(client, jobs_in_both, superuser):
    client.force_login(superuser)
    card = home_cards(client)["jobs"]
    assert card.value == 3
    assert rows(card)["Succeeded, last 24 h"] == 5 and rows(card)["Failed, last 24 h"] == 1
    beta = home_cards(client, tenant="beta")["jobs"]
    assert rows(beta) == {
        "Running": 2,
        "Queued": 0,
        "Failed, last 24 h": 0,
        "Succeeded, last 24 h": 4,
    }


def test_jobs_card_is_for_every_member_like_the_jobs_page(client, jobs_in_both, alpha_viewer):
    client.force_login(alpha_viewer)  # a viewer, not staff: the Jobs page is theirs too
    card = home_cards(client)["jobs"]
    assert card.value == 1 and client.get(card.link).status_code == 200


def test_jobs_card_with_nothing_to_count_says_what_fills_it(client, tenant_alpha, alpha_owner):
    _jobs(tenant_alpha, failed_old=1)  # ended before the window
    client.force_login(alpha_owner)
    card = home_cards(client)["jobs"]
    assert card.empty.startswith("No job running, queued or finished in the last 24 hours.")
    assert card.rows == ()
