"""Take the screenshots in docs/ from a running app in headless Chromium: python docs/make_screenshots.py [NAME …]

Starts `streamlit run app.py` on a free port, opens each main page, presses Start on the training pages and waits a
few seconds so the curves show learning, and writes docs/<page>.png. Then the text views of the shipped character
model: docs/text_quote_cell.png (a Python snippet coloured by the unit text-report picks for in_string),
docs/text_bracket_cell.png (by the unit that tracks bracket_depth best over validation files),
docs/text_docstring_cell.png (the same for in_long_string) and docs/text_find_cells.png (the cell finder), and the
explorer's extras: docs/intervene.png, docs/ablation.png and docs/explorer_gru.png.

Names retake only those: a page's (``home``, ``explorer`` — with ``explorer_gates`` —, ``train_toy``,
``train_subtraction``, ``compare``, ``gradient_flow``, ``cell_step``), ``text`` (the text views), ``intervene``,
``ablation``, ``explorer_gru``.
"""

from __future__ import annotations

import re
import shutil
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.e2e.conftest import CHROMIUM_FLAGS, running_app  # noqa: E402
from tests.e2e.helpers import PROGRESS, enter, open_page, press, select, wait_idle  # noqa: E402

PAGES = [  # (file name, URL path, buttons to press in turn, each followed by training until "finished")
    ("home", "", ()),
    ("explorer", "explorer", ()),
    ("train_toy", "train_toy", ("Start", "Continue 3,000 more")),  # post 0: 2,000 epochs, then 3,000 more
    ("train_subtraction", "train_subtraction", ("Start",)),
    ("compare", "lstm_vs_lstmp", ()),
    ("gradient_flow", "gradient_flow", ()),
    ("cell_step", "cell_step", ()),
]


# The unit `python -m lstm_viz text-report models/charlm_python.pt` picks for in_string on training text (lower
# inside strings); the README's picture of the quote cell shows it. Retake the pictures when the model changes.
STRING_UNIT = "layer1.fwd.c[354]"

# A snippet with strings of every kind the labels know (the one the README's picture shows).
TEXT_SNIPPET = '''import json
import sys


def describe(user, verbose=False):
    """Return a short description of a user."""
    name = user.get("name", "anonymous")
    city = user.get('city') or "somewhere"
    # quotes inside comments do not count: "like this"
    if verbose:
        print("Describing", name, 'from', city, file=sys.stderr)
    return f"{name} lives in {city} ({len(name)} letters)"


USERS = [{"name": "Ada", "city": "London"}, {"name": "Guido", "city": 'Haarlem'}]
print(json.dumps([describe(u) for u in USERS], indent=2))
'''


def text_screenshots(page, url: str) -> None:
    """The shipped character model: the snippet coloured by its best in_string unit, and the cell finder."""
    chart = "[data-testid='stPlotlyChart']"
    open_page(page, url, timeout_ms=180_000)
    open_page(page, url, "explorer", timeout_ms=180_000)
    sidebar = page.locator("[data-testid='stSidebar']")
    select(page, sidebar.get_by_role("combobox").first, "charlm_python.pt")
    box = page.get_by_role("textbox", name="Python source (or any text), up to 10,000 characters")
    box.fill(TEXT_SNIPPET)
    box.press("Control+Enter")
    page.wait_for_timeout(1000)
    wait_idle(page, 180_000)
    option = "in_string — inside a string literal (quotes included from the opening one)"
    select(page, page.get_by_role("combobox", name="Rank units by"), option)
    over = page.get_by_role("radiogroup", name="Rank a feature over")
    over.get_by_text("validation files", exact=True).click()  # the cell that tracks strings everywhere
    page.wait_for_timeout(1000)
    wait_idle(page, 180_000)
    # the unit text-report picks for in_string on training text (models/README.md), which the list over validation
    # files offers too: chosen in place of the list's first
    units = page.get_by_role("combobox", name=re.compile("Units to colour the text by"))
    units.scroll_into_view_if_needed()
    units.click()
    page.keyboard.press("Backspace")  # the unit chosen for the user
    select(page, units, STRING_UNIT)
    page.keyboard.press("Escape")
    wait_idle(page, 180_000)
    _coloured_shot(page, STRING_UNIT, "text_quote_cell.png")
    # the bracket-depth cell: the list's first over validation files
    select(page, page.get_by_role("combobox", name="Rank units by"), "bracket_depth — how many ( [ { are open")
    page.wait_for_timeout(1000)
    wait_idle(page, 180_000)
    _coloured_shot(page, "", "text_bracket_cell.png")
    # the docstring cell: the list's first for the triple-quoted strings, the part of in_string the quote cell misses
    option = "in_long_string — inside a triple-quoted string (docstrings, most of them)"
    select(page, page.get_by_role("combobox", name="Rank units by"), option)
    page.wait_for_timeout(1000)
    wait_idle(page, 180_000)
    _coloured_shot(page, "", "text_docstring_cell.png")
    page.get_by_role("tab", name="Find cells").click()
    wait_idle(page, 180_000)
    page.locator(chart).filter(has_text="#1:").first.wait_for(timeout=180_000)
    over = page.get_by_role("radiogroup", name="Rank over")
    over.get_by_text("100,000 characters of validation files", exact=True).click()
    page.wait_for_timeout(1000)
    wait_idle(page, 180_000)
    page.locator(chart).filter(has_text="#1:").first.wait_for(timeout=180_000)
    page.mouse.move(5, 5)
    page.get_by_text("Find cells by").first.evaluate("e => e.scrollIntoView({block: 'start'})")
    page.wait_for_timeout(1500)
    page.screenshot(path=str(ROOT / "docs" / "text_find_cells.png"))
    print(ROOT / "docs" / "text_find_cells.png")


