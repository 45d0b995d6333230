"""What a demanding first-time user found, checked without a browser where that is cheaper: the app's config, saves
kept per session with the operator's caps, the sidebar picker only where it works, the pure figures (colour bars,
titles, m explained, the RNN chart's budget) and the right words. The browser replays are in
tests/e2e/test_first_time_user.py.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from lstm_viz.app.saves import (
    SaveError,
    SessionSaves,
    check_server_room,
    checkpoint_stem,
    corpus_folder,
    server_save_dir,
)
from lstm_viz.core import reference as ref
from lstm_viz.core.lstm import RecordingLSTM
from lstm_viz.viz.gates import gate_heatmaps
from lstm_viz.viz.traces import unit_traces

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")


# ---- 1. the app's Streamlit config -------------------------------------------------------------------------------
def test_config_hides_tracebacks_and_the_deploy_button():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["client"]["showErrorDetails"] == "none"
    assert config["client"]["toolbarMode"] == "minimal"


def test_apptest_still_sees_an_unexpected_error(tmp_path):
    """With showErrorDetails = "none" a visitor sees a generic box; AppTest's ``exception`` still lists it."""
    script = tmp_path / "boom.py"
    script.write_text('import streamlit as st\nst.title("boom")\nint("9" * 10_000)\n')
    at = AppTest.from_file(str(script)).run()
    assert at.exception, "an unexpected error must never go unnoticed by the tests"


# ---- 3. saves ----------------------------------------------------------------------------------------------------
def test_session_saves_are_capped_and_say_what_they_dropped():
    saves = SessionSaves(max_models=2, max_bytes=100)
    first, dropped = saves.add("toy-e1", b"x" * 10, "one")
    assert first.name == "trained-toy-e1.pt" and dropped == []
    assert saves.add("toy-e1", b"y" * 10, "two")[0].name == "trained-toy-e1-2.pt"  # never over another
    _, dropped = saves.add("toy-e3", b"z" * 10, "three")
    assert dropped == ["trained-toy-e1.pt"] and saves.names() == ["trained-toy-e1-2.pt", "trained-toy-e3.pt"]
    _, dropped = saves.add("big", b"w" * 95, "big")  # room by size too
    assert saves.names() == ["trained-big.pt"]
    with pytest.raises(SaveError, match="Download"):
        saves.add("huge", b"v" * 101, "huge")
    with pytest.raises(SaveError, match="none of the characters file names here are made of"):
        checkpoint_stem("../..")
    # accents are dropped, not their letters; a bare "trained" is not prefixed twice
    assert checkpoint_stem("résumé-été") == "trained-resume-ete" and checkpoint_stem("Modèle final") == (
        "trained-modele-final")  # fmt: skip
    assert checkpoint_stem("trained") == "trained" and checkpoint_stem("Trained.pt") == "trained"


def test_visitors_open_corpora_only_in_the_apps_folder_or_the_operators(tmp_path):
    assert corpus_folder("corpus", {}) == ROOT / "corpus"  # relative to the repository, as LSTM_VIZ_SAVE_DIR
    assert corpus_folder(str(ROOT / "corpus" / "x"), {}) == ROOT / "corpus" / "x"
    for outside in (str(tmp_path), "/etc", "../..", "corpus/../../elsewhere", "~"):
        with pytest.raises(ValueError, match="outside the folders this app reads corpora from"):
            corpus_folder(outside, {})
    env = {"LSTM_VIZ_CORPUS": str(tmp_path / "corpora")}
    assert corpus_folder(str(tmp_path / "corpora" / "stdlib"), env) == (tmp_path / "corpora" / "stdlib").resolve()
    with pytest.raises(ValueError, match="LSTM_VIZ_CORPUS's"):
        corpus_folder(str(tmp_path / "other"), env)
    (tmp_path / "corpora").mkdir()
    (tmp_path / "corpora" / "link").symlink_to("/etc")  # a link out of an allowed folder does not lead out
    with pytest.raises(ValueError, match="outside"):
        corpus_folder(str(tmp_path / "corpora" / "link"), env)


