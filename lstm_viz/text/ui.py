"""Streamlit sections for text models, drawn as Gate Explorer tabs: the text coloured by units, and the cell finder.

``coloured_text_section`` — pick units from a ranked list (a clickable bar chart, or the multiselect it feeds) and
see the text coloured by each, one under another. ``find_cells_section`` — (a) every unit ranked against each
built-in feature (on this text, or on 100,000 characters of validation files), (b) units ranked against marks the
user makes (a regular expression or ranges of characters, and a threshold), (c) one unit's top-activating
contexts across the validation files. Bad input is shown as a message; nothing raises.
"""

from __future__ import annotations

import contextlib
import os

import numpy as np
import pandas as pd
import streamlit as st
import torch

from lstm_viz.app.saves import CORPUS_ENV, corpus_folder
from lstm_viz.app.sources import LoadedModel
from lstm_viz.app.ui import figure_downloads, show_input_error
from lstm_viz.core.device import busy_cpu_threads, torch_threads
from lstm_viz.core.recording import Recording, parse_unit, recording_names, unit_label
from lstm_viz.corpus.model import as_text_model, fingerprint
from lstm_viz.corpus.ui import corpus_section
from lstm_viz.parsing import InputError, parse_float, parse_int
from lstm_viz.tasks import TaskInput, task_for
from lstm_viz.tasks.charlm.data import VOCAB
from lstm_viz.tasks.charlm.task import generate, next_char_table
from lstm_viz.text.figures import coloured_text, contexts_figure, layout_text, units_figure
from lstm_viz.text.finder import (
    FEATURE_NOTES,
    FEATURE_WORDS,
    FEATURES,
    TENSORS,
    Ranking,
    ValidationScan,
    marks_from_ranges,
    marks_from_regex,
    metric_of,
    rank_by_marks,
    rank_recording,
    scan_validation,
    text_labels,
    top_contexts,
)

__all__ = ["TABS", "coloured_text_section", "find_cells_section", "generate_section", "ranked_by"]

TABS = ("Text by unit", "Find cells")  # the Gate Explorer's tabs for a text model
RANK_BY, RANK_OVER = "text_rank_by", "text_rank_units_over"  # the coloured text's ranking: by what, over what
TAB_KEYS = {  # each tab's widget keys, kept while another tab is open (no buttons or uploaders)
    TABS[0]: (RANK_BY, "text_rank_tensors", RANK_OVER, "text_units", "text_rows"),
    TABS[1]: ("text_find_by", "text_feature", "text_rank_over", "text_mark_", "text_context_", "text_corpus_dir"),
}

ACTIVE = "most active on this text"


MAX_UNITS_SHOWN = 6
ROWS_SHOWN = 60
SCAN_CHARS = 100_000


def ranked_by(feature: str, over: str = "validation") -> dict[str, str]:
    """The widget values that open "Text by unit" on the units that track ``feature`` best, ranked over
    ``over`` ("validation" files or this "text"): for a link from another page (``app.ui.pick_in_sidebar``)."""
    if feature not in FEATURES or over not in ("text", "validation"):
        raise ValueError(f"no ranking by {feature!r} over {over!r}; features: {', '.join(FEATURES)}")
    return {RANK_BY: feature, RANK_OVER: over}


def _chart(fig, key: str, **kwargs):
    return st.plotly_chart(fig, key=key, config={"displaylogo": False}, **kwargs)


@st.cache_data(max_entries=8, show_spinner=False)
def _next_chars(model_key: str, input_key: str, _rec: Recording, _model: torch.nn.Module):
    """The model's five likeliest next characters after every step: characters and probabilities ``(T, 5)``."""
    with torch.no_grad():
        h = _rec.h[-1, 0, 0].to(next(_model.parameters()).device)
        logits = _model.head(h)
    ids, probs = next_char_table(logits, 5)
    return np.asarray(VOCAB, dtype=object)[ids], probs


@st.cache_data(max_entries=8, show_spinner="Ranking every unit against the features of this text…")
def _text_ranking(model_key: str, input_key: str, text: str, cut: bool, _rec: Recording) -> Ranking | str:
    try:
        return rank_recording(_rec, text_labels(text, prefix=cut))
    except InputError as err:
        return str(err)


@st.cache_resource(max_entries=2, show_spinner=False)
def _validation_scan(model_key: str, _model: torch.nn.Module) -> ValidationScan:
    with torch_threads(busy_cpu_threads()):  # on a CPU busy with other work, one thread is several times faster
        return scan_validation(_model, SCAN_CHARS)


