"""Streamlit glue shared by every page: the app shell, the sidebar model picker, the model in use, cached
recordings, error boxes and widget values that survive page changes.

``app.py`` calls :func:`sidebar_model_picker` inside ``with st.sidebar:``; any page calls :func:`current_model`,
which also works when the page runs alone (e.g. under ``AppTest``): then it opens the first shipped subtraction
model, or a small random LSTM when models/ is empty. A choice that fails (a bad upload, proj_size ≥ hidden) shows
the reason and keeps the previous model, so nothing on the page is lost.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import plotly.graph_objects as go
import streamlit as st
import torch
from torch import nn

from lstm_viz.app.saves import SessionSaves, server_save_dir, server_saves
from lstm_viz.app.sources import (
    MAX_RANDOM_HIDDEN,
    MAX_RANDOM_INPUT,
    MAX_RANDOM_LAYERS,
    MODELS_DIR,
    LoadedModel,
    ModuleNeeded,
    RandomSpec,
    SourceError,
    default_checkpoint,
    load_shipped,
    load_upload,
    random_model,
    shipped_checkpoints,
)
from lstm_viz.core.device import busy_cpu_threads, torch_threads
from lstm_viz.core.recording import Recording
from lstm_viz.parsing import InputError, parse_int, shorten
from lstm_viz.tasks import LSTMVizModel, TaskInput
from lstm_viz.viz.download import figure_html, file_name_part

__all__ = [
    "cached_recording",
    "current_model",
    "ensure_app_shell",
    "figure_downloads",
    "keep_picker_state",
    "keep_tab_widgets",
    "narrow_columns",
    "narrow_layout",
    "number_box",
    "open_in_explorer",
    "refuse_input_keeping_last",
    "remembered",
    "session_saves",
    "show_input_error",
    "show_verdict",
    "sidebar_model_picker",
]

MODEL_KEY = "lstm_viz.model"  # session: the LoadedModel in use
ERROR_KEY = "lstm_viz.model_error"  # session: why the last choice failed
SESSION_MODEL_KEY = "lstm_viz.session_model"  # session: a model another page handed over
_UPLOADS_KEY = "lstm_viz.uploads"  # session: digest → LoadedModel
SAVES_KEY = "lstm_viz.saved_models"  # session: the SessionSaves of this browser session
SOURCES = {
    "shipped": "Shipped checkpoint",
    "random": "Random LSTM, any size (untrained)",
    "upload": "Upload a .pt file",
    "session": "Model from a training page",
    "saved": "Saved in this session",
}
_RANDOM_DEFAULTS = {
    "picker_in": "3",
    "picker_hidden": "16",
    "picker_layers": "1",
    "picker_proj": "0",
    "picker_seed": "0",
    "picker_bidir": False,
    "picker_bias": True,
}
_PICKER_KEYS = (
    "picker_source", "picker_shipped", "picker_saved", "picker_in", "picker_hidden", "picker_layers",
    "picker_bidir", "picker_proj", "picker_bias", "picker_seed", "picker_module",
)  # fmt: skip
T = TypeVar("T")


@st.cache_resource(show_spinner="Loading the shipped model…", max_entries=16)
def _shipped(path: str, stamp: int) -> LoadedModel:  # read-only shipped weights: shared by all sessions
    return load_shipped(path)


@st.cache_resource(show_spinner="Building the random LSTM…", max_entries=8)
def _random(spec: RandomSpec) -> LoadedModel:  # read-only (never trained), rebuilt exactly from its seed
    return random_model(spec)


def _shipped_model(path: Path) -> LoadedModel:
    return _shipped(str(path), path.stat().st_mtime_ns)


def _fallback() -> LoadedModel:
    path = default_checkpoint()
    if path is not None:
        try:
            return _shipped_model(path)
        except SourceError:
            pass
    return _random(RandomSpec(input_size=2, hidden_size=16, seed=0))


def current_model() -> LoadedModel:
    """The model chosen in the sidebar; by default the first shipped subtraction model."""
    loaded = st.session_state.get(MODEL_KEY)
    if not isinstance(loaded, LoadedModel):
        loaded = _fallback()
        st.session_state[MODEL_KEY] = loaded
    return loaded


def open_in_explorer(model: LSTMVizModel, label: str) -> None:
    """Hand a model (e.g. one just trained) to the explorer: the sidebar offers it as "Model from a training page".

    The model is copied, so training on can continue without changing what the explorer shows.
    """
    import copy

    frozen = copy.deepcopy(model).eval()
    digest = hashlib.sha256()
    for tensor in frozen.state_dict().values():
        digest.update(tensor.detach().to("cpu").contiguous().numpy().tobytes())
    loaded = LoadedModel(frozen, label, f"session:{digest.hexdigest()[:16]}", "session")
    st.session_state[SESSION_MODEL_KEY] = loaded
    st.session_state[MODEL_KEY] = loaded
    st.session_state["picker_source"] = "session"


OPEN_TAB = "explorer_open_tab"  # a Gate Explorer tab to open on the explorer's next run (then forgotten)


def pick_in_sidebar(
    source: str, shipped: str | None = None, open_tab: str | None = None, widgets: Mapping[str, Any] | None = None
) -> None:
    """Choose the sidebar's model source (and a shipped checkpoint by file name) for the next page that draws the
    picker; ``open_tab``: the Gate Explorer tab to open there, ``widgets``: values for that tab's widgets by key. A
    button's ``on_click``: widget state may only be set before the widgets of a run are drawn."""
    st.session_state["picker_source"] = source
    if shipped is not None:
        st.session_state["picker_shipped"] = shipped
    if open_tab is not None:
        st.session_state[OPEN_TAB] = open_tab
    st.session_state.update(widgets or {})


