"""Streamlit section for a recorded corpus: a unit's top contexts across the corpus, where else a pattern of units
is on (LSTMVis's match), and the unit statistics. ``corpus_section(dir)`` is what the cell finder page calls."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from lstm_viz.corpus.errors import CorpusError
from lstm_viz.corpus.query import Corpus, marked, open_corpus, parse_units

__all__ = ["corpus_section"]

_OPEN = "corpus_open"  # session_state: {(folder, manifest mtime): Corpus}


def _corpus(folder: Path) -> Corpus:
    """The corpus in ``folder``, opened once per browser session (and again when it is recorded anew)."""
    manifest = folder / "manifest.json"
    key = (str(folder.resolve()), manifest.stat().st_mtime_ns if manifest.exists() else 0)
    opened = st.session_state.setdefault(_OPEN, {})
    if key not in opened:
        opened.clear()
        opened[key] = open_corpus(folder)
    return opened[key]


def corpus_section(
    corpus_dir: str | Path,
    name: str | None = None,
    unit: int | None = None,
    key: str = "corpus",
    model_fingerprint: str | None = None,
) -> None:
    """Draw the corpus queries for the folder ``corpus_dir`` (written by ``record-corpus``); ``name`` and ``unit``
    preselect the unit the calling page shows; ``model_fingerprint`` (``model.fingerprint``) of the page's model
    warns when the corpus was recorded with another. A bad folder or query shows one error line, never an
    exception."""
    try:
        corpus = _corpus(Path(corpus_dir))
    except CorpusError as err:
        st.error(str(err))
        return
    model = corpus.manifest["model"]
    files = f"{len(corpus.files):,} file{'s' if len(corpus.files) != 1 else ''}"
    st.caption(f"{corpus.total_chars:,} characters in {files}, recorded with "
               f"{Path(model['path']).name} ({model['fingerprint']}), {corpus.manifest['dtype']}")  # fmt: skip
    if model_fingerprint is not None and model_fingerprint != model["fingerprint"]:
        st.warning(f"This corpus was recorded with another model ({Path(model['path']).name}, weights "
                   f"{model['fingerprint']}; the chosen model's are {model_fingerprint}): its units are not the "
                   "chosen model's. Record the corpus again with the chosen model, or choose that model.")  # fmt: skip
    names = corpus.names
    top_tab, match_tab, stats_tab = st.tabs(["Top contexts", "Where else is this pattern on?", "Unit statistics"])
    with top_tab:
        left, middle, right = st.columns([2, 1, 1])
        chosen = left.selectbox("tensor", names, index=names.index(name) if name in names else 0, key=f"{key}_name")
        last = corpus.units[chosen] - 1
        picked = middle.number_input("unit", 0, last, value=min(unit or 0, last), key=f"{key}_unit")
        lowest = right.toggle("lowest", key=f"{key}_lowest", help="where the unit is smallest instead")
        k = st.slider("how many", 5, 100, 20, key=f"{key}_k")
        try:
            frame = corpus.top_contexts(chosen, int(picked), k=k, lowest=lowest)
        except CorpusError as err:
            st.error(str(err))
        else:
            st.dataframe(_shown(frame, "t"), hide_index=True, width="stretch")
    with match_tab:
        units = st.text_input("units (NAME:UNIT, comma-separated)", value=f"{chosen}:{int(picked)}",
                              key=f"{key}_units")  # fmt: skip
        a, b, c, d = st.columns(4)
        threshold = a.number_input("on: value >", value=0.3, step=0.05, key=f"{key}_threshold")
        min_length = b.number_input("min length", 1, 10_000, 3, key=f"{key}_min_length")
        k_match = c.number_input("how many", 1, 1_000, 20, key=f"{key}_k_match")
        max_others = d.number_input("max others (-1: any)", -1, 10_000, -1, key=f"{key}_max_others")
        if st.button("Find", key=f"{key}_find"):
            try:
                found = corpus.match(parse_units(units), threshold, int(min_length), int(k_match),
                                     None if max_others < 0 else int(max_others))  # fmt: skip
            except CorpusError as err:
                st.error(str(err))
            else:
                st.caption(f"{found.attrs['total']:,} spans; the {len(found)} with the fewest other units on")
                st.dataframe(_shown(found, "start"), hide_index=True, width="stretch")
    with stats_tab:
        try:
            stats = corpus.unit_stats()
        except CorpusError as err:
            st.error(str(err))
        else:
            columns = ["name", "unit", "mean", "std", "min", "max", "frac_low", "frac_high"]
            st.dataframe(stats[columns], hide_index=True, width="stretch")


def _shown(frame: pd.DataFrame, position: str) -> pd.DataFrame:
    """The frame as the page shows it: contexts on one line with the step or span in ⟦ ⟧."""
    shown = frame.drop(columns=["file_id"]).copy()
    lengths = frame["length"] if "length" in frame else pd.Series(1, index=frame.index)
    shown["context"] = [marked(c, s, n) for c, s, n in zip(frame["context"], frame[position], lengths, strict=True)]
    return shown
