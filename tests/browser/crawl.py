"""The console crawl: sign a persona in through the console's login form (and its second
factor), choose its tenant in the switcher, then visit every page its sidebar reaches
(the main part's links on a page without one, such as today's console home) and the
first objects of every changelist, and check each page. GET only; nothing is followed
that would sign out, delete or write (`pages.followable`).

Each page is checked for: the status of the document and of everything it loaded (a
403 is an answer only the personas that expect refusals may get); errors in the
browser console; charts without points and without an empty state; another tenant's
sentinel (tests/browser/seed.py); serious and critical axe-core violations. Every page
is saved as a PNG for people to look through. Findings are collected, never raised: the
test fails once with all of them."""

from __future__ import annotations

import base64
import math
import re
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tests.browser import axe, pages

CHART_WAIT_SECONDS = 5  # how long charts may take to draw (a wait, never an assertion)
SETTLE_SECONDS = 0.3  # for a page to draw what its requests brought
MAX_SHOT_HEIGHT = 8000  # px: long changelists are cut there
FAILED_LOAD = re.compile(r"^(\S+) - Failed to load resource: the server responded with a status")

SWITCH = """
const [slug, done] = arguments;
const field = document.querySelector("[name=csrfmiddlewaretoken]");
const cookie = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/);
const token = field ? field.value : (cookie ? cookie[1] : "");
fetch("/console/switch-tenant/", {
  method: "POST", credentials: "same-origin",
  headers: {"X-CSRFToken": token, "Content-Type": "application/x-www-form-urlencoded"},
  body: new URLSearchParams({tenant: slug, csrfmiddlewaretoken: token}),
}).then((r) => done({status: r.status, url: r.url}))
  .catch((e) => done({status: 0, url: String(e)}));
"""


ICON = """
const link = document.querySelector("link[rel~=icon]");
return link ? link.href : location.origin + "/favicon.ico";
"""
FETCH = """
const [url, done] = arguments;
fetch(url, {credentials: "same-origin"}).then((r) => done(r.status)).catch(() => done(0));
"""


@dataclass(frozen=True)
class Persona:
    label: str  # names its screenshot folder and its findings
    username: str
    tenant: str | None = None  # chosen in the console's tenant switcher after login
    forbidden: tuple[str, ...] = ()  # sentinels that must appear on no page
    expected: tuple[str, ...] = ()  # sentinels that must appear on some page
    refusals_expected: bool = False  # a 403 is a right answer to this persona
    totp: Callable[[], str] | None = None  # the second factor, if the user enrolled one


@dataclass(frozen=True)
class Finding:
    persona: str
    url: str
    problem: str  # what the report groups by
    detail: str = ""  # where on the page (the first page's is reported)

    def __str__(self) -> str:
        return f"{self.persona} | {self.url} | {self.problem}" + (
            f" {self.detail}" if self.detail else ""
        )


@dataclass
class Visit:
    path: str
    final: str = ""
    status: int | None = None
    ok: bool = True  # a page to read links from