def shipped_names() -> list[str]:
    """The file names the sidebar offers as shipped checkpoints."""
    return list(_server_files())


def keep_picker_state() -> None:
    """Keep the picker's choices on pages that do not draw it (Streamlit forgets widgets that are not drawn).

    Widgets that are not drawn in a run lose their value; writing them back keeps the user's choices (e.g. the
    random model's sizes while a shipped model is shown, or all of them while a training page is open).
    """
    for key in _PICKER_KEYS:
        if key in st.session_state:
            st.session_state[key] = st.session_state[key]


def session_saves() -> SessionSaves:
    """The models this browser session saved (never another session's)."""
    saves = st.session_state.get(SAVES_KEY)
    if not isinstance(saves, SessionSaves):
        saves = st.session_state[SAVES_KEY] = SessionSaves()
    return saves


def _server_files() -> dict[str, Path]:
    """Label → file of every checkpoint on the server: the shipped ones, then what the operator lets visitors save
    (``LSTM_VIZ_SAVE_DIR``; off by default)."""
    files = {p.name: p for p in shipped_checkpoints()}
    save_dir = server_save_dir()
    if save_dir is not None and save_dir.is_dir() and save_dir.resolve() != MODELS_DIR.resolve():
        files.update({f"{save_dir.name}/{p.name}": p for p in server_saves(save_dir)})
    return files


