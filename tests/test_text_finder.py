"""The cell finder and the text figures: planted cells are found (a bracket counter by |r|, a quote flip-flop by
AUROC and by marks), the fast scorer equals the research scorer, marks and ranges, top contexts across validation
files, and the figures' layout."""

from __future__ import annotations

import itertools
import time

import numpy as np
import pandas as pd
import pytest
import torch

from lstm_viz.parsing import InputError
from lstm_viz.tasks.charlm.data import encode, label_text
from lstm_viz.tasks.charlm.scoring import UnitScorer, exact_auroc, pearson
from lstm_viz.tasks.charlm.stdlib import read_validation_file
from lstm_viz.text.figures import coloured_text, contexts_figure, layout_text, units_figure, value_range
from lstm_viz.text.finder import (
    FEATURE_NOTES,
    FEATURE_WORDS,
    FEATURES,
    exact_best,
    marks_from_ranges,
    marks_from_regex,
    rank_by_marks,
    rank_ids,
    rank_recording,
    scan_validation,
    text_labels,
    top_contexts,
    unit_values,
)
from lstm_viz.text.scorer import FastScorer, TopPlaces
from tests.planted import BRACKETS, QUOTES, SNIPPET, planted_model


@pytest.fixture(scope="module")
def planted():
    model = planted_model()
    rec = model.record(torch.from_numpy(encode(SNIPPET)).unsqueeze(0))
    return model, rec, label_text(SNIPPET)


def test_the_planted_cells_behave_as_designed(planted):
    _, rec, labels = planted
    c = rec["layer0.fwd.c"][0]
    assert pearson(c[:, BRACKETS], labels["bracket_depth"]) > 0.999
    assert exact_auroc(c[:, QUOTES], labels["in_string"]) == 1.0


def test_the_finder_recovers_the_planted_cells(planted):
    _, rec, labels = planted
    ranking = rank_recording(rec, labels)
    assert len(ranking.table) == 2 * 6 * 16  # every unit of every layer and tensor (f, i, g, o, c, h)
    best = ranking.best("bracket_depth", 3)
    assert (best.iloc[0]["name"], best.iloc[0]["unit"]) == ("layer0.fwd.c", BRACKETS)
    assert best.iloc[0]["score"] > 0.999 and best.iloc[0]["sign"] == 1
    strings = ranking.best("in_string", 5)
    assert ("layer0.fwd.c", QUOTES) in set(zip(strings["name"], strings["unit"], strict=True))
    assert strings.iloc[0]["score"] == pytest.approx(1.0)
    for row in ranking.best("in_comment", 10).itertuples():  # the AUROC shown at the top is exact, not binned
        exact = exact_auroc(rec[row.name][0, :, row.unit], labels["in_comment"])
        assert row.value == exact and row.score == max(exact, 1 - exact)


def test_marks_find_the_quote_cell_by_f1(planted):
    _, rec, labels = planted
    table = rank_by_marks(rec, labels["in_string"], threshold=0.5, polarity="high")
    top = table.iloc[0]
    assert (top["name"], top["unit"]) in {("layer0.fwd.c", QUOTES), ("layer0.fwd.h", QUOTES)}
    assert top["f1"] == pytest.approx(1.0) and top["jaccard"] == pytest.approx(1.0)
    regex = marks_from_regex(SNIPPET, r'"[^"\n]*"')  # whole strings: the closing quotes are marked too
    assert regex.sum() == labels["in_string"].sum() + 4  # four strings
    by_regex = rank_by_marks(rec, regex, threshold=0.5)
    assert by_regex.iloc[0]["unit"] == QUOTES and by_regex.iloc[0]["f1"] == pytest.approx(2 * 14 / (14 + 18))
    after = np.arange(len(SNIPPET)) > SNIPPET.index('"', SNIPPET.index('"') + 1)  # after the first string
    low = rank_by_marks(rec, ~labels["in_string"] & after, threshold=0.5, polarity="either")
    assert low.iloc[0]["polarity"] == "low" and low.iloc[0]["unit"] == QUOTES


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")
def test_the_finder_takes_a_recording_on_the_gpu(planted):
    """A library user's recording may stay on the GPU: the same tables as from the CPU copy."""
    _, rec, labels = planted
    on_gpu = rec.to("cuda")
    pd.testing.assert_frame_equal(rank_by_marks(on_gpu, labels["in_string"]), rank_by_marks(rec, labels["in_string"]))
    pd.testing.assert_frame_equal(rank_recording(on_gpu, labels).table, rank_recording(rec, labels).table)


