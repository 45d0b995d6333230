"""The core: RecordingLSTM and RecordingGRU (drop-in nn.LSTM / nn.GRU that record every gate and state), the
recordings they return (Recording, GRURecording), packed-sequence recording, record_modules (every LSTM and GRU
inside any nn.Module), the fused CPU kernel's own gates, and the device and memory set-up. Imports nothing else
from lstm_viz.
"""
