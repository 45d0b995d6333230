"""The bad-input catalogue (first-time user findings 1 and 12): every bad value typed into every field of every
page — empty, negative, a 10,000-digit number, text — gets a short message that says what is wrong, never a
traceback, and the page is whole again once the field is put back. Its own file, so that pytest-xdist can run it
beside the other first-time-user tests."""

from __future__ import annotations

import re

from tests.e2e.bad_input import NUMBER, SIGNED, SUBTRACT, box, catalogue, check_refused, errors
from tests.e2e.helpers import choose, click, enter, open_page


def test_catalogue_cell_step(page, app_url):
    open_page(page, app_url)
    open_page(page, app_url, "cell_step")
    catalogue(page, [("Sequence", SUBTRACT), ("input_size", NUMBER), ("hidden_size", NUMBER), ("batch", NUMBER),
                     ("steps", NUMBER), ("random seed", NUMBER)])  # fmt: skip
    choose(page, "random")
    length = page.get_by_role("textbox", name="Length", exact=True)
    length.wait_for()
    assert length.is_disabled() and length.input_value() == "8"  # subtraction inputs are always 8 steps
    catalogue(page, [("Random seed", NUMBER)])  # a free Length is covered by tests/test_gradient_pages.py


def test_catalogue_gradient_flow(page, app_url):
    open_page(page, app_url, "gradient_flow")
    catalogue(page, [("Sequence length", NUMBER), ("Hidden size", NUMBER), ("Input size", NUMBER),
                     ("LSTM forget-gate bias", SIGNED), ("Random seed", NUMBER)])  # fmt: skip
    click(page, page.get_by_text("trained on 'remember the first input'"), 180_000)
    catalogue(page, [("Training steps", NUMBER), ("Training length", NUMBER)])


def test_catalogue_lstm_vs_lstmp(page, app_url):
    open_page(page, app_url, "lstm_vs_lstmp")
    catalogue(page, [("input_size", NUMBER), ("hidden_size", NUMBER), ("proj_size (LSTMP)", NUMBER),
                     ("num_layers", NUMBER), ("latency: batch", NUMBER), ("latency: sequence length T", NUMBER),
                     ("latency: timed runs", NUMBER)])  # fmt: skip
    page.get_by_role("tab", name="Train both live").click()
    catalogue(page, [("epochs", NUMBER), ("learning rate", NUMBER), ("random seed", NUMBER)])
    page.get_by_role("tab", name="Same input, side by side").click()
    catalogue(page, [("a − b, typed once, fed to both models", SUBTRACT)])
    page.get_by_role("tab", name="proj_size sweep").click()
    catalogue(page, [("sweep: hidden_size", NUMBER), ("proj_sizes", NUMBER), ("epochs (budget)", NUMBER),
                     ("random seeds", NUMBER)])  # fmt: skip


def test_catalogue_training_pages(page, app_url):
    open_page(page, app_url, "train_toy")
    catalogue(page, [("Learning rate", NUMBER), ("Epochs", NUMBER), ("Random seed", NUMBER), ("more epochs", NUMBER)])
    open_page(page, app_url, "train_subtraction")
    catalogue(page, [("Hidden size", NUMBER), ("proj_size", NUMBER), ("Learning rate", NUMBER), ("Epochs", NUMBER),
                     ("Random seed", NUMBER), ("more epochs", NUMBER), ("a − b", SUBTRACT)])  # fmt: skip


def test_catalogue_explorer_and_sidebar(page, app_url):
    open_page(page, app_url)
    open_page(page, app_url, "explorer")
    catalogue(page, [(re.compile(r"^An 8-bit subtraction"), SUBTRACT)])
    click(page, page.get_by_role("tab", name="Compare two inputs"))
    catalogue(page, [(re.compile(r"^Second input B"), SUBTRACT)])
    choose(page, "Random sequence")
    catalogue(page, [("random seed", NUMBER)])
    sidebar = page.locator("[data-testid='stSidebar']")
    click(page, sidebar.get_by_text("Random RecordingLSTM"))
    catalogue(page, [("input size", NUMBER), ("hidden size", NUMBER), ("layers", NUMBER),
                     ("proj_size (0 = none)", NUMBER), ("random seed", NUMBER)], scope=sidebar)  # fmt: skip
    choose(page, "Type it")
    rows = box(page, re.compile(r"^One time step per line"))
    enter(page, rows, "abc")  # named, not "has 1 value but the model expects 3"
    assert any("'abc' is not a number" in m for m in errors(page)), errors(page)
    enter(page, rows, "x" * 10_000)
    check_refused(page, "rows", "abc")
