"""Training: the engine every task trains with, checkpoints, and the live controller the pages drive.
"""
