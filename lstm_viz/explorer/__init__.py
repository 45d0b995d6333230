"""The Gate Explorer: model sources, inputs, answers, two-input comparison, exports and its Streamlit sections.
"""
