"""Figure builders of the training pages, as pure functions: traces, titles and values at known points."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest
import torch

from lstm_viz.core.lstm import RecordingLSTM
from lstm_viz.live.figures import (
    COMPANY_INPUTS,
    absolute_error_figure,
    gate_saturation,
    loss_accuracy_figure,
    saturation_over_epochs_figure,
    statquest_weights_figure,
    subtraction_live_figures,
    toy_gate_figure,
    toy_live_figures,
    toy_panels_figure,
)
from lstm_viz.viz.history import MAX_POINTS, history_frame, thin, thin_each


def toy_history(n: int) -> list[dict]:
    return [
        {"epoch": e, "loss": 1.0 / e, "lr": 0.1, "seconds": 0.001, "out_0": 0.5 / e, "out_1": 1 - 0.5 / e}
        for e in range(1, n + 1)
    ]


def subtraction_history(n: int) -> list[dict]:
    return [
        {
            "epoch": e,
            "loss": 0.7 / e,
            "test_loss": 0.8 / e,
            "train_bit_acc": 1 - 0.5 / e,
            "test_bit_acc": 1 - 0.6 / e,
            "train_exact_match": 1 - 1 / e,
            "test_exact_match": 1 - 1.2 / e if e > 1 else 0.0,
        }
        for e in range(1, n + 1)
    ]


def toy_recording():
    torch.manual_seed(0)
    lstm = RecordingLSTM(1, 1, batch_first=True)
    x = torch.tensor(COMPANY_INPUTS).unsqueeze(-1)  # (2, 4, 1)
    return lstm.record(x)


def test_history_frame_and_thin_keep_first_and_last():
    frame = history_frame(toy_history(5000))
    assert len(frame) == 5000 and list(frame["epoch"][:2]) == [1, 2]
    small = thin(frame)
    assert len(small) <= MAX_POINTS and small["epoch"].iloc[0] == 1 and small["epoch"].iloc[-1] == 5000
    assert thin(frame.head(10)).equals(frame.head(10))
    # non-scalar entries (e.g. nested dicts) are dropped, a missing epoch column is numbered from 1
    assert list(history_frame([{"loss": 1.0, "extra": {"a": 1}}]).columns) == ["loss", "epoch"]


def test_toy_panels_show_loss_out0_out1_with_targets():
    fig = toy_panels_figure(toy_history(3000))
    assert isinstance(fig, go.Figure)
    names = [t.name for t in fig.data]
    assert names == ["train_loss", "out_0", "out_1"]
    assert len(fig.data[0].x) <= MAX_POINTS and fig.data[0].x[-1] == 3000
    assert fig.data[1].y[-1] == pytest.approx(0.5 / 3000)
    assert fig.layout.yaxis.type == "log"
    targets = sorted(shape.y0 for shape in fig.layout.shapes)
    assert targets == [0.0, 1.0]  # the dashed target lines of out_0 and out_1
    assert "epoch 3,000" in fig.layout.title.subtitle.text
    assert "train_loss" in fig.layout.annotations[0].text


def test_toy_panels_empty_history_says_press_start():
    fig = toy_panels_figure([])
    assert len(fig.data) == 0 and "press Start" in fig.layout.title.subtitle.text


def test_loss_accuracy_has_train_and_test_curves():
    fig = loss_accuracy_figure(subtraction_history(40))
    names = [t.name for t in fig.data]
    assert names == [
        "train loss",
        "test loss",
        "train bit accuracy",
        "test bit accuracy",
        "train exact match",
        "test exact match",
    ]
    test_exact = fig.data[5]
    assert test_exact.line.dash == "dot" and test_exact.y[-1] == pytest.approx(1 - 1.2 / 40)
    assert "test exact match 97.00%" in fig.layout.title.subtitle.text
    assert fig.layout.yaxis2.tickformat == ".0%"


def test_loss_accuracy_says_since_when_the_test_answers_are_all_right():
    """Post 4's model is at 100 % from epoch 3 of 100: the climb is a sliver at the panel's left edge, so the
    subtitle says when it ended (and nothing while it has not, or only at the last epoch)."""
    rows = subtraction_history(100)
    for row in rows:
        row["test_exact_match"] = 1.0 if row["epoch"] >= 3 else 0.4
    assert "100% since epoch 3" in loss_accuracy_figure(rows).layout.title.subtitle.text
    rows[50]["test_exact_match"] = 0.99  # a dip: since the epoch after it
    assert "100% since epoch 52" in loss_accuracy_figure(rows).layout.title.subtitle.text
    assert "since" not in loss_accuracy_figure(rows[:3]).layout.title.subtitle.text  # reached at the last epoch
    assert "since" not in loss_accuracy_figure(subtraction_history(40)).layout.title.subtitle.text
    # past the 500 points drawn: read off every epoch, not the thinned curve (a dip at 1,100 of 1,200 was unseen)
    rows = subtraction_history(1200)
    for row in rows:
        row["test_exact_match"] = 1.0
    rows[1099]["test_exact_match"] = 0.99
    assert "100% since epoch 1,101" in loss_accuracy_figure(rows).layout.title.subtitle.text


def test_loss_accuracy_uses_train_loss_when_named_so():
    rows = [{"epoch": 1, "train_loss": 0.5}, {"epoch": 2, "train_loss": 0.25}]
    fig = loss_accuracy_figure(rows)
    assert [t.name for t in fig.data] == ["train loss"] and list(fig.data[0].y) == [0.5, 0.25]


def test_absolute_error_and_rmse_like_post_4():
    truth = np.array([10, 20, 30, 40])
    predicted = np.array([10, 22, 30, 40])
    fig = absolute_error_figure(truth, predicted)
    assert list(fig.data[0].y) == [0, 2, 0, 0]
    assert f"RMSE {math.sqrt(4 / 4):.4f}" in fig.layout.title.text
    assert "1 wrong" in fig.layout.title.subtitle.text
    perfect = absolute_error_figure(truth, truth)
    assert "RMSE 0.0000" in perfect.layout.title.text
    assert perfect.layout.title.subtitle.text.startswith("all 4 test answers right")  # a flat 0 line, said in words
    with pytest.raises(ValueError, match="differ in length"):
        absolute_error_figure([1, 2], [1])
    # redrawn every few seconds beside curves that move each tick: it says which model it shows, refreshed too
    at = absolute_error_figure(truth, predicted, epoch=2)
    assert at.layout.title.text.endswith("(epoch 2)")
    assert absolute_error_figure(truth, truth, into=at, epoch=3).layout.title.text.endswith("(epoch 3)")


def test_toy_gate_figure_draws_each_quantity_for_both_companies():
    rec = toy_recording()
    fig = toy_gate_figure(rec)
    assert len(fig.data) == 12  # f, i, g, o, c, h × Company A, B
    titles = [a.text for a in fig.layout.annotations]
    assert titles[0].startswith("f") and titles[5].startswith("h")
    f_a = fig.data[0]
    assert f_a.name == "Company A" and list(f_a.x) == [0, 1, 2, 3]  # t from 0, as every page
    np.testing.assert_allclose(f_a.y, rec.f[0, 0, 0, :, 0].numpy(), rtol=1e-6)
    h_b = fig.data[11]
    assert h_b.name == "Company B"
    np.testing.assert_allclose(h_b.y, rec.h[0, 0, 1, :, 0].numpy(), rtol=1e-6)
    assert f"{float(rec.h[0, 0, 1, -1, 0]):.4f} (target 1)" in fig.layout.title.subtitle.text
    assert list(fig.data[0].customdata) == [0.0, 0.5, 0.25, 1.0]  # the input, shown on hover


def test_statquest_weights_twelve_lines_in_four_gate_panels():
    names = ["wlr1", "wlr2", "blr1", "wpr1", "wpr2", "bpr1", "wp1", "wp2", "bp1", "wo1", "wo2", "bo1"]
    probes = [{"epoch": e, **{n: k + e / 100 for k, n in enumerate(names)}} for e in range(1, 51)]
    fig = statquest_weights_figure(probes)
    assert [t.name for t in fig.data] == names
    assert fig.data[0].xaxis == "x" and fig.data[3].xaxis == "x2" and fig.data[11].xaxis == "x4"
    assert fig.data[4].y[-1] == pytest.approx(4.5)
    assert {t.line.dash for t in fig.data} == {"solid", "dash", "dot"}
    empty = statquest_weights_figure([])
    assert len(empty.data) == 0 and "press Start" in empty.layout.annotations[-1].text


def test_gate_saturation_counts_values_beyond_the_thresholds():
    torch.manual_seed(1)
    lstm = RecordingLSTM(2, 3, batch_first=True)
    with torch.no_grad():
        lstm.bias_ih_l0.zero_()
        lstm.bias_hh_l0.zero_()
        lstm.bias_ih_l0[3:6] = 50.0  # forget gate of every unit pinned at 1
        lstm.bias_ih_l0[0:3] = -50.0  # input gate pinned at 0
    rec = lstm.record(torch.randn(4, 5, 2))
    sat = gate_saturation(rec)
    assert sat["f"]["high"] == [1.0, 1.0, 1.0] and sat["f"]["low"] == [0.0, 0.0, 0.0]
    assert sat["i"]["low"] == [1.0, 1.0, 1.0]
    o = rec.o[0, 0].reshape(-1, 3)
    assert sat["o"]["low"] == pytest.approx((o < 0.1).float().mean(0).tolist())
    with pytest.raises(ValueError, match="low < high"):
        gate_saturation(rec, low=0.9, high=0.1)


def test_saturation_figure_lines_and_unit_heatmaps():
    probes = [
        {
            "epoch": e,
            "saturation": {
                q: {"low": [0.0, e / 10, 0.2], "high": [e / 20, 0.0, 0.1]} for q in ("f", "i", "o")
            },
        }
        for e in range(1, 11)
    ]
    fig = saturation_over_epochs_figure(probes)
    lines = [t for t in fig.data if t.type == "scatter"]
    heatmaps = [t for t in fig.data if t.type == "heatmap"]
    assert len(lines) == 6 and len(heatmaps) == 3
    assert lines[0].y[-1] == pytest.approx((0 + 1.0 + 0.2) / 3)  # f below 0.1, mean over units, epoch 10
    z = np.asarray(heatmaps[0].z)
    assert z.shape == (3, 10) and z[0, -1] == pytest.approx(0.5) and z[1, -1] == pytest.approx(1.0)
    empty = saturation_over_epochs_figure([])
    assert len(empty.data) == 0


def test_history_frame_accepts_a_dataframe():
    frame = pd.DataFrame({"epoch": [1, 2], "loss": [0.3, 0.2]})
    assert history_frame(frame) is frame


def _same(a: go.Figure, b: go.Figure) -> None:
    assert len(a.data) == len(b.data)
    for ta, tb in zip(a.data, b.data, strict=True):
        assert ta.name == tb.name
        for field in ("x", "y", "z"):
            va, vb = getattr(ta, field, None), getattr(tb, field, None)
            if va is None or vb is None:
                assert va is None and vb is None
            else:
                np.testing.assert_allclose(np.asarray(va, dtype=float), np.asarray(vb, dtype=float))
    assert a.layout.title.text == b.layout.title.text
    assert a.layout.title.subtitle.text == b.layout.title.subtitle.text


def test_into_refreshes_the_previous_figure_in_place_like_a_fresh_build():
    old = toy_panels_figure(toy_history(10))
    new = toy_panels_figure(toy_history(2500), into=old)
    assert new is old
    _same(new, toy_panels_figure(toy_history(2500)))

    old = loss_accuracy_figure(subtraction_history(3))
    assert loss_accuracy_figure(subtraction_history(9), into=old) is old
    _same(old, loss_accuracy_figure(subtraction_history(9)))

    rec = toy_recording()
    old = toy_gate_figure(rec, title="epoch 1")
    assert toy_gate_figure(rec, title="epoch 2", into=old) is old and old.layout.title.text == "epoch 2"

    old = absolute_error_figure([1, 2, 3], [1, 2, 4])
    assert absolute_error_figure([1, 2, 3], [1, 2, 3], into=old) is old
    _same(old, absolute_error_figure([1, 2, 3], [1, 2, 3]))


def test_into_of_another_shape_or_kind_builds_a_new_figure():
    empty = toy_panels_figure([])
    grown = toy_panels_figure(toy_history(5), into=empty)
    assert grown is not empty and len(grown.data) == 3 and len(empty.data) == 0
    other_kind = loss_accuracy_figure(subtraction_history(3))
    assert toy_panels_figure(toy_history(5), into=other_kind) is not other_kind


def test_toy_live_figures_reuse_previous_and_record_the_model():
    from lstm_viz.tasks import StatQuestLSTM

    torch.manual_seed(0)
    model = StatQuestLSTM()
    history = toy_history(3)
    probes = [{"epoch": 3, **model.named_weights()}]
    first = toy_live_figures(history, probes, model)
    assert set(first) == {"curves", "gates", "weights"}
    with torch.no_grad():
        model.bo1.fill_(2.0)  # the output gate opens: the gate view must follow the model as it is now
    second = toy_live_figures(toy_history(4), probes, model, previous=first)
    assert all(second[k] is first[k] for k in first)
    o_a = next(t for t in second["gates"].data if t.xaxis == "x4")
    x = torch.tensor(COMPANY_INPUTS).unsqueeze(-1)
    np.testing.assert_allclose(o_a.y, model.record(x).o[0, 0, 0, :, 0].numpy(), rtol=1e-6)
    assert "epoch 4" in second["gates"].layout.title.text


def test_subtraction_live_figures_error_plot_is_rmse_of_the_model():
    from lstm_viz.tasks import BitSubtractor, subtraction

    torch.manual_seed(0)
    model = BitSubtractor()
    pairs = torch.tensor([[123, 61], [200, 1], [5, 5]])
    x = subtraction.encode_batch(pairs[:, 0], pairs[:, 1])
    probes = [{"epoch": 1, "saturation": gate_saturation(model.record(x))}]
    figures = subtraction_live_figures(subtraction_history(1), probes, model, x, pairs)
    assert set(figures) == {"curves", "errors", "saturation"}
    predicted = subtraction.predict_many(model, [tuple(p) for p in pairs.tolist()])
    truth = [62, 199, 0]
    np.testing.assert_allclose(figures["errors"].data[0].y, np.abs(np.array(predicted) - truth))
    rmse = math.sqrt(np.mean((np.array(predicted) - truth) ** 2))
    assert f"RMSE {rmse:.4f}" in figures["errors"].layout.title.text


def test_the_first_epochs_fine_steps_are_drawn_between_the_epochs_and_refresh_in_place():
    """A run's first epochs scored every few mini-batches (LiveRun.steps) are drawn on the accuracy panel at their
    fractional epochs; the traces exist before the first step, so a refresh in place keeps the figure."""
    history = subtraction_history(2)
    idle = loss_accuracy_figure([], steps=[], every=8)  # the page before Start: "no epochs yet", axes hidden
    first = loss_accuracy_figure([], into=idle, steps=[{"epoch": 0.0, "test_exact_match": 0.0}], every=8)
    assert first is not idle and first.layout.xaxis.visible is not False  # a first step shows: rebuilt, axes on
    assert "epoch 0 · test exact match 0.00%" in first.layout.title.subtitle.text
    empty = loss_accuracy_figure(history[:1], steps=[], every=8)
    names = [t.name for t in empty.data]
    assert "test exact match, every 8 mini-batches" in names and "test bit accuracy, every 8 mini-batches" in names
    steps = [{"epoch": 0.0, "test_bit_acc": 0.5, "test_exact_match": 0.0},
             {"epoch": 0.5, "test_bit_acc": 0.8, "test_exact_match": 0.3},
             {"epoch": 1.0, "test_bit_acc": 0.9, "test_exact_match": 0.7}]  # fmt: skip
    fig = loss_accuracy_figure(history, into=empty, steps=steps, every=8)
    assert fig is empty  # refreshed in place
    fine = next(t for t in fig.data if t.name == "test exact match, every 8 mini-batches")
    assert list(fine.x) == [0.0, 0.5, 1.0] and list(fine.y) == [0.0, 0.3, 0.7] and fine.xaxis == "x2"
    later = [*steps, {"epoch": 2.25, "test_bit_acc": 0.95, "test_exact_match": 0.9}]
    assert "epoch 2.25 · test bit accuracy 95.00% · test exact match 90.00%" in loss_accuracy_figure(
        history, steps=later, every=8
    ).layout.title.subtitle.text  # a step past the last epoch is the latest news
    assert len(loss_accuracy_figure(history).data) == len(names) - 2  # without steps: the per-epoch curves only


SUBTITLE_MAX_CHARS = 105  # about what one line holds in a half-width chart at the app's 800-pixel layout


def test_live_subtitles_fit_on_one_line_at_their_longest():
    """Plotly draws a subtitle on one line and never wraps it: a longer one is cut at the chart's edge (the
    saturation chart's was 170 characters at epoch 100)."""
    big = [  # the numbers at their widest: epoch 10,000, 512 units, 1,000 samples of which 999 wrong
        {"epoch": e, "saturation": {q: {"low": [0.1] * 512, "high": [0.2] * 512} for q in ("f", "i", "o")}}
        for e in range(9_990, 10_001)
    ]
    history = [{**row, "epoch": 9_000 + row["epoch"]} for row in subtraction_history(1_000)]
    toy = [{**row, "epoch": 9_000 + row["epoch"], "out_0": -0.1234, "out_1": 10.5} for row in toy_history(1_000)]
    weights = [{"epoch": 10_000, **{name: -12.3456 for name in ("wlr1", "wlr2", "blr1")}}]
    truth = np.arange(1_000)
    figures = {
        "saturation": saturation_over_epochs_figure(big),
        "saturation, empty": saturation_over_epochs_figure([]),
        "loss and accuracy": loss_accuracy_figure(history),
        "error, all wrong": absolute_error_figure(truth, truth + 255),
        "error, all right": absolute_error_figure(truth, truth),
        "toy panels": toy_panels_figure(toy),
        "toy gates": toy_gate_figure(toy_recording()),
        "StatQuest weights": statquest_weights_figure(weights),
    }
    for name, fig in figures.items():
        notes = [a.text for a in fig.layout.annotations if a.name == "note"]  # the saturation chart's subtitle
        for subtitle in [fig.layout.title.subtitle.text or "", *notes]:
            assert len(subtitle) <= SUBTITLE_MAX_CHARS, f"{name}: {len(subtitle)} characters: {subtitle!r}"