def test_server_saves_are_off_unless_the_operator_sets_a_folder(tmp_path):
    assert server_save_dir({}) is None and server_save_dir({"LSTM_VIZ_SAVE_DIR": "  "}) is None
    assert server_save_dir({"LSTM_VIZ_SAVE_DIR": "models"}) == ROOT / "models"
    assert server_save_dir({"LSTM_VIZ_SAVE_DIR": str(tmp_path)}) == tmp_path
    env = {"LSTM_VIZ_SAVE_MAX_FILES": "2", "LSTM_VIZ_SAVE_MAX_MB": "0.001"}
    check_server_room(tmp_path, 500, env)
    with pytest.raises(SaveError, match="LSTM_VIZ_SAVE_MAX_MB"):
        check_server_room(tmp_path, 2000, env)
    for n in range(2):
        (tmp_path / f"trained-{n}.pt").write_bytes(b"x")
    (tmp_path / "shipped.pt").write_bytes(b"x")  # only visitors' files count
    with pytest.raises(SaveError, match="LSTM_VIZ_SAVE_MAX_FILES"):
        check_server_room(tmp_path, 1, env)


# ---- 12. the sidebar picker only on pages that use it ------------------------------------------------------------
@pytest.mark.parametrize(
    "page, picker",
    [("pages/home.py", False), ("pages/explorer.py", True), ("pages/cell_step.py", True),
     ("pages/train_toy.py", False), ("pages/gradient_flow.py", False)],
)  # fmt: skip
def test_the_model_picker_shows_only_where_it_does_something(page, picker):
    at = AppTest.from_file(APP, default_timeout=180).run()
    at.switch_page(page).run()
    assert not at.exception
    sources = [r for r in at.sidebar.radio if r.key == "picker_source"]
    assert bool(sources) == picker


def test_picker_choices_survive_a_page_without_the_picker():
    at = AppTest.from_file(APP, default_timeout=180).run()
    at.switch_page("pages/explorer.py").run()
    at.sidebar.radio(key="picker_source").set_value("random").run()
    at.sidebar.text_input(key="picker_hidden").input("12").run()
    at.switch_page("pages/home.py").run()
    at.switch_page("pages/explorer.py").run()
    assert at.sidebar.radio(key="picker_source").value == "random"
    assert at.sidebar.text_input(key="picker_hidden").value == "12"


@pytest.mark.parametrize(
    "key, text, fragment",
    [("picker_hidden", "", "empty"), ("picker_hidden", "0", "at least 1"), ("picker_seed", "-1", "at least 0"),
     ("picker_layers", "9" * 10_000, "far too large")],
    ids=lambda v: v[:12] + "…" if isinstance(v, str) and len(v) > 12 else None,
)  # fmt: skip
def test_random_model_boxes_refuse_and_keep_the_previous_model(key, text, fragment):
    at = AppTest.from_file(APP, default_timeout=180).run()
    at.switch_page("pages/explorer.py").run()
    at.sidebar.radio(key="picker_source").set_value("random").run()
    shown = at.session_state["lstm_viz.model"]
    assert any(c.value.startswith("An untrained model: random weights") for c in at.main.caption)
    at.sidebar.text_input(key=key).input(text).run()
    assert not at.exception
    assert any(fragment in e.value and "Still showing the previous model" in e.value for e in at.sidebar.error)
    assert at.session_state["lstm_viz.model"] is shown


# ---- 7. the right words ------------------------------------------------------------------------------------------
def test_rnn_caption_says_only_what_happened():
    from lstm_viz.cell_step.ui import rnn_caption

    f64 = ref.rnncell_vs_rnn(dtype=torch.float64)
    assert f64.allclose and "fails" not in rnn_caption(f64) and "float32" not in rnn_caption(f64)
    f32 = ref.rnncell_vs_rnn(dtype=torch.float32)
    assert f"says **{f32.allclose}**" in rnn_caption(f32)
    assert ("and yet the two agree" in rnn_caption(f32)) == (not f32.allclose)


# ---- 9. figures ----------------------------------------------------------------------------------------------------
def _recording(hidden=1, layers=1, bidirectional=False, proj=0, steps=4, inputs=1):
    torch.manual_seed(0)
    lstm = RecordingLSTM(inputs, hidden, num_layers=layers, bidirectional=bidirectional, proj_size=proj,
                         batch_first=True)  # fmt: skip
    return lstm.record(torch.randn(1, steps, inputs))


