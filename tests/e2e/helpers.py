"""Helpers for the browser tests: open a page of the running app and check it shows no exception."""

from __future__ import annotations

IDLE = "[data-test-script-state='notRunning']"


def wait_idle(page, timeout_ms: int = 60_000) -> None:
    """Wait until the Streamlit script has finished its run."""
    page.wait_for_selector("[data-test-script-state]", timeout=timeout_ms)
    page.wait_for_timeout(300)  # a rerun may start right after the first one
    page.wait_for_selector(IDLE, timeout=timeout_ms)


def open_page(page, app_url: str, url_path: str = "", timeout_ms: int = 60_000) -> None:
    """Navigate to ``app_url/url_path`` (e.g. "explorer") and wait until its script has run and is idle.

    Every page starts with ``st.title``: waiting for that heading first matters on a loaded machine, where the
    script state reads "notRunning" for a moment before the first run has even started.
    """
    page.goto(f"{app_url}/{url_path}".rstrip("/"), wait_until="domcontentloaded")
    page.wait_for_selector("[data-testid='stMainBlockContainer'] h1", timeout=timeout_ms)
    wait_idle(page, timeout_ms)


def assert_no_exception(page) -> None:
    exceptions = page.locator("[data-testid='stException']")
    assert exceptions.count() == 0, exceptions.first.inner_text()
