"""The Gate Explorer's figure builders as pure functions: shapes, titles, budgets, and values at known cells."""

from __future__ import annotations

import numpy as np
import plotly.io as pio
import pytest
import torch
from pandas import __version__ as pd_version

from lstm_viz.app.inputs import typed_input
from lstm_viz.core.gru import RecordingGRU
from lstm_viz.core.interventions import Intervention
from lstm_viz.core.lstm import RecordingLSTM
from lstm_viz.core.recording import DISPLAY_ORDER
from lstm_viz.explorer.export import export_rows, recording_csv, recording_frame, recording_parquet
from lstm_viz.explorer.worked_steps import gate_weights, worked_steps
from lstm_viz.tasks import ModelConfig, build_model
from lstm_viz.viz import belt
from lstm_viz.viz import gates as figures
from lstm_viz.viz.answer import Answer, answer_figure, model_answer
from lstm_viz.viz.budget import bin_time, pick_units, plan_view
from lstm_viz.viz.divergence import beyond_rounding, difference_heatmaps, first_divergence
from lstm_viz.viz.download import figure_html
from lstm_viz.viz.saturation import saturation_batch, saturation_figure, saturation_table
from lstm_viz.viz.traces import unit_traces


def record(input_size=3, hidden=8, steps=5, layers=1, bidirectional=False, proj=0, seed=0, batch=1):
    torch.manual_seed(seed)
    lstm = RecordingLSTM(input_size, hidden, layers, batch_first=True, bidirectional=bidirectional, proj_size=proj)
    return lstm.record(torch.randn(batch, steps, input_size))


def heatmaps(fig):
    return [t for t in fig.data if t.type == "heatmap"]


# --------------------------------------------------------------------------------------------- budget
def test_bin_time_covers_every_step_once():
    bins = bin_time(2000, 400)
    assert len(bins) == 400 and bins.size == 5
    assert bins.start[0] == 0 and bins.stop[-1] == 2000
    assert np.all(bins.start[1:] == bins.stop[:-1])
    uneven = bin_time(10, 4)  # bins of 3: 0-2, 3-5, 6-8, 9
    assert uneven.labels() == ["0–2", "3–5", "6–8", "9"]
    values = np.arange(10.0)
    assert np.allclose(uneven.reduce(values), [1.0, 4.0, 7.0, 9.0])
    assert bin_time(7, 400).labels() == [str(t) for t in range(7)]
    assert uneven.steps_each == "3 steps, the last of 1" and bins.steps_each == "5 steps"


def test_pick_units_keeps_the_most_active_in_order():
    activity = np.array([0.1, 5.0, 0.2, 3.0, np.nan, 4.0])
    assert pick_units(activity, 3).tolist() == [1, 3, 5]
    assert pick_units(activity, 10).tolist() == list(range(6))


def test_plan_view_says_what_it_did():
    rng = np.random.default_rng(0)
    series = [rng.normal(size=(1000, 100)) for _ in range(2)]
    view = plan_view(series, max_steps=250, max_units=20)
    assert view.apply(series[0]).shape == (20, 250)
    assert "each column is the mean of 4 steps (1000 → 250)" in view.note
    uneven = plan_view([rng.normal(size=(1003, 4))], max_steps=100, max_units=20)
    assert "each column is the mean of 11 steps, the last of 2 (1003 → 92)" in uneven.note  # not "of 11" for all
    assert "20 most active of 100 units" in view.note
    small = plan_view([rng.normal(size=(10, 4))], 400, 64)
    assert small.note == "" and not small.reduced


# --------------------------------------------------------------------------------------------- heatmaps
def test_gate_heatmaps_six_panels_in_display_order_with_exact_values():
    rec = record(steps=5, hidden=8)
    fig = figures.gate_heatmaps(rec)
    maps = heatmaps(fig)
    assert [t.name.split()[0] for t in maps] == list(DISPLAY_ORDER)
    titles = [a.text for a in fig.layout.annotations]
    assert titles[0].startswith("f · forget gate") and titles[-1].startswith("h · hidden state")
    for trace, q in zip(maps, DISPLAY_ORDER, strict=True):
        z = np.asarray(trace.z)
        assert z.shape == (8, 5)  # units × time
        expected = getattr(rec, q)[0, 0, 0].numpy().T  # (U, T)
        np.testing.assert_allclose(z, expected, rtol=1e-6)
        assert "unit %{y}" in trace.hovertemplate and "%{x}" in trace.hovertemplate
        assert "%{z:.6f}" in trace.hovertemplate
    # a known cell: f of unit 3 at t = 2
    assert np.asarray(maps[0].z)[3, 2] == pytest.approx(float(rec.f[0, 0, 0, 2, 3]), rel=1e-6)
    # hover columns name t and the input value
    x0 = rec.x[0, 2].tolist()
    assert maps[0].x[2] == f"t 2 · x0 = {x0[0]:.4g}, x1 = {x0[1]:.4g}, x2 = {x0[2]:.4g}"
    # gates on 0..1, g/c/h diverging centred on 0
    assert (fig.layout.coloraxis.cmin, fig.layout.coloraxis.cmax) == (0, 1)
    assert fig.layout.coloraxis3.cmin == -1 and fig.layout.coloraxis3.cmax == 1  # g
    c_axis = fig.layout.coloraxis5
    assert c_axis.cmin == -c_axis.cmax
    assert c_axis.cmax == pytest.approx(float(rec.c.abs().max()), rel=1e-6)
    assert "every step and unit shown" in fig.layout.title.subtitle.text


def test_colour_bar_letters_stand_upright_where_the_bar_has_room():
    """A tensor's letter sits on top of its bar (Plotly lays a right-side title on its side); a one-unit row's
    bar, too short for a title on top, keeps it at the side."""
    torch.manual_seed(0)
    tall = figures.gate_heatmaps(RecordingLSTM(2, 16).record(torch.randn(9, 1, 2)))
    short = figures.gate_heatmaps(RecordingLSTM(1, 1).record(torch.randn(9, 1, 1)))
    for fig, side in ((tall, "top"), (short, "right")):
        bars = [fig.layout[k].colorbar for k in sorted(fig.layout.to_plotly_json()) if k.startswith("coloraxis")]
        assert [b.title.text for b in bars] == list(DISPLAY_ORDER) and {b.title.side for b in bars} == {side}


