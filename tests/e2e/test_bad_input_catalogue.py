"""The bad-input catalogue in the browser (first-time user findings 1 and 12): the 10,000-digit value (``HUGE``, or
``HUGE_SUBTRACTION`` in an "a - b" box) typed into every field of every page gets a short message, drawn on the page
and fitting its box, never a traceback nor the typed number, and once the field is put back the page is whole again
with no message left.

Who checks what: every other bad value of each field's list — empty, negative, letters — and the message each one
must give are checked server-side for every field, with AppTest, in tests/test_bad_input_matrix.py (seconds, where
each value here costs a rerun and a redraw of the page's charts). Here stays what only a browser shows, one value
per field, plus the explorer's typed rows. Its own file, so that pytest-xdist can run it beside the other
first-time-user tests."""

from __future__ import annotations

import re

from tests.e2e.bad_input import HUGE, HUGE_SUBTRACTION, box, catalogue, check_refused, errors
from tests.e2e.helpers import choose, click, enter, open_page


def test_catalogue_cell_step(page, app_url):
    open_page(page, app_url)
    open_page(page, app_url, "cell_step")
    catalogue(page, [("Sequence", HUGE_SUBTRACTION), ("input_size", HUGE), ("hidden_size", HUGE), ("batch", HUGE),
                     ("steps", HUGE), ("random seed", HUGE)])  # fmt: skip
    choose(page, "random")
    length = page.get_by_role("textbox", name="Length", exact=True)
    length.wait_for()
    assert length.is_disabled() and length.input_value() == "8"  # subtraction inputs are always 8 steps
    catalogue(page, [("Random seed", HUGE)])  # a free Length is covered by tests/test_gradient_pages.py


def test_catalogue_gradient_flow(page, app_url):
    open_page(page, app_url, "gradient_flow")
    catalogue(page, [("Sequence length", HUGE), ("Hidden size", HUGE), ("Input size", HUGE),
                     ("LSTM forget-gate bias", HUGE), ("Random seed", HUGE)])  # fmt: skip
    click(page, page.get_by_text("trained on 'remember the first input'"), 180_000)
    catalogue(page, [("Training steps", HUGE), ("Training length", HUGE)])


def test_catalogue_lstm_vs_lstmp(page, app_url):
    open_page(page, app_url, "lstm_vs_lstmp")
    catalogue(page, [("input_size", HUGE), ("hidden_size", HUGE), ("proj_size (LSTMP)", HUGE),
                     ("num_layers", HUGE), ("latency: batch", HUGE), ("latency: sequence length T", HUGE),
                     ("latency: timed runs", HUGE)])  # fmt: skip
    page.get_by_role("tab", name="Train both live").click()
    catalogue(page, [("epochs", HUGE), ("learning rate", HUGE), ("random seed", HUGE)])
    page.get_by_role("tab", name="Same input, side by side").click()
    catalogue(page, [("a − b, typed once, fed to both models", HUGE_SUBTRACTION)])
    page.get_by_role("tab", name="proj_size sweep").click()
    catalogue(page, [("sweep: hidden_size", HUGE), ("proj_sizes", HUGE), ("epochs (budget)", HUGE),
                     ("random seeds", HUGE)])  # fmt: skip


def test_catalogue_training_pages(page, app_url):
    open_page(page, app_url, "train_toy")
    catalogue(page, [("Learning rate", HUGE), ("Epochs", HUGE), ("Random seed", HUGE), ("more epochs", HUGE)])
    open_page(page, app_url, "train_subtraction")
    catalogue(page, [("Hidden size", HUGE), ("proj_size", HUGE), ("Learning rate", HUGE), ("Epochs", HUGE),
                     ("Random seed", HUGE), ("more epochs", HUGE), ("a − b", HUGE_SUBTRACTION)])  # fmt: skip


def test_catalogue_explorer_and_sidebar(page, app_url):
    open_page(page, app_url)
    open_page(page, app_url, "explorer")
    catalogue(page, [(re.compile(r"^An 8-bit subtraction"), HUGE_SUBTRACTION)])
    click(page, page.get_by_role("tab", name="Compare two inputs"))
    catalogue(page, [(re.compile(r"^Second input B"), HUGE_SUBTRACTION)])
    choose(page, "Random sequence")
    catalogue(page, [("random seed", HUGE)])
    sidebar = page.locator("[data-testid='stSidebar']")
    click(page, sidebar.get_by_text("Random LSTM, any size"))
    catalogue(page, [("input size", HUGE), ("hidden size", HUGE), ("layers", HUGE),
                     ("proj_size (0 = none)", HUGE), ("random seed", HUGE)], scope=sidebar)  # fmt: skip
    choose(page, "Type it")
    rows = box(page, re.compile(r"^One time step per line"))
    enter(page, rows, "abc")  # named, not "has 1 value but the model expects 3"
    assert any("'abc' is not a number" in m for m in errors(page)), errors(page)
    enter(page, rows, "x" * 10_000)
    check_refused(page, "rows", "abc")