def sidebar_model_picker() -> None:
    """The model source picker; call it inside ``with st.sidebar:``. Stores the choice for :func:`current_model`."""
    keep_picker_state()
    st.subheader("Model")
    files = _server_files()
    options = [k for k in SOURCES if k != "session" or SESSION_MODEL_KEY in st.session_state]
    if not session_saves().models:
        options.remove("saved")
    if not files:
        options.remove("shipped")
    if st.session_state.get("picker_source") not in options:
        st.session_state["picker_source"] = options[0]
    source = st.radio(
        "Source", options, format_func=SOURCES.get, key="picker_source", label_visibility="collapsed"
    )
    try:
        chosen = _choose(source, files)
    except SourceError as err:
        st.session_state[ERROR_KEY] = str(err)
        chosen = None
    if chosen is not None:
        st.session_state.pop(ERROR_KEY, None)
        st.session_state[MODEL_KEY] = chosen
    if ERROR_KEY in st.session_state:
        st.error(f"{plain_text(st.session_state[ERROR_KEY])}\n\nStill showing the previous model.",
                 icon=":material/warning:")  # fmt: skip
    loaded = current_model()
    st.caption(f"In use: **{loaded.label}**")
    metrics = loaded.info.get("metrics") if isinstance(loaded.info, dict) else None
    if isinstance(metrics, dict) and metrics:
        items = shown_metrics(metrics)
        st.caption(f"Measured when it was saved: {', '.join(metric_text(k, v) for k, v in items)}")


_NOT_METRICS = {"lr", "seconds", "chars_per_s"}  # a setting and timings, not results
_SPLITS = {"train": "training", "test": "test", "val": "validation"}
_METRIC_WORDS = {"exact_match": "exact match", "bit_acc": "bit accuracy", "acc": "accuracy", "accuracy": "accuracy",
                 "bpc": "bits per character", "loss": "loss", "chars": "characters trained on", "step": "step",
                 "epoch": "epoch", "rmse": "RMSE", "mse": "mean squared error"}  # fmt: skip


def shown_metrics(metrics: dict[str, Any], k: int = 5) -> list[tuple[str, Any]]:
    """The ``k`` metrics the sidebar names for a model: accuracies first, then held-out evaluations (``val_bpc``,
    ``test_…``), then the rest by name; settings and timings (``lr``, ``seconds``) are not results."""

    def rank(name: str) -> tuple:
        return "exact" not in name, "acc" not in name, not name.startswith(("val_", "test_")), name

    measured = {key: v for key, v in metrics.items() if key not in _NOT_METRICS}
    return sorted(measured.items(), key=lambda kv: rank(kv[0]))[:k]


def metric_text(key: str, value: object) -> str:
    """A training metric as words: ``("test_exact_match", 1.0)`` → ``"test exact match 100 %"``,
    ``("val_bpc", 1.4087)`` → ``"validation 1.409 bits per character"``; unknown names with spaces for ``_``."""
    split, _, rest = key.partition("_")
    if split not in _SPLITS or not rest:
        split, rest = "", key
    name = _METRIC_WORDS.get(rest, rest.replace("_", " "))
    words = f"{_SPLITS[split]} {name}" if split else name
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return f"{words} {value}"
    if ("acc" in rest or "exact" in rest) and 0 <= value <= 1:
        return f"{words} {f'{100 * value:.1f}'.removesuffix('.0')} %"
    if rest == "chars":
        return f"{value / 1e6:.1f} M {words}" if value >= 1e6 else f"{value:,} {words}"
    if rest == "bpc":  # the unit after the number
        return f"{_SPLITS[split] + ' ' if split else ''}{value:.4g} {name}"
    if isinstance(value, int) or (float(value).is_integer() and rest in ("step", "epoch")):
        return f"{words} {int(value):,}"
    return f"{words} {value:.4g}"


