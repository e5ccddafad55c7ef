"""A real browser (Debian's Chromium driven by its ChromeDriver through Selenium) against
the console served over HTTP, for the tests of the console's pages and their JavaScript.

The server answers on the test's own database connection, inside the test's
transaction: pytest-django's `live_server` needs `transactional_db`, whose flush
(TRUNCATE) the runtime role may not run on PostgreSQL, and the append-only audit tables
refuse DELETE anyway. So requests are served one at a time, and tests that read the
database while a page may still be talking to the server hold `console.lock`."""

from __future__ import annotations

import os
import shutil
import threading
from urllib.parse import urlencode

import pytest
from django.contrib.staticfiles.handlers import StaticFilesHandler
from django.core.handlers.wsgi import WSGIHandler
from django.core.servers.basehttp import ThreadedWSGIServer
from django.core.signals import request_finished, request_started
from django.db import DEFAULT_DB_ALIAS, close_old_connections, connections
from django.test.testcases import QuietWSGIRequestHandler

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


def start_browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    # Both paths are given, so Selenium Manager never runs (and never downloads).
    os.environ.setdefault("SE_OFFLINE", "true")
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",  # root in containers
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1280,1000",
        "--disable-features=Translate,MediaRouter",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(executable_path=shutil.which("chromedriver") or CHROMEDRIVER)
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_script_timeout(WAIT_SECONDS)
    return driver


class _SharedConnectionServer(ThreadedWSGIServer):
    def _close_connections(self):
        """The test's transaction owns the connection: leave it open."""


class LiveConsole:
    """The console's WSGI application on an ephemeral port of 127.0.0.1, one request at
    a time, on the test's database connection. Static files come from the finders."""

    def __init__(self):
        self.lock = threading.RLock()
        self._connection = connections[DEFAULT_DB_ALIAS]
        self._connection.inc_thread_sharing()
        self._handler = StaticFilesHandler(WSGIHandler())
        self.server = _SharedConnectionServer(
            ("127.0.0.1", 0),
            QuietWSGIRequestHandler,
            allow_reuse_address=False,
            connections_override={DEFAULT_DB_ALIAS: self._connection},
        )
        self.server.set_app(self._app)
        self.port = self.server.server_address[1]
        # WebAuthn refuses IP addresses as relying parties: the console is a host name.
        self.url = f"http://localhost:{self.port}"
        self._thread = threading.Thread(
            target=self.server.serve_forever, name="live-console", daemon=True
        )
        self._thread.start()

    def _app(self, environ, start_response):
        if environ.get("PATH_INFO") == "/favicon.ico":  # the browser asks on every page
            start_response("204 No Content", [])
            return [b""]
        with self.lock:
            # Like the test client: a request must not close the test's connection.
            request_started.disconnect(close_old_connections)
            request_finished.disconnect(close_old_connections)
            try:
                response = self._handler(environ, start_response)
                try:
                    body = b"".join(response)
                finally:
                    if hasattr(response, "close"):
                        response.close()
            finally:
                request_started.connect(close_old_connections)
                request_finished.connect(close_old_connections)
        return [body]

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=WAIT_SECONDS)
        self._connection.dec_thread_sharing()


