"""Shared figure pieces: one gate palette, the subplot grid, the cell budget, gate heatmaps and saturation.
"""
