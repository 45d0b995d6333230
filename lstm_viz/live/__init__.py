"""Live training pages: the figures of a run and the Streamlit controls that drive a LiveRun in ticks.
"""