class ConsoleBrowser:
    """One test's view of the shared browser: the live console's address, the
    authenticator it holds, and the checks every test ends with."""

    def __init__(self, driver, live: LiveConsole):
        self.driver, self.live = driver, live
        self.url, self.lock = live.url, live.lock

    # --- navigation ---------------------------------------------------------------
    def open(self, path: str, *, base: str | None = None):
        self.driver.get((base or self.url) + path)

    def path(self) -> str:
        from urllib.parse import urlsplit

        parts = urlsplit(self.driver.current_url)
        return parts.path + (f"?{parts.query}" if parts.query else "")

    def wait(self, condition, message: str = ""):
        """Until `condition(driver)` is truthy; a page that is still replacing itself
        (stale or missing elements) just means "not yet"."""
        from selenium.common.exceptions import (
            NoSuchElementException,
            StaleElementReferenceException,
        )
        from selenium.webdriver.support.ui import WebDriverWait

        waiting = WebDriverWait(
            self.driver,
            WAIT_SECONDS,
            ignored_exceptions=(NoSuchElementException, StaleElementReferenceException),
        )
        return waiting.until(condition, message)

    def wait_for_path(self, prefix: str):
        self.wait(lambda d: self.path().startswith(prefix), f"never reached {prefix}")

    def find(self, css: str):
        from selenium.webdriver.common.by import By

        return self.driver.find_element(By.CSS_SELECTOR, css)

    def text(self, css: str = "body") -> str:
        return self.find(css).text

    def visible_text(self, css: str) -> str:
        """Wait until the element shows some text, and return it."""
        self.wait(lambda d: self.find(css).is_displayed() and self.find(css).text.strip(), css)
        return self.find(css).text

    def login(self, username: str, password: str, next_path: str = "/admin/"):
        self.open(f"/admin/login/?{urlencode({'next': next_path})}")
        self.find("#id_username").send_keys(username)
        self.find("#id_password").send_keys(password)
        self.find("#login-form [type=submit]").click()
        self.wait(lambda d: not self.path().startswith("/admin/login/"), "login failed")

    def logout(self):
        self.open("/admin/")
        self.find("#header-logout [type=submit]").click()
        self.wait(lambda d: "Log in again" in self.text(), "logout failed")

    def post_json(self, path: str, body=None) -> dict:
        """POST from the page itself (its cookies and CSRF token): {status, json}."""
        return self.driver.execute_async_script(
            """
            const [path, body, done] = arguments;
            const token = (document.querySelector("[name=csrfmiddlewaretoken]") || {}).value;
            fetch(path, {method: "POST", credentials: "same-origin",
                         headers: {"X-CSRFToken": token, "Content-Type": "application/json"},
                         body: body === null ? undefined : JSON.stringify(body)})
              .then(async (r) => done({status: r.status, url: r.url,
                                       json: await r.json().catch(() => null)}))
              .catch((e) => done({status: 0, error: String(e)}));
            """,
            path,
            body,
        )

    # --- authenticator ------------------------------------------------------------
    def add_authenticator(self, *, user_verified: bool = True, credentials=()):
        from selenium.webdriver.common.virtual_authenticator import (
            Protocol,
            Transport,
            VirtualAuthenticatorOptions,
        )

        if self.driver.virtual_authenticator_id:
            self.driver.remove_virtual_authenticator()
        self.driver.add_virtual_authenticator(
            VirtualAuthenticatorOptions(
                protocol=Protocol.CTAP2,
                transport=Transport.INTERNAL,
                has_resident_key=True,
                has_user_verification=True,
                is_user_verified=user_verified,
            )
        )
        for credential in credentials:
            self.driver.add_credential(credential)

    def credentials(self):
        return self.driver.get_credentials()

    # --- console errors -------------------------------------------------------------
    def js_errors(self, allow=()) -> list[str]:
        """SEVERE browser log entries since the last call (JavaScript exceptions,
        console.error, failed loads), minus the expected ones named in `allow`."""
        entries = self.driver.get_log("browser")
        return [
            e["message"]
            for e in entries
            if e["level"] == "SEVERE" and not any(part in e["message"] for part in allow)
        ]

    def assert_no_js_errors(self, allow=()):
        errors = self.js_errors(allow)
        assert not errors, f"browser console errors: {errors}"

    def reset(self):
        if self.driver.virtual_authenticator_id:
            self.driver.remove_virtual_authenticator()
        self.driver.execute_cdp_cmd("Network.clearBrowserCookies", {})
        self.driver.get("about:blank")
        self.driver.get_log("browser")  # drop what this test left behind
