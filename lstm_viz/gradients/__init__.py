"""Why LSTM works: gradient flow through a tanh RNN, a GRU and an LSTM, its figures and its page parts.
"""