def test_a_short_input_of_few_features_is_written_under_every_step():
    """Post 4's 8 bit-steps: each column says which bits it read, as the answer chart does; a long or wide input
    keeps the step numbers only."""
    torch.manual_seed(0)
    x = torch.tensor([[1.0, 1], [0, 1], [1, 0], [0, 0], [1, 1], [0, 0], [0, 0], [0, 0]])
    rec = RecordingLSTM(2, 4).record(x[None].transpose(0, 1).squeeze(1))
    fig = figures.gate_heatmaps(rec, feature_names=["a bit", "b bit"])
    axis = fig.layout[f"xaxis{len(rec.tensor_names)}"]
    assert list(axis.ticktext)[:3] == ["0<br>1, 1", "1<br>0, 1", "2<br>1, 0"] and len(axis.ticktext) == 8
    assert axis.title.text == "t (time step) · under each, the input (a bit, b bit)"
    long = figures.gate_heatmaps(record(steps=20))
    assert "<br>" not in "".join(long.layout[f"xaxis{len(rec.tensor_names)}"].ticktext)


# What reads a CSV's floats back exactly: pandas before 3.0 parses some values one bit off by default (the GPU
# machine's image read two of these tests' values back so) unless float_precision="round_trip", which pandas 3
# deprecates, its default being exact.
EXACT_CSV = {"float_precision": "round_trip"} if int(pd_version.split(".")[0]) < 3 else {}


def test_a_float64_recording_exports_every_digit():
    import io

    import pandas as pd

    torch.manual_seed(0)
    lstm = RecordingLSTM(2, 3, batch_first=True, dtype=torch.float64)
    rec = lstm.record(torch.randn(1, 4, 2, dtype=torch.float64))
    back = pd.read_csv(io.BytesIO(recording_csv(rec)), **EXACT_CSV)
    np.testing.assert_array_equal(back["value"].to_numpy(), rec.to_frame()["value"].to_numpy())


def test_the_export_caps_count_values_and_csv_bytes():
    """A model with 512 inputs repeats them on every row: 7,168,000 rows (under the old 10 M-row cap) are ~3.7 G
    values, refused in words; CSV has a cap of its own, Parquet of the same rows is built."""
    from lstm_viz.explorer.export import export_refusals

    refused, _ = export_refusals(7_168_000, 7 + 512)
    assert refused.startswith("7,168,000 rows × 519 columns (3,720,192,000 values) is more than the app builds")
    refused, no_csv = export_refusals(5_000_000, 9)
    assert refused is None and no_csv.startswith("CSV: 5,000,000 rows would be ~400 MB") and "Parquet" in no_csv
    assert export_refusals(1_000, 9) == (None, None)


def test_a_tiny_heatmap_writes_its_values_in_its_cells():
    """The StatQuest model's 4 steps × 1 unit: the numbers in the cells; a real-sized one stays colour only."""
    tiny = figures.gate_heatmaps(record(input_size=1, hidden=1, steps=4))
    assert all(t.texttemplate == "%{text}" for t in heatmaps(tiny))
    for t in heatmaps(tiny):  # each cell's value to 3 decimals, as the cell holds it
        assert np.array(t.text, dtype=float) == pytest.approx(np.asarray(t.z, dtype=float), abs=5e-4)
    assert figures.cell_text(np.array([[-0.0004, 0.25, np.nan]]))["text"] == [["0.000", "0.250", ""]]  # no "-0.000"
    assert all(t.texttemplate is None for t in heatmaps(figures.gate_heatmaps(record(hidden=8, steps=8))))
    # few cells but many thin rows (the sidebar's random LSTM: 16 units × 3 steps, rows of 9 px): colour only; the
    # numbers ran into each other
    thin = figures.gate_heatmaps(record(hidden=16, steps=3))
    assert all(t.texttemplate is None for t in heatmaps(thin))
    assert all(t.texttemplate is None for t in heatmaps(difference_heatmaps(record(hidden=16, steps=3),
                                                                           record(hidden=16, steps=3, seed=1))))
    assert all(t.texttemplate == "%{text}" for t in heatmaps(figures.gate_heatmaps(record(hidden=4, steps=3))))


def test_gate_heatmaps_all_panels_of_a_bidirectional_stack():
    rec = record(layers=2, bidirectional=True, hidden=6, steps=4)
    fig = figures.gate_heatmaps(rec, figures.panels_of(rec))
    maps = heatmaps(fig)
    assert len(maps) == 6 * 4
    names = {t.name for t in maps}
    assert "c layer 1 bwd" in names and "f layer 0 fwd" in names
    bwd_c = next(t for t in maps if t.name == "c layer 1 bwd")
    np.testing.assert_allclose(np.asarray(bwd_c.z), rec.c[1, 1, 0].numpy().T, rtol=1e-6)
    with pytest.raises(ValueError, match="direction"):
        figures.gate_heatmaps(record(), [(0, "bwd")])
    with pytest.raises(ValueError, match="layer"):
        figures.gate_heatmaps(rec, [(2, "fwd")])
    # c: each column its own ±max (one layer's c can dwarf another's), its bar at the column's right edge; the gates
    # and h keep one scale per row
    c_maps = [t for t in maps if t.name.startswith("c ")]
    axes = [fig.layout[t.coloraxis] for t in c_maps]
    assert len({t.coloraxis for t in c_maps}) == 4
    for t, axis in zip(c_maps, axes, strict=True):
        assert axis.cmax == pytest.approx(float(np.abs(np.asarray(t.z)).max()), rel=1e-6) and axis.cmin == -axis.cmax
    assert len({a.colorbar.x for a in axes}) == 4  # one bar beside each column
    assert len({t.coloraxis for t in maps if t.name.startswith("f ")}) == 1
    assert "c: each layer and direction on its own colour scale" in fig.layout.title.subtitle.text


def test_gate_heatmaps_projection_gives_h_its_own_units():
    rec = record(hidden=10, proj=4, steps=3)
    fig = figures.gate_heatmaps(rec)
    h = next(t for t in heatmaps(fig) if t.name.startswith("h "))
    assert np.asarray(h.z).shape == (4, 3)
    assert "projected to 4" in fig.layout.annotations[-1].text


def test_gate_heatmaps_stay_within_budget_and_say_so():
    rec = record(input_size=2, hidden=300, steps=900)
    fig = figures.gate_heatmaps(rec, max_steps=300, max_units=50)
    for trace in heatmaps(fig):
        assert np.asarray(trace.z).shape == (50, 300)
        assert "mean" in trace.hovertemplate
    subtitle = fig.layout.title.subtitle.text
    assert "mean of 3 steps" in subtitle and "50 most active of 300 units" in subtitle
    lines = subtitle.split("<br>")  # Plotly never wraps a subtitle: one note a line, each short enough for one
    assert all(len(line) <= 125 for line in lines), lines  # (a full-width chart: ~125 characters at 1,280 px)
    stack = record(input_size=2, hidden=300, steps=900, layers=2)
    several = figures.gate_heatmaps(stack, figures.panels_of(stack), max_steps=300, max_units=50)
    notes = several.layout.title.subtitle.text.split("<br>")
    assert len(notes) == 2 and "own colour scale" in notes[1] and all(len(line) <= 125 for line in notes), notes
    assert several.layout.margin.t == fig.layout.margin.t + 14  # room for the second line above the panels
    # a binned cell is the mean of its steps
    f = next(t for t in heatmaps(fig) if t.name.startswith("f "))
    unit = int(f.y[0])
    assert np.asarray(f.z)[0, 1] == pytest.approx(float(rec.f[0, 0, 0, 3:6, unit].mean()), rel=1e-5)
    assert f.x[1].startswith("t 3–5 · x0\u0304 = ")


