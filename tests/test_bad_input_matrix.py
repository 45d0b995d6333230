"""The bad-input catalogue, server-side (first-time user findings 1 and 12): every bad value of
``tests/e2e/bad_input.py`` — empty, negative, letters, a 10,000-digit number, a 10,000-digit subtraction — typed into
every text field of every page, run through ``app.py`` with Streamlit's AppTest. Each value must give no exception, an
error that matches its ``EXPECTED`` regex, is under 700 characters and shows no traceback, no
``set_int_max_str_digits`` and not the typed number; once the field is put back the page has no error left.

Who checks what: this file runs the whole matrix (every field × every value of its list) in seconds; the browser
catalogue, tests/e2e/test_bad_input_catalogue.py, types only the 10,000-digit value into each field and puts it back,
to show what only a browser can — the message rendered on the page, nothing overflowing, the page whole again.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.e2e.bad_input import EXPECTED, HUGE, NUMBER, SIGNED, SUBTRACT

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")

# What a field needs before it is drawn: (widget kind, key, value) — a tab is ("tab", session-state key, tab name).
TYPED, RANDOM = ("segmented_control", "cs_mode", "typed"), ("segmented_control", "cs_mode", "random")
RANDOM_WEIGHTS, TRAINED = ("radio", "gf_weights", "random"), ("radio", "gf_weights", "trained")
SHIPPED, RANDOM_MODEL = ("sidebar.radio", "picker_source", "shipped"), ("sidebar.radio", "picker_source", "random")
TYPE_IT = ("segmented_control", "explorer_mode", "type")
RANDOM_SEQUENCE = ("segmented_control", "explorer_mode", "random")
COMPARE = ("tab", "explorer_tab", "Compare two inputs")

# page: [(what the field needs, "main" or "sidebar", label — or a regex for a long one, the bad values)], in the
# browser catalogue's order. The LSTM vs LSTMP page's st.tabs have no key: AppTest draws all four tabs at once.
CATALOGUE = {
    "cell_step": [
        ((TYPED,), "main", "Sequence", SUBTRACT),
        *(((), "main", label, NUMBER) for label in ("input_size", "hidden_size", "batch", "steps", "random seed")),
        ((RANDOM,), "main", "Random seed", NUMBER),  # "Length" is fixed at 8 for subtraction (checked below)
    ],
    "gradient_flow": [
        *(((RANDOM_WEIGHTS,), "main", label, NUMBER) for label in ("Sequence length", "Hidden size", "Input size")),
        ((RANDOM_WEIGHTS,), "main", "LSTM forget-gate bias", SIGNED),
        ((RANDOM_WEIGHTS,), "main", "Random seed", NUMBER),
        ((TRAINED,), "main", "Training steps", NUMBER),
        ((TRAINED,), "main", "Training length", NUMBER),
    ],
    "lstm_vs_lstmp": [
        *(((), "main", label, NUMBER) for label in (
            "input_size", "hidden_size", "proj_size (LSTMP)", "num_layers", "latency: batch",
            "latency: sequence length T", "latency: timed runs",  # Shapes & cost
            "epochs", "learning rate", "random seed",  # Train both live
        )),
        ((), "main", "a − b, typed once, fed to both models", SUBTRACT),  # Same input, side by side
        *(((), "main", label, NUMBER) for label in ("sweep: hidden_size", "proj_sizes", "epochs (budget)",
                                                    "random seeds")),  # proj_size sweep
    ],
    "train_toy": [((), "main", label, NUMBER) for label in ("Learning rate", "Epochs", "Random seed", "more epochs")],
    "train_subtraction": [
        *(((), "main", label, NUMBER) for label in ("Hidden size", "proj_size", "Learning rate", "Epochs",
                                                    "Random seed", "more epochs")),
        ((), "main", "a − b", SUBTRACT),
    ],
    "explorer": [
        ((SHIPPED, TYPE_IT), "main", re.compile(r"^An 8-bit subtraction"), SUBTRACT),
        ((SHIPPED, TYPE_IT, COMPARE), "main", re.compile(r"^Second input B"), SUBTRACT),
        ((SHIPPED, RANDOM_SEQUENCE), "main", "random seed", NUMBER),
        *(((RANDOM_MODEL,), "sidebar", label, NUMBER)
          for label in ("input size", "hidden size", "layers", "proj_size (0 = none)", "random seed")),
    ],
}  # fmt: skip


def _value_id(value: str) -> str:
    return {"": "empty", HUGE: "huge", f"{HUGE} - 1": "huge - 1"}.get(value, value)


def _label_id(label: str | re.Pattern) -> str:
    return label if isinstance(label, str) else label.pattern.lstrip("^") + "…"


CASES = [
    pytest.param(page, needs, scope, label, values, id=f"{page}: {_label_id(label)}")
    for page, fields in CATALOGUE.items()
    for needs, scope, label, values in fields
]


@pytest.fixture(scope="module")
def opened():
    """One AppTest per page, shared by that page's cases (each puts its field back). Not an indirect fixture
    parameter: pytest 9 would start a fresh one for every case."""
    apps: dict[str, AppTest] = {}

    def open_page(page: str) -> AppTest:
        if page not in apps:
            apps.clear()  # the cases come page by page: keep one app at a time
            at = AppTest.from_file(APP, default_timeout=180).run()
            at.switch_page(f"pages/{page}.py").run()
            assert not at.exception, at.exception
            apps[page] = at
        return apps[page]

    return open_page


def _prepare(at: AppTest, needs) -> None:
    """Set the radios, segmented controls and tabs a field needs (one rerun, only if something changes)."""
    changed = False
    for kind, key, value in needs:
        if kind == "tab":
            if key not in at.session_state or at.session_state[key] != value:
                at.session_state[key] = value
                changed = True
            continue
        where, _, widget = kind.rpartition(".")
        element = getattr(getattr(at, where) if where else at, widget)(key=key)
        if element.value != value:
            element.set_value(value)
            changed = True
    if changed:
        at.run()
        assert not at.exception, at.exception


def _field(at: AppTest, scope: str, label: str | re.Pattern):
    boxes = getattr(at, scope).text_input
    found = [b for b in boxes if (b.label == label if isinstance(label, str) else label.search(b.label))]
    assert len(found) == 1, f"{label!r}: {len(found)} boxes among {[b.label for b in boxes]}"
    return found[0]


def _texts(at: AppTest) -> list[str]:
    """Everything the page writes (not the widgets, whose values hold the typed text)."""
    kinds = ("error", "warning", "info", "success", "caption", "markdown", "text", "code", "latex", "exception")
    return [str(e.value) for kind in kinds for e in getattr(at, kind)]


def _refused(at: AppTest, value: str) -> list[str]:
    """What is wrong with the page's answer to ``value`` (nothing: an empty list)."""
    if at.exception:
        return [f"an exception: {at.exception}"]
    shown = [e.value for e in at.error]
    problems = [] if any(re.search(EXPECTED[value], m, re.I) for m in shown) else \
        [f"no message matches {EXPECTED[value]!r}: {[m[:300] for m in shown]}"]  # fmt: skip
    problems += [f"a message of {len(m):,} characters (the input repeated whole?)" for m in shown if len(m) >= 700]
    problems += [f"Python internals or the typed number shown: {t[:300]!r}" for t in _texts(at)
                 if "Traceback" in t or "set_int_max_str_digits" in t or "9" * 100 in t]  # fmt: skip
    return problems


@pytest.mark.parametrize("page, needs, scope, label, values", CASES)
def test_every_bad_value_is_refused_then_the_field_put_back(opened, page, needs, scope, label, values):
    at = opened(page)
    _prepare(at, needs)
    original = _field(at, scope, label).value
    assert original != "", f"{label!r} starts empty"  # every field starts filled
    assert not at.error, [e.value for e in at.error]
    problems = []
    try:
        for value in values:
            _field(at, scope, label).input(value).run()
            problems += [f"{_value_id(value)!r}: {p}" for p in _refused(at, value)]
    finally:
        _field(at, scope, label).input(original).run()
    assert not problems, "\n".join(problems)
    assert not at.exception, at.exception
    assert not at.error, f"after {label!r} was put back: {[e.value for e in at.error]}"
    assert _field(at, scope, label).value == original


def test_cell_step_random_length_is_fixed_for_subtraction():
    """The browser catalogue checked this on its way: a subtraction input is always 8 steps, so Length is locked."""
    at = AppTest.from_file(APP, default_timeout=180).run()
    at.switch_page("pages/cell_step.py").run()
    at.segmented_control(key="cs_mode").set_value("random").run()
    length = _field(at, "main", "Length")
    assert length.disabled and length.value == "8"
