"""Why LSTM works: how far back the loss at the last step reaches in a tanh RNN, a GRU and an LSTM."""

from dataclasses import replace

import streamlit as st
import torch

from lstm_viz import gradient_figures as gf
from lstm_viz import gradients as gr
from lstm_viz.device import pick_device
from lstm_viz.parsing import InputError


@st.cache_data(show_spinner=False, max_entries=48)
def trained(kind: str, settings: gr.FlowSettings, device: str):
    return gr.train_weights(kind, settings, torch.device(device))


@st.cache_data(show_spinner=False, max_entries=96)
def flow(kind: str, settings: gr.FlowSettings, device: str) -> gr.ModelFlow:
    weights = trained(kind, replace(settings, length=2), device) if settings.weights == "trained" else None
    return gr.gradient_flow(kind, settings, torch.device(device), trained=weights)


st.title("Why LSTM works: gradient flow through time")
st.markdown(
    "One long sequence goes through a plain **tanh RNN**, a **GRU** and an **LSTM** of the same hidden size. "
    "The loss reads only the **last** hidden state, so how much it depends on step *t* is the gradient "
    "‖∂L/∂h_t‖, computed by autograd. In an RNN it is a product of Jacobians `Wᵀ·diag(1 − h²)` and shrinks "
    "geometrically; the LSTM's cell state is updated by **addition**, `c_t = f ⊙ c_{t-1} + i ⊙ g`, so along "
    "c the gradient is only scaled by the forget gates (their product ∏f is drawn too). Set the forget-gate "
    "bias to 0, 1 or 3 and watch the LSTM's slope change."
)
c = st.columns(5)
texts = (
    c[0].text_input("Sequence length", "200", key="gf_length", help=f"2 to {gr.MAX_LENGTH} steps"),
    c[1].text_input("Hidden size", "32", key="gf_hidden", help=f"1 to {gr.MAX_HIDDEN}, the same for all three"),
    c[2].text_input("Input size", "4", key="gf_input", help=f"features per step, 1 to {gr.MAX_INPUT}"),
    c[3].text_input("LSTM forget-gate bias", "1", key="gf_fbias", help="e.g. 0, 1 or 3; 'default' = PyTorch's"),
)
seed = c[4].text_input("Seed", "0", key="gf_seed")
weights = st.radio(
    "Weights", ["random", "trained"], horizontal=True, key="gf_weights",
    format_func={"random": "random (PyTorch's initialisation)",
                 "trained": "trained on 'remember the first input' (Adam, lr 0.01)"}.get,
)  # fmt: skip
train = ("400", "10")
if weights == "trained":
    t = st.columns(4)
    train = (
        t[0].text_input("Training steps", "400", key="gf_steps"),
        t[1].text_input("Training length", "10", key="gf_tlen", help="sequence length while training"),
    )

try:
    settings = gr.parse_settings(*texts, weights=weights, seed=seed, train_steps=train[0], train_length=train[1])
    st.session_state["gf_last_good"] = settings
except InputError as err:
    settings = st.session_state.get("gf_last_good")
    st.error(f"{err}" + ("\n\nStill showing the last valid settings below." if settings else ""), icon="⚠️")
    if settings is None:
        st.stop()

device = str(pick_device())
weights_trained = settings.weights == "trained"
bar = st.progress(0.0, text="Computing gradients…")
flows = {}
stages = [(kind, part) for kind in gr.KINDS for part in (("train", "measure") if weights_trained else ("measure",))]
for n, (kind, part) in enumerate(stages):
    what = (f"Training the {gr.LABELS[kind]} ({settings.train_steps} Adam steps on {settings.train_length}-step "
            f"sequences)…" if part == "train" else f"Backpropagating through {settings.length} steps of the "
            f"{gr.LABELS[kind]}…")  # fmt: skip
    bar.progress(n / len(stages), text=what)
    if part == "train":
        trained(kind, replace(settings, length=2), device)
    else:
        flows[kind] = flow(kind, settings, device)
bar.empty()
result = gr.FlowResult(settings=settings, flows=flows, device=device)

cols = st.columns(3)
for col, (kind, f) in zip(cols, flows.items(), strict=True):
    ratio = f.grad_h[0] / f.grad_h[-1] if f.grad_h[-1] > 0 else float("nan")
    reach = result.horizons()[kind]
    col.metric(f"{f.label}: ‖∂L/∂h_0‖ ÷ ‖∂L/∂h_T‖", f"{ratio:.1e}" if ratio > 0 else "0 (underflow)")
    col.caption(f"stays above 1/1000 of its last-step value for **{reach}** steps back · loss {f.loss:.3f}"
                + (f" · training accuracy {f.train['accuracy']:.0%}" if f.train else ""))  # fmt: skip

normalise = st.toggle("Divide each curve by its value at the last step", value=True, key="gf_norm")
st.plotly_chart(gf.gradient_flow_figure(result, normalise), width="stretch", key="gf_flow")
per_feature = st.toggle("Input gradient per feature", value=False, key="gf_perfeat")
st.plotly_chart(gf.input_gradient_heatmap(result, per_feature), width="stretch", key="gf_heat")
st.download_button("Download every curve (CSV)", result.to_frame().to_csv(index=False).encode(), "gradient_flow.csv",
                   "text/csv", key="gf_csv", on_click="ignore", icon=":material/download:")  # fmt: skip
st.caption(
    f"Computed with autograd in {next(iter(flows.values())).grad_h.dtype} on `{device}`; the nets are unrolled "
    "one step at a time and a zero probe added to every h_t (and c_t) gives the total derivative ∂L/∂h_t. "
    "Input: x_t ~ N(0, 1); label: the sign of x_0[0]; loss: binary cross-entropy of a linear read-out of h_T."
)