def test_a_few_units_far_beyond_the_rest_do_not_wash_out_the_c_scale():
    """A text model's c had one unit at ±400 where the others stayed within ±20: on a ±max scale every other unit was
    the scale's middle colour. The scale now ends at the largest of the others and the subtitle names the few."""
    rec = record(hidden=12, steps=20)
    c = rec.c[0, 0, 0]  # (T, units); a view: the recording's own values change
    peaks = c.abs().amax(0)
    plain = figures.gate_heatmaps(rec)
    row = list(rec.tensor_names).index("c") + 1
    axis = lambda fig: fig.layout["coloraxis" if row == 1 else f"coloraxis{row}"]  # noqa: E731
    assert axis(plain).cmax == pytest.approx(float(peaks.max()))  # nothing beyond the rest: ±max, no note
    assert "colour scale ±" not in plain.layout.title.subtitle.text
    c[:, 5] *= 100 * float(peaks.max() / peaks[5])  # unit 5 now 100 times the largest other
    fig = figures.gate_heatmaps(rec)
    others = np.delete(c.abs().amax(0).numpy(), 5)
    assert axis(fig).cmax == pytest.approx(float(others.max()), rel=1e-6) and axis(fig).cmin == -axis(fig).cmax
    note = fig.layout.title.subtitle.text
    assert f"c: colour scale ±{others.max():.3g}, where one unit reaches ±{float(c.abs().max()):.3g}" in note
    heat = next(t for t in heatmaps(fig) if t.name.startswith("c "))
    assert float(np.nanmax(np.abs(np.asarray(heat.z, dtype=float)))) == pytest.approx(float(c.abs().max()), rel=1e-6)
    two = figures.gate_heatmaps(rec, ranges={"c": (-1000.0, 1000.0)})  # a range given by the caller stays as given
    assert axis(two).cmax == 1000.0 and "colour scale ±" not in two.layout.title.subtitle.text


# --------------------------------------------------------------------------------------------- traces and belt
def test_unit_traces_rows_per_unit_and_input_underneath():
    rec = record(steps=6, hidden=5)
    fig = unit_traces(rec, [4, 1])
    lines = [t for t in fig.data if t.name in DISPLAY_ORDER]
    assert len(lines) == 2 * 6
    c_unit1 = next(t for t in lines if t.name == "c" and t.yaxis == "y2")
    np.testing.assert_allclose(np.asarray(c_unit1.y), rec.c[0, 0, 0, :, 1].numpy(), rtol=1e-6)
    inputs = [t for t in fig.data if t.name.startswith("input")]
    assert len(inputs) == 3 and inputs[0].yaxis == "y3"
    # equal values of two features must not hide one another: each its own dash, the first widest
    assert [t.line.dash for t in inputs] == ["solid", "dash", "dot"] and inputs[0].line.width > inputs[1].line.width
    assert "unit 1" in c_unit1.hovertemplate and "x0 = %{customdata[2]" in c_unit1.hovertemplate
    assert [a.text for a in fig.layout.annotations][:2] == ["unit 4 · layer 0 fwd", "unit 1 · layer 0 fwd"]
    with pytest.raises(ValueError, match="units must be in 0..4"):
        unit_traces(rec, [5])
    with pytest.raises(ValueError, match="at least one unit"):
        unit_traces(rec, [])


def test_unit_traces_draw_a_c_that_leaves_the_gates_range_against_its_own_axis():
    """A c that grows to 10 would flatten f, i, g, o and h into a band at the bottom: it gets the right-hand axis (its
    row only), the gates keep [-1.1, 1.1], and the subtitle says so. A c within ±1.5 stays with the gates."""
    model = RecordingLSTM(1, 2)
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
        model.bias_ih_l0.copy_(torch.tensor([10.0, 10, 10, 10, 10, 0, 0, 0]))  # i, f open; g = 1 for unit 0 only
    rec = model.record(torch.zeros(10, 1))
    assert float(rec.c[0, 0, 0, -1, 0]) == pytest.approx(10, abs=1e-2) and float(rec.c[0, 0, 0, -1, 1]) == 0
    fig = unit_traces(rec, [0, 1])
    on = {(t.name, t.yaxis) for t in fig.data if t.name in DISPLAY_ORDER}
    assert ("c", "y4") in on and ("f", "y") in on and ("c", "y2") in on  # unit 0's c on the right; unit 1's not
    right = fig.layout.yaxis4
    assert right.overlaying == "y" and right.side == "right" and right.title.text == "c"
    assert list(fig.layout.yaxis.range) == [-1.1, 1.1] and fig.layout.yaxis2.range is None
    assert "for 1 of 2 units it is drawn against the right-hand axis" in fig.layout.title.subtitle.text
    gru = RecordingGRU(1, 2).record(torch.zeros(10, 1))  # nothing unbounded: no right-hand axis
    assert not any(k.startswith("yaxis") and getattr(v, "side", None) == "right" for k, v in gru_layout(gru))


def test_unit_traces_draw_only_the_tensors_asked_for():
    """Over hundreds of steps six lines per unit are a tangle: the traces can show c and h alone (c beside its own
    axis, the left one then titled by what it holds)."""
    model = RecordingLSTM(1, 2)
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
        model.bias_ih_l0.copy_(torch.tensor([10.0, 10, 10, 10, 10, 0, 0, 0]))
    rec = model.record(torch.zeros(10, 1))
    fig = unit_traces(rec, [0, 1], tensors=["h", "c"])
    assert [t.name for t in fig.data if t.name in DISPLAY_ORDER] == ["c", "h", "c", "h"]  # display order
    assert fig.layout.title.text.startswith("Unit traces: c, h of the chosen units")
    assert fig.layout.yaxis.title.text == "h"  # unit 0's c on the right; on the left only h
    assert unit_traces(rec, [0]).layout.yaxis.title.text == "gates, h"
    with pytest.raises(ValueError, match="at least one of f, i, g, o, c, h"):
        unit_traces(rec, [0], tensors=["x"])


def gru_layout(rec):
    layout = unit_traces(rec, [0, 1]).layout
    return [(k, layout[k]) for k in layout if k.startswith("yaxis")]


