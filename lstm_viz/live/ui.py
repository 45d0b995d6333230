"""Streamlit helpers of the live-training pages: the session's LiveRun, its buttons, progress bar and live fragment.

Both training pages use these, so each page only says what to train and what to draw. A run lives in
``st.session_state`` (one per browser session: two tabs never share a model; leaving the page and coming back finds
the run where it was). Training advances inside ``live_fragment``, which reruns every ``TICK_SECONDS`` while the
run is running and trains for ``TRAIN_SHARE`` of each tick.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import streamlit as st

from lstm_viz.training.live import DETAIL_SECONDS, MAX_EPOCHS, TICK_SECONDS, TRAIN_SHARE, LiveRun, RunState, TrainerLike

__all__ = [
    "apply_settings",
    "live_fragment",
    "live_run",
    "run_controls",
    "show_progress",
]

_STATE_ICONS = {  # Material icons: emoji fonts are missing on many headless machines
    RunState.IDLE: ":material/radio_button_unchecked:",
    RunState.RUNNING: ":material/play_circle:",
    RunState.PAUSED: ":material/pause_circle:",
    RunState.STOPPED: ":material/stop_circle:",
    RunState.FINISHED: ":material/check_circle:",
    RunState.FAILED: ":material/error:",
}


def live_run(key: str, factory: Callable[[], TrainerLike], **options: Any) -> LiveRun:
    """This browser session's LiveRun stored under ``key``, created once (``options`` go to ``LiveRun``)."""
    if key not in st.session_state or not isinstance(st.session_state[key], LiveRun):
        st.session_state[key] = LiveRun(factory, **options)
    return st.session_state[key]




def _notice_key(run_key: str) -> str:
    return f"{run_key}__notice"


def _guarded(run_key: str, action: Callable[[], None]) -> Callable[[], None]:
    """A button callback that turns a ValueError (bad number) into a message shown next to the controls."""

    def callback() -> None:
        try:
            action()
            st.session_state.pop(_notice_key(run_key), None)
        except ValueError as exc:
            st.session_state[_notice_key(run_key)] = str(exc)

    return callback


def apply_settings(run_key: str, prefix: str) -> None:
    """Widget callback: give the session's run the learning rate and epochs now in ``{prefix}_lr`` and
    ``{prefix}_epochs`` — at once, even mid-run (the model and optimizer state are kept)."""
    run = st.session_state.get(run_key)
    if not isinstance(run, LiveRun):
        return
    try:
        run.set_lr(st.session_state[f"{prefix}_lr"])
        run.set_target(st.session_state[f"{prefix}_epochs"])
        st.session_state.pop(_notice_key(run_key), None)
    except (KeyError, ValueError) as exc:
        st.session_state[_notice_key(run_key)] = str(exc)


def run_controls(
    run: LiveRun,
    run_key: str,
    factory: Callable[[], Callable[[], TrainerLike]],
    prefix: str | None = None,
    more: int = 1000,
) -> None:
    """Start / Pause / Resume / Stop / Reset and "continue N more epochs" for ``run``.

    ``factory()`` returns the trainer factory for the current settings; it is read when Start is pressed, so a
    setting changed together with the click is not lost. With ``prefix``, the ``{prefix}_lr`` and
    ``{prefix}_epochs`` widgets are read at Start and the epochs widget follows "continue N more".
    """
    state = run.state

    def sync_from_widgets() -> None:
        if prefix is not None:
            run.set_lr(st.session_state[f"{prefix}_lr"])
            run.set_target(st.session_state[f"{prefix}_epochs"])

    def sync_to_widgets() -> None:
        if prefix is not None:
            st.session_state[f"{prefix}_epochs"] = run.target

    def start() -> None:
        sync_from_widgets()
        run.factory = factory()
        run.start()

    def resume() -> None:
        run.resume()

    def continue_more() -> None:
        if run.trainer is None:
            sync_from_widgets()
            run.factory = factory()
        run.continue_for(st.session_state[f"{run_key}_more"])
        sync_to_widgets()

    has_model = run.trainer is not None
    cols = st.columns([1.1, 1, 1, 1, 1, 1.3, 1.5], vertical_alignment="bottom")
    start_label = "Start" if not has_model else "Start over"
    cols[0].button(start_label, key=f"{run_key}_start", type="secondary" if has_model else "primary",
                   width="stretch", disabled=state is RunState.RUNNING, on_click=_guarded(run_key, start),
                   help="build a fresh model from the settings above and train it")  # fmt: skip
    cols[1].button("Pause", key=f"{run_key}_pause", disabled=state is not RunState.RUNNING, on_click=run.pause,
                   width="stretch")  # fmt: skip
    can_resume = state is RunState.PAUSED or (state is RunState.STOPPED and run.epoch < run.target)
    cols[2].button("Resume", key=f"{run_key}_resume", disabled=not can_resume, on_click=_guarded(run_key, resume),
                   type="primary" if can_resume else "secondary", width="stretch",
                   help="continue with the optimizer state kept, up to the epochs above")  # fmt: skip
    cols[3].button("Stop", key=f"{run_key}_stop", width="stretch", on_click=run.stop,
                   disabled=state not in (RunState.RUNNING, RunState.PAUSED))  # fmt: skip
    cols[4].button("Reset", key=f"{run_key}_reset", width="stretch", on_click=run.reset, disabled=not has_model,
                   help="forget the model and its curves")  # fmt: skip
    st.session_state.setdefault(f"{run_key}_more", more)
    cols[5].number_input("more epochs", min_value=1, max_value=MAX_EPOCHS, step=100,
                         key=f"{run_key}_more", help="seed 000 went on from 2,000 to 5,000: 3,000 more")  # fmt: skip
    cols[6].button("Continue N more", key=f"{run_key}_continue", width="stretch",
                   disabled=state is RunState.RUNNING, on_click=_guarded(run_key, continue_more),
                   help="train this many more epochs, keeping the model and optimizer")  # fmt: skip
    notice = st.session_state.get(_notice_key(run_key))
    if notice:
        st.error(notice)


