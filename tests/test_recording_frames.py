"""Recordings: to_frame's rows for both directions, an unsorted or partial batch selection on packed input, NumPy
integers and bad indices, and rec[name] for a direction that was not recorded (gaps found by mutation)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.nn.utils.rnn import pack_sequence

from lstm_viz import RecordingLSTM


def _rec(bidirectional: bool = True, layers: int = 2):
    torch.manual_seed(0)
    lstm = RecordingLSTM(3, 4, layers, bidirectional=bidirectional).double().eval()
    return lstm, lstm.record(torch.randn(5, 3, 3, dtype=torch.double))


def test_every_to_frame_row_holds_the_value_at_its_layer_direction_batch_step_and_unit():
    """Rows of both directions, for batch rows selected out of order, carry the tensor's value at their indices."""
    _, rec = _rec()
    frame = rec.to_frame(tensors=["c", "h"], batch=[2, 0])
    assert set(frame["direction"]) == {"fwd", "bwd"} and len(frame) == 2 * 2 * 2 * 2 * 5 * 4
    for row in frame.itertuples():
        d = ("fwd", "bwd").index(row.direction)
        expected = getattr(rec, row.tensor)[row.layer, d, row.batch, row.t, row.unit].item()
        assert row.value == expected, row


def test_to_frame_of_one_batch_row_of_a_packed_recording_keeps_that_rows_steps():
    """On packed input, selecting batch rows applies the padding mask of those rows (not of the whole batch)."""
    torch.manual_seed(0)
    lstm = RecordingLSTM(3, 4).double().eval()
    packed = pack_sequence([torch.randn(5, 3, dtype=torch.double), torch.randn(2, 3, dtype=torch.double)])
    rec = lstm.record(packed)
    for b, length in ((1, 2), (0, 5)):
        frame = rec.to_frame(tensors="c", batch=b)
        assert len(frame) == length * 4 and not frame["value"].isna().any()
        assert set(frame["batch"]) == {b} and frame["t"].max() == length - 1


def test_to_frame_takes_numpy_integers_and_refuses_negative_indices():
    """layers=np.int64(1) selects layer 1, as the docstring promises; batch=-1 is a ValueError, not the last row."""
    _, rec = _rec()
    frame = rec.to_frame(layers=np.int64(1), tensors="h", batch=np.int64(2))
    assert set(frame["layer"]) == {1} and set(frame["batch"]) == {2}
    with pytest.raises(ValueError, match="batch indices"):
        rec.to_frame(batch=-1)
    with pytest.raises(ValueError, match="layers"):
        rec.to_frame(layers=-1)


def test_a_backward_name_on_a_one_direction_recording_is_a_key_error_naming_what_exists():
    """rec["layer0.bwd.h"] on a forward-only recording says what the recording has (KeyError), not IndexError."""
    _, rec = _rec(bidirectional=False, layers=1)
    assert "layer0.bwd.h" not in rec
    with pytest.raises(KeyError, match="not in this recording"):
        rec["layer0.bwd.h"]


def test_frame_categories_follow_the_recording_order():
    """fwd, bwd and f, i, g, o, c, h — as `python -m lstm_viz record` writes them — so that tables from the app and
    from the command line concatenate as categoricals (sorted ones, bwd, fwd and c, f, …, fell back to objects)."""
    import pandas as pd

    _, rec = _rec()
    frame = rec.to_frame()
    assert list(frame["direction"].cat.categories) == ["fwd", "bwd"]
    assert list(frame["tensor"].cat.categories) == list(rec.recorded_tensors)
    part = rec.to_frame(tensors=["h", "c"], directions=["bwd", "fwd"])
    assert list(part["tensor"].cat.categories) == ["c", "h"]
    assert list(part["direction"].cat.categories) == ["fwd", "bwd"]
    both = pd.concat([rec.to_frame(tensors=["c", "h"]), rec.to_frame(tensors=["c", "h"])])
    assert isinstance(both["tensor"].dtype, pd.CategoricalDtype)
