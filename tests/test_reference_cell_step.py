"""The reference cell step and parity check: initial states of upper layers, the backward direction's previous step,
what recorded_diff and allclose compare, negative indices, and the tables' columns (gaps found by mutation)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from lstm_viz.core import reference as ref
from lstm_viz.core.lstm import RecordingLSTM


def _lstm(**kw) -> RecordingLSTM:
    torch.manual_seed(0)
    return RecordingLSTM(3, 4, batch_first=True, **kw).double()


def test_cell_step_starts_every_layer_and_direction_from_its_own_initial_state():
    """The first step of layer k, direction d reads (h0, c0)[k·D + d]: layer 1's backward run starts from index 3."""
    lstm = _lstm(num_layers=2, bidirectional=True)
    x = torch.randn(2, 4, 3, dtype=torch.double)
    hx = ref.initial_state(lstm, batch=2, seed=3)
    rec = lstm.record(x, hx)
    for layer in range(2):
        for direction, t in ((0, 0), (1, 3)):
            step = ref.cell_step(lstm, rec, t, layer=layer, direction=direction, batch=1, hx=hx)
            np.testing.assert_allclose(step.h_prev, hx[0][layer * 2 + direction, 1].numpy())
            np.testing.assert_allclose(step.c_prev, hx[1][layer * 2 + direction, 1].numpy())
            assert step.recorded_diff < 1e-12, (layer, direction)


def test_the_backward_directions_previous_step_is_t_plus_one():
    """CellStep.prev_t (shown on the page as the step h_prev comes from) is t+1 for the backward direction."""
    lstm = _lstm(bidirectional=True)
    rec = lstm.record(torch.randn(1, 4, 3, dtype=torch.double))
    assert ref.cell_step(lstm, rec, 2, direction=1).prev_t == 3
    assert ref.cell_step(lstm, rec, 3, direction=1).prev_t == 4  # T: the initial state
    assert ref.cell_step(lstm, rec, 2, direction=0).prev_t == 1


def test_recorded_diff_sees_a_wrong_recorded_h():
    """recorded_diff compares h too: a recording whose h alone is off by 0.01 shows a difference of 0.01."""
    lstm = _lstm(proj_size=2)
    rec = lstm.record(torch.randn(1, 3, 3, dtype=torch.double))
    wrong = dataclasses.replace(rec, h=rec.h + 0.01)
    assert ref.cell_step(lstm, rec, 0).recorded_diff < 1e-12
    assert ref.cell_step(lstm, wrong, 0).recorded_diff == pytest.approx(0.01)


def test_parity_allclose_judges_c_n_as_well_as_the_output():
    """A recording whose cell states alone are off (its output and h_n right) is not allclose."""

    class WrongC(RecordingLSTM):
        def record(self, x, hx=None, **kw):
            rec = super().record(x, hx, **kw)
            return dataclasses.replace(rec, c=rec.c * 1.01)  # m (hence output and h_n) untouched

    torch.manual_seed(0)
    par = ref.parity(WrongC(3, 5, batch_first=True), torch.randn(1, 4, 3))
    assert par.rows["recording"]["output"] < 1e-6 and par.rows["recording"]["c_n"] > 1e-4
    assert not par.allclose["recording"] and par.allclose["loop"]


@pytest.mark.parametrize("where", [{"t": -1}, {"t": 0, "batch": -1}, {"t": 0, "layer": -1}])
def test_cell_step_refuses_negative_indices(where):
    """A negative t, batch or layer is a ValueError, not Python's count from the end."""
    lstm = _lstm()
    rec = lstm.record(torch.randn(2, 3, 3, dtype=torch.double))
    with pytest.raises(ValueError, match="must be in 0"):
        ref.cell_step(lstm, rec, **where)


def test_step_table_names_m_by_what_it_is():
    """Without a projection the last column is h; with one it is o·tanh(c), since h = W_hr m."""
    for proj, column in ((0, "h"), (2, "o·tanh(c)")):
        lstm = _lstm(proj_size=proj)
        rec = lstm.record(torch.randn(1, 3, 3, dtype=torch.double))
        cols = ref.step_table(ref.cell_step(lstm, rec, 1))
        assert list(cols)[-1] == column and "h" not in list(cols)[:-1]


def test_rnn_table_reads_the_batch_item_asked_for():
    """rnn_table(run, batch=b): both norms are of batch item b."""
    run = ref.rnncell_vs_rnn(dtype=torch.float64)
    table = ref.rnn_table(run, batch=2)
    np.testing.assert_allclose(table["RNN ‖h_t‖"], np.linalg.norm(run.h_rnn[:, 2], axis=1))
    np.testing.assert_allclose(table["RNNCell ‖h_t‖"], np.linalg.norm(run.h_cell[:, 2], axis=1))
