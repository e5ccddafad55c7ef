/* Draws the console's Plotly charts (tenancy/console_charts.py) from their JSON, once the
   page is visible: unfold hides the page (x-cloak) until Alpine has started, and Plotly
   measures a hidden graph as 700 pixels wide with labels of no width. */
(function () {
  "use strict";

  function draw() {
    if (typeof Plotly === "undefined") {
      return;
    }
    document.querySelectorAll("script[id$='-figure'][type='application/json']").forEach(function (source) {
      var gd = document.getElementById(source.id.replace(/-figure$/, ""));
      if (!gd || gd.classList.contains("js-plotly-plot")) {
        return;
      }
      var spec = JSON.parse(source.textContent);
      Plotly.newPlot(gd, spec.data, spec.layout, spec.config);
    });
  }

  function whenVisible() {
    if (getComputedStyle(document.documentElement).display === "none") {
      window.setTimeout(whenVisible, 25);
      return;
    }
    draw();
  }

  if (document.readyState === "complete") {
    whenVisible();
  } else {
    window.addEventListener("load", whenVisible);
  }
})();
