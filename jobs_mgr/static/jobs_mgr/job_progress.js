/* Live job progress for the console's Jobs pages and the admin's job page.
 *
 * Every element with data-job-id (a table row, a job's section) is one job; while any
 * of them is unfinished, this asks the page's read-only progress URL (the element with
 * data-job-progress-url) for those jobs every 2 s and updates their bar, labels, state
 * and Resume/Cancel forms in place. It stops once every shown job has finished (or
 * after repeated failures, saying so). The server sends every label already translated.
 */
(function () {
  "use strict";
  var INTERVAL_MS = 2000;
  var MAX_FAILURES = 5;
  var root = document.querySelector("[data-job-progress-url]");
  if (!root) {
    return;
  }
  var url = root.getAttribute("data-job-progress-url");
  var failures = 0;

  function shown() {
    return Array.prototype.slice.call(document.querySelectorAll("[data-job-id]"));
  }

  function pending() {
    return shown().filter(function (el) {
      return el.getAttribute("data-finished") === "false";
    });
  }

  function setText(el, field, value) {
    el.querySelectorAll('[data-field="' + field + '"]').forEach(function (node) {
      if (node.tagName !== "PROGRESS") {
        node.textContent = value === null || value === undefined ? "" : String(value);
      }
    });
  }

  function apply(el, job) {
    el.querySelectorAll('progress[data-field="bar"]').forEach(function (bar) {
      if (job.bar_value === null) {
        bar.removeAttribute("value"); // indeterminate: running, size unknown
      } else {
        bar.value = job.bar_value;
      }
      bar.textContent = job.percent_label;
    });
    ["state_label", "percent_label", "counts_label", "eta_label", "rate_label",
     "elapsed_label", "resume_refusal", "cancel_refusal"].forEach(function (field) {
      setText(el, field, job[field]);
    });
    el.querySelectorAll('form[data-action="resume"]').forEach(function (form) {
      form.hidden = !job.can_resume;
    });
    el.querySelectorAll('form[data-action="cancel"]').forEach(function (form) {
      form.hidden = !job.can_cancel;
    });
    el.setAttribute("data-state", job.state);
    if (job.finished) {
      el.setAttribute("data-finished", "true");
      var note = el.querySelector("[data-finished-note]");
      if (note) {
        note.hidden = false;
      }
    }
  }

  function stop(state) {
    root.setAttribute("data-polling", state);
    if (state === "failed") {
      document.querySelectorAll("[data-live-note]").forEach(function (note) {
        note.hidden = false;
      });
    }
  }

  function tick() {
    var waiting = pending();
    if (!waiting.length) {
      stop("stopped");
      return;
    }
    var ids = [];
    waiting.forEach(function (el) {
      var id = el.getAttribute("data-job-id");
      if (ids.indexOf(id) < 0) {
        ids.push(id);
      }
    });
    fetch(url + "?ids=" + ids.join(","), {
      credentials: "same-origin",
      headers: {Accept: "application/json"},
      redirect: "error", // signed out: a login page is no progress
    })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("progress: HTTP " + response.status);
        }
        return response.json();
      })
      .then(function (data) {
        failures = 0;
        var seen = {};
        data.jobs.forEach(function (job) {
          seen[String(job.id)] = true;
          document.querySelectorAll('[data-job-id="' + job.id + '"]').forEach(function (el) {
            apply(el, job);
          });
        });
        // A job the answer leaves out is not visible to this user any more: stop asking.
        waiting.forEach(function (el) {
          if (!seen[el.getAttribute("data-job-id")]) {
            el.setAttribute("data-finished", "gone");
          }
        });
      })
      .catch(function () {
        failures += 1;
      })
      .then(function () {
        if (failures >= MAX_FAILURES) {
          stop("failed");
        } else {
          window.setTimeout(tick, INTERVAL_MS);
        }
      });
  }

  if (pending().length) {
    root.setAttribute("data-polling", "on");
    window.setTimeout(tick, INTERVAL_MS);
  } else {
    root.setAttribute("data-polling", "stopped");
  }
})();
