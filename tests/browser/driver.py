"""Debian's headless Chromium driven by its ChromeDriver through Selenium. Both paths are
given, so Selenium Manager never runs (and never downloads a browser or a driver)."""

from __future__ import annotations

import os
import shutil

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
WAIT_SECONDS = 20  # how long a page may take to react (a wait, never an assertion)


def browser_missing() -> str | None:
    """Why no browser can run here, or None."""
    for path in (CHROMIUM, CHROMEDRIVER):
        if not (os.path.isfile(path) and os.access(path, os.X_OK)) and not shutil.which(
            os.path.basename(path)
        ):
            return f"{path} is missing (apt-get install chromium chromium-driver)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (requirements-dev.txt)"
    return None


def require_browser() -> None:
    """CI installs the browser (.ci/run): there a missing one fails; elsewhere it skips."""
    missing = browser_missing()
    if missing is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"browser tests cannot run in CI: {missing}")
    pytest.skip(f"needs a browser: {missing}")


def start_browser(*, window: tuple[int, int] = (1280, 1000)):
    """A headless Chromium whose console messages `driver.get_log("browser")` returns."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    os.environ.setdefault("SE_OFFLINE", "true")
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",  # root in containers
        "--disable-gpu",
        "--disable-dev-shm-usage",
        f"--window-size={window[0]},{window[1]}",
        "--disable-features=Translate,MediaRouter",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(executable_path=shutil.which("chromedriver") or CHROMEDRIVER)
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_script_timeout(WAIT_SECONDS)
    return driver
