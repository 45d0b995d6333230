"""LSTM vs LSTMP: shapes, counts, multiply-adds and latency from real modules, the proj_size sweep, figures, UI.
"""
