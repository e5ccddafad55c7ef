"""One test's view of the shared browser and the live console: navigation, waits, the
console's login form, and the browser-console checks every test ends with."""

from __future__ import annotations

from urllib.parse import urlencode

from tests.browser.driver import WAIT_SECONDS
from tests.browser.server import LiveConsole


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