def _coloured_shot(page, unit: str, name: str) -> None:
    """The text coloured by ``unit`` (the first coloured text when empty), written to docs/<name>."""
    coloured = page.locator("[data-testid='stPlotlyChart']").filter(has_text=f"{unit} on the text").first
    coloured.scroll_into_view_if_needed()
    page.mouse.move(5, 5)
    page.wait_for_timeout(1500)
    coloured.screenshot(path=str(ROOT / "docs" / name))
    print(ROOT / "docs" / name)


EXTRAS = ("intervene", "ablation", "explorer_gru")


def main() -> None:
    only = set(sys.argv[1:])
    known = {name for name, _, _ in PAGES} | {"text", *EXTRAS}
    if only - known:
        sys.exit(f"unknown screenshot name(s): {', '.join(sorted(only - known))}; known: {', '.join(sorted(known))}")
    with tempfile.TemporaryDirectory() as tmp, running_app(Path(tmp)) as url, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=shutil.which("chromium"), headless=True, args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1500, "height": 1100})
        page.set_default_timeout(180_000)
        if not only or "text" in only:
            text_screenshots(page, url)
        for name, path, buttons in PAGES:
            if only and name not in only:
                continue
            open_page(page, url, path, timeout_ms=180_000)
            for button in buttons:
                press(page, button)
                page.wait_for_timeout(1000)
                page.wait_for_function(
                    f"document.querySelector(\"{PROGRESS}\")?.innerText.includes('finished')", timeout=180_000
                )
                wait_idle(page, 180_000)
            page.mouse.move(5, 5)  # no tooltip from the last button pressed
            page.wait_for_timeout(1500)
            wait_idle(page, 180_000)
            out = ROOT / "docs" / f"{name}.png"
            page.screenshot(path=str(out))
            print(out)
            if name == "explorer":  # the heart of the page, below the answer: the six heatmaps
                page.locator("[data-testid='stPlotlyChart']").nth(1).scroll_into_view_if_needed()
                page.wait_for_timeout(1500)
                page.screenshot(path=str(ROOT / "docs" / "explorer_gates.png"))
        explorer_extras(page, url, [name for name in EXTRAS if not only or name in only])
        browser.close()


def _shot(page, name: str, locator=None) -> None:
    page.mouse.move(5, 5)
    page.wait_for_timeout(1500)
    wait_idle(page, 180_000)
    if locator is not None:  # at the top of the window: what follows it is what the picture shows
        locator.evaluate("e => e.scrollIntoView({block: 'start'})")
        page.wait_for_timeout(1000)
    out = ROOT / "docs" / f"{name}.png"
    page.screenshot(path=str(out))
    print(out)


def explorer_extras(page, url: str, names: list[str]) -> None:
    """Those of ``names`` asked for: the Intervene tab (unit 1 of c zeroed: 123 − 61 breaks), the ranking of every
    unit (ablation), and the shipped GRU (explorer_gru)."""
    if "intervene" in names or "ablation" in names:
        open_page(page, url, "explorer", timeout_ms=180_000)
    if "intervene" in names:
        page.get_by_role("tab", name="Intervene", exact=True).click()
        wait_idle(page, 180_000)
        enter(page, page.get_by_label("Units (0–31, or all)", exact=True), "1")
        _shot(page, "intervene", page.get_by_text("Set them to").first)
    if "ablation" in names:
        page.get_by_role("tab", name="Which units matter", exact=True).click()
        wait_idle(page, 180_000)
        press(page, "Rank the units")
        page.wait_for_selector("text=Which units matter: each unit zeroed in turn", timeout=180_000)
        _shot(page, "ablation", page.get_by_text("Tensors to ablate, one unit at a time").first)
    if "explorer_gru" in names:
        open_page(page, url, "explorer", timeout_ms=180_000)
        select(page, page.locator("[data-testid='stSidebar']").get_by_role("combobox").first, "subtraction_gru.pt")
        page.wait_for_selector("text=Gates and states: r, z, n, h", timeout=180_000)
        _shot(page, "explorer_gru", page.get_by_text("Gates and states: r, z, n, h").first)


if __name__ == "__main__":
    main()