def _choose(source: str, files: dict[str, Path]) -> LoadedModel | None:
    if source == "shipped":
        label = "Checkpoint on this server" if any("/" in name for name in files) else "Checkpoint in models/"
        name = st.selectbox(label, list(files), key="picker_shipped")
        return _shipped_model(files[name]) if name else None
    if source == "random":
        for key, default in _RANDOM_DEFAULTS.items():  # defaults via session state: no widget/state conflict
            st.session_state.setdefault(key, default)
        c1, c2 = st.columns(2)
        sizes = {
            "input size": (c1, "picker_in", 1, MAX_RANDOM_INPUT),
            "hidden size": (c2, "picker_hidden", 1, MAX_RANDOM_HIDDEN),
            "layers": (c1, "picker_layers", 1, MAX_RANDOM_LAYERS),
            "proj_size (0 = none)": (c2, "picker_proj", 0, MAX_RANDOM_HIDDEN - 1),
            "random seed": (c1, "picker_seed", 0, 2**31 - 1),
        }
        values = {}
        for label, (col, key, low, high) in sizes.items():
            values[key] = col.text_input(label, key=key, help=f"a whole number from {low:,} to {high:,}")
        toggles = st.container(horizontal=True)  # a row of their own: a half-width column cut "bidirectio…"
        bidir = toggles.toggle("bidirectional", key="picker_bidir")
        bias = toggles.toggle("bias", key="picker_bias")
        try:
            n = {key: parse_int(values[key], name=label, minimum=low, maximum=high)
                 for label, (_, key, low, high) in sizes.items()}  # fmt: skip
        except InputError as err:
            raise SourceError(str(err)) from None
        spec = RandomSpec(n["picker_in"], n["picker_hidden"], n["picker_layers"], bool(bidir), n["picker_proj"],
                          bool(bias), n["picker_seed"])  # fmt: skip
        return _random(spec)
    if source == "upload":
        file = st.file_uploader(
            "An lstm-viz checkpoint, or the state_dict of any model with an LSTM or GRU in it",
            type=["pt", "pth", "ckpt", "bin"],
            key="picker_upload",
            help="Read with torch.load(weights_only=True): a file can never run code. A bigger model (a seq2seq, an "
            "embedding → LSTM → Linear model) shows one of its LSTMs or GRUs at a time.",
        )
        if file is None:
            st.caption("No file yet: still showing the previous model.")
            return None
        data = file.getvalue()
        try:
            return _from_bytes(data, file.name)
        except ModuleNeeded as err:  # a bigger model's state_dict: show one of its LSTMs or GRUs
            return _upload_module(data, file.name, err.options)
    if source == "session":
        return st.session_state.get(SESSION_MODEL_KEY)
    if source == "saved":
        saves = session_saves()
        name = st.selectbox("Saved in this session (only you see these)", saves.names()[::-1], key="picker_saved")
        saved = saves.get(name) if name else None
        return None if saved is None else _from_bytes(saved.data, saved.name)
    return None


def _from_bytes(data: bytes, name: str, module: str | None = None) -> LoadedModel:
    digest = hashlib.sha256(data).hexdigest()
    uploads = st.session_state.setdefault(_UPLOADS_KEY, {})
    if (digest, module) not in uploads:
        uploads.clear()  # keep one upload per session
        uploads[digest, module] = load_upload(data, name, module)
    return uploads[digest, module]


def _upload_module(data: bytes, name: str, options: dict[str, str]) -> LoadedModel:
    """An upload that is a bigger model's state_dict (a seq2seq, an Embedding → LSTM → Linear model): the LSTM or
    GRU of it to show, picked from a list (the first at first)."""
    names = list(options)
    if not names:  # (load_checkpoint offers none empty; said, not an IndexError, should it ever)
        raise SourceError(f"{name} holds no LSTM or GRU that can be shown alone")
    module = st.selectbox(
        f"{name} is a bigger model: the recurrent module to show", names, key="picker_module",
        format_func=lambda m: f"{m or '(top level)'} — {options[m]}",
        help="lstm-viz shows one LSTM or GRU at a time, on vectors of its input size; the file's other weights "
        "(embeddings, heads, other layers) are left out",
    )  # fmt: skip
    st.caption(f"{len(names)} recurrent module{'s' if len(names) != 1 else ''} in {name}; the other weights "
               "are left out, and the module reads vectors of its input size (type them, or a random or CSV "
               "sequence).")  # fmt: skip
    return _from_bytes(data, name, module if module in options else names[0])


