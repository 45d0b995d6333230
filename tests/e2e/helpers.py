"""Helpers for the browser tests: open a page of the running app and check it shows no exception."""

from __future__ import annotations

import contextlib
import re
import time

IDLE = "[data-test-script-state='notRunning']"
PROGRESS = "[data-testid='stProgress']"  # the live pages' progress bar: "epoch 12 / 100 · 9.8 epochs/s · …"


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


def wait_for(predicate, timeout_s: float = 90, what: str = "condition") -> float:
    """Poll ``predicate()`` every 0.25 s until it is true (returns the seconds it took) or ``timeout_s`` passes."""
    start = time.time()
    while time.time() - start < timeout_s:
        if predicate():
            return time.time() - start
        time.sleep(0.25)
    raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")


def chart_text(page, title: str) -> str:
    """The text of the first Plotly chart that shows ``title`` ("" while none is drawn)."""
    charts = page.locator("[data-testid='stPlotlyChart']").filter(has_text=title)
    return charts.first.inner_text() if charts.count() else ""


EXCEPTION = "[data-testid='stException']"
REDACTED = "This app has encountered an error"  # what a visitor sees instead (client.showErrorDetails = "none")


def assert_no_exception(page) -> None:
    """No unexpected error on the page. The app's config shows visitors a redacted box (no message, no stack);
    it is still an ``stException`` element, and the traceback is in the server's log, quoted here."""
    exceptions = page.locator(EXCEPTION)
    if exceptions.count() or page.get_by_text(REDACTED).count():
        from tests.e2e.conftest import LOGS

        log = LOGS[-1].read_text()[-4000:] if LOGS else "(no server log)"
        shown = exceptions.first.inner_text() if exceptions.count() else REDACTED
        raise AssertionError(f"the page shows an unexpected error: {shown}\n--- server log ---\n{log}")


def epoch_shown(page) -> int:
    """The epoch in the (first) progress bar's label."""
    text = page.locator(PROGRESS).first.inner_text()
    match = re.search(r"epoch ([\d,]+) /", text)
    assert match, f"no epoch counter in the progress bar: {text!r}"
    return int(match.group(1).replace(",", ""))


def set_number(page, label: str, value: int) -> None:
    """Type ``value`` into the number box labelled ``label``, press Enter and wait for the rerun."""
    box = page.get_by_label(label, exact=True)
    arm(page)
    box.fill(str(value))
    box.press("Enter")
    settle_armed(page)


def press(page, name: str) -> None:
    """Click the main area's (first) button called ``name``.

    force: while charts redraw, Playwright's "element is stable" wait can take seconds on a busy machine.
    """
    page.get_by_test_id("stMainBlockContainer").get_by_role("button", name=name, exact=True).first.click(force=True)


def settle(page, timeout_ms: int = 60_000) -> None:
    """Wait for the rerun a change starts (it may begin late on a busy machine), then for the page to be idle."""
    with contextlib.suppress(Exception):  # the rerun was over before we looked, or nothing reran
        page.wait_for_selector("[data-test-script-state='running']", timeout=2_000)
    wait_idle(page, timeout_ms)


# Watches the script state from inside the page, so that a rerun that starts and ends between two looks from here
# is still seen: ``arm`` before an action, ``settle_armed`` after it.
_ARM = """() => {
    window.__stRan = false;
    const el = document.querySelector("[data-test-script-state]");
    if (!el) return;
    if (window.__stObserved !== el) {
        if (window.__stObserver) window.__stObserver.disconnect();
        window.__stObserver = new MutationObserver(() => {
            if (el.getAttribute("data-test-script-state") === "running") window.__stRan = true;
        });
        window.__stObserver.observe(el, {attributes: true, attributeFilter: ["data-test-script-state"]});
        window.__stObserved = el;
    }
}"""


def arm(page) -> None:
    """Start watching for the rerun the next action starts."""
    page.evaluate(_ARM)


# How long an action's rerun may take to start. Alone, the browser tests see it start within about 1 s of the
# action; beside the rest of the suite on two cores, it has started more than 2 s late. An action that reruns
# nothing (a few in the suite) waits this long for nothing.
RERUN_START_MS = 5_000


def settle_armed(page, timeout_ms: int = 60_000) -> None:
    """After ``arm`` and an action: wait until its rerun has started (seen by the page itself, up to
    ``RERUN_START_MS``), then until the page is idle."""
    with contextlib.suppress(Exception):  # nothing reran (or the watched element was replaced): as settle does
        page.wait_for_function("() => window.__stRan === true", timeout=RERUN_START_MS)
    wait_idle(page, timeout_ms)


