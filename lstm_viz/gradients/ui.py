"""Streamlit sections of the gradient-flow page: validated settings, cached computation with progress, metrics.

The computation is :mod:`lstm_viz.gradients.flow`; training and measuring are cached with ``st.cache_data`` per net
and keyed on every setting (training does not depend on the test length, so its cache ignores it).
"""

from __future__ import annotations

from dataclasses import replace

import streamlit as st
import torch

from lstm_viz.core.device import pick_device
from lstm_viz.gradients import flow as gr
from lstm_viz.parsing import InputError

__all__ = ["compute", "metrics_section", "settings_section"]

_LAST_GOOD = "gf_last_good"
_WEIGHTS = {
    "random": "random (PyTorch's initialisation)",
    "trained": "trained on 'remember the first input' (Adam, lr 0.01)",
}


@st.cache_data(show_spinner=False, max_entries=48)
def _trained(kind: str, settings: gr.FlowSettings, device: str):
    return gr.train_weights(kind, settings, torch.device(device))


@st.cache_data(show_spinner=False, max_entries=96)
def _flow(kind: str, settings: gr.FlowSettings, device: str) -> gr.ModelFlow:
    weights = _trained(kind, replace(settings, length=2), device) if settings.weights == "trained" else None
    return gr.gradient_flow(kind, settings, torch.device(device), trained=weights)


def settings_section() -> gr.FlowSettings | None:
    """The text boxes and the weights choice, validated; on bad text an error with an example and the last
    valid settings (None when there never were any)."""
    c = st.columns(5)
    texts = (
        c[0].text_input("Sequence length", "200", key="gf_length", help=f"2 to {gr.MAX_LENGTH} steps"),
        c[1].text_input("Hidden size", "32", key="gf_hidden", help=f"1 to {gr.MAX_HIDDEN}, the same for all three"),
        c[2].text_input("Input size", "4", key="gf_input", help=f"features per step, 1 to {gr.MAX_INPUT}"),
        c[3].text_input("LSTM forget-gate bias", "1", key="gf_fbias",
                        help="-20 to 20, e.g. 0, 1 or 3; 'default' = PyTorch's own initialisation"),
    )
    seed = c[4].text_input("Random seed", "0", key="gf_seed", help="0 to 2,147,483,647: the weights and the input")
    weights = st.radio("Weights", list(_WEIGHTS), horizontal=True, key="gf_weights", format_func=_WEIGHTS.get)
    t = st.columns(4)  # always drawn (disabled for random weights), so what was typed survives a switch
    random = weights != "trained"
    train = (
        t[0].text_input("Training steps", "400", key="gf_steps", disabled=random,
                        help="Adam steps of training (for trained weights)"),
        t[1].text_input("Training length", "10", key="gf_tlen", disabled=random,
                        help="sequence length while training (for trained weights)"),
    )  # fmt: skip
    if random:
        train = ("400", "10")  # not used by random weights: a bad box there does not block them
    try:
        settings = gr.parse_settings(*texts, weights=weights, seed=seed, train_steps=train[0], train_length=train[1])
    except InputError as err:
        settings = st.session_state.get(_LAST_GOOD)
        note = "\n\nStill showing the last valid settings below." if settings else ""
        st.error(f"{err}{note}", icon=":material/warning:")
        if settings is not None:
            st.caption(used(settings))
        return settings
    st.session_state[_LAST_GOOD] = settings
    st.caption(used(settings))
    return settings


def used(settings: gr.FlowSettings) -> str:
    """What the figures below were computed with, every setting spelled out."""
    bias = "PyTorch's default init" if settings.forget_bias is None else f"{settings.forget_bias:g}"
    trained = (f"trained {settings.train_steps} Adam steps on {settings.train_length}-step sequences"
               if settings.weights == "trained" else "random weights")  # fmt: skip
    return (f"In use: {settings.length} steps · hidden size {settings.hidden_size} · input size "
            f"{settings.input_size} · LSTM forget-gate bias {bias} · random seed {settings.seed} · {trained}")


def compute(settings: gr.FlowSettings) -> gr.FlowResult:
    """Train (if asked) and measure the three nets through the caches, with a progress bar per stage."""
    device = str(pick_device())
    bar = st.progress(0.0, text="Computing gradients…")
    parts = ("train", "measure") if settings.weights == "trained" else ("measure",)
    stages = [(kind, part) for kind in gr.KINDS for part in parts]
    flows = {}
    for n, (kind, part) in enumerate(stages):
        label = gr.LABELS[kind]
        if part == "train":
            bar.progress(n / len(stages), text=f"Training the {label} ({settings.train_steps} Adam steps on "
                                               f"{settings.train_length}-step sequences)…")  # fmt: skip
            _trained(kind, replace(settings, length=2), device)
        else:
            bar.progress(n / len(stages), text=f"Backpropagating through {settings.length} steps of the {label}…")
            flows[kind] = _flow(kind, settings, device)
    bar.empty()
    return gr.FlowResult(settings=settings, flows=flows, device=device)


def metrics_section(result: gr.FlowResult) -> None:
    """Per net: ‖∂L/∂h_0‖ ÷ ‖∂L/∂h_T‖, over how many last steps it stays above 1/1000, the loss (and training)."""
    horizons = result.horizons()
    # the ratio named once, above: in each metric's label it was cut to "RNN (tanh): ‖∂L/∂h_0‖ ÷ ‖∂L…" at 1,024 px
    st.markdown("**‖∂L/∂h_0‖ ÷ ‖∂L/∂h_T‖**: how much of the gradient at the last step reaches the first")
    for col, (kind, f) in zip(st.columns(len(result.flows)), result.flows.items(), strict=True):
        ratio = f.grad_h[0] / f.grad_h[-1] if f.grad_h[-1] > 0 else float("nan")
        col.metric(f.label, f"{ratio:.1e}" if ratio > 0 else "0 (underflow)")
        trained = f" · training accuracy {f.train['accuracy']:.0%}" if f.train else ""
        along_c = (f" (‖∂L/∂c_t‖: **{gr.horizon(f.grad_c)}**)" if f.grad_c is not None else "")
        col.caption(f"stays above 1/1000 of its last-step value over the last **{horizons[kind]}** of "
                    f"{len(f.grad_h)} steps{along_c} · loss "
                    f"{f.loss:.3f}{trained}")  # fmt: skip
    st.caption(reading(result.settings))


def reading(settings: gr.FlowSettings) -> str:
    """What to read in these numbers for the weights in use, in words."""
    if settings.weights != "trained":
        return (
            "Random weights: what each architecture lets through before any learning; the losses are those of "
            "untrained read-outs (no net has learned the task yet). Choose trained weights to see what each net "
            "learned to use."
        )
    return (
        f"Trained weights: each net learned to remember the sign of the first input on {settings.train_length}-step "
        f"sequences (its training accuracy). The loss and the curves are for this {settings.length}-step sequence, "
        "longer than anything it trained on, so a high accuracy beside a high loss is no contradiction: the net may "
        "not carry the memory this far. An LSTM that remembers keeps it in its cell state c, so read its "
        "‖∂L/∂c_t‖ too: h_t = o ⊙ tanh(c_t) reaches the loss only through the next steps' gates, and a trained "
        "LSTM can lean on it little."
    )
