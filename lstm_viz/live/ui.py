"""Streamlit helpers of the live-training pages: the session's LiveRun, its buttons, progress bar and live fragment.

Both training pages use these, so each page only says what to train and what to draw. A run lives in
``st.session_state`` (one per browser session: two tabs never share a model; leaving the page and coming back finds
the run where it was). Training advances inside ``live_fragment``, which reruns every ``TICK_SECONDS`` while the
run is running and trains for ``TRAIN_SHARE`` of each tick.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Mapping
from typing import Any

import streamlit as st

from lstm_viz.app.ui import number_box
from lstm_viz.parsing import parse_int, parse_lr
from lstm_viz.training.live import (
    DETAIL_SECONDS,
    MAX_EPOCHS,
    TICK_SECONDS,
    TRAIN_SHARE,
    LiveRun,
    RunState,
    TrainerLike,
)

__all__ = [
    "apply_settings",
    "epochs_box",
    "live_fragment",
    "live_run",
    "lr_box",
    "read_epochs",
    "read_lr",
    "run_controls",
    "save_and_explore",
    "show_progress",
    "try_subtraction",
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


def _say(run_key: str, text: str, kind: str = "error") -> None:
    st.session_state[_notice_key(run_key)] = (kind, text)


def _guarded(run_key: str, action: Callable[[], None]) -> Callable[[], None]:
    """A button callback that turns a ValueError (bad setting) into one message next to the controls."""

    def callback() -> None:
        try:
            action()
            st.session_state.pop(_notice_key(run_key), None)
        except ValueError as exc:
            _say(run_key, str(exc))

    return callback


def read_lr(prefix: str) -> float:
    """The learning rate typed in ``{prefix}_lr``, or an InputError saying what is wrong with it."""
    return parse_lr(st.session_state.get(f"{prefix}_lr", ""), name="Learning rate")


def read_epochs(prefix: str, key: str | None = None, name: str = "Epochs") -> int:
    """The whole number typed in ``{prefix}_epochs`` (or ``key``), or an InputError saying what is wrong."""
    return parse_int(st.session_state.get(key or f"{prefix}_epochs", ""), name=name, minimum=1, maximum=MAX_EPOCHS)


def lr_box(container: Any, run: LiveRun, run_key: str, prefix: str, help: str = "Adam's; applies at once") -> None:
    """The learning-rate box: typed text applies to the run at once; bad text is refused and says what is kept."""
    keeps = f"Still using {run.lr:g}." if run.lr is not None else None
    number_box("Learning rate", f"{prefix}_lr", lambda text: parse_lr(text, name="Learning rate"),
               container=container, keeps=keeps, help=help,
               on_change=apply_settings, args=(run_key, prefix))  # fmt: skip


def epochs_box(container: Any, run: LiveRun, run_key: str, prefix: str, help: str = "total epochs of the run") -> None:
    """The epochs box: typed text sets the run's target at once; bad text is refused and says what is kept."""
    number_box("Epochs", f"{prefix}_epochs", lambda text: parse_int(text, name="Epochs", minimum=1,
               maximum=MAX_EPOCHS), container=container, keeps=f"Still using {run.target:,}.", help=help,
               on_change=apply_settings, args=(run_key, prefix))  # fmt: skip


def apply_settings(run_key: str, prefix: str) -> None:
    """Widget callback: give the session's run the learning rate and epochs typed in ``{prefix}_lr`` and
    ``{prefix}_epochs`` — at once, even mid-run (the model and optimizer state are kept).

    A box whose text is not valid changes nothing (the box itself says so); a target below the epoch the model
    has reached ends the run there, and a notice says that the typed number applies to the next Start over.
    """
    run = st.session_state.get(run_key)
    if not isinstance(run, LiveRun):
        return
    st.session_state.pop(_notice_key(run_key), None)
    with contextlib.suppress(KeyError, ValueError):  # a bad box says why itself; the run keeps its rate
        run.set_lr(read_lr(prefix))
    try:
        epochs = read_epochs(prefix)
    except (KeyError, ValueError):
        return  # the epochs box shows why; the run keeps its target
    run.set_target(epochs)
    if run.trainer is not None and epochs < run.epoch:
        _say(run_key, f"This model is already at epoch {run.epoch:,}, past {epochs:,}: it stops there. "
                      f"{epochs:,} epochs apply to the next Start over.", "info")  # fmt: skip


