"""Real-browser tests and their shared harness: Debian's headless Chromium driven by its
ChromeDriver through Selenium (`driver`), the console served over HTTP on the test's own
database connection (`server`), a test's view of both (`console`), and the console crawl
(`crawl`, `test_crawl.py`) that visits every page as every persona."""