def test_streamed_ranking_exact_rescoring_and_unit_values(planted):
    model, rec, labels = planted
    ids = encode(SNIPPET)
    streamed = rank_ids(model, ids, labels, chunk=37)  # chunks with the state carried: one pass
    direct = rank_recording(rec, labels)
    for feature, tolerance in (("bracket_depth", 2e-4), ("column", 2e-4), ("in_string", 0.03)):
        a = streamed.table[feature].to_numpy()  # r: exact; AUROC: binned by the first (tiny) chunk's range
        b = direct.table[feature].to_numpy()
        np.testing.assert_allclose(a, b, atol=tolerance, equal_nan=True)
    units = [("layer0.fwd.c", BRACKETS), ("layer1.fwd.h", 2)]
    values = unit_values(model, ids, units, chunk=50)
    np.testing.assert_allclose(values[:, 0], rec["layer0.fwd.c"][0, :, BRACKETS].numpy(), atol=1e-5)
    exact = exact_best(streamed, values, units, labels["bracket_depth"], "bracket_depth")
    assert exact.iloc[0]["unit"] == BRACKETS and exact.iloc[0]["score"] == pytest.approx(1.0, abs=1e-4)


def test_the_fast_scorer_gives_the_research_scorers_numbers():
    rng = np.random.default_rng(0)
    n, units = 20_000, 5
    a, b = rng.random(n) < 0.3, rng.random(n) < 0.05
    col = rng.integers(0, 80, n)
    x = rng.normal(size=(n, units)).astype(np.float32)
    x[:, 0] += 1.5 * a
    x[:, 1] -= 2 * b
    x[:, 2] = 0.05 * col + rng.normal(size=n) + 40
    research, fast = UnitScorer(["a", "b"], ["col"]), FastScorer(["a", "b"], ["col"])
    for start in range(0, n, 6_000):
        part = slice(start, start + 6_000)
        labels = {"a": a[part], "b": b[part], "col": col[part]}
        research.update("layer0.fwd.c", torch.from_numpy(x[part]), labels)
        fast.begin(labels)
        fast.update("layer0.fwd.c", torch.from_numpy(x[part]))
    r, f = research.table(), fast.table()
    for feature in ("a", "b", "col"):
        np.testing.assert_allclose(f[feature].to_numpy(), r[feature].to_numpy(), atol=1e-6)
    for u in range(units):
        assert f.loc[u, "a"] == pytest.approx(exact_auroc(x[:, u], a), abs=0.01)
        assert f.loc[u, "col"] == pytest.approx(pearson(x[:, u], col), abs=1e-5)


@pytest.mark.parametrize("name, squash", [("layer0.fwd.f", torch.sigmoid), ("layer1.bwd.g", torch.tanh)])
def test_a_gate_whose_classes_differ_deep_in_saturation_is_not_one_tie(name, squash):
    """A gate inside strings at 0.9999 and outside at 0.999 lies in one of 256 bins between its 0 and 1: binned as
    they are, the two classes tie and the AUROC reads about 0.6 for an exact 0.98. Binned on the pre-activation's
    scale (a monotone map) the scorers stay within 0.003 of the exact AUROC."""
    rng = np.random.default_rng(1)
    n = 30_000
    inside = rng.random(n) < 0.3
    pre = np.where(inside, 9.0, 7.0) + 0.4 * rng.normal(size=n)
    spread = rng.random(n) < 0.1  # a tenth of the steps anywhere on the gate's range: the bins span all of it
    pre[spread] = rng.normal(scale=4.0, size=spread.sum())
    x = squash(torch.from_numpy(pre).float())[:, None]
    exact = exact_auroc(x[:, 0].numpy(), inside)
    research, fast = UnitScorer(["a"], []), FastScorer(["a"], [])
    for start in range(0, n, 10_000):
        part = slice(start, start + 10_000)
        research.update(name, x[part], {"a": inside[part]})
        fast.begin({"a": inside[part]})
        fast.update(name, x[part])
    assert exact > 0.9
    assert fast.table().loc[0, "a"] == pytest.approx(exact, abs=0.003)
    assert research.table().loc[0, "a"] == pytest.approx(exact, abs=0.003)


