"""The browser harness's own rule: no browser skips here and fails in CI."""

import pytest


def test_missing_browser_skips_here_and_fails_in_ci(monkeypatch):
    from _pytest.outcomes import Failed, Skipped

    from tests.browser import driver

    monkeypatch.setattr(driver, "browser_missing", lambda: "/usr/bin/chromium is missing")
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(Skipped):
        driver.require_browser()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(Failed, match="cannot run in CI"):
        driver.require_browser()
