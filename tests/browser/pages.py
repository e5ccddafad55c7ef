"""What the crawl reads from a page: its links (sidebar, main content, a changelist's
objects) and its charts against the empty-state contract of docs/testing.md."""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

# The sidebar of the console: Django's `#nav-sidebar`, unfold's `<aside>`/sidebar nav,
# or any navigation landmark but a changelist's filters and the breadcrumbs (which
# lead to pages the sidebar reaches too, or to filtered lists of them).
SIDEBAR = (
    "#nav-sidebar, aside, [data-sidebar], "
    "nav:not(#changelist-filter):not([aria-label=Breadcrumbs]):not(.breadcrumbs)"
)
# A page without a sidebar (today's console home, the stock admin index): its main part.
MAIN = "main, #content, [role=main]"

LINKS = """
const [selector] = arguments;
const out = [];
for (const box of document.querySelectorAll(selector)) {
  for (const a of box.querySelectorAll("a[href]")) out.push(a.href);
}
return out;
"""

# Never followed: anything that signs out, deletes, changes a password, posts a form,
# the API (but its docs), the second-factor step and login, static files, invitations
# (single-use tokens), the admin's "view on site" redirect and its JavaScript catalogue.
NEVER = re.compile(
    r"/logout|/delete/|/password|^/admin/login/|^/console/mfa/|^/console/switch-tenant/"
    r"|^/static/|^/media/|^/invitation/|^/admin/r/|^/admin/jsi18n/"
    r"|\.(js|css|png|svg|ico|json|map|txt)$"
)
API = re.compile(r"^/api/(?!docs/$)")


def followable(href: str, origin: str) -> str | None:
    """The path to visit for a link (same origin, query and fragment dropped: the
    crawl visits pages, not filtered lists of them), or None if it is never followed."""
    parts = urlsplit(urljoin(origin + "/", href))
    if parts.scheme not in ("http", "https") or f"{parts.scheme}://{parts.netloc}" != origin:
        return None
    path = parts.path or "/"
    if NEVER.search(path) or API.search(path):
        return None
    return path


CHANGELIST = re.compile(r"^/admin/[a-z0-9_]+/[a-z0-9_]+/$")
# An object's own pages: reached only through its changelist (a bounded sample).
OBJECT = re.compile(r"^/admin/[a-z0-9_]+/[a-z0-9_]+/[^/]+/[a-z_]+/$")


def is_changelist(path: str) -> bool:
    return bool(CHANGELIST.match(path))


def object_pages(driver, changelist: str, origin: str, limit: int) -> list[str]:
    """The first `limit` objects' change pages linked from a changelist."""
    found: list[str] = []
    pattern = re.compile(rf"^{re.escape(changelist)}[^/]+/change/$")
    for href in driver.execute_script(LINKS, MAIN):
        path = followable(href, origin)
        if path and pattern.match(path) and path not in found:
            found.append(path)
            if len(found) == limit:
                break
    return found


def nav_links(driver, origin: str, *, main_too: bool) -> tuple[bool, list[str]]:
    """(whether the page has a sidebar, the paths it links to from there); with
    `main_too` and no sidebar, the links of its main part instead."""
    hrefs = driver.execute_script(LINKS, SIDEBAR)
    has_sidebar = bool(hrefs)
    if not has_sidebar and main_too:
        hrefs = driver.execute_script(LINKS, MAIN)
    paths = []
    for href in hrefs:
        path = followable(href, origin)
        if path and not OBJECT.match(path) and path not in paths:
            paths.append(path)
    return has_sidebar, paths


# --- charts: every chart has points or says it is empty --------------------------------

CHARTS_PRESENT = (
    "return document.querySelectorAll('.plotly-graph-div, .js-plotly-plot, [data-chart]').length"
)

CHARTS = """
const ARRAYS = ["x", "y", "z", "values", "labels", "lat", "lon", "r", "open", "close"];
const points = (gd) => (gd.data || []).some((t) =>
  ARRAYS.some((k) => t[k] != null && typeof t[k].length === "number" && t[k].length > 0));
const emptyState = (box) => box && Array.from(box.querySelectorAll("[data-empty-state]"))
  .concat(box.matches("[data-empty-state]") ? [box] : [])
  .some((e) => e.textContent.trim() !== "");
const name = (el) => el.id ? "#" + el.id
  : (el.getAttribute("data-chart") ? `[data-chart=${el.getAttribute("data-chart")}]`
     : el.tagName.toLowerCase() + "." + Array.from(el.classList).join("."));
const out = [];
const graphs = new Set(document.querySelectorAll(".plotly-graph-div, .js-plotly-plot"));
for (const box of document.querySelectorAll("[data-chart]")) {
  const inside = Array.from(box.querySelectorAll(".plotly-graph-div, .js-plotly-plot"));
  inside.forEach((gd) => graphs.delete(gd));
  const drawn = inside.filter((gd) => gd._fullLayout);
  out.push({chart: name(box), drawn: drawn.length > 0,
            points: drawn.some(points), empty: emptyState(box)});
}
for (const gd of graphs) {  // a Plotly graph outside any [data-chart] container
  out.push({chart: name(gd), drawn: !!gd._fullLayout, points: points(gd),
            empty: emptyState(gd) || emptyState(gd.parentElement)});
}
return out;
"""

CHART_DATA = """
return Array.from(document.querySelectorAll(".js-plotly-plot"))
  .map((gd) => JSON.stringify(gd.data || []) + JSON.stringify(gd.layout || {})).join("\\n");
"""


def chart_problems(charts: list[dict]) -> list[str]:
    problems = []
    for chart in charts:
        if chart["points"] or chart["empty"]:
            continue
        if not chart["drawn"]:
            problems.append(f"chart {chart['chart']} was never drawn and shows no empty state")
        else:
            problems.append(f"chart {chart['chart']} has no data points and no empty state")
    return problems


def charts_settled(driver) -> bool:
    """Every chart drawn with points or showing its empty state (or none on the page)."""
    return not chart_problems(driver.execute_script(CHARTS))


# --- settling: a page that fetches more after its load event ---------------------------

# Counts the page's fetch and XMLHttpRequest calls in flight (injected before its own
# scripts), so the crawl checks a page once what it asked for has arrived.
TRACK_REQUESTS = """
(() => {
  const state = window.__crawl = {inflight: 0, requests: 0};
  const begin = () => { state.inflight++; state.requests++; };
  const end = () => { state.inflight--; };
  const fetch = window.fetch;
  window.fetch = function (...args) {
    begin();
    return fetch.apply(this, args).finally(end);
  };
  const send = XMLHttpRequest.prototype.send;
  XMLHttpRequest.prototype.send = function (...args) {
    begin();
    this.addEventListener("loadend", end, {once: true});
    return send.apply(this, args);
  };
})();
"""
IDLE = """
const state = window.__crawl;
return !state || state.inflight === 0 ? (state ? state.requests : 0) : -1;
"""