def run_controls(
    run: LiveRun,
    run_key: str,
    factory: Callable[[], Callable[[], TrainerLike]],
    prefix: str,
    more: int = 1000,
    more_help: str = "train this many more epochs, keeping the model and optimizer",
) -> None:
    """Start / Pause / Resume / Stop / Reset and "Continue N more" (N from the box beside it) for ``run``.

    ``factory()`` returns the trainer factory for the settings typed now, or raises ``ValueError`` (an
    ``InputError``) saying which setting is wrong; the page shows that reason next to its boxes. Start reads the
    ``{prefix}_lr`` and ``{prefix}_epochs`` boxes and the factory at the click, checks them all and builds the new
    model *before* the old one is dropped: bad settings are refused and the model on the page is kept. While a
    setting is bad, Start is disabled and one line says so (the reason is the box's own message).
    """
    state = run.state
    try:
        read_lr(prefix), read_epochs(prefix), factory()
        settings_ok = True
    except ValueError:
        settings_ok = False

    def start() -> None:
        lr, epochs = read_lr(prefix), read_epochs(prefix)
        trainer_factory = factory()
        kept = run.epoch
        try:
            run.restart(trainer_factory, epochs=epochs, lr=lr)
        except ValueError as exc:
            kept_note = f" The model at epoch {kept:,} is kept." if kept else ""
            raise ValueError(f"Cannot start: {exc}.{kept_note}") from None

    def continue_more() -> None:
        n = read_epochs(prefix, key=f"{run_key}_more", name="More epochs")
        if run.trainer is None:
            run.factory = factory()
            run.set_lr(read_lr(prefix))
        run.continue_for(n)
        st.session_state[f"{prefix}_epochs"] = f"{run.target}"

    has_model = run.trainer is not None
    st.session_state.setdefault(f"{run_key}_more", str(more))
    row = st.container(horizontal=True, vertical_alignment="bottom", gap="small")
    row.button("Start over" if has_model else "Start", key=f"{run_key}_start",
               type="secondary" if has_model else "primary", disabled=state is RunState.RUNNING or not settings_ok,
               on_click=_guarded(run_key, start),
               help="build a fresh model from the settings above and train it; the settings are checked first, "
                    "so a bad one never discards the model on the page")  # fmt: skip
    row.button("Pause", key=f"{run_key}_pause", disabled=state is not RunState.RUNNING, on_click=run.pause)
    can_resume = state is RunState.PAUSED or (state is RunState.STOPPED and run.epoch < run.target)
    row.button("Resume", key=f"{run_key}_resume", disabled=not can_resume, on_click=_guarded(run_key, run.resume),
               type="primary" if can_resume else "secondary",
               help="continue with the optimizer state kept, up to the epochs above")  # fmt: skip
    row.button("Stop", key=f"{run_key}_stop", on_click=run.stop,
               disabled=state not in (RunState.RUNNING, RunState.PAUSED))  # fmt: skip
    row.button("Reset", key=f"{run_key}_reset", on_click=run.reset, disabled=not has_model,
               help="forget the model and its curves")  # fmt: skip
    row.text_input("more epochs", key=f"{run_key}_more", width=120, help=more_help)
    try:
        n_more, more_error = read_epochs(prefix, key=f"{run_key}_more", name="More epochs"), None
    except ValueError as exc:
        n_more, more_error = None, exc
    row.button(f"Continue {n_more:,} more" if n_more is not None else "Continue", key=f"{run_key}_continue",
               disabled=state is RunState.RUNNING, on_click=_guarded(run_key, continue_more),
               help="train the number of epochs in the box before it, keeping the model and optimizer")  # fmt: skip
    if more_error is not None:
        st.error(f"{more_error} Continue is refused until it is fixed.", icon=":material/warning:")
    if not settings_ok:
        st.session_state.pop(_notice_key(run_key), None)  # the settings' own message says why; no second error
        if state is RunState.RUNNING:  # the run goes on with the settings in use, said above each box
            kept = "; the run goes on with the settings in use"
        else:
            kept = f"; the model at epoch {run.epoch:,} is kept" if has_model else ""
        st.caption(f":material/block: Start is refused until the settings above are fixed{kept}.")
    notice = st.session_state.get(_notice_key(run_key))
    if notice:
        kind, text = notice
        (st.info if kind == "info" else st.error)(text)