def test_conveyor_belt_terms_add_up_to_c_in_both_directions():
    rec = record(steps=7, hidden=4, bidirectional=True)
    for direction in ("fwd", "bwd"):
        terms = belt.belt_terms(rec, 0, direction)
        np.testing.assert_allclose(terms["kept"] + terms["written"], terms["c"], atol=1e-5)
    fwd = belt.belt_terms(rec, 0, "fwd")
    assert np.all(fwd["c_prev"][0] == 0) and np.allclose(fwd["c_prev"][1:], fwd["c"][:-1])
    bwd = belt.belt_terms(rec, 0, "bwd")
    assert np.all(bwd["c_prev"][-1] == 0) and np.allclose(bwd["c_prev"][:-1], bwd["c"][1:])
    fig = belt.conveyor_belt(rec, unit=2, direction="bwd")
    kept_bar = next(t for t in fig.data if t.type == "bar" and t.name.startswith("kept"))
    np.testing.assert_allclose(np.asarray(kept_bar.y), bwd["kept"][:, 2], rtol=1e-5, atol=1e-7)
    assert fig.layout.barmode == "relative"
    assert len(heatmaps(fig)) == 2
    assert "bwd" in fig.layout.title.text


# --------------------------------------------------------------------------------------------- compare
def test_first_divergence_of_two_subtractions():
    torch.manual_seed(0)
    model = build_model(ModelConfig.default("subtraction"))
    a = typed_input("123 - 61", model.config)
    b = typed_input("123 - 60", model.config)  # 61 = 0b111101, 60 = 0b111100: bit 0 differs
    rec_a, rec_b = model.record(a.x), model.record(b.x)
    div = first_divergence(rec_a, rec_b)
    assert div.input_step == 0 and div.state_step == 0
    same = first_divergence(rec_a, model.record(a.x))
    assert same.state_step is None and "agree" in same.sentence
    c = typed_input("123 - 57", model.config)  # 61 ^ 57 = 0b000100: inputs first differ at bit 2
    div_c = first_divergence(rec_a, model.record(c.x))
    assert div_c.input_step == 2 and div_c.state_step == 2
    fig = difference_heatmaps(rec_a, rec_b)
    diff_f = np.asarray(heatmaps(fig)[0].z)
    np.testing.assert_allclose(diff_f, (rec_b.f - rec_a.f)[0, 0, 0].numpy().T, atol=1e-6)
    assert "first diverge at t = 0" in fig.layout.title.subtitle.text
    assert len(fig.layout.shapes) == 6


def test_difference_of_different_lengths_uses_the_common_prefix():
    lstm = RecordingLSTM(1, 3, batch_first=True)
    rec_a = lstm.record(torch.tensor([[[0.0], [0.5], [0.25], [1.0]]]))
    rec_b = lstm.record(torch.tensor([[[0.0], [0.5], [0.9]]]))
    div = first_divergence(rec_a, rec_b)
    assert div.steps == 3 and div.input_step == 2 and div.state_step == 2
    fig = difference_heatmaps(rec_a, rec_b)
    assert np.asarray(heatmaps(fig)[0].z).shape == (3, 3)
    assert "lengths differ (4 vs 3)" in fig.layout.title.subtitle.text



def test_a_state_driven_to_infinity_keeps_the_difference_scale_centred_on_zero():
    """A forget gate set to 10⁶ in Intervene drove c past float32 (inf): the scale's cmin/cmax became ±inf, Plotly
    scaled from the data, and "no change" was drawn as the scale's dark red end instead of white."""
    import dataclasses

    lstm = RecordingLSTM(1, 3, batch_first=True)
    rec_a = lstm.record(torch.tensor([[[0.0], [0.5], [0.25], [1.0]]]))
    c = rec_a.c.clone()
    c[..., 2:, 0] = float("inf")
    c[..., 1, 1] = -5.0
    rec_b = dataclasses.replace(rec_a, c=c)
    fig = difference_heatmaps(rec_a, rec_b)
    axes = [fig.layout[k] for k in fig.layout if str(k).startswith("coloraxis")]
    scales = [(a.cmin, a.cmax) for a in axes]
    assert all(np.isfinite(lo) and lo == -hi for lo, hi in scales), scales
    assert any(hi == pytest.approx(abs(-5.0 - float(rec_a.c[0, 0, 0, 1, 1]))) for _, hi in scales)


def test_difference_heatmaps_mark_the_divergence_at_the_tolerance_asked():
    """The figure's dotted line and sentence follow ``tol`` as first_divergence does (the Intervene tab passes the
    tolerance under which differences are rounding), so the two never disagree on one page."""
    torch.manual_seed(0)
    lstm = RecordingLSTM(1, 3, batch_first=True).double()
    rec_a = lstm.record(torch.tensor([[[0.0], [0.5], [0.25], [1.0]]], dtype=torch.float64))
    rec_b = lstm.record(torch.tensor([[[0.0], [0.50001], [0.25], [2.0]]], dtype=torch.float64))  # tiny at t = 1
    fine, coarse = first_divergence(rec_a, rec_b), first_divergence(rec_a, rec_b, tol=1e-4)
    assert (fine.state_step, coarse.state_step) == (1, 3)
    for tol, div in ((1e-6, fine), (1e-4, coarse)):
        fig = difference_heatmaps(rec_a, rec_b, tol=tol)
        assert "<br>".join(div.lines) in fig.layout.title.subtitle.text and " ".join(div.lines) == div.sentence
        assert all(len(line) <= 105 for line in fig.layout.title.subtitle.text.split("<br>"))  # never wrapped
        assert {shape.x0 for shape in fig.layout.shapes} == {div.state_step - 0.5}
    agree = first_divergence(rec_a, rec_a, tol=1e-5)
    # the tolerance used, not a fixed 1e-6
    assert agree.sentence.endswith("compared steps (within 1e-5, relative for values above 1).")
    assert first_divergence(rec_a, rec_a).sentence.endswith("(within 1e-6, relative for values above 1).")
    # relative above 1: a cell state of 50 one part in 10^7 off is rounding, the same 5e-6 on a gate of 0.5 is not
    big, on_c, on_gate = np.array([[50.0, 0.5]]), np.array([[5e-6, 0]]), np.array([[0, 5e-6]])
    assert beyond_rounding(big, big + on_c, 1e-6).tolist() == [[False, False]]
    assert beyond_rounding(big, big + on_gate, 1e-6).tolist() == [[False, True]]
    assert beyond_rounding(torch.tensor(big), torch.tensor(big + 12 * on_c), 1e-6).tolist() == [[True, False]]


