"""lstm-viz: the Streamlit entry point. Navigation over pages/ and the sidebar every page shares."""

import streamlit as st

from lstm_viz.app.ui import keep_picker_state, narrow_layout, sidebar_model_picker
from lstm_viz.core.allocator import keep_freed_memory
from lstm_viz.core.device import describe_device, pick_device

keep_freed_memory()  # once per process: recordings reuse freed memory instead of page-faulting (allocator.py)

st.set_page_config(page_title="lstm-viz", page_icon=":material/memory:", layout="wide")
narrow_layout()  # rows of columns that rearrange in a narrow window (lstm_viz/app/narrow.css)

# The pages that look inside the model chosen in the sidebar; the others build or train their own.
MODEL_PAGES = [
    st.Page("pages/explorer.py", title="Gate Explorer", icon=":material/biotech:"),
    st.Page("pages/cell_step.py", title="One cell, step by step", icon=":material/calculate:"),
]
PAGES = {
    "Start": [st.Page("pages/home.py", title="Home", icon=":material/home:", default=True)],
    "Look inside": MODEL_PAGES,
    "Train live": [
        st.Page("pages/train_toy.py", title="Train: StatQuest toy", icon=":material/show_chart:"),
        st.Page("pages/train_subtraction.py", title="Train: 8-bit subtraction", icon=":material/remove:"),
    ],
    "Compare architectures": [
        st.Page("pages/lstm_vs_lstmp.py", title="LSTM vs LSTMP", icon=":material/balance:"),
        st.Page("pages/gradient_flow.py", title="Why LSTM works: gradient flow", icon=":material/waves:"),
    ],
}

navigation = st.navigation(PAGES)
with st.sidebar:
    if navigation.url_path in {page.url_path for page in MODEL_PAGES}:
        sidebar_model_picker()
    else:
        keep_picker_state()  # the choice waits, unchanged, for the next page that uses it
    st.caption(f"Tensors live on **{describe_device(pick_device())}**")
navigation.run()
