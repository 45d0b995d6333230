"""Home: what lstm-viz is for, the six LSTM equations, and where to go next."""

import streamlit as st

from lstm_viz.app.ui import ensure_app_shell, narrow_columns, pick_in_sidebar, shipped_names
from lstm_viz.interventions.ui import units_key
from lstm_viz.tasks.posts import POSTS
from lstm_viz.text.ui import ranked_by

ensure_app_shell()

st.title("lstm-viz — see inside an LSTM")
st.markdown(
    "An LSTM reads a sequence one step at a time and carries two memories: a **cell state** `c` (long memory) that "
    "is updated by *addition*, and a **hidden state** `h` (short memory) that it shows to the next layer. Four "
    "gates decide, at every step and for every unit, how much of `c` to keep, what to write into it, and what to "
    "show. lstm-viz records all of them — `f, i, g, o, c, h` for every step, layer and direction — with a drop-in "
    "twin of `torch.nn.LSTM` that gives exactly its results."
)
st.markdown(
    "Type a sequence and watch the gates on the **Gate Explorer**, train the StatQuest toy LSTM or the 8-bit "
    "subtraction LSTM **live**, measure what a projection (LSTMP) saves, and see **why** the additive cell state "
    "lets gradients survive where a plain RNN's vanish. Read Python source with a character LSTM and find the "
    "cells that track strings, comments and brackets; clamp or ablate any unit and see the answer change; open "
    "the LSTMs and GRUs of your own model's weights. Everything works at once on the shipped models."
)

st.subheader("Try first")
try_cols = narrow_columns(3, key="home_try", narrow="stack")  # one card a row in a narrow window
shipped = shipped_names()
# (button, what it shows, sidebar source, shipped file or None, the explorer tab and its widgets). Buttons never wrap:
# labels of at most 16 characters fit a third of a 1,024-px window (longer ones were cut to "Read Python with a…")
tries = [
    ("Read Python code", "A character LSTM: the text coloured by the cells that follow strings, comments and "
     "brackets — found and scored over files it never trained on.", "shipped", "charlm_python.pt",
     {"widgets": ranked_by("in_string")}),
    ("Break the borrow", "The subtraction LSTM in the Gate Explorer's **Intervene**: zero unit 1 of c and 123 − 61 "
     "answers 30 instead of 62; **Which units matter** ranks every unit.", "shipped", "subtraction_lstm.pt",
     {"open_tab": "Intervene", "widgets": {units_key(32): "1"}}),
    ("Your own model", "Upload the state_dict of any model with an LSTM or GRU in it — a bare `nn.LSTM`, a "
     "seq2seq, a language model — or an lstm-viz checkpoint (read with `weights_only=True`: a file cannot run "
     "code).", "upload", None, {}),
]  # fmt: skip
for col, (label, blurb, source, name, opens) in zip(try_cols, tries, strict=True):
    with col:
        if name is not None and name not in shipped:
            continue  # that checkpoint is not on this server
        if st.button(label, icon=":material/arrow_forward:", on_click=pick_in_sidebar, args=(source, name),
                     kwargs=opens):  # fmt: skip
            st.switch_page("pages/explorer.py")
        st.caption(blurb)

# One under the other: beside the storage notes, the equations were cut at the right on a 1,024-px window
st.subheader("The six equations")
st.latex(r"f_t = \sigma(W_{if} x_t + b_{if} + W_{hf} h_{t-1} + b_{hf}) \quad\text{forget gate}")
st.latex(r"i_t = \sigma(W_{ii} x_t + b_{ii} + W_{hi} h_{t-1} + b_{hi}) \quad\text{input gate}")
st.latex(r"g_t = \tanh(W_{ig} x_t + b_{ig} + W_{hg} h_{t-1} + b_{hg}) \quad\text{candidate}")
st.latex(r"o_t = \sigma(W_{io} x_t + b_{io} + W_{ho} h_{t-1} + b_{ho}) \quad\text{output gate}")
st.latex(r"c_t = f_t \odot c_{t-1} + i_t \odot g_t \quad\text{cell state: kept + written}")
st.latex(r"h_t = o_t \odot \tanh(c_t) \quad(\text{LSTMP: } h_t = W_{hr}\,(o_t \odot \tanh(c_t)))")
st.subheader("How PyTorch stores them")
st.markdown(
    "`nn.LSTM` stacks the four gates' weights in the order **i, f, g, o**: `weight_ih_l0` is "
    "`[W_ii | W_if | W_ig | W_io]` of shape `(4·hidden, input)`, `weight_hh_l0` is `(4·hidden, hidden)` "
    "(or `(4·hidden, proj)` for an LSTMP), and the two biases `bias_ih_l0`, `bias_hh_l0` are `(4·hidden)`. "
    "lstm-viz keeps that storage order and these names, but *shows* the gates as **f, i, g, o, c, h**: "
    "forget first, as the tutorials tell the story."
)
st.info("`c` keeps `hidden_size` units; with `proj_size > 0`, `h` and the output have `proj_size` units.")

st.subheader("Where to go")
links = [
    ("pages/explorer.py", "Gate Explorer", "Record any model on a sequence you type; heatmaps, traces, export."),
    ("pages/cell_step.py", "One cell, step by step", "Every number of one step, and the parity check."),
    ("pages/train_toy.py", "Train: StatQuest toy", "Company A → 0, Company B → 1, learned live."),
    ("pages/train_subtraction.py", "Train: 8-bit subtraction", "Watch an LSTM learn to borrow."),
    ("pages/lstm_vs_lstmp.py", "LSTM vs LSTMP", "What the projection costs and saves, measured."),
    ("pages/gradient_flow.py", "Why LSTM works: gradient flow", "RNN vs GRU vs LSTM over hundreds of steps."),
]
# one row of columns per three links: a two-line caption in the first row no longer pushes a link of the second down
for row in range(0, len(links), 3):
    for col, (path, label, blurb) in zip(st.columns(3), links[row : row + 3], strict=False):
        with col:
            st.page_link(path, label=label, icon=":material/arrow_forward:")
            st.caption(blurb)

with st.expander("\"post 0\" … \"post 4\": the five tutorials this app retells"):
    st.markdown(
        "Pages name the tutorial posts the app grew from by number; every model and number in them can be "
        "reproduced here. (\"Seed\" only ever means a random seed.)\n\n"
        + "\n".join(f"- **{text.split(':', 1)[0]}**:{text.split(':', 1)[1]}" for text in POSTS.values())
    )