def test_an_intervention_and_two_texts_in_the_difference_heatmaps():
    """Same inputs (an intervention): the sentence says so, the title is the caller's; two texts: their characters on
    the time axis, "≠" where they differ."""
    torch.manual_seed(0)
    lstm = RecordingLSTM(2, 3)
    x = torch.randn(5, 2)
    before = lstm.record(x)
    after = lstm.record(x, interventions=[Intervention("layer0.fwd.c", 0.0, steps=[2], units=[0])])
    div = first_divergence(before, after)
    assert div.input_step is None and div.sentence.startswith("The inputs are the same at every step; ")
    fig = difference_heatmaps(before, after, labels=("before", "after"), title="After − before: the intervention",
                              step_labels=(list("ab\ncd"), list("ab\ncd")))  # fmt: skip
    assert fig.layout.title.text == "After − before: the intervention · layer 0 fwd"
    assert "Δf = after − before" in fig.data[0].hovertemplate
    assert fig.layout.xaxis.ticktext == ("a", "b", "⏎", "c", "d")
    texts = difference_heatmaps(before, lstm.record(x.flip(0)), step_labels=(list("ab<cd"), list("xb<cy")))
    assert texts.layout.xaxis.ticktext == ("≠", "b", "&lt;", "c", "≠")
    assert "how the second input changes every gate" in texts.layout.title.text

# --------------------------------------------------------------------------------------------- saturation
def test_saturation_fractions_at_known_values():
    rec = record(steps=10, hidden=4)
    table = saturation_table(rec)
    assert len(table) == 3 * 4 and set(table["gate"]) == {"f", "i", "o"}
    f = rec.f[0, 0, 0].numpy()  # (T, U)
    row = table[(table["gate"] == "f") & (table["unit"] == 2)].iloc[0]
    assert row["left"] == pytest.approx((f[:, 2] < 0.1).mean())
    assert row["right"] == pytest.approx((f[:, 2] > 0.9).mean())
    fig = saturation_figure(table)
    assert len(fig.data) == 3 and fig.layout.title.text.startswith("Gate saturation")
    assert "the input above" in fig.layout.title.subtitle.text
    # a chart beside others on a 1,024-px page: Plotly never wraps a subtitle, so each line is kept short
    assert all(len(line) <= 105 for line in fig.layout.title.subtitle.text.split("<br>"))


def test_saturation_over_a_batch_of_subtraction_samples():
    torch.manual_seed(0)
    model = build_model(ModelConfig.default("subtraction"))
    batch = saturation_batch(model, n=64, seed=1)
    assert batch.shape == (64, 8, 2) and set(batch.unique().tolist()) <= {0.0, 1.0}
    table = saturation_table(model.record(batch))
    assert table.attrs["samples"] == 64 and table["left"].between(0, 1).all()
    assert "64 sequences × 8 steps" in saturation_figure(table).layout.title.subtitle.text
    with pytest.raises(ValueError, match="low < high"):
        saturation_table(model.record(batch), low=0.9, high=0.1)


def test_saturation_of_packed_sequences_counts_their_own_steps():
    """Lengths 5 and 3: 8 values a unit were counted, and the subtitle says so (it said 2 × 5 steps)."""
    torch.manual_seed(0)
    lstm = RecordingLSTM(2, 3, batch_first=True)
    x = torch.randn(2, 5, 2)
    table = saturation_table(lstm.record(torch.nn.utils.rnn.pack_padded_sequence(x, [5, 3], batch_first=True)))
    assert table.attrs["counted"] == 8
    text = saturation_figure(table).layout.title.subtitle.text
    assert "2 sequences of up to 5 steps (8 steps in all)" in text
    f = lstm.record(x[:1]).f[0, 0, 0].numpy()
    f = np.concatenate([f, lstm.record(x[1:, :3]).f[0, 0, 0].numpy()])
    row = table[(table.gate == "f") & (table.unit == 0)].iloc[0]
    assert row.left == pytest.approx(float((f[:, 0] < 0.1).mean())) and row.right == pytest.approx(
        float((f[:, 0] > 0.9).mean()))  # fmt: skip


# --------------------------------------------------------------------------------------------- answer
def test_subtraction_answer_marks_each_bit_right_or_wrong():
    torch.manual_seed(0)
    model = build_model(ModelConfig.default("subtraction"))
    inp = typed_input("123 - 61", model.config)
    answer = model_answer(model, inp)
    assert answer.truth == 62 and answer.truth_bits == [0, 1, 1, 1, 1, 1, 0, 0]
    assert len(answer.probs) == 8
    predicted_bits = [int(p >= 0.5) for p in answer.probs]
    assert answer.prediction == sum(b << k for k, b in enumerate(predicted_bits))
    assert answer.correct == (answer.prediction == 62)
    fig = answer_figure(answer)
    bar = fig.data[0]
    expected = ["#2ca02c" if p == y else "#d62728" for p, y in zip(predicted_bits, answer.truth_bits, strict=True)]
    assert list(bar.marker.color) == expected
    assert "123 − 61 = 62" in fig.layout.title.text
    wrong = [t for t, (p, y) in enumerate(zip(predicted_bits, answer.truth_bits, strict=True)) if p != y]
    assert wrong, "an untrained model gets some bit wrong"  # seed 0: the test below needs wrong bits to name
    # the title is the headline (two stand side by side in Intervene); the wrong bits are named in the subtitle
    assert fig.layout.title.text == answer.headline and len(answer.headline) < len(answer.summary)
    # Intervene's two, side by side under their verdicts, are titled Before and After: the headline ran past half
    # a narrow window (800 px with the sidebar open); the subtitle stays
    titled = answer_figure(answer, title="After")
    assert titled.layout.title.text == "After" and titled.layout.title.subtitle.text == fig.layout.title.subtitle.text
    # a value just under its true bit's tick (y = 1) is written inside the bar, not struck through by the tick
    close = Answer("subtraction", "s", probs=[0.934, 1.0, 0.2, 0.9], truth_bits=[1, 1, 0, 0], form="bits")
    assert list(answer_figure(close).data[0].textposition) == ["inside", "outside", "outside", "outside"]
    assert f"red = wrong (bit{'s' if len(wrong) > 1 else ''} {', '.join(map(str, wrong))})" in (
        fig.layout.title.subtitle.text
    )
    # three bits of a CSV: no true answer, grey bars — the key said "green = right · red = wrong · tick = the true bit"
    unchecked = answer_figure(Answer("subtraction", "s", probs=[0.2, 0.9, 0.6], form="bits"))
    key = unchecked.layout.title.subtitle.text
    assert "green" not in key and "no true answer" in key and len(unchecked.data) == 1  # and no ticks