def _scan(loaded: LoadedModel) -> ValidationScan:
    with st.spinner(f"Reading {SCAN_CHARS:,} characters of validation files with every unit (a few seconds)…"):
        return _validation_scan(loaded.key, loaded.model)


def _activity(rec: Recording) -> pd.DataFrame:
    """Every unit by how much it changes over the text (standard deviation over t)."""
    rows = []
    for name in rec.names():
        if name.rsplit(".", 1)[1] in TENSORS:
            std = rec[name][0].float().std(0).cpu().numpy()
            rows.append(pd.DataFrame({"name": name, "unit": np.arange(len(std)), "score": std, "sign": 1}))
    table = pd.concat(rows, ignore_index=True)
    return table.sort_values("score", ascending=False, kind="stable").reset_index(drop=True)


def _data_note(loaded: LoadedModel) -> None:
    note = task_for(loaded.config).data_note(loaded.info or {})
    if note:
        st.info(note, icon=":material/info:")


# ---------------------------------------------------------------------------------------------- coloured text
def coloured_text_section(loaded: LoadedModel, inp: TaskInput, rec: Recording) -> None:
    """The text coloured by the chosen units (Karpathy's view), with the ranked list they are picked from."""
    text = inp.source_text or ""
    c1, c2, c3 = st.columns([2, 2, 2])
    # First ranked by the string feature, the view this tab is for ("most active" first put a unit that only drifts
    # across the text at the top); set through the session, as a link from another page sets it
    st.session_state.setdefault(RANK_BY, "in_string" if "in_string" in FEATURES else ACTIVE)
    by = c1.selectbox("Rank units by", [ACTIVE, *FEATURES], key=RANK_BY,
                      format_func=lambda f: f if f == ACTIVE else f"{f} — {FEATURE_WORDS[f]}")  # fmt: skip
    tensors = c2.multiselect("Tensors in the list", list(TENSORS), default=["c", "h"], key="text_rank_tensors")
    over = c3.radio("Rank a feature over", ["text", "validation"], horizontal=True, key=RANK_OVER,
                    disabled=by == ACTIVE, help="a short text can make a drifting unit look like a feature's cell; "
                    f"{SCAN_CHARS:,} characters of validation files find the cells that track it everywhere",
                    format_func={"text": "this text", "validation": "validation files"}.get)  # fmt: skip
    metric = None if by == ACTIVE else metric_of(by)  # what the bars' score is: None, a unit's activity
    if by == ACTIVE:
        table, score = _activity(rec), "score"
        title = "The most active units on this text (largest standard deviation over t)"
    elif over == "validation":
        table, score = _scan(loaded).ranking.best(by, 10_000), "score"
        title = (f"The units that track {by} best over {SCAN_CHARS:,} validation characters "
                 f"({'AUROC' if metric_of(by) == 'auroc' else '|r|'})")  # fmt: skip
    else:
        ranking = _text_ranking(loaded.key, inp.key(), text, inp.cut, rec)
        if isinstance(ranking, str):
            st.warning(ranking, icon=":material/warning:")
            table, score, title = _activity(rec), "score", "The most active units on this text instead"
            metric = None
        else:
            table, score = ranking.best(by, 10_000), "score"
            title = f"The units that track {by} best on this text ({'AUROC' if metric_of(by) == 'auroc' else '|r|'})"
    table = table[table["name"].str.rsplit(".", n=1).str[1].isin(tensors or list(TENSORS))]
    if table.empty:
        st.info("Choose at least one tensor for the list.")
        return
    options = [unit_label(n, int(u)) for n, u in zip(table["name"].head(200), table["unit"].head(200), strict=True)]
    key = "text_units"
    ranked = units_figure(table, score, title, feature=metric is not None, metric=metric)
    event = _chart(ranked, "text_units_chart", on_select="rerun", selection_mode="points")
    clicked = _clicked(event)
    if clicked is not None and st.session_state.get("text_last_click") != clicked:
        st.session_state["text_last_click"] = clicked
        st.session_state[key] = list(dict.fromkeys([clicked, *st.session_state.get(key, [])]))[:MAX_UNITS_SHOWN]
    basis = (by, over, tuple(tensors or ()))  # another ranking: start again from its best unit
    previous = st.session_state.get("text_units_basis")
    auto = st.session_state.get("text_units_auto")  # what was last chosen for the user: the list's best unit
    if previous != basis:
        st.session_state["text_units_basis"] = basis
        if previous is not None and clicked is None:  # not on the first run: units chosen before it stay
            st.session_state[key] = options[:1]
    elif clicked is None and auto is not None and st.session_state.get(key) == auto:
        st.session_state[key] = options[:1]  # untouched since it was chosen for the user: follow the list (a new text)
    current = [u for u in st.session_state.get(key, []) if u in options or _valid_unit(u, rec)]
    st.session_state[key] = current or options[:1]
    if st.session_state[key] == options[:1]:
        st.session_state["text_units_auto"] = options[:1]
    chosen = st.multiselect(f"Units to colour the text by (up to {MAX_UNITS_SHOWN}; the list's first 200 are offered, "
                            "or click a bar)", sorted(set(options) | set(st.session_state[key]), key=_order(options)),
                            key=key, max_selections=MAX_UNITS_SHOWN)  # fmt: skip
    if not chosen:
        st.info("Pick a unit (click a bar above, or choose from the list) to colour the text by it.")
        return
    st.session_state["text_chosen_unit"] = chosen[0]
    window = _rows_window(text, "text_rows")
    chars, probs = _next_chars(loaded.key, inp.key(), rec, loaded.model)
    figures = {"unit_list": ranked}
    for n, unit_text in enumerate(chosen):
        name, unit = parse_unit(unit_text)
        tensor = name.rsplit(".", 1)[1]
        values = rec[name][0, :, unit].float().cpu().numpy()
        fig = coloured_text(text, values, tensor=tensor, title=f"{unit_text} on the text", top_chars=chars,
                            top_probs=probs, lines=window, bounded=not rec.proj_size or tensor != "h")  # fmt: skip
        _chart(fig, f"text_coloured_{n}", width="content")
        figures[f"text_by_{unit_text}"] = fig
    st.caption("Hover a character for t, the value after reading it and the model's five likeliest next characters. "
               "Colours: gates f, i, o from 0 to 1; g, h from −1 to 1 and c from −max|c| to +max|c| (blue < 0 < red).")
    st.caption("These figures as standalone HTML files (open offline, interactive; each text as the rows shown):")
    figure_downloads(figures, loaded.stem, "text_dl")


