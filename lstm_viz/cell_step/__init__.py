"""One cell, step by step: each gate's equation with the real numbers substituted, and its Streamlit page parts.
"""