@st.cache_data(max_entries=32, show_spinner=False)
def _record(model_key: str, x: np.ndarray, _model: nn.Module) -> Recording:
    # one input is a sequential loop: on a CPU busy with other work, one thread beats several (busy_cpu_threads)
    with torch.no_grad(), torch_threads(busy_cpu_threads() if x.shape[0] == 1 else None):
        return _model.record(torch.from_numpy(x)).to("cpu")


BIG_RECORDING = 48_000_000  # bytes: bigger recordings are kept in the session, not in the process-wide cache
_BIG_KEY = "lstm_viz.big_recordings"  # session: the last two big recordings, (model key, input digest) → Recording


def _recording_bytes(loaded: LoadedModel, x: torch.Tensor) -> int:
    c = loaded.config
    per_step = c.num_layers * c.num_directions * (6 * c.hidden_size + c.real_hidden_size) * 4
    return int(x.shape[0]) * int(x.shape[1]) * per_step


def cached_recording(loaded: LoadedModel, x: torch.Tensor) -> Recording:
    """``loaded.model.record(x)``, cached per (model, input) for the session's reruns; tensors on the CPU.

    ``x`` keeps its dtype (a text model reads integer token ids). Recordings over ``BIG_RECORDING`` bytes (a text
    model on a long text: 200 MB for 10,000 characters of a 2×384 LSTM) are kept in the session, the last two only,
    rather than copied in and out of the process-wide cache on every rerun."""
    tensor = x.detach().to("cpu").contiguous()
    array = (tensor if not tensor.is_floating_point() else tensor.float()).numpy()
    if _recording_bytes(loaded, tensor) <= BIG_RECORDING:
        return _record(loaded.key, array, loaded.model)
    return _big_recording(loaded, array)


def _big_recording(loaded: LoadedModel, array: np.ndarray) -> Recording:
    digest = hashlib.sha1(array.tobytes() + str(array.shape).encode()).hexdigest()
    kept: dict = st.session_state.setdefault(_BIG_KEY, {})
    key = (loaded.key, digest)
    if key not in kept:
        with torch.no_grad(), torch_threads(busy_cpu_threads() if array.shape[0] == 1 else None):
            rec = loaded.model.record(torch.from_numpy(array)).to("cpu")
        while len(kept) >= 2:
            kept.pop(next(iter(kept)))
        kept[key] = rec
    return kept[key]


def figure_downloads(figures: Mapping[str, go.Figure | Callable[[], go.Figure]], stem: str, key: str) -> None:
    """One download button per figure, in a row: a standalone HTML file (plotly.js inlined: it opens offline and stays
    interactive) named after the model (``stem``: ``LoadedModel.stem``) and the figure,
    ``subtraction_lstm-intervene_spread.html``. A callable is built only when its button is clicked. The names are
    the buttons' labels and the pages' titles (``_`` as spaces)."""
    row = st.container(horizontal=True)  # buttons as wide as their labels, wrapping onto a second row when narrow
    for name, build in figures.items():
        label, part = name.replace("_", " "), file_name_part(name, 80)
        row.download_button(
            label, functools.partial(_figure_bytes, build, f"{stem} · {label}"), f"{stem}-{part or 'figure'}.html",
            "text/html", key=f"{key}_{part}", on_click="ignore", icon=":material/bar_chart:",
        )  # fmt: skip


def _figure_bytes(build: go.Figure | Callable[[], go.Figure], title: str) -> bytes:
    return figure_html(build if isinstance(build, go.Figure) else build(), title)