def test_saturation_note_under_the_title_follows_the_run_when_refreshed_in_place():
    """The saturation chart's line under its title is an annotation (Plotly's subtitle was drawn above the title
    after a run in Chromium): it names the epoch and the units, and a refresh in place updates it."""

    def probes(n: int) -> list[dict]:
        return [{"epoch": e, "saturation": {q: {"low": [0.1] * 4, "high": [0.2] * 4} for q in "fio"}}
                for e in range(1, n + 1)]  # fmt: skip

    def note(fig: go.Figure) -> str:
        (text,) = [a.text for a in fig.layout.annotations if a.name == "note"]
        return text

    first = saturation_over_epochs_figure(probes(5))
    assert note(first).startswith("epoch 5 · layer 0's 4 units") and not first.layout.title.subtitle.text
    again = saturation_over_epochs_figure(probes(12), into=first)
    assert again is first and note(again).startswith("epoch 12 · layer 0's 4 units")
    assert note(saturation_over_epochs_figure([])).startswith("layer 0's units on the same test samples")


def test_two_models_histories_are_thinned_each_on_its_own():
    """LSTM vs LSTMP: 777 epochs each in one frame, thinned together, lost the LSTM's last epoch (pages review)."""
    frame = pd.DataFrame({"model": ["LSTM"] * 777 + ["LSTMP"] * 777, "epoch": list(range(1, 778)) * 2})
    assert thin(frame).query("model == 'LSTM'")["epoch"].max() < 777  # what it did
    thinned = thin_each(frame, "model")
    for _, part in thinned.groupby("model"):
        assert part["epoch"].iloc[0] == 1 and part["epoch"].iloc[-1] == 777 and len(part) <= MAX_POINTS
    assert thin_each(frame.iloc[:0], "model").empty
