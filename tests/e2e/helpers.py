"""Helpers for the browser tests: open a page of the running app and check it shows no exception."""

from __future__ import annotations

IDLE = "[data-test-script-state='notRunning']"


def wait_idle(page, timeout_ms: int = 60_000) -> None:
    """Wait until the Streamlit script has finished its run."""
    page.wait_for_selector("[data-test-script-state]", timeout=timeout_ms)
    page.wait_for_timeout(300)  # a rerun may start right after the first one
    page.wait_for_selector(IDLE, timeout=timeout_ms)


def open_page(page, app_url: str, url_path: str = "", timeout_ms: int = 60_000) -> None:
    """Navigate to ``app_url/url_path`` (e.g. "explorer") and wait until the script is idle."""
    page.goto(f"{app_url}/{url_path}".rstrip("/"), wait_until="domcontentloaded")
    wait_idle(page, timeout_ms)


def assert_no_exception(page) -> None:
    exceptions = page.locator("[data-testid='stException']")
    assert exceptions.count() == 0, exceptions.first.inner_text()
