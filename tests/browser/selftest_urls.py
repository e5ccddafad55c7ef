"""The console's URLs plus two pages for the crawl's self-test: one with every problem
the crawl looks for, one with none (a chart drawn from data fetched after the page
loaded, and a chart container in its declared empty state)."""

import time

from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, JsonResponse
from django.urls import path

from config.urls import urlpatterns as console_urlpatterns
from tests.browser.seed import DATA

PLOTLY = '<script src="/console/security/plotly.min.js"></script>'

BROKEN = f"""<!doctype html>
<html><head><title>broken</title>
<link rel="icon" href="/crawl-selftest/no-icon.png">{PLOTLY}</head><body><main>
<p>{DATA["beta"]}</p>
<img src="/crawl-selftest/missing.png" alt="a picture that is not there">
<div id="graph-without-points"></div>
<div data-chart="silent"><p data-empty-state> </p></div>
<script>
Plotly.newPlot("graph-without-points", []);
setTimeout(() => {{ throw new Error("selftest boom"); }});
</script>
</main></body></html>"""

FINE = f"""<!doctype html>
<html lang="en"><head><title>fine</title><link rel="icon" href="data:,">{PLOTLY}</head>
<body><main><h1>Fine</h1>
<div data-chart="drawn"><div id="graph-drawn"></div></div>
<div data-chart="quiet"><p data-empty-state>No events in the last 7 days.</p></div>
<div id="graph-fetched"></div>
<script>
Plotly.newPlot("graph-drawn", [{{x: [1, 2], y: [3, 4], type: "bar"}}]);
fetch("/crawl-selftest/data/").then((r) => r.json())
  .then((d) => Plotly.newPlot("graph-fetched", [{{x: d.x, y: d.y, type: "bar"}}]));
</script>
</main></body></html>"""


def broken(request):
    return HttpResponse(BROKEN)


def fine(request):
    return HttpResponse(FINE)


def late_data(request):
    time.sleep(0.5)  # arrives after the load event: the crawl must wait for it
    return JsonResponse({"x": ["a", "b"], "y": [1, 2]})


def forbidden(request):
    raise PermissionDenied("the crawl's self-test: a page the persona may not use")


def server_error(request):
    raise RuntimeError("the crawl's self-test: a page that fails")


urlpatterns = [
    path("crawl-selftest/broken/", broken),
    path("crawl-selftest/fine/", fine),
    path("crawl-selftest/data/", late_data),
    path("crawl-selftest/error/", server_error),
    path("crawl-selftest/forbidden/", forbidden),
    *console_urlpatterns,
]
