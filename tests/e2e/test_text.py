"""The shipped character model in a real browser: the text coloured by a unit (hovering a character shows its value
and the model's next characters; clicking a bar of the ranked list colours the text by that unit), the cell
finder's three parts, and bad input — a binary upload, a bad regular expression — shown as messages, no exception."""

from __future__ import annotations

import pytest

from lstm_viz.paths import MODELS_DIR
from tests.e2e.helpers import assert_no_exception, open_page, select, settle, wait_for

CHART = "[data-testid='stPlotlyChart']"
SELECTED_FIRST = """() => [...document.querySelectorAll('[role=tab]')].some(
    t => t.textContent.includes('Text by unit') && t.getAttribute('aria-selected') === 'true')"""
pytestmark = pytest.mark.skipif(not (MODELS_DIR / "charlm_python.pt").exists(), reason="no shipped charlm model")


def open_text_model(page, app_url: str) -> None:
    open_page(page, app_url)
    open_page(page, app_url, "explorer")
    sidebar = page.locator("[data-testid='stSidebar']")
    sidebar.get_by_text("Shipped checkpoint").wait_for(timeout=60_000)
    select(page, sidebar.get_by_role("combobox").first, "charlm_python.pt")
    page.get_by_text("Python source (or any text)").first.wait_for(timeout=120_000)
    tab = page.get_by_role("tab", name="Text by unit")
    tab.wait_for(timeout=120_000)
    # another model opens on its first tab (read once the runs are over: mid-run the old model's tabs may still show,
    # and on a loaded machine the tab bar may redraw once more after the page reads idle)
    settle(page, 120_000)
    try:
        page.wait_for_function(SELECTED_FIRST, timeout=30_000)
    except Exception:
        shown = page.locator("[role=tab][aria-selected=true]").all_inner_texts()
        raise AssertionError(f"the text model opened on {shown}, not on 'Text by unit'") from None
    assert tab.get_attribute("aria-selected") == "true"
    page.locator(CHART).filter(has_text="on the text").first.wait_for(timeout=120_000)
    settle(page, 120_000)


def hover_text(page, chart) -> str:
    drag = chart.locator(".nsewdrag").first
    drag.scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    box = drag.bounding_box()
    page.mouse.move(box["x"] + 5, box["y"] + 8)  # the first character of the first line
    hover = page.locator(".hoverlayer .hovertext").first
    hover.wait_for(timeout=15_000)
    return hover.text_content()


def test_text_coloured_by_a_unit_hover_and_pick_by_clicking_a_bar(page, app_url):
    open_text_model(page, app_url)
    assert_no_exception(page)
    coloured = page.locator(CHART).filter(has_text="on the text").first
    text = hover_text(page, coloured)
    assert ("t 0 · 'd'" in text or "t 1 · 'e'" in text) and "next:" in text and "%" in text and " = " in text
    page.screenshot(path="/tmp/text_coloured.png", full_page=True)
    # pick another unit by clicking a bar of the ranked list
    bars = page.locator(CHART).filter(has_text="track in_string best").first
    bars.scroll_into_view_if_needed()
    before = page.locator(CHART).filter(has_text="on the text").count()
    points = bars.locator("g.point path")
    points.nth(3).click(force=True)
    settle(page, 120_000)
    page.wait_for_function(
        f"document.querySelectorAll(\"{CHART}\").length > 0 && "
        f"[...document.querySelectorAll(\"{CHART}\")].filter(e => e.innerText.includes('on the text')).length "
        f"> {before}",
        timeout=60_000,
    )
    assert_no_exception(page)


def test_find_cells_features_marks_and_bad_input(page, app_url):
    open_text_model(page, app_url)
    page.get_by_role("tab", name="Find cells").click()
    settle(page, 120_000)
    page.get_by_text("ranked by").first.wait_for(timeout=60_000)
    wait_for(lambda: page.locator(CHART).filter(has_text="#1:").count() >= 1, 30, "the ranked units' chart")
    assert page.get_by_text("Rank by in_long_string for the docstring cell.").count() == 1  # in_string's note
    page.get_by_role("radio", name="b) what you mark", exact=True).click()
    settle(page, 120_000)
    box = page.get_by_role("textbox", name="Regular expression (every character of every match is marked)")
    box.fill("(unclosed")
    box.press("Enter")
    settle(page, 120_000)
    page.get_by_text("does not compile").first.wait_for(timeout=30_000)
    assert_no_exception(page)
    box.fill(r"#.*")
    box.press("Enter")
    settle(page, 120_000)
    page.locator(CHART).filter(has_text="Best:").first.wait_for(timeout=60_000)
    page.get_by_role("radio", name="c) one unit's top contexts", exact=True).click()
    settle(page, 120_000)
    page.locator(CHART).filter(has_text="highest places").first.wait_for(timeout=180_000)
    assert page.get_by_text("Searched: 100,000 characters from").count() == 1  # where: a caption, not the title
    assert_no_exception(page)
    page.screenshot(path="/tmp/text_contexts.png", full_page=True)


def test_a_binary_upload_is_refused_and_the_text_stays(page, app_url):
    open_text_model(page, app_url)
    page.get_by_role("radio", name="Upload a .py / .txt file", exact=True).click()
    settle(page, 120_000)
    page.locator("[data-testid='stMain'] input[type='file']").set_input_files(
        files=[{"name": "data.py", "mimeType": "text/x-python", "buffer": b"\x00\x01\x02\x03" * 500}]
    )
    page.get_by_text("looks like a binary file").first.wait_for(timeout=60_000)
    assert page.get_by_text("Still showing the last valid input").count() == 1
    assert_no_exception(page)


def test_the_text_tab_opens_again_after_find_cells_without_an_error(page, app_url):
    """Going to Find cells and back: the tabs' widgets are written back as they were, but not the ranked list's
    chart (its selection is read-only: writing it back through its key prefix raised an error on the page)."""
    open_text_model(page, app_url)
    for name in ("Find cells", "Text by unit", "Find cells", "Text by unit"):
        page.get_by_role("tab", name=name).click()
        settle(page, 120_000)
        assert_no_exception(page)
    page.locator(CHART).filter(has_text="on the text").first.wait_for(timeout=120_000)