def click(page, target, timeout_ms: int = 60_000) -> None:
    """Click ``target`` (a tab, a radio, a button) and wait for the rerun it starts to end — even one that starts
    late on a busy machine, which a plain ``wait_idle`` would miss."""
    arm(page)
    target.click()
    settle_armed(page, timeout_ms)


def enter(page, field, text: str) -> None:
    arm(page)
    field.fill(text)
    field.press("Control+Enter" if field.evaluate("e => e.tagName") == "TEXTAREA" else "Enter")
    settle_armed(page)


def choose(page, option: str) -> None:
    """Click an option of a segmented control (its buttons are radios)."""
    arm(page)
    page.get_by_role("radio", name=option, exact=True).click()
    settle_armed(page)


def select(page, combobox, option: str) -> None:
    """Pick ``option`` in a select box (clicked again if its list did not open)."""
    for _ in range(5):
        combobox.scroll_into_view_if_needed()
        combobox.click()
        try:
            arm(page)
            page.get_by_role("option", name=option, exact=True).click(timeout=5_000)
            break
        except Exception:
            page.keyboard.press("Escape")
    else:
        raise AssertionError(f"could not pick {option!r}")
    settle_armed(page)  # the rerun the pick starts, even one that starts late


# ---- chart text: inside its chart and clear of other text (tests/e2e/test_chart_text_fits.py) --------------------
TEXT_WIDTH = 1024  # pixels: a laptop's half screen, the window the chart-text checks use
NARROW_WIDTH = 800  # pixels: with the sidebar open the page has 468 of them (lstm_viz/app/narrow.css)

# The text elements of every drawn chart that reach past its <svg> (2 px of anti-aliasing allowed), as
# [kind, text], and every two of them that overlap each other by more than 2 px both ways (a subtitle's last line
# on a panel's title, two panels' titles side by side, a legend's entry on a title) as ["overlap", "text | text"];
# a chart not drawn (in a closed tab: zero width) is skipped.
OVERFLOWS = """() => {
  const out = [];
  const shown = (el) => el.getBoundingClientRect().width > 0;
  document.querySelectorAll('.js-plotly-plot').forEach(plot => {
    const svg = plot.querySelector('svg.main-svg');
    if (!svg) return;
    const box = svg.getBoundingClientRect();
    if (box.width < 10) return;
    const texts = [...plot.querySelectorAll(
      '.gtitle, .gtitle-subtitle, .annotation-text, .g-xtitle text, .g-ytitle text, .legendtext')].filter(shown);
    texts.forEach(el => {
      const r = el.getBoundingClientRect();
      if (r.right > box.right + 2 || r.left < box.left - 2)
        out.push([el.getAttribute('class') || 'axis title', (el.textContent || '').slice(0, 100)]);
    });
    for (let a = 0; a < texts.length; a++)
      for (let b = a + 1; b < texts.length; b++) {
        const r = texts[a].getBoundingClientRect(), q = texts[b].getBoundingClientRect();
        const x = Math.min(r.right, q.right) - Math.max(r.left, q.left);
        const y = Math.min(r.bottom, q.bottom) - Math.max(r.top, q.top);
        if (x > 2 && y > 2)
          out.push(['overlap', `${texts[a].textContent.slice(0, 60)} | ${texts[b].textContent.slice(0, 60)}`]);
      }
  });
  return out;
}"""


# Labels of buttons, boxes and checkboxes on the page (not the sidebar) that are cut short: Streamlit ends a label
# that does not fit with "…" ("bidirec…", "Measure a…") rather than wrapping it. As ["cut", text].
CUT_LABELS = """() => [...document.querySelectorAll(
    '[data-testid=stMain] button p, [data-testid=stMain] button div, '
    + '[data-testid=stMain] [data-testid=stWidgetLabel] p, [data-testid=stMain] label p')]
  .filter(el => el.getBoundingClientRect().width > 0 && el.scrollWidth > el.clientWidth + 1)
  .map(el => ['cut', (el.textContent || '').slice(0, 100)])"""


def text_clashes_at(page, width: int = TEXT_WIDTH) -> list[list[str]]:
    """The page's charts redrawn for a window ``width`` pixels wide: what ``OVERFLOWS`` finds there. The window is
    put back as it was."""
    before = page.viewport_size
    page.set_viewport_size({"width": width, "height": before["height"]})
    try:
        page.wait_for_timeout(1500)  # Plotly redraws a chart after its element has been resized
        return page.evaluate(OVERFLOWS)
    finally:
        page.set_viewport_size(before)