def test_one_unit_colour_bars_have_three_ticks():
    fig = gate_heatmaps(_recording(hidden=1))
    for n in range(1, 7):
        bar = fig.layout[f"coloraxis{n if n > 1 else ''}"].colorbar
        assert bar.tickvals is not None and len(bar.tickvals) <= 3 and bar.tickfont.size == 10


def test_several_columns_get_short_titles():
    fig = gate_heatmaps(_recording(hidden=8, layers=2, bidirectional=True), panels=None)
    four = gate_heatmaps(_recording(hidden=8, layers=2, bidirectional=True),
                         panels=[(0, "fwd"), (0, "bwd"), (1, "fwd"), (1, "bwd")])  # fmt: skip
    titles = [a.text for a in four.layout.annotations]
    assert len(titles) == 24 and max(len(t) for t in titles) <= 25, titles  # "g candidate · layer 1 bwd"
    assert "cell state (long memory)" in " ".join(a.text for a in fig.layout.annotations)  # one column: full


def test_lstmp_unit_traces_show_m_once_explained_and_no_h():
    fig = unit_traces(_recording(hidden=6, proj=2, inputs=3), [0, 3, 5])
    legend = [t.name for t in fig.data if t.showlegend]
    assert legend.count("m = o·tanh(c)") == 1 and "h" not in legend and "m" not in legend
    assert "before the projection" in fig.layout.title.subtitle.text
    plain = unit_traces(_recording(hidden=6, inputs=3), [0, 3])
    assert [t.name for t in plain.data if t.showlegend][:6] == ["f", "i", "g", "o", "c", "h"]


def test_empty_training_charts_have_no_invented_axes():
    from lstm_viz.live.figures import loss_accuracy_figure, toy_panels_figure

    for fig in (toy_panels_figure([]), loss_accuracy_figure([])):
        axes = [fig.layout[k] for k in fig.layout if k.startswith(("xaxis", "yaxis"))]
        assert axes and all(a.visible is False for a in axes)
        assert any("press Start" in a.text for a in fig.layout.annotations)


def test_subtraction_answer_legend_sits_below_the_axis():
    from lstm_viz.tasks import SUBTRACTION, ModelConfig, build_model
    from lstm_viz.viz.answer import answer_figure, model_answer

    model = build_model(ModelConfig.default("subtraction"))
    fig = answer_figure(model_answer(model, SUBTRACTION.parse("123 - 61", model.config)))
    legend, margin = fig.layout.legend, fig.layout.margin
    # at the chart's bottom edge, in the margin under the axis title (placed in pixels, so a short plot cannot put it
    # on the title), never at the top where it covered the subtitle
    assert legend.yref == "container" and legend.y == 0 and legend.yanchor == "bottom" and margin.b >= 90


# ---- 10. the RNN chart's budget ----------------------------------------------------------------------------------
def test_rnn_chart_bins_1000_steps_into_at_most_60_bars_keeping_the_worst():
    from lstm_viz.cell_step.figures import MAX_BARS, rnn_unroll_figure

    run = ref.rnncell_vs_rnn(steps=1000)
    fig = rnn_unroll_figure(run)
    bars = np.asarray(fig.data[0].y, dtype=float)
    assert len(bars) <= MAX_BARS and fig.data[0].text is None and "bins of" in fig.layout.title.subtitle.text
    worst = run.step_diff.max()
    assert worst == 0 or np.nanmax(bars) == pytest.approx(worst)
    small = rnn_unroll_figure(ref.rnncell_vs_rnn(steps=6))
    assert len(small.data[0].x) == 6 and small.data[0].text is not None


def test_home_says_what_the_numbered_posts_are():
    """Pages say "post 3" and "post 4": Home lists the five posts, so a learner who never read them is not lost."""
    from lstm_viz.tasks.posts import POSTS

    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    listed = next(e for e in at.expander if "five tutorials" in e.label).markdown[0].value
    assert all(f"**post {n}**" in listed for n in POSTS) and "subtraction" in listed