def number_box(
    label: str,
    key: str,
    parse: Callable[[str], T],
    *,
    container: Any = None,
    keeps: str | None = None,
    help: str | None = None,
    on_change: Callable[..., None] | None = None,
    args: tuple = (),
    width: int | str = "stretch",
) -> T | None:
    """A text box for one number, read by ``parse`` (an ``lstm_viz.parsing`` reader raising ``InputError``).

    Unlike ``st.number_input`` nothing is ever applied silently: an empty box, letters or an out-of-range value
    show the parser's message right under the box — plus ``keeps`` ("Still using 0.001.") — and return None, so
    the caller keeps what it had. Put the box's default in ``st.session_state[key]`` (e.g. with :func:`remembered`)
    before calling.
    """
    where = container if container is not None else st
    text = where.text_input(label, key=key, help=help, on_change=on_change or "rerun", args=args or None,
                            width=width)  # fmt: skip
    try:
        return parse(text)
    except InputError as err:
        where.error(f"{err}{' ' + keeps if keeps else ''}", icon=":material/warning:")
        return None


def show_verdict(answer: Any, title: str) -> None:
    """``**title:** answer.summary`` in green when the answer is right, red when wrong, blue when there is no truth
    (answers side by side: Intervene's Before and After, Compare two inputs' A and B)."""
    box = st.success if answer.correct is True else st.error if answer.correct is False else st.info
    box(f"**{title}:** {answer.summary}")


_MARKDOWN = re.compile(r"([\\`*_\[\]$~])")  # inline Markdown, LaTeX ($) and Streamlit's :color[…] ([)


def plain_text(text: object) -> str:
    """``text`` for a Markdown element (st.error, st.caption …) as it is: every character Markdown or Streamlit would
    read as syntax escaped — a user's regular expression ``#.*`` lost its ``*`` to italics, ``$`` starts LaTeX."""
    return _MARKDOWN.sub(r"\\\1", str(text))


def _sentence(text: str) -> str:
    """A message as a sentence: its first word capitalised when it is a plain lower-case word ("the regular
    expression …"; not a name such as ``weight_ih_l0`` or ``--lr``)."""
    first = text.split(" ", 1)[0]
    return text[:1].upper() + text[1:] if first.isalpha() and first.islower() else text


def show_input_error(err: Exception, what: str = "input") -> None:
    """An error box that says what was wrong with the user's ``what`` and how to fix it (never a traceback); the
    message shown as written (:func:`plain_text`)."""
    st.error(f"**This {what} cannot be used.** {plain_text(_sentence(str(err)))}", icon=":material/warning:")


def refuse_input_keeping_last(err: Exception, key: str) -> TaskInput | None:
    """A bad input refused (:func:`show_input_error`), and the last valid one, kept in ``st.session_state[key]``,
    shown instead and said to be (None when there was none yet): nothing is applied in the bad one's place."""
    show_input_error(err)
    last = st.session_state.get(key)
    if last is not None:
        st.caption(f"Still showing the last valid input: `{shorten(last.text)}`")
    return last


def remembered(prefix: str, defaults: Mapping[str, Any]) -> dict[str, Any]:
    """Keep widget values across page changes: Streamlit forgets the state of widgets that were not drawn.

    For every name in ``defaults`` the widget key is ``f"{prefix}_{name}"``; its last value is kept in a shadow
    dict ``st.session_state[f"{prefix}__saved"]`` and put back before the widget is drawn again. Call it before
    drawing the widgets (with ``key=f"{prefix}_{name}"`` and no ``value=``); returns the shadow dict.
    """
    saved: dict[str, Any] = st.session_state.setdefault(f"{prefix}__saved", dict(defaults))
    for name, default in defaults.items():
        saved.setdefault(name, default)
        widget_key = f"{prefix}_{name}"
        if widget_key in st.session_state:
            saved[name] = st.session_state[widget_key]
        else:
            st.session_state[widget_key] = saved[name]
    return saved


_KEPT_WIDGETS = "kept_widgets"  # widget key → its last value, for pages that do not draw the widget


