"""The Gate Explorer's Intervene and Which-units-matter tabs, and a GRU in the explorer, in a real browser."""

from __future__ import annotations

import pytest

from tests.e2e.helpers import assert_no_exception, click, enter, open_page, press, select, wait_for, wait_idle

pytestmark = pytest.mark.browser

CHART = "[data-testid='stPlotlyChart']"


def open_tab(page, name: str) -> None:
    click(page, page.get_by_role("tab", name=name, exact=True))


def test_intervene_breaks_the_borrow_and_the_sweep_ranks_the_unit(page, app_url):
    open_page(page, app_url, "explorer")
    open_tab(page, "Intervene")
    enter(page, page.get_by_label("Units (0–31, or all)", exact=True), "1")
    assert_no_exception(page)
    main = page.get_by_test_id("stMainBlockContainer")
    assert "After:" in main.inner_text() and "the model says 30: wrong" in main.inner_text()
    wait_for(lambda: "How the change spreads" in main.inner_text(), 30, "the spread chart")  # a Plotly title
    enter(page, page.get_by_label("Units (0–31, or all)", exact=True), "99")
    assert "outside 0…31" in main.inner_text()
    open_tab(page, "Which units matter")
    press(page, "Rank the units")
    page.wait_for_selector("text=Which units matter: each unit zeroed in turn", timeout=180_000)
    wait_idle(page, 180_000)
    assert_no_exception(page)
    assert "layer0.fwd.c unit 1" in main.inner_text()


def test_a_gru_is_recorded_in_the_explorer(page, app_url):
    open_page(page, app_url, "explorer")
    select(page, page.locator("[data-testid='stSidebar']").get_by_role("combobox").first, "subtraction_gru.pt")
    assert_no_exception(page)
    main = page.get_by_test_id("stMainBlockContainer")
    page.wait_for_selector("text=Gates and states: r, z, n, h", timeout=60_000)
    wait_for(lambda: "z · update gate" in main.inner_text() or page.locator(CHART).count() >= 2, 60, "the GRU's charts")
    assert "one update gate z instead of the forget and input gates" in main.inner_text()