@pytest.mark.parametrize("chunks", [1, 3])
def test_a_unit_with_a_nan_value_scores_nan_and_the_others_are_untouched(chunks):
    """A NaN (a checkpoint gone bad, a padded batch) made the bin index negative and bincount raise; now that unit
    reads NaN — it has no AUROC or r — and is left out of the ranking, in both scorers."""
    rng = np.random.default_rng(2)
    n = 6_000
    a = rng.random(n) < 0.4
    col = rng.integers(0, 50, n)
    x = rng.normal(size=(n, 3)).astype(np.float32)
    x[:, 0] += 2 * a
    x[:, 2] += 0.1 * col
    x[n - 7, 1] = np.nan  # in the last chunk only
    research, fast = UnitScorer(["a"], ["col"]), FastScorer(["a"], ["col"])
    for part in np.array_split(np.arange(n), chunks):
        labels = {"a": a[part], "col": col[part]}
        research.update("layer0.fwd.c", torch.from_numpy(x[part]), labels)
        fast.begin(labels)
        fast.update("layer0.fwd.c", torch.from_numpy(x[part]))
    for table in (research.table(), fast.table()):
        assert np.isnan(table.loc[1, "a"]) and np.isnan(table.loc[1, "col"])
        assert table.loc[0, "a"] == pytest.approx(exact_auroc(x[:, 0], a), abs=0.003)
        assert table.loc[2, "col"] == pytest.approx(pearson(x[:, 2], col), abs=1e-5)
    nan_only = FastScorer(["a"], [])  # no numeric feature: the NaN is found without the moments
    nan_only.begin({"a": a})
    nan_only.update("layer0.fwd.c", torch.from_numpy(x))
    assert np.isnan(nan_only.table().loc[1, "a"]) and not np.isnan(nan_only.table().loc[0, "a"])


def test_a_window_with_a_nan_value_is_no_top_place():
    """topk ranks NaN above every number, so a unit's NaN window came first among its top (and bottom) contexts."""
    tracker = TopPlaces(k=3, window=5)
    values = torch.arange(100, dtype=torch.float32).reshape(50, 1, 2) % 17
    values[12, 0, 1] = float("nan")
    tracker.update("layer0.fwd.c", values, np.arange(50)[:, None])
    for low in (False, True):
        places = tracker.places("layer0.fwd.c", 1, low=low)
        assert all(np.isfinite(v) for _, v in places) and 10 not in [p for p, _ in places], places


def test_ranking_a_recording_with_nan_values_ranks_the_other_units():
    model = planted_model()
    rec = model.record(torch.as_tensor(encode(SNIPPET))[None])
    rec["layer0.fwd.c"][0, 5, QUOTES] = float("nan")  # one value of the planted quote unit
    ranking = rank_recording(rec, label_text(SNIPPET))
    best = ranking.best("in_string", 500)
    assert ("layer0.fwd.c", QUOTES) not in set(zip(best["name"], best["unit"], strict=True))
    assert len(best) > 0 and np.isfinite(best["score"]).all()


@pytest.mark.parametrize("pattern, fragment", [("", "empty"), ("(", "does not compile"), ("zzz", "matches nothing"),
                                              ("z" * 3000, r"'zzzz+'… \(3,000 characters\) matches nothing")])