def _order(options: list[str]):
    rank = {o: k for k, o in enumerate(options)}
    return lambda o: (rank.get(o, len(rank)), o)


def _valid_unit(text: str, rec: Recording) -> bool:
    try:
        name, unit = parse_unit(text)
        return 0 <= unit < rec[name].shape[-1]
    except (ValueError, KeyError):
        return False


def _clicked(event) -> str | None:
    try:
        points = event.selection.points  # type: ignore[union-attr]
    except AttributeError:
        return None
    for point in points or []:
        data = point.get("customdata") if isinstance(point, dict) else None
        if data and len(data) == 2:
            return unit_label(str(data[0]), int(data[1]))
    return None


def _rows_window(text: str, key: str) -> tuple[int, int] | None:
    rows = layout_text(text).rows
    if rows <= ROWS_SHOWN:
        return None
    starts = list(range(1, rows + 1, ROWS_SHOWN // 2))
    first = st.select_slider(f"The text has {rows:,} rows; show {ROWS_SHOWN} from row", starts, key=key)
    return int(first) - 1, ROWS_SHOWN


# ---------------------------------------------------------------------------------------------- find cells
def find_cells_section(loaded: LoadedModel, inp: TaskInput, rec: Recording) -> None:
    """(a) built-in features, (b) marks, (c) top contexts."""
    _data_note(loaded)
    st.session_state.setdefault("text_find_by", "features")  # through the session (see explorer's saturation)
    part = st.segmented_control(
        "Find cells by",
        ["features", "marks", "contexts", "corpus"], required=True, key="text_find_by",
        format_func={"features": "a) built-in features", "marks": "b) what you mark",
                     "contexts": "c) one unit's top contexts", "corpus": "d) across a recorded corpus"}.get,
    )  # fmt: skip
    if part == "features":
        _features_part(loaded, inp, rec)
    elif part == "marks":
        _marks_part(loaded, inp, rec)
    elif part == "contexts":
        _contexts_part(loaded)
    else:
        _corpus_part(loaded)


def _features_part(loaded: LoadedModel, inp: TaskInput, rec: Recording) -> None:
    text = inp.source_text or ""
    c1, c2 = st.columns(2)
    feature = c1.selectbox("Feature", FEATURES, key="text_feature",
                           format_func=lambda f: f"{f} — {FEATURE_WORDS[f]}")  # fmt: skip
    over = c2.radio("Rank over", ["text", "validation"], horizontal=True, key="text_rank_over",
                    format_func={"text": "the text above",
                                 "validation": f"{SCAN_CHARS:,} characters of validation files"}.get)  # fmt: skip
    metric = "AUROC, better direction" if metric_of(feature) == "auroc" else "|Pearson r|"
    if over == "validation":
        scan = _scan(loaded)
        ranking = scan.ranking
        where = (f"{scan.describe()}; recorded in {ranking.record_seconds:.1f} s, ranked in "
                 f"{ranking.score_seconds:.1f} s" + ("; AUROC from binned values, within about 0.003"
                                                     if metric_of(feature) == "auroc" else ""))  # fmt: skip
    else:
        ranking = _text_ranking(loaded.key, inp.key(), text, inp.cut, rec)
        if isinstance(ranking, str):
            show_input_error(InputError(ranking), "text")
            return
        where = f"the text above ({len(text):,} character{'s' if len(text) != 1 else ''})"
    best = ranking.best(feature, 10)
    if best.empty:
        st.info(f"{feature} does not vary on {where}: nothing to rank by. Choose another feature or a longer text.")
        return
    auroc = metric_of(feature) == "auroc"
    shown = best.assign(direction=np.where(best["sign"] > 0, "higher inside" if auroc else "rises with it",
                                           "lower inside" if auroc else "falls as it rises"))
    shown = shown[["name", "unit", "score", "direction", "value"]].rename(columns={  # the raw value: < 0.5 or < 0 …
        "score": "AUROC, better direction" if auroc else "|r|", "value": "AUROC" if auroc else "r"})  # fmt: skip
    st.markdown(f"Every unit of every layer and tensor ({', '.join(TENSORS)}) ranked by **{metric}** against "
                f"**{feature}** ({FEATURE_WORDS[feature]}) over {where}.")  # fmt: skip
    if feature in FEATURE_NOTES:
        st.caption(FEATURE_NOTES[feature])
    three = {c: st.column_config.NumberColumn(format="%.3f") for c in shown.columns[2:] if c != "direction"}
    st.dataframe(shown.reset_index(drop=True), width="stretch", hide_index=True, column_config=three)  # 0.891, 1.000
    labels = _labels_or_none(text, inp.cut)
    chars, probs = _next_chars(loaded.key, inp.key(), rec, loaded.model)
    for n, row in enumerate(best.head(3).itertuples()):
        tensor = row.name.rsplit(".", 1)[1]
        values = rec[row.name][0, :, int(row.unit)].float().cpu().numpy()
        marks = labels[feature].astype(bool) if labels is not None and metric_of(feature) == "auroc" else None
        fig = coloured_text(text, values, tensor=tensor, title=f"#{n + 1}: {unit_label(row.name, int(row.unit))} · "
                            f"{row.score:.3f}", top_chars=chars, top_probs=probs, lines=_first_rows(text), marks=marks,
                            subtitle=f"underlined: {feature}" if marks is not None else None)  # fmt: skip
        _chart(fig, f"text_feature_best_{n}", width="content")


def _labels_or_none(text: str, cut: bool = False):
    try:
        return text_labels(text, prefix=cut)
    except InputError:
        return None


def _first_rows(text: str) -> tuple[int, int] | None:
    return None if layout_text(text).rows <= ROWS_SHOWN else (0, ROWS_SHOWN)


def _marks_part(loaded: LoadedModel, inp: TaskInput, rec: Recording) -> None:
    text = inp.source_text or ""
    st.markdown("Mark what you expect a cell to follow; every unit is then ranked by how well the characters where "
                "it is **on** (value above the threshold, or below minus it) match the marks: **F1** = 2·overlap / "
                "(on + marked), with Jaccard = overlap / union, precision and recall beside it (LSTMVis-style).")
    c1, c2 = st.columns([1, 2])
    how = c1.radio("Mark by", ["regex", "ranges"], key="text_mark_by", horizontal=True,
                   format_func={"regex": "regular expression", "ranges": "character ranges"}.get)  # fmt: skip
    if how == "regex":
        spec = c2.text_input("Regular expression (every character of every match is marked)", r"#.*",
                             key="text_mark_regex", help=r"e.g. #.* (comments), \"[^\"\n]*\" (double-quoted strings)")
    else:
        spec = c2.text_input(f"Character ranges, t from 0 to {len(text) - 1}", "0-20", key="text_mark_ranges",
                             help="e.g. 10-25, 40-52; inclusive")  # fmt: skip
    c3, c4, c5 = st.columns([2, 3, 3])
    threshold_text = c3.text_input("Threshold", "0.5", key="text_mark_threshold", help="a unit is on above this")
    polarity = c4.selectbox("On means", ["either", "high", "low"], key="text_mark_polarity",
                            help="either: each unit is read both ways, and the better one counts",
                            format_func={"either": "above it, or below minus it", "high": "above the threshold",
                                         "low": "below minus the threshold"}.get)  # short: the box cut the longer
    tensors = c5.multiselect("Tensors", list(TENSORS), default=list(TENSORS), key="text_mark_tensors")
    try:
        threshold = parse_float(threshold_text, name="The threshold", minimum=-100, maximum=100)
        marks = marks_from_regex(text, spec) if how == "regex" else marks_from_ranges(spec, len(text))
        if not tensors:
            raise InputError("choose at least one tensor")
        table = rank_by_marks(rec, marks, threshold, polarity, tensors)
    except InputError as err:
        show_input_error(err, "mark")
        return
    st.caption(f"{int(marks.sum()):,} of {len(text):,} characters marked.")
    st.dataframe(table.head(10), width="stretch", hide_index=True, column_config={  # named, three decimals
        "f1": st.column_config.NumberColumn("F1", format="%.3f"), "jaccard": st.column_config.NumberColumn(
            "Jaccard", format="%.3f"), "precision": st.column_config.NumberColumn(format="%.3f"),
        "recall": st.column_config.NumberColumn(format="%.3f"), "polarity": st.column_config.TextColumn("on means")})
    best = table.iloc[0]
    tensor = best["name"].rsplit(".", 1)[1]
    values = rec[best["name"]][0, :, int(best["unit"])].float().cpu().numpy()
    chars, probs = _next_chars(loaded.key, inp.key(), rec, loaded.model)
    fig = coloured_text(text, values, tensor=tensor, top_chars=chars, top_probs=probs, marks=marks,
                        lines=_first_rows(text), title=f"Best: {unit_label(best['name'], int(best['unit']))} · F1 "
                        f"{best['f1']:.3f} (on: {best['polarity']})", subtitle="underlined: what you marked")
    _chart(fig, "text_marks_best", width="content")


# Characters of text each side of a context's place: 57 cells of 9 px and the labels fit the page at 1,280 px (with
# 40 a side the chart was wider than the page; Streamlit narrowed it and the letters ran into each other).
CONTEXT_WIDTH = 28


def _contexts_part(loaded: LoadedModel) -> None:
    st.markdown(f"Where one unit is highest (or lowest) in {SCAN_CHARS:,} characters drawn from every validation "
                "file (an equal share of each): each row is the text around one place, coloured by the unit, the "
                "place framed.")
    default = st.session_state.get("text_chosen_unit", "layer0.fwd.c[0]")
    c1, c2, c3 = st.columns([2, 1, 1])
    unit_text = c1.text_input("Unit, as name[unit]", default, key="text_context_unit",
                              help="e.g. layer0.fwd.c[354]; the unit picked in the coloured-text tab is the default")
    side = c2.radio("Where it is", ["high", "low"], horizontal=True, key="text_context_side")
    k = c3.select_slider("Contexts", [5, 10], value=10, key="text_context_k")
    config = loaded.config
    names = recording_names(config.num_layers, config.bidirectional, TENSORS)
    last_key = f"text_context_last_{loaded.key}"
    try:
        name, unit = parse_unit(unit_text.strip())
        tensor = name.rsplit(".", 1)[1]
        if name not in names or not 0 <= unit < (config.real_hidden_size if tensor == "h" else config.hidden_size):
            raise ValueError
    except ValueError:
        show_input_error(InputError(f"{unit_text!r} is not a unit of this model. Example: layer0.fwd.c[12] "
                                    f"(tensors {', '.join(TENSORS)}, units 0 to {loaded.config.hidden_size - 1})"),
                         "unit")  # fmt: skip
        if last_key not in st.session_state:  # nothing valid asked for yet: nothing to keep on show
            return
        name, unit = st.session_state[last_key]  # the last valid unit's chart stays, as the other tabs' inputs do
        tensor = name.rsplit(".", 1)[1]
        unit_text = unit_label(name, unit)
        st.caption(f"Still showing the last valid unit, {unit_text}, below.")
    else:
        st.session_state[last_key] = (name, unit)
    scan = _scan(loaded)
    try:
        found = top_contexts(scan, name, unit, k=int(k), width=CONTEXT_WIDTH, low=side == "low")
    except (InputError, KeyError) as err:
        show_input_error(err, "unit")
        return
    most = "highest" if side == "high" else "lowest"
    title = f"{unit_text}: its {len(found)} {most} places"  # where they were looked for: the caption below
    st.caption(f"Searched: {scan.describe()}.")
    fig = contexts_figure(found, tensor=tensor, title=title)
    _chart(fig, "text_contexts", width="content")


def _corpus_part(loaded: LoadedModel) -> None:
    """A corpus recorded with ``record-corpus``: top contexts and LSTMVis's match over all of it (DuckDB)."""
    st.markdown("A whole corpus recorded once to Parquet shards (`python -m lstm_viz record-corpus "
                "models/charlm_python.pt --stdlib --max-chars 1000000 --out corpus/`, a few minutes), then searched "
                "with DuckDB: a unit's top contexts across all of it, and where else a pattern of units is on "
                "together.")  # fmt: skip
    folder = st.text_input("Recorded corpus folder", os.environ.get(CORPUS_ENV, "corpus"),
                           key="text_corpus_dir", help="the --out folder of record-corpus, inside the app's folder "
                           f"or {CORPUS_ENV}'s ({CORPUS_ENV} also sets the default)")  # fmt: skip
    try:
        path = corpus_folder(folder)
    except ValueError as err:
        st.error(str(err), icon=":material/block:")
        return
    if not (path / "manifest.json").is_file():
        st.info(f"No recorded corpus in {folder.strip()!r} yet. Record one with the command above (with this model: "
                f"{loaded.label}), then enter its folder here.")  # fmt: skip
        return
    name, unit = "layer0.fwd.c", 0
    with contextlib.suppress(ValueError):  # the unit picked in the other tabs, if any
        name, unit = parse_unit(st.session_state.get("text_chosen_unit", "layer0.fwd.c[0]"))
    corpus_section(path, name, unit, key="text_corpus", model_fingerprint=_fingerprint(loaded.key, loaded.model))


@st.cache_data(max_entries=4, show_spinner=False)
def _fingerprint(model_key: str, _model: torch.nn.Module) -> str:
    return fingerprint(as_text_model(_model))


# ---------------------------------------------------------------------------------------------- generation
def generate_section(loaded: LoadedModel, inp: TaskInput) -> None:
    """Let the model write on from the end of the text (or from a prompt of one's own)."""
    with st.expander("Let the model write: generate text", icon=":material/edit_note:"):
        text = inp.source_text or ""
        c1, c2, c3, c4 = st.columns([3, 1, 1, 1])
        prompt = c1.text_input("Prompt (empty: go on from the end of the text above)", "", key="text_gen_prompt")
        chars_text = c2.text_input("Characters", "300", key="text_gen_chars", help="1 to 2,000")
        temp_text = c3.text_input("Temperature", "0.8", key="text_gen_temperature",
                                  help="0 = always the likeliest character; 1 = as the model believes; higher = wilder")
        seed_text = c4.text_input("Random seed", "0", key="text_gen_seed")
        try:
            chars = parse_int(chars_text, name="The number of characters", minimum=1, maximum=2000)
            temperature = parse_float(temp_text, name="The temperature", minimum=0, maximum=5, example="0.8")
            seed = parse_int(seed_text, name="The random seed", minimum=0, maximum=2**31 - 1)
        except InputError as err:
            show_input_error(err, "setting")  # what was written before stays shown below
        else:
            start = prompt or text[-2000:]
            if st.button("Write", key="text_gen_go", icon=":material/play_arrow:"):
                with st.spinner("Writing…"):
                    st.session_state["text_gen_out"] = (start, generate(loaded.model, start, chars, temperature, seed))
        shown = st.session_state.get("text_gen_out")
        if shown is not None:
            begin, written = shown
            st.caption(f"The model went on from the end of the text ({len(written):,} characters written after it):")
            tail = begin[-120:].rsplit("\n", 1)[-1]  # the prompt's last line, then what the model wrote
            st.code(tail + written, language="python")
