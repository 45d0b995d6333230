"""A page that fails the way an unforeseen bug would (Python's int() digit limit), for the browser test that checks
what a visitor sees: run from the repository root, it reads the app's .streamlit/config.toml."""

import streamlit as st

st.title("An unexpected error")
int("9" * 10_000)  # ValueError: Exceeds the limit (4300 digits) for integer string conversion
