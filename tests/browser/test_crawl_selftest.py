"""The crawl's own checks can fail: a page with every problem is reported for each of
them, a page with none for nothing, and the link rules never follow a write."""

import pytest

from tests.browser import axe
from tests.browser.crawl import Crawler, Finding, Persona, report
from tests.browser.pages import followable, is_changelist
from tests.browser.seed import DATA
from tests.browser.server import LiveConsole

ORIGIN = "http://localhost:8000"


@pytest.mark.parametrize(
    ("href", "path"),
    [
        ("/admin/", "/admin/"),
        ("/admin/tenancy/tenant/?state=active#top", "/admin/tenancy/tenant/"),
        (f"{ORIGIN}/console/passkeys/", "/console/passkeys/"),
        ("/api/docs/", "/api/docs/"),
        ("/admin/logout/", None),
        ("/admin/tenancy/tenant/3/delete/", None),
        ("/admin/password_change/", None),
        ("/admin/auth/user/2/password/", None),
        ("/api/v1/settings/", None),
        ("/api/schema/", None),
        ("/console/switch-tenant/", None),
        ("/admin/r/12/3/", None),
        ("/static/admin/css/base.css", None),
        ("https://example.com/admin/", None),
        ("http://localhost:8001/admin/", None),
        ("mailto:ops@example.com", None),
        ("javascript:void(0)", None),
    ],
)
def test_followable_visits_pages_and_never_writes(href, path):
    assert followable(href, ORIGIN) == path


def test_is_changelist_only_for_a_models_list():
    assert is_changelist("/admin/jobs_mgr/job/")
    assert not is_changelist("/admin/jobs_mgr/")
    assert not is_changelist("/admin/jobs_mgr/job/3/change/")


def test_report_groups_a_problem_at_its_first_page():
    lines = report(
        [
            Finding("root", "/a/", "axe label (critical): Form elements", "[#x]"),
            Finding("sam", "/b/", "answered 500"),
            Finding("alice", "/c/", "axe label (critical): Form elements", "[#y]"),
        ]
    ).splitlines()
    more = "(+1 more pages; personas: alice, root)"
    assert lines == [
        f"root | /a/ | axe label (critical): Form elements [#x]  {more}",
        "sam | /b/ | answered 500",
    ]


@pytest.fixture
def selftest_crawler(browser_driver, db, settings, tmp_path):
    settings.ROOT_URLCONF = "tests.browser.selftest_urls"
    live = LiveConsole(answer_favicon=False)
    crawler = Crawler(browser_driver, live, "", axe.axe_source(), tmp_path)
    crawler.start()
    try:
        yield crawler
    finally:
        crawler.stop()
        live.stop()


def test_crawl_reports_every_problem_of_a_broken_page(selftest_crawler):
    persona = Persona("selftest", "nobody", forbidden=(DATA["beta"],))
    selftest_crawler.visit(persona, "/crawl-selftest/broken/", 1)
    selftest_crawler.visit(persona, "/crawl-selftest/error/", 2)
    problems = [(f.url, f.problem) for f in selftest_crawler.findings]
    broken, error = "/crawl-selftest/broken/", "/crawl-selftest/error/"
    expected = [
        (broken, "chart #graph-without-points has no data points and no empty state"),
        (broken, "chart [data-chart=silent] was never drawn and shows no empty state"),
        (broken, "axe html-has-lang (serious): <html> element must have a lang attribute"),
        (broken, f"shows {DATA['beta']}: another tenant's data"),
        (broken, "GET /crawl-selftest/missing.png answered 404"),
        (broken, "GET /crawl-selftest/no-icon.png answered 404"),  # its declared icon
        (error, "answered 500"),
    ]
    for problem in expected:
        assert problem in problems, (problem, problems)
    assert any(url == broken and "selftest boom" in p for url, p in problems), problems
    shot = selftest_crawler.shots / "selftest" / "001-crawl-selftest-broken.png"
    assert shot.read_bytes().startswith(b"\x89PNG")


def test_crawl_finds_nothing_on_a_fine_page(selftest_crawler):
    persona = Persona("selftest", "nobody", forbidden=(DATA["beta"],), expected=(DATA["alpha"],))
    visit = selftest_crawler.visit(persona, "/crawl-selftest/fine/", 1)
    assert visit.status == 200 and visit.ok
    assert selftest_crawler.findings == []


def test_crawl_admits_a_403_only_to_personas_that_expect_refusals(selftest_crawler):
    viewer = Persona("viewer", "nobody", refusals_expected=True)
    owner = Persona("owner", "nobody")
    refused = selftest_crawler.visit(viewer, "/crawl-selftest/forbidden/", 1)
    assert refused.status == 403 and not refused.ok  # no links are read from it
    assert [f for f in selftest_crawler.findings if "403" in f.problem] == []
    selftest_crawler.visit(owner, "/crawl-selftest/forbidden/", 1)
    found = [(f.persona, f.problem) for f in selftest_crawler.findings if "403" in f.problem]
    assert found == [("owner", "answered 403")]