def test_toy_answer_knows_company_a_and_b():
    torch.manual_seed(0)
    model = build_model(ModelConfig.default("toy_lstm"))
    a = model_answer(model, typed_input("0, 0.5, 0.25, 1", model.config))
    assert a.truth == 0 and "Company A" in a.summary
    assert a.correct == (abs(a.prediction) < 0.05)
    free = model_answer(model, typed_input("0.3, 0.3", model.config))
    assert free.truth is None and free.correct is None
    rec = model.record(typed_input("0, 0.5, 0.25, 1", model.config).x)
    fig = answer_figure(a, rec.h[0, 0, 0, :, 0].numpy())
    assert fig.data[1].y[0] == pytest.approx(a.prediction, abs=1e-6)
    assert fig.data[0].y[-1] == pytest.approx(a.prediction, abs=1e-6)  # the prediction is the last h
    # titled by the headline, short enough for half a page (Intervene's before and after stand side by side)
    assert fig.layout.title.text == a.headline == f"Company A → {a.prediction:.4f} (target 0): " + (
        "right" if a.correct else "wrong"
    )


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_a_bare_model_answers_with_its_last_output_and_never_says_lstm_for_a_gru(cell):
    model = build_model(ModelConfig.default("sequence", input_size=2, hidden_size=3, cell=cell))
    answer = model_answer(model, typed_input("1, 2; 3, 4", model.config))
    last = model(typed_input("1, 2; 3, 4", model.config).x)[0, -1].tolist()
    assert answer.task == "sequence" and answer.outputs == pytest.approx(last)
    assert "bare recurrent model" in answer.summary and "heatmap" not in answer.summary
    assert ("GRU" in answer.summary) == (cell == "gru") and ("LSTM" in answer.summary) == (cell == "lstm")
    fig = answer_figure(answer)  # the answer the text announces is drawn
    assert fig is not None and list(fig.data[0].y) == pytest.approx(last)


def test_a_bidirectional_bare_models_answer_names_each_direction():
    """The last step's output of a bidirectional model is half the forward state after the whole input and half the
    backward state after the last input alone: the bars and the sentence say which is which."""
    model = build_model(ModelConfig.default("sequence", input_size=2, hidden_size=3, bidirectional=True))
    answer = model_answer(model, typed_input("1, 2; 3, 4", model.config))
    assert list(answer_figure(answer).data[0].x) == ["fwd h0", "fwd h1", "fwd h2", "bwd h0", "bwd h1", "bwd h2"]
    assert "after the last input alone" in answer.summary


# --------------------------------------------------------------------------------------------- worked equations
def test_worked_steps_numbers_match_the_recording():
    from lstm_viz.tasks.toy import build_statquest, to_input

    model = build_statquest(seed=3)
    rec = model.record(to_input("0, 0.5, 0.25, 1"))
    steps = worked_steps(model, rec)
    assert [s.step for s in steps] == [0, 1, 2, 3]  # t from 0, as the heatmaps
    weights = gate_weights(model)
    h_prev = float(rec.h[0, 0, 0, 1, 0])
    pre = h_prev * weights["f"].w_h + 0.25 * weights["f"].w_x + weights["f"].b
    assert torch.sigmoid(torch.tensor(pre)).item() == pytest.approx(float(rec.f[0, 0, 0, 2, 0]), abs=1e-5)
    latex = steps[2].latex()
    assert rf"\sigma({pre:.4f}) = \boldsymbol{{{float(rec.f[0, 0, 0, 2, 0]):.4f}}}" in latex
    assert r"\mathit{wlr1}" in latex and rf"\boldsymbol{{{float(rec.c[0, 0, 0, 2, 0]):.4f}}}" in latex
    toy_lstm = build_model(ModelConfig.default("toy_lstm"))
    assert "W_{hf}" in worked_steps(toy_lstm, toy_lstm.record(to_input("1, 0.5")))[0].latex()
    with pytest.raises(ValueError, match="one-unit"):
        gate_weights(build_model(ModelConfig.default("subtraction")))


# --------------------------------------------------------------------------------------------- export and size
def test_exports_long_format_and_standalone_html(tmp_path):
    rec = record(input_size=2, hidden=3, steps=4, layers=2, bidirectional=True)
    frame = recording_frame(rec)
    assert list(frame.columns) == ["layer", "direction", "batch", "t", "unit", "tensor", "value", "x0", "x1"]
    assert len(frame) == 2 * 2 * 4 * 3 * 7
    row = frame[(frame.layer == 1) & (frame.direction == "bwd") & (frame.t == 2) & (frame.unit == 1)
                & (frame.tensor == "c")]  # fmt: skip
    assert row["value"].item() == pytest.approx(float(rec.c[1, 1, 0, 2, 1]))
    assert row["x1"].item() == pytest.approx(float(rec.x[0, 2, 1]))
    import io

    import pandas as pd

    back = pd.read_csv(io.BytesIO(recording_csv(rec)), **EXACT_CSV)
    assert len(back) == len(frame) and back["value"].iloc[5] == pytest.approx(frame["value"].iloc[5], rel=1e-8)
    parquet = pd.read_parquet(io.BytesIO(recording_parquet(rec)))
    assert len(parquet) == len(frame) == export_rows(rec)
    chosen = pd.read_parquet(io.BytesIO(recording_parquet(rec, tensors=["c", "h"])))
    assert set(chosen["tensor"]) == {"c", "h"} and len(chosen) == export_rows(rec, ["c", "h"]) == 2 * 2 * 4 * 3 * 2
    assert len(pd.read_csv(io.BytesIO(recording_csv(rec, tensors=["f"])))) == export_rows(rec, ["f"])
    # the CSV reads back exactly as the Parquet, value for value (9 significant digits read back as other float64s)
    np.testing.assert_array_equal(back["value"].to_numpy(), parquet["value"].to_numpy())
    np.testing.assert_array_equal(back["x1"].to_numpy(), parquet["x1"].to_numpy())
    html = figure_html(figures.gate_heatmaps(rec), "heatmaps").decode()
    assert html.lower().startswith("<!doctype html>") and "<title>heatmaps</title>" in html
    assert "Plotly.newPlot" in html and len(html) > 1_000_000  # plotly.js inlined: works offline
    assert '<script src="https://cdn.plot.ly' not in html


def test_a_texts_export_has_the_character_read_at_each_step():
    """A text model's recording exported from the app: a ``char`` column (as ``record --text-file`` writes), not the
    embedding's 64 numbers a step."""
    import io

    import pandas as pd

    rec = record(input_size=3, hidden=2, steps=5)
    chars = list('a,"\nb')
    frame = recording_frame(rec, step_labels=chars)
    assert list(frame.columns) == ["layer", "direction", "batch", "t", "unit", "tensor", "value", "char"]
    assert [frame[frame.t == t]["char"].unique().tolist() for t in range(5)] == [[c] for c in chars]
    for back in (pd.read_csv(io.BytesIO(recording_csv(rec, step_labels=chars)), keep_default_na=False),
                 pd.read_parquet(io.BytesIO(recording_parquet(rec, step_labels=chars)))):  # fmt: skip
        assert back.groupby("t")["char"].first().tolist() == chars  # quotes, commas and newlines survive
    with pytest.raises(ValueError, match="4 step labels for 5 steps"):
        recording_frame(rec, step_labels=chars[:4])


def test_big_recording_figures_stay_small():
    rec = record(input_size=4, hidden=512, steps=2000)
    sizes = {
        "heatmaps": figures.gate_heatmaps(rec),
        "traces": unit_traces(rec, [0, 1, 2]),
        "belt": belt.conveyor_belt(rec, 0),
    }
    for name, fig in sizes.items():
        assert len(pio.to_json(fig, validate=False)) < 2_000_000, name