def keep_widget(key: str, default: Any, allowed: Iterable[Any] | None = None) -> None:
    """Before widget ``key`` is drawn (without ``value=``/``default=``: its value comes from the session): the value
    it had when its page was last open, else ``default``. Streamlit forgets the state of a widget that a run does not
    draw, so a visit to another page reset what was typed there. ``allowed``: the values the widget takes now (a
    kept one outside them, e.g. a tab the model no longer has, gives ``default``)."""
    kept: dict[str, Any] = st.session_state.setdefault(_KEPT_WIDGETS, {})
    if key in st.session_state:
        kept[key] = st.session_state[key]
        return
    value = kept.get(key, default)
    if allowed is not None and value not in list(allowed):
        value = default
    st.session_state[key] = value


def keep_tab_widgets(tabs: Mapping[str, Any], keys: Mapping[str, Iterable[str]], store: str) -> None:
    """Keep what was typed or picked in a tab while another tab is open, and show it again when it opens.

    A page that draws only the open tab's widgets loses the others' state: Streamlit forgets widgets it did not
    draw, and a widget drawn again starts in the browser from its default. ``keys[name]`` are the widget keys of tab
    ``name``, or key prefixes ending in ``_`` (``"iv_units_"``); their values are copied to
    ``st.session_state[store]`` on every run, and in the run a tab is open again, before its widgets are drawn,
    written back through the Session State API — so that the browser is told the value, not only the server. Never
    for buttons, uploaders or charts that take selections: their state cannot be written (a key is matched whole
    for that reason: ``"text_units"`` once matched the chart ``"text_units_chart"``, whose state Streamlit refused).
    """
    shadow: dict[str, Any] = st.session_state.setdefault(store, {})
    for name, tab in tabs.items():
        names = tuple(keys.get(name, ()))
        if not names:
            continue
        exact = {n for n in names if not n.endswith("_")}
        prefixes = tuple(n for n in names if n.endswith("_"))

        def ours(key: object, exact: set[str] = exact, prefixes: tuple[str, ...] = prefixes) -> bool:
            return isinstance(key, str) and (key in exact or key.startswith(prefixes))

        for key in [k for k in st.session_state if ours(k)]:
            shadow[key] = st.session_state[key]
        if tab.open:
            for key, value in shadow.items():
                if ours(key) and key not in st.session_state:
                    st.session_state[key] = value


NARROW_CSS = Path(__file__).with_name("narrow.css")


def narrow_layout() -> None:
    """Load the rules that rearrange :func:`narrow_columns` rows in a narrow main column (once per run, in app.py;
    style only, so Streamlit adds it without taking room on the page)."""
    st.html(NARROW_CSS)


def narrow_columns(spec: int | list[float], *, key: str, narrow: str = "wrap", **kwargs: Any) -> list[Any]:
    """``st.columns(spec, **kwargs)`` whose row rearranges when the page's main column is under 540 px (an 800-pixel
    window with the sidebar open; Streamlit stacks every row only in windows under 640 px): ``narrow="wrap"`` lets
    the columns flow onto further rows, each at least 8rem wide (a row of boxes and buttons keeps its labels whole);
    ``"stack"`` gives each column a row of its own (a table beside a chart). Wider, it is st.columns unchanged.
    ``key`` names the row's container, unique on the page. The rules are in ``narrow.css``."""
    if narrow not in ("wrap", "stack"):
        raise ValueError(f"narrow must be 'wrap' or 'stack', not {narrow!r}")
    return st.container(key=f"narrow_{narrow}_{key}").columns(spec, **kwargs)


# Streamlit still has its first multipage mode (a ``pages/`` folder next to the entry script). Until app.py has run
# ``st.navigation`` once in the process, a request for ``/explorer`` runs ``pages/explorer.py`` alone: no shared
# sidebar, file names as page titles. ``ensure_app_shell()`` at the top of a page notices that and reruns through
# app.py, which then shows the same page with the sidebar.
def ensure_app_shell() -> None:
    """Rerun through app.py if this page was started by Streamlit's pages-folder mode instead of st.navigation."""
    try:
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:  # a future Streamlit without the old mode
        return
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False  # what st.navigation itself sets on its first call
        st.rerun()