def test_bad_regular_expressions(pattern, fragment):
    """(a 3,000-character pattern was echoed in full)"""
    with pytest.raises(InputError, match=fragment) as caught:
        marks_from_regex("abc", pattern)
    assert len(str(caught.value)) < 300


def test_a_regular_expression_that_runs_exponentially_long_is_stopped(monkeypatch):
    """A user's pattern runs in the server's thread: one that backtracks exponentially (it took 42 s, and the health
    check 21 s, with re on 29 characters; 40 would be a day) is stopped at the limit with a message."""
    from lstm_viz.text import finder

    monkeypatch.setattr(finder, "REGEX_SECONDS", 0.2)
    started = time.perf_counter()
    with pytest.raises(InputError, match=r"took over 0.2 s on this text and was stopped.*simplify"):
        marks_from_regex("x" * 3000, r"(x+x+)+y")
    assert time.perf_counter() - started < 5
    assert marks_from_regex("s = 1\n" + "a" * 40 + "!", r"(a+)+!").sum() == 41  # re's syntax, no time limit hit


def test_ranges():
    marks = marks_from_ranges("1-3, 7", 10)
    assert marks.nonzero()[0].tolist() == [1, 2, 3, 7]
    for spec, fragment in (("", "no range"), ("a-b", "not a range"), ("5-2", "reversed"), ("3-10", "outside")):
        with pytest.raises(InputError, match=fragment):
            marks_from_ranges(spec, 10)


def test_text_that_is_not_python_has_no_features():
    with pytest.raises(InputError, match="does not tokenize"):
        text_labels('x = "unclosed\n')


def test_top_contexts_across_validation_files(planted):
    model, _, _ = planted
    scan = scan_validation(model, 20_000, streams=10, chunk=100, top_k=30)
    assert scan.ranking is not None and scan.ranking.chars == 20_000
    assert "validation files" in scan.describe()
    found = top_contexts(scan, "layer0.fwd.c", BRACKETS, k=5, width=30)
    assert len(found) == 5
    depths = [ctx.value for ctx in found]
    assert depths == sorted(depths, reverse=True)  # the deepest brackets first
    for ctx in found:
        centre = ctx.position - ctx.start
        assert ctx.values[centre] == pytest.approx(ctx.value)
        assert ctx.text == scan.text[ctx.start : ctx.start + len(ctx.text)] and ".py, line" in ctx.where
        rel, line = ctx.where.rsplit(", line ", 1)  # the line of the file the place is on
        piece_start = next(start for path, start, end in scan.spans if path == rel and start <= ctx.position < end)
        line_start = max(piece_start, scan.text.rfind("\n", 0, ctx.position) + 1)
        file_line = read_validation_file(rel).splitlines()[int(line) - 1]
        assert file_line.startswith(scan.text[line_start : ctx.position + 1])
    positions = sorted(c.position for c in found)
    assert all(b - a > 30 for a, b in itertools.pairwise(positions))  # distinct places
    low = top_contexts(scan, "layer0.fwd.c", BRACKETS, k=3, low=True)
    assert low[0].value <= found[-1].value
    with pytest.raises(InputError, match="was not scanned"):
        top_contexts(scan, "layer7.fwd.c", 0)


def test_the_coloured_text_figure_is_the_text():
    text = "ab\n" + "x" * 130 + "\nend"
    lay = layout_text(text, wrap=100)
    assert lay.rows == 4 and lay.continued.tolist() == [False, False, True, False]
    values = np.linspace(-2, 2, len(text))
    top_chars = np.array([["a", "b", "c", "d", "e"]] * len(text), dtype=object)
    probs = np.full((len(text), 5), 0.2)
    fig = coloured_text(text, values, tensor="c", title="t", top_chars=top_chars, top_probs=probs)
    heat = fig.data[0]
    assert list(heat.text[0][:3]) == ["a", "b", "⏎"] and heat.text[2][29] == "x" and heat.zmin == -2 and heat.zmax == 2
    assert np.isnan(heat.z[0][5]) and "next: 'a' 20%" in heat.hovertext[0][0]
    assert list(fig.layout.yaxis.ticktext) == ["1", "2", "↪", "3"]
    gate = coloured_text(text, np.full(len(text), 0.3), tensor="f", title="f", lines=(1, 2), marks=np.ones(len(text)))
    assert gate.data[0].zmin == 0 and gate.data[0].zmax == 1 and "rows 2–3 of 4" in gate.layout.title.subtitle.text
    assert len(gate.data) == 2  # the marks
    assert value_range("h", np.array([3.0]), bounded=False) == (-3.0, 3.0)
    with pytest.raises(ValueError, match="values for"):
        coloured_text("abc", np.zeros(2), tensor="c", title="x")