def show_progress(run: LiveRun) -> None:
    """The progress bar: epoch of target, speed and time left, plus the run's error if it failed."""
    progress = run.progress()
    st.progress(progress.fraction, text=f"{_STATE_ICONS[progress.state]} {progress.label()}")
    if run.error:
        st.error(run.error)


def _in_fragment_rerun() -> bool:
    """True while Streamlit reruns only fragments (not the whole page)."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    return bool(ctx is not None and getattr(ctx, "fragment_ids_this_run", None))


Figures = Callable[[LiveRun, Mapping[str, Any], tuple[str, ...]], dict[str, Any]]
LOOP_SECONDS = 30.0  # one fragment run trains and redraws tick after tick for this long, then hands back


def live_fragment(
    run: LiveRun,
    key: str,
    figures: Figures,
    main: tuple[str, ...] = ("curves",),
    details: tuple[str, ...] = (),
    details_every: float = DETAIL_SECONDS,
) -> None:
    """The live part of a training page: progress bar, then one chart per name in ``main`` and ``details``.

    ``figures(run, previous, parts)`` returns ``{name: Figure}`` for the names in ``parts`` (``previous``: what
    it returned before, to refresh in place; kept in ``st.session_state[f"{key}_figures"]``).

    While the run is running, one fragment run loops for up to ``LOOP_SECONDS``: train for ``TRAIN_SHARE`` of a
    ``TICK_SECONDS`` tick, redraw the progress bar and the ``main`` charts into their placeholders, and the
    ``details`` charts every ``details_every`` seconds; then the fragment's ``run_every`` starts the next loop at
    once. Looping inside one run keeps the browser's timer and the round trips out of the training time. A click
    anywhere on the page interrupts the loop at its next redraw (within one tick); when the run stops by itself
    (target reached, NaN loss) the whole page reruns so the buttons follow.
    """
    cache: dict[str, Any] = st.session_state.setdefault(f"{key}_figures", {})

    @st.fragment(run_every=TICK_SECONDS if run.running else None)
    def live() -> None:
        # Loop only in the fragment's own reruns: a full page run (a click, the first load) does one tick, so the
        # rest of the page (sidebar, navigation, buttons) finishes at once.
        loop_seconds = LOOP_SECONDS if _in_fragment_rerun() else 0.0
        slots = {name: st.empty() for name in ("progress", *main, *details)}
        started = time.perf_counter()
        details_due = started
        n = 0
        while True:
            was_running = run.running
            run.tick(TICK_SECONDS * TRAIN_SHARE)
            now = time.perf_counter()
            parts = main + (details if now >= details_due or not run.running else ())
            if parts != main:
                details_due = now + details_every
            with run.threads():
                drawn = figures(run, cache, parts)
            for name in parts:  # a part not drawn now (e.g. no weights for nn.LSTM) must not show a stale chart
                if name in drawn:
                    cache[name] = drawn[name]
                else:
                    cache.pop(name, None)
            with slots["progress"].container():
                show_progress(run)
            for name in parts:
                if name in cache and (name in main or run.model is not None):
                    # a fresh key per redraw: one run draws each chart many times
                    slots[name].plotly_chart(cache[name], width="stretch", key=f"{key}_{name}_{n}")
            n += 1
            if not run.running:
                if was_running:
                    st.rerun(scope="app")
                return
            if time.perf_counter() - started >= loop_seconds:
                return

    live()


def try_subtraction(run: LiveRun, key: str = "sub_try") -> None:
    """A box to ask the model being trained any ``a - b``: its answer bit by bit and the gate heatmaps."""
    from lstm_viz.tasks.subtraction import SUBTRACTION, bit_table
    from lstm_viz.viz.answer import answer_figure, model_answer
    from lstm_viz.viz.gates import gate_heatmaps

    st.subheader("Try any a − b")
    text = st.text_input("a − b", value="123 - 61", key=key, help="two whole numbers with 0 ≤ b ≤ a ≤ 255")
    model = run.model
    if model is None:
        st.info("Press Start: the model being trained answers here (also while it trains).")
        return
    try:
        inp = SUBTRACTION.parse(text, model.config)
    except ValueError as exc:
        st.error(str(exc))
        return
    with run.threads():
        answer = model_answer(model, inp)
        rec = model.record(inp.x) if getattr(model, "recordable", False) else None
    shout = st.success if answer.correct else st.warning
    shout(f"{answer.summary} — the model at epoch {run.epoch:,}" + (" (it keeps training)" if run.running else ""))
    left, right = st.columns([1, 1])
    a, b = inp.operands
    left.dataframe(bit_table(a, b), width="stretch")
    figure = answer_figure(answer)
    if figure is not None:
        right.plotly_chart(figure, width="stretch", key=f"{key}_answer")
    if rec is not None:
        title = f"Gates of {inp.text} at epoch {run.epoch:,}"
        st.plotly_chart(gate_heatmaps(rec, feature_names=inp.feature_names, title=title), width="stretch",
                        key=f"{key}_gates")  # fmt: skip
    else:
        st.info("A GRU has no forget/input/output gates and no cell state c, so there are no f, i, g, o, c, h "
                "heatmaps to show; train an LSTM to see them.")  # fmt: skip


_SWITCH_KEY = "lstm_viz.live.switch_to_explorer"


def save_and_explore(run: LiveRun, run_key: str, default_name: str) -> None:
    """Save the model being trained (into models/ or as a download) or open it on the Gate Explorer."""
    from lstm_viz.app.sources import MODELS_DIR
    from lstm_viz.app.ui import open_in_explorer
    from lstm_viz.training.checkpoints import checkpoint_bytes
    from lstm_viz.training.live import checkpoint_path

    if st.session_state.pop(_SWITCH_KEY, False):
        st.switch_page("pages/explorer.py")
    trainer = run.trainer
    st.subheader("Keep the model")
    if trainer is None:
        st.caption("Start a run first: then you can save the model or open it on the Gate Explorer.")
        return
    model = trainer.model
    label = f"{model.config.label()} trained live, epoch {run.epoch:,}"
    name_key, saved_key = f"{run_key}_save_name", f"{run_key}__saved_path"

    def save() -> None:
        try:
            path = checkpoint_path(MODELS_DIR, st.session_state.get(name_key) or default_name)
            trainer.save(path, meta={"source": "live training page", "label": label})
            st.session_state[saved_key] = f"Saved epoch {run.epoch:,} as `models/{path.name}`: the sidebar lists it."
        except (OSError, ValueError, TypeError) as exc:
            st.session_state[saved_key] = f"error: could not save the checkpoint: {exc}"

    def explore() -> None:
        open_in_explorer(model, label)
        st.session_state[_SWITCH_KEY] = True

    def download() -> bytes:
        meta = {"source": "live training page", "label": label, "trainer": trainer.trainer_state()}
        return checkpoint_bytes(model, optimizer=trainer.optimizer, history=trainer.history, meta=meta)

    st.session_state.setdefault(name_key, f"{default_name}-e{run.epoch}")
    c_name, c_save, c_download, c_open = st.columns([2, 1, 1, 1.4], vertical_alignment="bottom")
    c_name.text_input("File name", key=name_key, help="letters, digits, - and _; saved as models/trained-<name>.pt, "
                      "never over an existing file")  # fmt: skip
    c_save.button("Save into models/", key=f"{run_key}_save", on_click=save, width="stretch")
    c_download.download_button("Download .pt", data=download, file_name=f"{default_name}-e{run.epoch}.pt",
                               mime="application/octet-stream", key=f"{run_key}_download", width="stretch",
                               on_click="ignore")  # fmt: skip
    c_open.button("Open on the Gate Explorer", key=f"{run_key}_explore", on_click=explore, type="primary",
                  width="stretch", help="a copy of the model as it is now; training here can go on")  # fmt: skip
    message = st.session_state.get(saved_key)
    if message:
        (st.error if message.startswith("error:") else st.success)(message.removeprefix("error: "))
