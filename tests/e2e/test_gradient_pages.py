"""The gradient-flow and one-cell pages in a real browser: log-scale plots, equations, parity badge, bad input."""

from tests.e2e.helpers import arm, assert_no_exception, open_page, settle_armed, wait_for, wait_idle

PLOTS = ".js-plotly-plot"


def _screenshot(page, path: str) -> None:
    """The whole page: Streamlit scrolls inside its main block, so grow the viewport to its height first."""
    height = page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
    page.set_viewport_size({"width": 1400, "height": min(int(height) + 100, 10_000)})
    page.wait_for_timeout(1500)  # plotly redraws at the new size
    page.screenshot(path=path, full_page=True)
    page.set_viewport_size({"width": 1400, "height": 1000})


def _set_text(page, label: str, value: str) -> None:
    box = page.get_by_label(label, exact=True)
    arm(page)
    box.fill(value)
    box.press("Enter")
    settle_armed(page, 180_000)  # the rerun it starts, even late on a busy machine


def test_gradient_flow_page_plots_on_a_log_scale_and_survives_bad_input(page, app_url):
    open_page(page, app_url, "gradient_flow", timeout_ms=180_000)
    assert_no_exception(page)
    page.wait_for_function("document.querySelectorAll('.js-plotly-plot').length >= 2", timeout=60_000)
    axis_type = page.evaluate("() => document.querySelector('.js-plotly-plot').layout.yaxis.type")
    assert axis_type == "log"
    names = page.evaluate("() => document.querySelector('.js-plotly-plot').data.map(d => d.name)")
    assert any("RNN" in n for n in names) and any("∂L/∂c_t" in n for n in names) and any("∏ f" in n for n in names)
    metrics = page.locator("[data-testid='stMetric']")
    assert metrics.count() == 3

    _set_text(page, "Sequence length", "500")
    assert_no_exception(page)
    x_range = page.evaluate("() => document.querySelector('.js-plotly-plot').layout.xaxis.range")
    assert x_range[1] == 499.5  # 500 steps, t = 0..499
    _screenshot(page, "/tmp/gradient_flow.png")

    _set_text(page, "Sequence length", "five hundred")
    error = page.locator("[data-testid='stAlert']").filter(has_text="Sequence length")
    assert error.count() == 1 and "Example" in error.inner_text()
    assert page.locator(PLOTS).count() >= 2  # the last valid result is still shown
    assert_no_exception(page)
    _set_text(page, "LSTM forget-gate bias", "3")
    assert page.locator("[data-testid='stAlert']").filter(has_text="Sequence length").count() == 1
    _set_text(page, "Sequence length", "300")
    assert page.locator("[data-testid='stAlert']").count() == 0
    assert_no_exception(page)


def test_cell_step_page_shows_equations_parity_and_rnn_unroll(page, app_url):
    open_page(page, app_url, "cell_step", timeout_ms=120_000)
    assert_no_exception(page)
    # f, i, g, o, c and h, the RNN step: KaTeX typesets in the browser, after the script is done
    page.wait_for_function("document.querySelectorAll('.katex').length >= 6", timeout=60_000)
    badge = page.get_by_text("torch.nn.LSTM · max |Δ|")
    assert badge.count() == 1 and "matches" in badge.inner_text(), badge.all_inner_texts()
    assert page.get_by_text("RNNCell step by step = nn.RNN unrolled").count() == 1
    _screenshot(page, "/tmp/cell_step.png")  # also shows the whole page, so every chart is drawn
    page.wait_for_function("document.querySelectorAll('.js-plotly-plot').length >= 2", timeout=60_000)

    before = page.locator(".katex").first.inner_text()
    slider = page.get_by_role("slider").first
    slider.focus()
    slider.press("ArrowRight")  # its rerun may start late on a busy machine: wait for what it changes
    wait_for(lambda: page.locator(".katex").first.inner_text() != before, 30, "another step, other numbers")
    wait_idle(page)
    assert_no_exception(page)

    _set_text(page, "hidden_size", "0")
    assert page.locator("[data-testid='stAlert']").filter(has_text="hidden_size").count() == 1
    assert page.get_by_text("matches torch.nn.LSTM").count() == 1  # the rest of the page still works
    assert_no_exception(page)
