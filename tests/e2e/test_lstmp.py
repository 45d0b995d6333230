"""The LSTM vs LSTMP page in headless Chromium: shapes and latency, bad sizes refused, live training of both,
the same input through both, and the proj_size sweep — every tab, no exception."""

from __future__ import annotations

import re

from tests.e2e.helpers import PROGRESS, assert_no_exception, chart_text, click, enter, open_page, wait_for, wait_idle


def type_into(page, label: str, value: str) -> None:
    enter(page, page.get_by_label(label, exact=True), value)


def error_text(page) -> str:
    return " ".join(page.locator("[data-testid='stAlertContentError']").all_inner_texts())


def open_tab(page, name: str) -> None:
    page.get_by_role("tab", name=name).click()
    page.wait_for_timeout(500)


def test_lstmp_page_every_tab(page, app_url):
    open_page(page, app_url, "lstm_vs_lstmp")
    assert_no_exception(page)
    wait_for(lambda: "weight_hr_l0" in chart_text(page, "Parameters per tensor"), 60, "the parameter bars")
    assert "LSTM 4,608 vs LSTMP 1,792" in chart_text(page, "Parameters per tensor")
    wait_for(lambda: "median" in chart_text(page, "Forward latency"), 60, "the latency chart")
    page.screenshot(path="/tmp/lstmp_cost.png", full_page=True)

    # bad sizes are refused with nn.LSTM's reason; fixing them brings everything back
    type_into(page, "proj_size (LSTMP)", "32")
    assert "has to be smaller than hidden_size" in error_text(page)
    type_into(page, "hidden_size", "many")
    assert "hidden_size must be a whole number" in error_text(page)
    type_into(page, "hidden_size", "32")
    type_into(page, "proj_size (LSTMP)", "8")
    assert error_text(page) == ""
    assert_no_exception(page)

    # post 3's example: the shapes it prints
    click(page, page.get_by_role("button", name="post 3: 4, 5, 3"))
    wait_for(lambda: "LSTM 220 vs LSTMP 195" in chart_text(page, "Parameters per tensor"), 30, "post 3 sizes")
    click(page, page.get_by_role("button", name="post 4: 2, 32, 8"))

    # train both live on the subtraction task
    open_tab(page, "Train both live")
    type_into(page, "epochs", "3")
    page.get_by_role("button", name="Start", exact=True).click()
    wait_for(lambda: page.locator(PROGRESS).count() > 0, 120, "the progress bar")
    wait_for(lambda: "finished" in page.locator(PROGRESS).first.inner_text(), 300, "3 epochs of both models")
    wait_idle(page)
    assert re.search(r"epoch 3 / 3", page.locator(PROGRESS).first.inner_text())
    wait_for(lambda: "LSTMP test" in chart_text(page, "against epoch"), 30, "the curves against epoch")
    assert "LSTM test" in chart_text(page, "against epoch")
    wait_for(lambda: "LSTMP loss" in chart_text(page, "against wall time"), 30, "the curves against wall time")
    assert_no_exception(page)
    page.screenshot(path="/tmp/lstmp_train.png", full_page=True)

    # the same typed input through both: gate heatmaps and the projection
    open_tab(page, "Same input, side by side")
    click(page, page.get_by_text("shipped checkpoints", exact=True))
    type_into(page, "a − b, typed once, fed to both models", "200 - 55")
    assert page.get_by_text(re.compile(r"200 − 55 = 145; the model says 145: right")).count() == 2
    wait_for(lambda: "m = o·tanh(c): the 32 units' outputs before the projection" in chart_text(page, "h = W_hr m"), 30,
             "the projection")
    wait_for(lambda: "forget gate" in chart_text(page, "LSTMP: subtraction LSTMP"), 30, "the LSTMP heatmaps")
    page.screenshot(path="/tmp/lstmp_input.png", full_page=True)
    type_into(page, "a − b, typed once, fed to both models", "300 - 5")
    assert "does not fit in 8 bits" in error_text(page)
    assert_no_exception(page)

    # the sweep: shipped results at once
    open_tab(page, "proj_size sweep")
    wait_for(lambda: "P=8" in chart_text(page, "proj_size sweep"), 30, "the shipped sweep")
    assert "LSTM" in chart_text(page, "proj_size sweep")
    assert page.get_by_text(re.compile(r"proj_size \d+ is the smallest projection")).count() >= 1
    page.screenshot(path="/tmp/lstmp_sweep.png", full_page=True)
    assert_no_exception(page)
