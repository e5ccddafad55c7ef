"""The browser fixtures every real-browser test uses (a plugin of the root conftest)."""

import pytest


@pytest.fixture(scope="module")
def browser_driver():
    """One headless Chromium per test module (starting one takes a while)."""
    from tests.browser.driver import require_browser, start_browser

    require_browser()
    driver = start_browser()
    yield driver
    driver.quit()


@pytest.fixture
def console(browser_driver, db):
    """The console served over HTTP on this test's transaction, and the browser on it."""
    from tests.browser.console import ConsoleBrowser
    from tests.browser.server import LiveConsole

    live = LiveConsole()
    view = ConsoleBrowser(browser_driver, live)
    try:
        yield view
    finally:
        view.reset()
        live.stop()
