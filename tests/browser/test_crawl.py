"""The console crawl (issue 12): as the operator, a tenant's owner, a tenant's viewer, a
member of two tenants (once in each) and the owner of a new, empty tenant, every page the
console's navigation reaches and the first objects of every list, in headless Chromium,
with axe-core in each page. One failure at the end lists every finding (persona | page |
problem); the screenshots of every page are in $DIM_ARTIFACTS_DIR/screenshots/<persona>/
(var/artifacts by default)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.authenticator import Enrolment
from tests.browser import axe
from tests.browser.crawl import Crawler, Persona, report
from tests.browser.seed import empty_tenant, seed_tenant
from tests.browser.server import LiveConsole
from tests.personas import PASSWORD

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = int(os.environ.get("DIM_CRAWL_SAMPLES", "5"))  # object pages per changelist


def artifacts_dir() -> Path:
    return Path(os.environ.get("DIM_ARTIFACTS_DIR") or ROOT / "var" / "artifacts")


def admin_of_test_apps() -> tuple[str, ...]:
    """The admin pages of the test-only apps (tests/scoping_app, ...): not the product's."""
    from django.apps import apps

    return tuple(
        f"/admin/{config.label}/"
        for config in apps.get_app_configs()
        if config.name.startswith("tests.")
    )


@pytest.fixture
def screenshots():
    folder = artifacts_dir() / "screenshots"
    shutil.rmtree(folder, ignore_errors=True)  # this run's pages only
    folder.mkdir(parents=True)
    return folder


def crawl_summary(crawler) -> str:
    counts = ", ".join(f"{label} {len(paths)}" for label, paths in crawler.visited.items())
    seconds = ", ".join(f"{what} {total:.0f} s" for what, total in crawler.seconds.items())
    return f"pages: {counts}\ntime: {seconds}\nfindings: {len(crawler.findings)}"


def test_console_crawl_finds_nothing_as_any_persona(
    browser_driver,
    screenshots,
    tenant_alpha,
    tenant_beta,
    superuser,
    alpha_owner,
    alpha_viewer,
    beta_owner,
    member_of_both,
):
    source = axe.axe_source()
    # The tenant's viewer as the console knows one: allowed to sign in (staff) with the
    # viewer role, so read-only everywhere (the demo's acme-viewer is the same).
    alpha_viewer.is_staff = True
    alpha_viewer.save(update_fields=["is_staff"])
    alpha = seed_tenant(tenant_alpha, alpha_owner)
    beta = seed_tenant(tenant_beta, beta_owner)
    second_factor = Enrolment(alpha_owner, tenant_alpha)  # the owner passes the step
    empty_tenant(PASSWORD)
    others = (alpha.data, alpha.name, beta.data, beta.name)
    personas = [
        Persona("operator-root", "root", expected=(alpha.data, beta.data)),
        Persona(
            "owner-alice",
            "alice",
            forbidden=(beta.data, beta.name),
            expected=(alpha.data,),
            totp=second_factor.totp,
        ),
        Persona(
            "viewer-victor",
            "victor",
            forbidden=(beta.data, beta.name),
            expected=(alpha.data,),
            refusals_expected=True,
        ),
        # A member of both may know both tenants' names, never the other one's rows.
        Persona(
            "both-sam-in-alpha", "sam", "alpha", forbidden=(beta.data,), expected=(alpha.data,)
        ),
        Persona("both-sam-in-beta", "sam", "beta", forbidden=(alpha.data,), expected=(beta.data,)),
        # A tenant with no data yet: its charts and cards say so (the empty states).
        Persona("new-tenant-greta", "greta", forbidden=others),
    ]
    live = LiveConsole(answer_favicon=False)  # the pages' own favicon is checked too
    crawler = Crawler(
        browser_driver,
        live,
        PASSWORD,
        source,
        screenshots,
        samples=SAMPLES,
        skip=admin_of_test_apps(),
    )
    crawler.start()
    try:
        for persona in personas:
            crawler.crawl(persona)
    finally:
        crawler.stop()
        live.stop()
    pages = sum(len(paths) for paths in crawler.visited.values())
    summary = crawl_summary(crawler)
    (screenshots.parent / "crawl.txt").write_text(summary + "\n" + report(crawler.findings) + "\n")
    assert pages >= len(personas) or crawler.findings, "the crawl visited nothing"
    assert not crawler.findings, f"{summary}\n(screenshots: {screenshots})\n" + report(
        crawler.findings
    )
