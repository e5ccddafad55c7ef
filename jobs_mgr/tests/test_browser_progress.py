"""The Jobs page's live bar in a real browser (Debian's Chromium, see
security_mgr/tests/browser.py): a job of a kind registered here advances one step at a
time, and after each step the test waits until the open page shows it — bar, percent,
counts, state, ETA and the Cancel button — without the page being reloaded; once the job
has succeeded the page stops polling."""

import pytest

from jobs_mgr import actions, engine, registry
from jobs_mgr.tests.conftest import COUNT
from tenancy.context import tenant_context
from tests.personas import PASSWORD

pytestmark = pytest.mark.django_db

KIND = "tests.browser_steps"
STEPS = 4

ROW = """
const row = document.querySelector('#job-list tr[data-job-id="' + arguments[0] + '"]');
if (!row) { return null; }
const text = (f) => row.querySelector('[data-field="' + f + '"]').textContent.trim();
const form = (a) => row.querySelector('form[data-action="' + a + '"]');
const bar = row.querySelector('progress[data-field="bar"]');
return {
  bar: bar.hasAttribute("value") ? bar.value : null,
  percent: text("percent_label"), counts: text("counts_label"),
  state: text("state_label"), eta: text("eta_label"),
  finished: row.getAttribute("data-finished"),
  cancel: !form("cancel").hidden, resume: !form("resume").hidden,
  polling: document.querySelector("#job-list").getAttribute("data-polling"),
  sameDocument: window.jobsPageMarker === "not reloaded",
};
"""


@pytest.fixture
def stepping_kind(console):  # noqa: F811 (the fixture imported above)
    """A job kind whose runner, after each step, lets the page poll (it releases the
    live console's lock, which the test holds while the job runs on the shared database
    connection) until the browser shows that step."""

    def runner(ctx):
        ctx.save(total=STEPS)
        for i in range(ctx.checkpoint.get("i", 0), STEPS):
            with ctx.step():
                ctx.save({"i": i + 1}, done=i + 1)
            console.lock.release()
            try:
                expected = 100.0 * (i + 1) / STEPS
                console.wait(
                    lambda d: (
                        (row := _row(console, ctx.job.pk))
                        and row["bar"] == expected
                        and row["counts"] == f"{i + 1} of {STEPS}"
                    ),
                    f"the page never showed step {i + 1}",
                )
            finally:
                console.lock.acquire()
        return {"steps": STEPS}

    registry.register(KIND, runner, title="Browser steps (tests)")
    yield KIND
    registry._kinds.pop(KIND, None)


def _row(console, job_id):  # noqa: F811
    return console.driver.execute_script(ROW, job_id)


def test_browser_job_bar_advances_without_reload(
    console,  # noqa: F811
    stepping_kind,
    alpha_owner,
    tenant_alpha,
):
    with tenant_context(tenant_alpha):
        done = engine.run_job(actions.enqueue_job(COUNT, {"n": 1}, send=False).pk)
        job = actions.enqueue_job(stepping_kind, total=STEPS, send=False)
    console.login("alice", PASSWORD, next_path="/console/jobs/")
    console.wait_for_path("/console/jobs/")
    console.driver.execute_script("window.jobsPageMarker = 'not reloaded';")
    first = _row(console, job.pk)
    assert first["bar"] == 0 and first["state"] == "Queued" and first["polling"] == "on"
    assert first["cancel"] and not first["resume"]
    assert _row(console, done.pk)["finished"] == "true"

    with console.lock, tenant_context(tenant_alpha):
        engine.run_job(job.pk)  # the runner waits for the page after every step

    console.wait(
        lambda d: _row(console, job.pk)["state"] == "Succeeded", "the page never showed success"
    )
    last = _row(console, job.pk)
    assert last["bar"] == 100 and last["percent"] == "100.0 %" and last["finished"] == "true"
    assert not last["cancel"] and not last["resume"]  # succeeded: neither
    assert last["eta"] == "—" and last["sameDocument"]
    console.wait(lambda d: _row(console, job.pk)["polling"] == "stopped", "still polling")
    console.assert_no_js_errors()


def test_browser_job_page_shows_eta_while_running(
    console,  # noqa: F811
    alpha_owner,
    tenant_alpha,
):
    with tenant_context(tenant_alpha):
        job = actions.enqueue_job(COUNT, {"n": 4}, total=4, send=False)
        engine.run_job(job.pk, max_steps=1)  # running, its worker holds the lease
    console.login("alice", PASSWORD, next_path=f"/console/jobs/{job.pk}/")
    console.wait_for_path(f"/console/jobs/{job.pk}/")
    assert console.text('[data-field="state_label"]') == "Running"
    assert console.text('[data-field="percent_label"]') == "25.0 %"
    assert console.text('[data-field="eta_label"]') != "—"  # 3 left at the measured rate
    assert "cancel it first" in console.text('[data-field="resume_refusal"]')
    console.find('form[data-action="cancel"] button').click()
    console.wait(lambda d: "stops at its next step" in console.text(), "no message")
    assert "cancel requested" in console.text('[data-field="state_label"]')
    console.assert_no_js_errors()
