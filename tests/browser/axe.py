"""axe-core, the accessibility engine, from the npm registry: the test set-up installs
the pinned version into var/npm (once; later runs find it there) and injects it into
each page, where `axe.run` reports the page's violations.

Without npm the crawl skips here and fails in CI (tests.markers.require_program)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from tests.markers import require_program

AXE_VERSION = "4.14.1"
NPM_PREFIX = Path(__file__).resolve().parents[2] / "var" / "npm"
FAILING_IMPACTS = ("serious", "critical")

# Only violations (not passes or incomplete checks): much less work per page.
RUN = """
const done = arguments[arguments.length - 1];
axe.run(document, {resultTypes: ["violations"]})
  .then((r) => done(r.violations.map((v) => ({
      id: v.id, impact: v.impact, help: v.help,
      targets: v.nodes.map((n) => n.target.join(" ")),
  }))))
  .catch((e) => done({error: String(e)}));
"""


def _installed(prefix: Path) -> Path | None:
    package = prefix / "node_modules" / "axe-core"
    try:
        version = json.loads((package / "package.json").read_text())["version"]
    except (OSError, ValueError, KeyError):
        return None
    script = package / "axe.min.js"
    return script if version == AXE_VERSION and script.is_file() else None


def axe_source(prefix: Path = NPM_PREFIX) -> str:
    """axe.min.js of the pinned version, installed from the npm registry if missing."""
    script = _installed(prefix)
    if script is None:
        require_program("npm", "installs axe-core for the console crawl", "apt-get install npm")
        prefix.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                "npm", "install", "--no-save", "--no-audit", "--no-fund", "--prefix",
                str(prefix), f"axe-core@{AXE_VERSION}",
            ],
            check=True,
            env={**os.environ, "npm_config_update_notifier": "false"},
            capture_output=True,
            timeout=300,
        )  # fmt: skip
        script = _installed(prefix)
        if script is None:
            raise RuntimeError(f"npm did not install axe-core {AXE_VERSION} into {prefix}")
    return script.read_text(encoding="utf-8")


def inject_on_every_page(driver, source: str) -> str:
    """`source` (axe, say) in every document the browser opens from now on, before the
    page's own scripts: sent once, not with every page. Returns the script's identifier
    (for Page.removeScriptToEvaluateOnNewDocument)."""
    driver.execute_cdp_cmd("Page.enable", {})
    added = driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": source})
    return added["identifier"]


def violations(driver, source: str) -> list[dict]:
    """The page's serious and critical violations: [{id, impact, help, targets}]."""
    if not driver.execute_script("return typeof window.axe === 'object'"):
        driver.execute_script(source)  # a page the early injection missed
    found = driver.execute_async_script(RUN)
    if isinstance(found, dict):  # axe itself failed on the page
        return [{"id": "axe-error", "impact": "critical", "help": found["error"], "targets": []}]
    return [v for v in found if v["impact"] in FAILING_IMPACTS]