# ---------------------------------------------------------------------------------------------- GRU and text
def _gru_recording(bidirectional: bool = False):
    from lstm_viz import RecordingGRU

    torch.manual_seed(0)
    gru = RecordingGRU(3, 6, num_layers=2, bidirectional=bidirectional, batch_first=True)
    return gru.record(torch.randn(1, 9, 3))


def test_gru_heatmaps_traces_saturation_and_divergence_show_r_z_n_h():
    rec = _gru_recording(bidirectional=True)
    fig = figures.gate_heatmaps(rec, figures.panels_of(rec))
    titles = [a.text for a in fig.layout.annotations]
    assert any("z · update gate" in t or "z update" in t for t in titles) and not any("forget" in t for t in titles)
    assert len(fig.data) == 4 * 4  # r, z, n, h × (2 layers × 2 directions)
    gate_scales = {fig.layout[f"coloraxis{'' if r == 1 else r}"].cmin for r in (1, 2)}
    assert gate_scales == {0.0}  # r and z on [0, 1]
    traces = unit_traces(rec, [0, 2], layer=1, direction="bwd")
    assert {t.name for t in traces.data if t.showlegend} >= {"r", "z", "n", "h"}
    table = saturation_table(rec)
    assert set(table["gate"]) == {"r", "z"} and len(saturation_figure(table).data) == 2 * 4
    notes = " ".join(a.text for a in saturation_figure(table).layout.annotations)  # the corners read for z, not f
    assert "z here: keeps h" in notes and "z here: replaces h" in notes and "f here" not in notes
    other = _gru_recording(bidirectional=True)
    assert first_divergence(rec, other).sentence
    assert len(difference_heatmaps(rec, other).data) == 4
    one = _gru_recording()  # one panel a row: the long titles, and h is no "short memory" without a c
    titles = [a.text for a in figures.gate_heatmaps(one).layout.annotations]
    assert "h · hidden state (the GRU's only memory)" in titles and not any("short memory" in t for t in titles)


@pytest.mark.parametrize("cell, state", [("lstm", "c"), ("gru", "h")])
def test_the_belt_names_the_old_state_by_direction(cell, state):
    """The backward direction's old state is the one at t+1: its bars, hover, titles and caption say so (they said
    t-1, which names another column of the heatmaps)."""
    rec = record(steps=5, hidden=3, bidirectional=True) if cell == "lstm" else _gru_recording(bidirectional=True)
    for direction, prev in (("fwd", "t-1"), ("bwd", "t+1")):
        fig = belt.conveyor_belt(rec, unit=1, direction=direction)
        kept = next(t for t in fig.data if t.type == "bar" and t.name.startswith("kept"))
        other = "t+1" if prev == "t-1" else "t-1"
        assert f"{state}({prev})" in kept.name and f"{state}({prev}) = %{{customdata" in kept.hovertemplate
        texts = [kept.name, kept.hovertemplate, *(a.text for a in fig.layout.annotations)]
        assert all(other not in text for text in texts)
        caption = belt.belt_words(cell, direction)["caption"]
        assert f"{state}_{{{prev}}}" in caption and "{" + other not in caption and "{prev}" not in caption


def test_the_backward_belt_of_a_packed_shorter_sequence_starts_from_zero():
    """A shorter sequence's backward direction starts at its own last step from zero: kept = f·0 there, not the
    padding's NaN."""
    torch.manual_seed(0)
    model = RecordingLSTM(2, 3, bidirectional=True, batch_first=True)
    x = torch.randn(2, 5, 2)
    rec = model.record(torch.nn.utils.rnn.pack_padded_sequence(x, [5, 3], batch_first=True))
    terms = belt.belt_terms(rec, 0, "bwd", batch=1)
    assert np.all(terms["c_prev"][2] == 0) and np.all(terms["kept"][2] == 0)
    np.testing.assert_allclose(terms["kept"][:3] + terms["written"][:3], terms["c"][:3], atol=1e-6)
    alone = model.record(x[1:, :3])  # the same sequence by itself
    np.testing.assert_allclose(belt.belt_terms(alone, 0, "bwd")["kept"], terms["kept"][:3], atol=1e-6)


def test_gru_belt_kept_plus_written_is_h():
    rec = _gru_recording()
    for direction in ("fwd",):
        terms = belt.belt_terms(rec, 1, direction)
        np.testing.assert_allclose(terms["kept"] + terms["written"], terms["c"], atol=1e-5)
    fig = belt.conveyor_belt(rec, unit=1, layer=1)
    assert "Hidden-state conveyor belt" in fig.layout.title.text
    assert {t.name for t in fig.data if t.type == "bar"} == {"kept z·h(t-1)", "written (1−z)·n"}


def test_step_labels_name_the_time_columns_with_the_characters():
    torch.manual_seed(0)
    rec = RecordingLSTM(4, 5).record(torch.randn(6, 4))
    text = list("a b\n\tc")
    fig = figures.gate_heatmaps(rec, step_labels=text)
    assert list(fig.data[0].x) == ["t 0 · 'a'", "t 1 · '␣'", "t 2 · 'b'", "t 3 · '⏎'", "t 4 · '⇥'", "t 5 · 'c'"]
    traces = unit_traces(rec, [0], step_labels=text)
    assert list(traces.data[0].text) == ["a", "␣", "b", "⏎", "⇥", "c"] and len(traces.data) == 6  # no input row
    with pytest.raises(ValueError, match="5 step labels for 6 steps"):
        figures.gate_heatmaps(rec, step_labels=text[:5])


def test_a_texts_time_axis_shows_its_characters():
    """Every column's character under a short text; under a long one, each tick's characters below its step."""
    torch.manual_seed(0)
    rec = RecordingLSTM(4, 5).record(torch.randn(6, 4))
    text = list("a<b\n c")
    shown = ("a", "&lt;", "b", "⏎", "␣", "c")  # HTML's "<" escaped: Plotly reads tick text as HTML
    heat = figures.gate_heatmaps(rec, step_labels=text)
    assert heat.layout.xaxis.ticktext == shown and len(heat.layout.xaxis.tickvals) == 6
    traces = unit_traces(rec, [0, 1], step_labels=text)
    for axis in (traces.layout.xaxis, traces.layout.xaxis2):
        assert axis.ticktext == shown and axis.tickvals == (0, 1, 2, 3, 4, 5)
    assert belt.conveyor_belt(rec, unit=0, step_labels=text).layout.xaxis3.ticktext == shown
    assert figures.gate_heatmaps(rec).layout.xaxis.ticktext == ("0", "1", "2", "3", "4", "5")  # numbers: no text

    long = RecordingLSTM(4, 5).record(torch.randn(300, 4))
    source = list(("def f(x):\n    return x\n" * 20)[:300])
    ticks = figures.gate_heatmaps(long, step_labels=source).layout.xaxis
    assert 8 <= len(ticks.ticktext) <= 16 and ticks.ticktext[0] == "0<br>d"
    for tick, value in zip(ticks.ticktext, ticks.tickvals, strict=True):  # "t · chars" under the step number
        step = int(tick.split("<br>")[0])
        assert value.startswith(f"t {step} · '{source[step].replace(chr(10), '⏎').replace(' ', '␣')}")
    binned = unit_traces(long, [0], step_labels=source, max_points=100).layout.xaxis
    assert binned.ticktext[0] == "0<br>def" and binned.tickvals[0] == 0  # a 3-step column at its first step
    assert binned.ticktext[1] == f"{int(binned.tickvals[1])}<br>x⏎d"


