"""lstm-viz: see inside an LSTM. All logic lives in this package; the Streamlit pages and the CLI are thin."""

from lstm_viz.core.device import describe_device, pick_device
from lstm_viz.core.errors import RNNArgumentError, RNNInputError, RNNInputTypeError
from lstm_viz.core.gru import RecordingGRU
from lstm_viz.core.intervention_text import parse_intervention
from lstm_viz.core.interventions import Intervention, intervened_forward
from lstm_viz.core.lstm import RecordingLSTM
from lstm_viz.core.modules import record_modules
from lstm_viz.core.packed import record_packed
from lstm_viz.core.recording import (
    DISPLAY_ORDER,
    GRU_DISPLAY_ORDER,
    GRU_STORAGE_ORDER,
    STORAGE_ORDER,
    CellRecording,
    GRURecording,
    Recording,
    recording_names,
)

__all__ = [
    "DISPLAY_ORDER",
    "GRU_DISPLAY_ORDER",
    "GRU_STORAGE_ORDER",
    "STORAGE_ORDER",
    "CellRecording",
    "GRURecording",
    "Intervention",
    "RNNArgumentError",
    "RNNInputError",
    "RNNInputTypeError",
    "Recording",
    "RecordingGRU",
    "RecordingLSTM",
    "describe_device",
    "intervened_forward",
    "parse_intervention",
    "pick_device",
    "record_modules",
    "record_packed",
    "recording_names",
]
