"""Why LSTM works: how far back the loss at the last step reaches in a tanh RNN, a GRU and an LSTM."""

import streamlit as st

from lstm_viz.app.ui import ensure_app_shell
from lstm_viz.gradients import figures as gf
from lstm_viz.gradients import ui as gw

ensure_app_shell()

st.title("Why LSTM works: gradient flow through time")
st.markdown(
    "One long sequence goes through a plain **tanh RNN**, a **GRU** and an **LSTM** of the same hidden size. "
    "The loss reads only the **last** hidden state, so how much it depends on step *t* is the gradient "
    "‖∂L/∂h_t‖, computed by autograd. In an RNN it is a product of Jacobians `Wᵀ·diag(1 − h²)` and shrinks "
    "geometrically; the LSTM's cell state is updated by **addition**, `c_t = f ⊙ c_{t-1} + i ⊙ g`, so along "
    "c the gradient is only scaled by the forget gates (their product ∏f is drawn too). Set the forget-gate "
    "bias to 0, 1 or 3 and watch the LSTM's slope change."
)
settings = gw.settings_section()
if settings is None:
    st.stop()
result = gw.compute(settings)
gw.metrics_section(result)

normalise = st.toggle("Divide each curve by its value at the last step", value=True, key="gf_norm")
st.plotly_chart(gf.gradient_flow_figure(result, normalise), width="stretch", key="gf_flow")
st.caption(
    "How to read it: a curve that stays flat going left means the loss still reaches far back. The dotted ∏f is "
    "the path along c alone, through the forget gates (their product, averaged over units); ‖∂L/∂c_t‖ adds the "
    "paths through h_t and the gates of later steps, which can add to it or cancel it, so it may lie above or below "
    "∏f. With trained weights the curves show what each net learned to use, not only what its architecture allows."
)
per_feature = st.toggle("Input gradient per feature", value=False, key="gf_perfeat")
st.plotly_chart(gf.input_gradient_heatmap(result, per_feature), width="stretch", key="gf_heat")
st.download_button("Download every curve (CSV)", result.to_frame().to_csv(index=False).encode(), "gradient_flow.csv",
                   "text/csv", key="gf_csv", on_click="ignore", icon=":material/download:")  # fmt: skip
st.caption(
    f"Computed with autograd in {result.dtype} on `{result.device}`; the nets are unrolled "
    "one step at a time and a zero probe added to every h_t (and c_t) gives the total derivative ∂L/∂h_t. "
    "Input: x_t ~ N(0, 1); label: the sign of x_0[0]; loss: binary cross-entropy of a linear read-out of the last "
    "state, h_T here (steps count from 0, so the last one is t = T − 1)."
)
