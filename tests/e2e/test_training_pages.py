"""Both live-training pages in headless Chromium: press Start, watch the curves move, Stop, no exception."""

from __future__ import annotations

import re
import time

from tests.e2e.helpers import (
    PROGRESS,
    assert_no_exception,
    chart_text,
    enter,
    epoch_shown,
    open_page,
    press,
    set_number,
    text_clashes_at,
    wait_for,
    wait_idle,
)


def test_toy_page_trains_live_and_stops(page, app_url):
    open_page(page, app_url, "train_toy")
    assert_no_exception(page)
    set_number(page, "Epochs", 5000)
    press(page, "Start")
    wait_for(lambda: epoch_shown(page) > 0, what="the first epochs")
    first = epoch_shown(page)
    wait_for(lambda: epoch_shown(page) > first, 30, "the progress bar to move")
    # the TensorBoard-like panels, the gate view and the twelve weights are drawn and follow the training
    wait_for(lambda: "train_loss" in chart_text(page, "Training curves"), what="the curves")
    wait_for(lambda: "Company A" in chart_text(page, "Gates over the four days"), what="the gate view")
    wait_for(lambda: "wlr1" in chart_text(page, "twelve StatQuest weights"), what="the weights")
    seen: list[int] = []

    def curves_epoch() -> bool:  # the epoch in the curves' subtitle (None while the chart is being redrawn)
        match = re.search(r"epoch ([\d,]+):", chart_text(page, "Training curves"))
        if match:
            seen.append(int(match.group(1).replace(",", "")))
        return len(set(seen)) >= 2

    wait_for(curves_epoch, 90, "the curves to redraw with a later epoch")
    assert seen[-1] > seen[0]
    assert_no_exception(page)
    page.screenshot(path="/tmp/train_toy_running.png", full_page=True)
    press(page, "Stop")
    waited = wait_for(lambda: "stopped" in page.locator(PROGRESS).first.inner_text(), 30, "Stop")
    print(f"Stop shown after {waited:.2f} s")
    stopped_at = epoch_shown(page)
    time.sleep(1.5)
    assert epoch_shown(page) == stopped_at  # nothing trains after Stop
    assert_no_exception(page)
    # with curves drawn (tests/e2e/test_chart_text_fits.py sees these charts before any epoch), on a narrow window
    clashes = text_clashes_at(page)
    assert not clashes, clashes


def test_subtraction_page_trains_live_and_answers(page, app_url):
    open_page(page, app_url, "train_subtraction")
    assert page.get_by_text("9,000 train and 1,000 test samples").count() >= 1  # the data expander's title
    set_number(page, "Epochs", 3)
    set_number(page, "Hidden size", 16)
    press(page, "Start")
    wait_for(lambda: "test exact match" in chart_text(page, "Loss and accuracy"), 120, "the accuracy curves")
    wait_for(lambda: "finished" in page.locator(PROGRESS).first.inner_text(), 180, "the 3 epochs")
    wait_idle(page)
    assert epoch_shown(page) == 3
    assert "RMSE" in chart_text(page, "Prediction error per test sample")
    assert "saturated" in chart_text(page, "Gate saturation")
    clashes = text_clashes_at(page)  # with curves drawn, on a narrow window
    assert not clashes, clashes
    box = page.get_by_label("a − b", exact=True)
    enter(page, box, "200 - 55")
    assert page.get_by_text(re.compile(r"200 − 55 = 145; the model says \d+")).count() >= 1
    enter(page, box, "300 - 1")
    assert page.get_by_text("does not fit in 8 bits").count() >= 1
    assert_no_exception(page)
    page.screenshot(path="/tmp/train_subtraction_done.png", full_page=True)