def test_units_and_contexts_figures(planted):
    _, rec, labels = planted
    best = rank_recording(rec, labels).best("in_string", 10)
    fig = units_figure(best, "score", "in_string", metric="auroc")
    # the axis names the score and marks chance (a bare "score" from 0 to 1 made 0.75 look strong)
    assert fig.layout.yaxis.title.text == "AUROC, the better direction" and fig.layout.shapes[0].y0 == 0.5
    assert fig.layout.annotations[0].text == "chance" and fig.layout.annotations[0].y == 0.5
    assert units_figure(best, "score", "x", metric=None).layout.yaxis.title.text == "std over t"
    assert list(fig.data[0].customdata[0]) == [best.iloc[0]["name"], best.iloc[0]["unit"]]
    from lstm_viz.text.finder import Context

    ctx = [Context(5, 1.0, 2, "abcdef", np.arange(6.0), "x.py, line 1")]
    cf = contexts_figure(ctx, tensor="c", title="c")
    assert cf.layout.shapes[0].x0 == 2.5 and "x.py, line 1" in cf.layout.yaxis.ticktext[0]
    # the app's contexts (CONTEXT_WIDTH a side) with a long file name fit the page at 1,280 px (820 px wide): wider,
    # Streamlit narrows the chart and the letters overlap
    from lstm_viz.text.ui import CONTEXT_WIDTH

    n = 2 * CONTEXT_WIDTH + 1
    long = [Context(1000, 13.25, 1000 - CONTEXT_WIDTH, "x" * n, np.zeros(n), "unittest/mock.py, line 1234")]
    assert contexts_figure(long, tensor="c", title="c").layout.width <= 820


@pytest.mark.parametrize("T", [120, 100, 7, 26])
def test_top_places_finds_the_extremes_in_chunks_that_are_not_whole_windows(T):
    # a 120-character chunk is 4.8 windows of 25: each window keeps its own extreme (the last, shorter one too),
    # never one window the length of the chunk whose peak lies past the first 25 characters
    from lstm_viz.text.scorer import TopPlaces

    gen = torch.Generator().manual_seed(T)
    values = torch.randn(T, 3, 2, generator=gen)
    positions = np.arange(3 * T).reshape(3, T).T  # (T, B): three streams, one after another
    places = TopPlaces(k=4, window=25)
    places.update("c", values, positions)
    flat = values.permute(1, 0, 2).reshape(-1, 2)  # by position
    for unit in range(2):
        for low in (False, True):
            found = places.places("c", unit, low=low)
            best = flat[:, unit].min() if low else flat[:, unit].max()
            assert found[0][1] == pytest.approx(float(best), abs=1e-2)  # float16 kept
            for start, value in found:
                window = flat[start : min(start + 25, (start // T + 1) * T), unit]  # within its stream's chunk
                assert value == pytest.approx(float(window.min() if low else window.max()), abs=1e-2)


def test_every_feature_has_its_words_and_the_notes_name_features():
    """The app shows FEATURE_WORDS beside every feature and a note under some: a feature added to the labels needs
    its words, and a note's key must be a feature (a misspelt one would never show)."""
    assert set(FEATURE_WORDS) == set(FEATURES)
    assert set(FEATURE_NOTES) <= set(FEATURES) and "in_long_string" in FEATURES