@dataclass
class Crawler:
    driver: object
    live: object  # tests.browser.server.LiveConsole
    password: str
    axe_source: str
    shots: Path
    samples: int = 5  # object pages per changelist
    max_pages: int = 250
    skip: tuple[str, ...] = ()  # path prefixes never visited (test-only apps' pages)
    findings: list[Finding] = field(default_factory=list)
    visited: dict[str, list[str]] = field(default_factory=dict)  # persona -> paths
    seconds: Counter = field(default_factory=Counter)  # where the crawl's time goes
    _icons: set = field(default_factory=set)  # favicons checked for the current persona
    _seen: set = field(default_factory=set)  # the persona's expected sentinels seen so far
    _injected: str | None = None

    @property
    def origin(self) -> str:
        return self.live.url

    def _find(self, persona: Persona, url: str, problem: str, detail: str = "") -> None:
        self.findings.append(Finding(persona.label, url, problem, detail))

    # --- signing in ----------------------------------------------------------------

    def _path(self) -> str:
        from urllib.parse import urlsplit

        parts = urlsplit(self.driver.current_url)
        return parts.path + (f"?{parts.query}" if parts.query else "")

    def _wait(self, condition, seconds: float = 20) -> bool:
        from selenium.common.exceptions import TimeoutException, WebDriverException
        from selenium.webdriver.support.ui import WebDriverWait

        try:
            WebDriverWait(self.driver, seconds, ignored_exceptions=(WebDriverException,)).until(
                condition
            )
        except TimeoutException:
            return False
        return True

    def _by_css(self, css: str):
        return self.driver.find_element("css selector", css)

    def _submit(self, field, value: str) -> None:
        """Type into `field` and submit its own form (pages hold other forms: the
        header's log-out, say)."""
        field.send_keys(value)
        self.driver.execute_script("arguments[0].form.requestSubmit()", field)

    def _error_note(self) -> str:
        notes = self.driver.find_elements("css selector", ".errornote, .errorlist, [role=alert]")
        return " ".join(n.text.strip() for n in notes if n.text.strip())

    def sign_in(self, persona: Persona) -> bool:
        self.driver.delete_all_cookies()
        self.driver.get(f"{self.origin}/admin/login/?next=/")
        self._by_css("#id_username").send_keys(persona.username)
        self._submit(self._by_css("#id_password"), self.password)
        self._wait(lambda d: not self._path().startswith("/admin/login/") or self._error_note())
        if self._path().startswith("/admin/login/"):
            note = self._error_note() or "no message"
            self._find(persona, "/admin/login/", f"the login form refuses the persona: {note}")
            return False
        if self._path().startswith("/console/mfa/"):
            if persona.totp is None:
                self._find(persona, self._path(), "asked for a second factor it has not got")
                return False
            self._submit(self._by_css("[name=code]"), persona.totp())
            if not self._wait(lambda d: not self._path().startswith("/console/mfa/")):
                self._find(persona, "/console/mfa/", f"second factor refused: {self._error_note()}")
                return False
        if persona.tenant:
            answer = self.driver.execute_async_script(SWITCH, persona.tenant)
            if answer["status"] != 200:
                self._find(persona, "/console/switch-tenant/", f"tenant switch answered {answer}")
                return False
        return True

    # --- one page -------------------------------------------------------------------

    def _screenshot(self, persona: Persona, number: int, path: str) -> None:
        slug = re.sub(r"[^a-zA-Z0-9]+", "-", path).strip("-") or "home"
        folder = self.shots / persona.label
        folder.mkdir(parents=True, exist_ok=True)
        metrics = self.driver.execute_cdp_cmd("Page.getLayoutMetrics", {})
        size = metrics.get("cssContentSize") or metrics["contentSize"]
        clip = {
            "x": 0,
            "y": 0,
            "width": math.ceil(size["width"]),
            "height": min(math.ceil(size["height"]), MAX_SHOT_HEIGHT),
            "scale": 1,
        }
        shot = self.driver.execute_cdp_cmd(
            "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True, "clip": clip}
        )
        (folder / f"{number:03d}-{slug[:80]}.png").write_bytes(base64.b64decode(shot["data"]))

    def _statuses(self, persona: Persona, visit: Visit) -> None:
        """The document's status (the page the browser ended on) and every other
        request's: each request the server answered while the page loaded and ran."""
        served = self.live.take_served()
        document = [s for s in served if s.method == "GET" and s.path == visit.final]
        visit.status = document[-1].status if document else None
        refused = visit.status == 403 and persona.refusals_expected
        if visit.status is None:
            self._find(persona, visit.path, f"the server never answered {visit.final}")
        elif visit.status >= 400 and not refused:
            self._find(persona, visit.path, f"answered {visit.status}")
        visit.ok = visit.status is not None and visit.status < 400
        if visit.final.startswith("/admin/login/") and not visit.path.startswith("/admin/login/"):
            self._find(persona, visit.path, "sent a signed-in persona to the login page")
            visit.ok = False
        for s in served:
            if s.status >= 400 and not (document and s is document[-1]):
                if s.status == 403 and persona.refusals_expected:
                    continue
                self._find(persona, visit.path, f"{s.method} {s.path} answered {s.status}")

    def _console_errors(self, persona: Persona, visit: Visit) -> None:
        for entry in self.driver.get_log("browser"):
            if entry["level"] != "SEVERE":
                continue
            message = entry["message"]
            failed = FAILED_LOAD.match(message)
            if failed and failed.group(1).startswith(self.origin):
                continue  # answered by our server: _statuses reported it with its path
            message = message.replace(self.origin, "")
            self._find(persona, visit.path, f"browser console: {message}")

    def _charts(self, persona: Persona, visit: Visit) -> str:
        if not self.driver.execute_script(pages.CHARTS_PRESENT):
            return ""
        self._wait(pages.charts_settled, CHART_WAIT_SECONDS)
        for problem in pages.chart_problems(self.driver.execute_script(pages.CHARTS)):
            self._find(persona, visit.path, problem)
        return self.driver.execute_script(pages.CHART_DATA)

    def _accessibility(self, persona: Persona, visit: Visit) -> None:
        for v in axe.violations(self.driver, self.axe_source):
            targets = ", ".join(v["targets"][:6]) + (" ..." if len(v["targets"]) > 6 else "")
            problem = f"axe {v['id']} ({v['impact']}): {v['help']}"
            self._find(persona, visit.path, problem, f"[{targets}]")

    def _icon(self) -> None:
        """Headless Chromium asks for no favicon, which every other browser does: fetch
        the page's icon (its <link rel=icon>, else /favicon.ico) once per persona, so
        its status is checked with the page's other requests."""
        icon = self.driver.execute_script(ICON)
        if icon not in self._icons:
            self._icons.add(icon)
            self.driver.execute_async_script(FETCH, icon)

    def _timed(self, what: str, step, *args):
        started = time.monotonic()
        try:
            return step(*args)
        finally:
            self.seconds[what] += time.monotonic() - started

    def visit(self, persona: Persona, path: str, number: int) -> Visit:
        self._timed("load", self.driver.get, self.origin + path)
        visit = Visit(path, final=self._path())
        self._timed("settle", self._settle)
        chart_data = self._timed("charts", self._charts, persona, visit)
        self._timed("axe", self._accessibility, persona, visit)
        self._icon()
        self._sentinels(persona, visit, self.driver.page_source + chart_data)
        self._timed("screenshot", self._screenshot, persona, number, path)
        self._statuses(persona, visit)
        self._console_errors(persona, visit)
        return visit

    def _sentinels(self, persona: Persona, visit: Visit, text: str) -> None:
        """The page (its HTML and its charts' data) shows no forbidden sentinel."""
        lowered = text.lower()
        for sentinel in persona.forbidden:
            if sentinel.lower() in lowered:
                self._find(persona, visit.path, f"shows {sentinel}: another tenant's data")
        self._seen.update(s for s in persona.expected if s.lower() in lowered)

    # --- the crawl ------------------------------------------------------------------

    def start(self) -> None:
        """From now on every page the browser opens carries axe and the request counter."""
        self._injected = axe.inject_on_every_page(
            self.driver, pages.TRACK_REQUESTS + self.axe_source
        )

    def stop(self) -> None:
        if self._injected:
            self.driver.execute_cdp_cmd(
                "Page.removeScriptToEvaluateOnNewDocument", {"identifier": self._injected}
            )
            self._injected = None

    def _settle(self) -> None:
        """Until the page's own requests (fetch, XHR) have come back; then one more
        moment for it to draw what they brought."""
        if self._wait(lambda d: d.execute_script(pages.IDLE) != -1) and self.driver.execute_script(
            pages.IDLE
        ):
            time.sleep(SETTLE_SECONDS)

    def crawl(self, persona: Persona) -> None:
        self.live.take_served()
        self.driver.get_log("browser")
        visited = self.visited.setdefault(persona.label, [])
        self._icons = set()
        if not self.sign_in(persona):
            return
        self.live.take_served()  # the sign-in's own requests
        self.driver.get_log("browser")
        self._seen = set()
        queue, queued = deque([("/", 0)]), {"/"}
        while queue:
            path, depth = queue.popleft()
            if len(visited) == self.max_pages:
                self._find(persona, path, f"crawl stopped after {self.max_pages} pages")
                break
            visited.append(path)
            visit = self.visit(persona, path, len(visited))
            if not visit.ok:
                continue
            _sidebar, links = pages.nav_links(self.driver, self.origin, main_too=depth <= 1)
            if pages.is_changelist(path):
                links += pages.object_pages(self.driver, path, self.origin, self.samples)
            for link in links:
                if link not in queued and not link.startswith(self.skip):
                    queued.add(link)
                    queue.append((link, depth + 1))
        for sentinel in persona.expected:
            if sentinel not in self._seen:
                self._find(
                    persona, "(every page)", f"never shows its own {sentinel}: the leak check "
                    "would see nothing (seed or crawl broken)",
                )  # fmt: skip


def report(findings: list[Finding]) -> str:
    """One line per problem, at its first page, with how many more pages have it."""
    grouped: dict[str, list[Finding]] = {}
    for finding in findings:
        grouped.setdefault(finding.problem, []).append(finding)
    lines = []
    for where in grouped.values():
        more = ""
        if len(where) > 1:
            personas = sorted({f.persona for f in where})
            more = f"  (+{len(where) - 1} more pages; personas: {', '.join(personas)})"
        lines.append(f"{where[0]}{more}")
    return "\n".join(lines)