def show_progress(run: LiveRun) -> None:
    """The progress bar (epoch of target, speed, time left), what the run uses now, and its error if it failed."""
    progress = run.progress()
    st.progress(progress.fraction, text=f"{_STATE_ICONS[progress.state]} {progress.label()}")
    st.caption(in_use(run))
    if run.error:
        st.error(run.error)


def in_use(run: LiveRun) -> str:
    """What the run trains with right now, e.g. ``In use: learning rate 0.001 · 2,000 epochs · …``."""
    parts = [f"learning rate {run.lr:g}" if run.lr is not None else "the recipe's learning rate",
             f"{run.target:,} epochs"]  # fmt: skip
    if run.pace is not None:
        parts.append(f"at most {run.pace:,.0f} epochs/s")
    if run.model is not None and hasattr(run.model, "config"):
        parts.append(f"model {run.model.config.label()}")
    return "In use: " + " · ".join(parts)


def _in_fragment_rerun() -> bool:
    """True while Streamlit reruns only fragments (not the whole page)."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    return bool(ctx is not None and getattr(ctx, "fragment_ids_this_run", None))


Figures = Callable[[LiveRun, Mapping[str, Any], tuple[str, ...]], dict[str, Any]]
# ``follow()`` draws its widgets once per page run, below the fragment and outside it (a change to a widget inside a
# fragment waits for the fragment's running loop to end, up to LOOP_SECONDS; one outside reruns the page, which stops
# the loop at its next redraw), and returns ``draw(n)``, which the fragment calls with the redraw's number whenever
# the details are redrawn (or None when there is nothing to follow).
Follow = Callable[[], Callable[[int], None] | None]
LOOP_SECONDS = 30.0  # one fragment run trains and redraws tick after tick for this long, then hands back


def live_fragment(
    run: LiveRun,
    key: str,
    figures: Figures,
    main: tuple[str, ...] = ("curves",),
    details: tuple[str, ...] = (),
    details_every: float = DETAIL_SECONDS,
    follow: Follow | None = None,
) -> None:
    """The live part of a training page: progress bar, then one chart per name in ``main`` and ``details``, then
    what ``follow`` draws (e.g. the "try any a − b" box), refreshed with the details.

    ``figures(run, previous, parts)`` returns ``{name: Figure}`` for the names in ``parts`` (``previous``: what
    it returned before, to refresh in place; kept in ``st.session_state[f"{key}_figures"]``).

    While the run is running, one fragment run loops for up to ``LOOP_SECONDS``: train for ``TRAIN_SHARE`` of a
    ``TICK_SECONDS`` tick, redraw the progress bar and the ``main`` charts into their placeholders, and the
    ``details`` charts (and ``follow``) every ``details_every`` seconds; then the fragment's ``run_every`` starts the
    next loop at once. Looping inside one run keeps the browser's timer and the round trips out of the training
    time. A click anywhere on the page interrupts the loop at its next redraw (within one tick); when the run stops
    by itself (target reached, NaN loss) the whole page reruns so the buttons follow.
    """
    cache: dict[str, Any] = st.session_state.setdefault(f"{key}_figures", {})
    fragment_area = st.container()
    with st.container():  # below the fragment's charts, outside the fragment
        draw_follow = follow() if follow is not None else None

    @st.fragment(run_every=TICK_SECONDS if run.running else None)
    def live() -> None:
        # Loop only in the fragment's own reruns: a full page run (a click, the first load) does one tick, so the
        # rest of the page (sidebar, navigation, buttons) finishes at once.
        loop_seconds = LOOP_SECONDS if _in_fragment_rerun() else 0.0
        slots = {name: st.empty() for name in ("progress", *main, *details)}
        started = time.perf_counter()
        details_due = started
        # A new key for each chart drawn while the run trains (a chart redrawn in a loop needs one), counted across
        # runs: counting from 0 in each run reused an old key, and plotly.js then drew a detail chart's subtitle
        # above its title. Idle, the last key again: the charts (and the user's zoom) stay.
        n = st.session_state.get(f"{key}_draws", 0)
        while True:
            was_running = run.running
            if was_running:
                n += 1
            run.tick(TICK_SECONDS * TRAIN_SHARE)
            now = time.perf_counter()
            due = now >= details_due or not run.running
            parts = main + (details if due else ())
            if due:
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
            if due and draw_follow is not None:
                with run.threads():
                    draw_follow(n)
            st.session_state[f"{key}_draws"] = n
            if not run.running:
                if was_running:
                    st.rerun(scope="app")
                return
            if time.perf_counter() - started >= loop_seconds:
                return

    with fragment_area:
        live()


def try_subtraction(run: LiveRun, key: str = "sub_try") -> Follow:
    """A box to ask the model being trained any ``a - b``: its answer bit by bit and the gate heatmaps.

    Returns the ``follow`` of :func:`live_fragment`: the box is drawn below the live fragment, outside it (what is
    typed applies at once, even mid-run), and the fragment redraws the answer with the detail charts, so that it
    follows the run, saying which epoch it shows.
    """

    def follow() -> Callable[[int], None]:
        st.subheader("Try any a − b")
        text = st.text_input("a − b", value="123 - 61", key=key, help="two whole numbers with 0 ≤ b ≤ a ≤ 255")
        slot = st.empty()
        return lambda n: _draw_try(run, text, key, n, slot)

    return follow


def _draw_try(run: LiveRun, text: str, key: str, n: int, slot: Any) -> None:
    from lstm_viz.tasks.subtraction import SUBTRACTION, bit_table
    from lstm_viz.viz.answer import answer_figure, model_answer
    from lstm_viz.viz.gates import gate_heatmaps

    with slot.container():
        model = run.model
        config = model.config if model is not None else SUBTRACTION.default_config()
        good_key = f"{key}__last_good"
        try:  # read the text even before there is a model: a bad one says so at once
            inp = SUBTRACTION.parse(text, config)
            st.session_state[good_key] = text
        except ValueError as exc:
            st.error(str(exc))
            last = st.session_state.get(good_key)
            if last is None:
                return
            st.caption(f"Still showing the last valid sum: {last}")  # as the Gate Explorer keeps its last input
            inp = SUBTRACTION.parse(last, config)
        if model is None:
            st.info("Press Start: the model being trained answers here (also while it trains).")
            return
        answer = model_answer(model, inp)
        rec = model.record(inp.x)  # an LSTM's f, i, g, o, c, h or a GRU's r, z, n, h
        shout = st.success if answer.correct else st.warning
        when = f"the model at {run.at}"
        if run.running:
            when += " (it keeps training: this answer follows it every few seconds)"
        shout(f"{answer.summary} — {when}")
        a, b = inp.operands
        st.dataframe(bit_table(a, b), width="stretch", key=f"{key}_bits_{n}")
        st.caption("Each column is one time step t: the model reads bit t of a and b (worth 2^t, least significant "
                   "first) and writes bit t of a − b.")  # fmt: skip
        figure = answer_figure(answer)
        if figure is not None:
            figure.update_layout(title_text=f"{answer.summary} ({run.at})")
            st.plotly_chart(figure, width="stretch", key=f"{key}_answer_{n}")
        title = f"Gates of {inp.text} at {run.at}: {', '.join(rec.tensor_names)}"
        st.plotly_chart(gate_heatmaps(rec, feature_names=inp.feature_names, title=title), width="stretch",
                        key=f"{key}_gates_{n}")  # fmt: skip


_SWITCH_KEY = "lstm_viz.live.switch_to_explorer"


def save_and_explore(run: LiveRun, run_key: str, default_name: str) -> None:
    """Keep the model being trained: in this browser session (listed in its sidebar only), on the server where the
    operator allows it (``LSTM_VIZ_SAVE_DIR``), as a download, or opened on the Gate Explorer.

    The file name follows the epoch: left empty it is ``<default_name>-e<epoch>``, with the epoch of the click.
    """
    from lstm_viz.app.saves import SaveError, check_server_room, checkpoint_stem, server_room_turn, server_save_dir
    from lstm_viz.app.ui import open_in_explorer, session_saves
    from lstm_viz.training.live import save_new_checkpoint

    if st.session_state.pop(_SWITCH_KEY, False):
        st.switch_page("pages/explorer.py")
    trainer = run.trainer
    st.subheader("Keep the model")
    if trainer is None:
        st.caption("Start a run first: then you can keep the model, download it or open it on the Gate Explorer.")
        return
    model = trainer.model
    name_key, saved_key = f"{run_key}_save_name", f"{run_key}__saved_path"
    server_dir = server_save_dir()

    def label() -> str:  # read at the click: the epoch the file holds
        return f"{model.config.label()} trained live, {run.at}"

    def file_stem() -> str:
        typed = str(st.session_state.get(name_key) or "").strip()
        place = run.place  # part-way into the next epoch: say how far, as run.at does
        return checkpoint_stem(typed or f"{default_name}-e{run.epoch}" + (f"-b{place[0]}" if place else ""))

    def data() -> bytes:  # one checkpoint for all three ways out (the task data's meta included)
        return trainer.checkpoint_bytes({"source": "live training page", "label": label()})

    def report(message: str) -> None:  # shown under this run only: a new run's page drops it
        st.session_state[saved_key] = id(trainer), message

    def keep() -> None:
        try:
            saved, dropped = session_saves().add(file_stem(), data(), label())
        except (SaveError, OSError, TypeError) as exc:
            report(f"error: could not keep the model: {exc}")
            return
        gone = f" To make room, the oldest was dropped: {', '.join(dropped)}." if dropped else ""
        report(
            f"Kept {run.at} as `{saved.name}` in this browser session: pick \"Saved in this session\" in "
            f"the sidebar of the Gate Explorer. Only you see it, and it goes when the session ends — reloading the "
            f"page or closing the tab ends it; Download .pt keeps a copy.{gone}"
        )

    def save_on_server() -> None:
        try:
            content = data()
            with server_room_turn:  # the cap's check and the write, one session at a time
                check_server_room(server_dir, len(content))
                path = save_new_checkpoint(server_dir, file_stem(), content)
            report(
                f"Saved {run.at} as `{path.name}` in the server's save folder: every visitor's sidebar "
                "lists it."
            )
        except (OSError, ValueError, TypeError) as exc:
            report(f"error: could not save the checkpoint on the server: {exc}")

    def explore() -> None:
        open_in_explorer(model, label())
        st.session_state[_SWITCH_KEY] = True

    row = st.container(horizontal=True, vertical_alignment="bottom", gap="small")
    # While training, the epoch at the click (this section is not redrawn every tick: a number here would go stale)
    epoch = "…" if run.running else str(run.epoch)
    row.text_input("File name", key=name_key, placeholder=f"{default_name}-e{epoch}", width=260,
                   help="letters, digits, - and _; left empty, the name ends with the epoch at the moment you save")
    row.button("Keep in this session", key=f"{run_key}_save", on_click=keep, icon=":material/bookmark_add:",
               help="only this browser session sees it (sidebar of the Gate Explorer: Saved in this session)")
    if server_dir is not None:
        row.button("Save on the server", key=f"{run_key}_server_save", on_click=save_on_server,
                   icon=":material/save:", help=f"into {server_dir} (allowed by LSTM_VIZ_SAVE_DIR); every visitor "
                   "sees it")  # fmt: skip
    try:
        stem = file_stem()
    except SaveError as exc:
        stem = None
        st.error(str(exc))
    row.download_button("Download .pt", data=data, file_name=f"{stem or default_name}.pt",
                        mime="application/octet-stream", key=f"{run_key}_download", on_click="ignore",
                        icon=":material/download:", disabled=run.running or stem is None,
                        help="Pause or Stop first: the file is named after the epoch it holds" if run.running
                        else f"{stem}.pt, with the optimizer state and the curves")  # fmt: skip
    row.button("Open on the Gate Explorer", key=f"{run_key}_explore", on_click=explore, type="primary",
               help="a copy of the model as it is now; training here can go on")  # fmt: skip
    said = st.session_state.get(saved_key)  # (the trainer it was about, the message), from report()
    if isinstance(said, tuple) and said[0] == id(trainer):
        message = said[1]
        (st.error if message.startswith("error:") else st.success)(message.removeprefix("error: "))
