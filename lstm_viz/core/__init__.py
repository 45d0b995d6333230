"""The core: RecordingLSTM (a drop-in nn.LSTM that records every gate and state), the Recording it returns,
the fused CPU kernel's own gates, and the device and memory set-up. Imports nothing else from lstm_viz.
"""
