"""Bad input typed into the app's boxes, for the browser tests: the values every field must refuse, what each
message must say, and ``catalogue`` (type them all into a page's fields and check every answer)."""

from __future__ import annotations

import re

from tests.e2e.helpers import IDLE, assert_no_exception, enter, wait_for

HUGE = "9" * 10_000  # Python's int() refuses more than 4,300 digits
ERROR = "[data-testid='stAlertContentError']"
NUMBER = ["", "-5", HUGE]  # every whole-number or positive field
SIGNED = ["", "abc", HUGE]  # fields where a negative number is fine
SUBTRACT = ["", "-5", f"{HUGE} - 1"]  # "a - b" fields
EXPECTED = {"": r"empty", "-5": r"at least|greater|negative|between|from|outside",
            "abc": r"not a number|whole number|must be a number", HUGE: r"too large|does not fit|far too|between -20",
            f"{HUGE} - 1": r"does not fit in 8 bits"}


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
    body = page.locator("[data-testid='stMain']").inner_text()
    assert "set_int_max_str_digits" not in body and "Traceback" not in body and "9" * 100 not in body


def catalogue(page, fields, scope=None) -> None:
    """Type every bad value of each field, check the message, put the field back, check the page is clean."""
    scope = scope or page
    for label, values in fields:
        field = box(scope, label)
        wait_for(lambda f=field: f.input_value() != "", 20, f"{label}'s default")  # every field starts filled
        original = field.input_value()
        for text in values:
            enter(page, field, text)
            check_refused(page, label, text)
        enter(page, field, original)
        assert_no_exception(page)