def test_the_first_divergence_is_named_where_a_change_starts():
    """At the step where an intervention starts, every layer above differs too; the sentence names the lowest layer
    (the replaced tensor), not the first gate of f, i, g, o in some layer above (it said "layer 1 bwd f")."""
    from lstm_viz import RecordingLSTM
    from lstm_viz.core.interventions import Intervention
    from lstm_viz.viz.divergence import first_divergence

    torch.manual_seed(0)
    lstm = RecordingLSTM(3, 5, num_layers=3, bidirectional=True, batch_first=True)
    x = torch.randn(1, 6, 3)
    before, after = lstm.record(x), lstm.record(x, interventions=[Intervention("layer0.fwd.c", 0.0, steps=[0])])
    div = first_divergence(before, after)
    assert div.state_step == 0 and div.where.startswith("layer 0 fwd c"), div.where


def test_the_dotted_line_stands_where_the_panel_shown_diverges():
    """B = A but at t = 5: the forward panel changes from t = 5 on, the backward one from t = 0 (it read t = 5
    first). Each panel's line stands at its own step (it stood at the global t = 0 on the forward panel, which is 0
    until t = 5), and the subtitle gives the panel's step and largest difference beside the global ones."""
    torch.manual_seed(0)
    lstm = RecordingLSTM(2, 3, num_layers=2, bidirectional=True, batch_first=True)
    xa = torch.randn(1, 8, 2)
    xb = xa.clone()
    xb[0, 5] += 1.0
    ra, rb = lstm.record(xa), lstm.record(xb)
    fwd = difference_heatmaps(ra, rb, 0, "fwd")
    assert {shape.x0 for shape in fwd.layout.shapes} == {4.5}
    heat = np.stack([np.asarray(t.z) for t in heatmaps(fwd)])
    assert np.all(heat[:, :, :5] == 0) and np.abs(heat[:, :, 5]).max() > 0
    assert "first diverge at t = 0" in fwd.layout.title.subtitle.text
    panel = float(np.abs(heat).max())
    assert f"This panel (layer 0 fwd): the dotted line, at t = 5; largest difference {panel:.4g}" in (
        fwd.layout.title.subtitle.text)  # fmt: skip
    bwd = difference_heatmaps(ra, rb, 0, "bwd")
    assert {shape.x0 for shape in bwd.layout.shapes} == {-0.5}
    same = difference_heatmaps(ra, ra, 0, "fwd")
    assert not same.layout.shapes and "This panel" not in same.layout.title.subtitle.text


def test_difference_heatmaps_put_the_bounded_quantities_on_one_scale_and_c_on_its_own():
    """A Δf of 0.005 was as deep a red as a Δc of 4, each row on its own scale; the toy's four cells wrote nothing."""
    torch.manual_seed(0)
    lstm = RecordingLSTM(1, 1, batch_first=True)
    rec_a = lstm.record(torch.tensor([[[0.0], [0.5], [0.25], [1.0]]]))
    rec_b = lstm.record(torch.tensor([[[0.0], [0.5], [0.25], [-3.0]]]))
    fig = difference_heatmaps(rec_a, rec_b)
    axes = {q: fig.layout["coloraxis" if r == 1 else f"coloraxis{r}"] for r, q in enumerate("figoch", start=1)}
    shared = {(axes[q].cmin, axes[q].cmax) for q in "figoh"}
    assert len(shared) == 1 and (axes["c"].cmin, axes["c"].cmax) not in shared
    z = dict(zip("figoch", (np.abs(np.asarray(t.z, dtype=float)).max() for t in heatmaps(fig)), strict=True))
    assert shared.pop()[1] == pytest.approx(max(z[q] for q in "figoh")) and axes["c"].cmax == pytest.approx(z["c"])
    assert not any(axes[q].showscale for q in "figoch")  # the values are written: no colour bar squeezed in a row
    eight = RecordingLSTM(1, 8)
    wide = difference_heatmaps(eight.record(torch.zeros(20, 1)), eight.record(torch.ones(20, 1)))
    bars = [wide.layout["coloraxis" if r == 1 else f"coloraxis{r}"].showscale for r in range(1, 7)]
    assert bars == [True, False, False, False, True, False]  # else one colour bar a scale
    assert "f, i, g, o, h on one colour scale, c on its own" in fig.layout.title.subtitle.text
    assert all(t.texttemplate == "%{text}" for t in heatmaps(fig))  # 4 steps × 1 unit: the values written


def test_two_models_side_by_side_share_the_scale_of_c_and_of_a_projected_h():
    """LSTM vs LSTMP side by side: each heatmap had its own ±max|c|; a colour meant ±5 on one side, ±3 on the other."""
    from lstm_viz.viz.gates import shared_ranges

    torch.manual_seed(0)
    x = torch.randn(6, 2)
    small, projected = RecordingLSTM(2, 8).record(x), RecordingLSTM(2, 8, proj_size=3).record(3 * x)
    ranges = shared_ranges([small, projected], 0, "fwd")
    assert set(ranges) == {"c", "h"}  # h too: a projection's h is not bounded
    peak = max(float(small.c.abs().max()), float(projected.c.abs().max()))
    assert ranges["c"] == pytest.approx((-peak, peak))
    for rec in (small, projected):
        axes = figures.gate_heatmaps(rec, ranges=ranges).layout
        c_axis = axes[f"coloraxis{list(rec.tensor_names).index('c') + 1}"]
        assert (c_axis.cmin, c_axis.cmax) == pytest.approx(ranges["c"])
    assert set(shared_ranges([small], 0, "fwd")) == {"c"}


def test_a_bare_models_output_chart_names_its_axes():
    """An uploaded plain LSTM's answer, "The output at the last step: 12 values", had no axis titles."""
    answer = Answer("sequence", "s" * 100, outputs=[0.1 * k for k in range(12)], form="vector")
    fig = answer_figure(answer)
    assert fig.layout.title.text == "The output at the last step: 12 values"
    assert fig.layout.yaxis.title.text == "value" and fig.layout.xaxis.title.text == "output (at the last step)"
