"""Bad input typed into the app's boxes: the values every field must refuse and what each message must say (one
definition, used by both catalogues), and ``catalogue`` for the browser.

Who checks what: tests/test_bad_input_matrix.py types every value of a field's list (NUMBER, SIGNED, SUBTRACT) into
every field of every page server-side with AppTest, in seconds. The browser catalogue,
tests/e2e/test_bad_input_catalogue.py, types one value per field, the 10,000-digit one (``HUGE``, or
``HUGE_SUBTRACTION`` in an "a - b" box), and puts the field back: the message is drawn, fits its box and shows no
traceback or the typed number, and the page is whole again."""

from __future__ import annotations

import contextlib
import re

from tests.e2e.helpers import IDLE, RERUN_START_MS, arm, assert_no_exception, wait_for

HUGE = "9" * 10_000  # Python's int() refuses more than 4,300 digits
ERROR = "[data-testid='stAlertContentError']"
NUMBER = ["", "-5", HUGE]  # every whole-number or positive field
SIGNED = ["", "abc", HUGE]  # fields where a negative number is fine
HUGE_SUBTRACTION = f"{HUGE} - 1"
SUBTRACT = ["", "-5", HUGE_SUBTRACTION]  # "a - b" fields
EXPECTED = {"": r"empty", "-5": r"at least|greater|negative|between|from|outside",
            "abc": r"not a number|whole number|must be a number", HUGE: r"too large|does not fit|far too|between -20",
            HUGE_SUBTRACTION: r"does not fit in 8 bits"}


def box(scope, label: str | re.Pattern):
    return scope.get_by_role("textbox", name=label, exact=True) if isinstance(label, str) else \
        scope.get_by_role("textbox", name=label)  # fmt: skip


def errors(page) -> list[str]:
    return [e.inner_text() for e in page.locator(ERROR).all()]


def check_refused(page, label, text: str) -> None:
    """The page shows a message that says what is wrong — short, no traceback, no Python internals."""
    try:  # a rerun after a 10,000-character fill may start late on a busy machine
        wait_for(lambda: any(re.search(EXPECTED[text], m, re.I) for m in errors(page)), 20, "the message")
    except AssertionError:
        raise AssertionError(f"{label} = {text[:12]!r}: {errors(page)}") from None
    page.wait_for_selector(IDLE)  # the run that showed the message ends (enter already waited out any rerun)
    assert_no_exception(page)
    shown = errors(page)
    assert all(len(m) < 700 for m in shown), f"{label}: a message repeats the input whole"
    wide = page.locator(ERROR).evaluate_all("els => els.filter(e => e.scrollWidth > e.clientWidth + 1).length")
    assert wide == 0, f"{label}: {wide} message(s) wider than their box"
    body = page.locator("[data-testid='stMain']").inner_text()
    assert "set_int_max_str_digits" not in body and "Traceback" not in body and "9" * 100 not in body


def _typed(page, field, text: str) -> None:
    """helpers.enter without wait_idle's fixed 0.3 s pause: what follows it here polls for the page it expects
    (the message shown, then the message gone), so a rerun that starts late is waited for all the same."""
    arm(page)
    field.fill(text)
    field.press("Control+Enter" if field.evaluate("e => e.tagName") == "TEXTAREA" else "Enter")
    with contextlib.suppress(Exception):  # the rerun was over before we looked
        page.wait_for_function("() => window.__stRan === true", timeout=RERUN_START_MS)
    page.wait_for_selector(IDLE, timeout=60_000)


def catalogue(page, fields, scope=None) -> None:
    """For each (label, bad text): type it, check the message, put the field back, check the page is clean again.
    Every other value of the field's list is checked server-side (tests/test_bad_input_matrix.py)."""
    scope = scope or page
    for label, text in fields:
        field = box(scope, label)
        wait_for(lambda f=field: f.input_value() != "", 20, f"{label}'s default")  # every field starts filled
        original = field.input_value()
        _typed(page, field, text)
        check_refused(page, label, text)
        _typed(page, field, original)
        assert_no_exception(page)
        try:  # the message goes with the rerun that reads the good value
            wait_for(lambda: not errors(page), 10, "no message")
        except AssertionError:
            raise AssertionError(f"{label} put back, still: {errors(page)}") from None
