"""The live-training controller the training pages drive: start, pause, stop, time-boxed ticks, speed, ETA.

A ``LiveRun`` holds one trainer (anything with ``train_epochs(n)``, ``set_lr(lr)``, ``epoch``, ``history``,
``model``; in practice ``lstm_viz.training.make_trainer(...)``) and advances it in *ticks*: each tick trains
whole epochs until its time budget is used, so a page can redraw between ticks (at least twice a second) while
training keeps at least 90% of the wall time. It knows nothing about Streamlit; a page keeps one ``LiveRun``
per browser session in ``st.session_state`` and calls ``tick()`` from a fragment rerun every ``TICK_SECONDS``.

States::

    idle ──start──► running ──pause──► paused ──resume──► running
                       │  ▲                │
                  stop │  └──continue(n)───┤◄── stopped / finished
                       ▼                   │
                    stopped ◄─────stop─────┘      running ──(target reached)──► finished
    any ──reset──► idle
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

from lstm_viz.core.device import torch_threads
from lstm_viz.parsing import InputError, parse_int, parse_lr
from lstm_viz.paths import write_atomically
from lstm_viz.training.checkpoints import checkpoint_stem

__all__ = [
    "DETAIL_SECONDS",
    "DETAIL_SECONDS_SUBTRACTION",
    "DETAIL_SECONDS_TOY",
    "MAX_EPOCHS",
    "TICK_SECONDS",
    "TRAIN_SHARE",
    "FineSteps",
    "LiveRun",
    "Progress",
    "RunState",
    "TrainerLike",
    "checkpoint_path",
    "format_seconds",
    "save_new_checkpoint",
    "torch_threads",
    "validate_epochs",
]

TICK_SECONDS = 0.5  # how often the page redraws while training (≥ 2 updates a second)
DETAIL_SECONDS = 2.0  # how often the heavier detail figures (gates, weights, saturation) follow
DETAIL_SECONDS_TOY = DETAIL_SECONDS  # the gate view over four days and the twelve weights
DETAIL_SECONDS_SUBTRACTION = 4.0  # error and saturation charts cost more, on the server and in the browser
TRAIN_SHARE = 0.9  # the share of each tick spent training; the rest is the page's redraw
MAX_EPOCHS = 1_000_000
_SPEED_WINDOW_SECONDS = 4.0  # speed and ETA are measured over the last few seconds of running
_AWAY_SECONDS = 3.0  # a gap this long between ticks means the page was not open: not counted in the speed


class TrainerLike(Protocol):
    """What a LiveRun needs from a trainer (``lstm_viz.training.Trainer`` has it)."""

    epoch: int
    history: list[dict[str, Any]]

    def train_epochs(self, n: int) -> Any: ...

    def set_lr(self, lr: float) -> None: ...


class RunState(StrEnum):
    """Where a live run is."""

    IDLE = "idle"  # no model yet: Start builds one
    RUNNING = "running"
    PAUSED = "paused"  # Resume continues with the optimizer state kept
    STOPPED = "stopped"  # the user ended the run; the model stays, "continue N more" can extend it
    FINISHED = "finished"  # the target epoch was reached
    FAILED = "failed"  # training raised or the loss became NaN/inf; ``error`` says why


@dataclass(frozen=True)
class Progress:
    """A snapshot for the progress bar: epoch of target, speed, time left, training share of wall time."""

    state: RunState
    epoch: int
    target: int
    epochs_per_second: float | None  # over the last few seconds of running (wall time, UI included)
    eta_seconds: float | None
    train_share: float | None  # training time / wall time over the same window
    note: str | None = None  # said instead of speed and time left (the first epochs' paced steps)

    @property
    def fraction(self) -> float:
        return 0.0 if self.target <= 0 else min(1.0, self.epoch / self.target)

    def label(self) -> str:
        """E.g. ``epoch 1,200 / 5,000 · 850 epochs/s · 4 s left``."""
        parts = [f"epoch {self.epoch:,} / {self.target:,}"]
        if self.note and self.state is RunState.RUNNING:
            return " · ".join([*parts, self.note])
        if self.epochs_per_second is not None:
            speed = self.epochs_per_second
            parts.append(f"{speed:,.0f} epochs/s" if speed >= 10 else f"{speed:.2f} epochs/s")
        if self.state is RunState.RUNNING and self.eta_seconds is not None:
            parts.append(f"{format_seconds(self.eta_seconds)} left")
        elif self.state is not RunState.RUNNING:
            parts.append(self.state.value)
        return " · ".join(parts)


def format_seconds(seconds: float) -> str:
    """``4 s``, ``2 min 05 s``, ``1 h 02 min``."""
    seconds = max(0.0, float(seconds))
    if seconds < 60:
        return f"{seconds:.0f} s" if seconds >= 1 else f"{seconds:.1f} s"
    if seconds < 3600:
        return f"{int(seconds // 60)} min {int(seconds % 60):02d} s"
    return f"{int(seconds // 3600)} h {int(seconds % 3600 // 60):02d} min"


def validate_epochs(epochs: object, *, name: str = "epochs") -> int:
    """A whole number in [1, MAX_EPOCHS], or a ValueError saying what was wrong, with an example."""
    if isinstance(epochs, float) and math.isfinite(epochs) and epochs == int(epochs):
        epochs = int(epochs)
    if isinstance(epochs, bool) or not isinstance(epochs, (str, int)):
        raise ValueError(f"{name} must be a whole number such as 300, not {epochs!r}")
    try:
        return parse_int(epochs, name=name, minimum=1, maximum=MAX_EPOCHS)
    except InputError as err:
        why = str(err).split(". Example")[0].split(";")[0]
        raise ValueError(f"{why}; type a whole number from 1 to {MAX_EPOCHS:,} such as 300") from None


def checkpoint_path(directory: str | Path, name: str) -> Path:
    """A new file in ``directory`` for a checkpoint the user named: ``trained-<safe name>.pt``, never an
    existing file (``-2``, ``-3``… are appended), so the shipped models can never be overwritten.

    The name keeps lowercase letters, digits, ``-`` and ``_`` (anything else becomes ``-``), at most 60 of them.
    """
    stem = checkpoint_stem(name)
    directory = Path(directory)
    path = directory / f"{stem}.pt"
    n = 2
    while path.exists():
        path = directory / f"{stem}-{n}.pt"
        n += 1
    return path


def save_new_checkpoint(directory: str | Path, name: str, data: bytes) -> Path:
    """Write the checkpoint ``data`` in ``directory`` under the first free name :func:`checkpoint_path` gives, never
    over an existing file even when two visitors save the same name in the same instant: the file is put in place
    only as a new one, and a name taken meanwhile moves on to the next."""
    for _ in range(1000):
        try:
            return write_atomically(checkpoint_path(directory, name), data, new=True)
        except FileExistsError:
            continue  # another save took this name between the look and the write
    raise OSError(f"no free file name for {checkpoint_stem(name)!r} in {directory}: remove some saved files")


@dataclass(frozen=True)
class FineSteps:
    """The first epochs seen from inside: until epoch ``epochs``, a run trains ``every`` mini-batches at a time
    (``Trainer.train_batches``: the same batches in the same order, so the same weights as whole epochs) and
    scores the model after each step with ``score(trainer)`` (e.g. its test accuracy), at most ``per_second``
    steps a second. Post 4's LSTM learns to borrow inside its first three epochs — a fraction of a second, two
    points of a per-epoch curve — and this is how a page lets that climb be watched. A trainer without
    ``train_batches`` trains whole epochs as usual."""

    score: Callable[[Any], dict[str, float]]
    epochs: int = 3
    every: int = 8
    per_second: float | None = 8.0


class LiveRun:
    """One live training run of one browser session: a trainer, its target epoch, state, speed and probes.

    ``factory()`` builds a fresh trainer (model, optimizer, data) for Start; ``probe(trainer)``, if given, is
    called after every training chunk and its dict (plus ``epoch``) appended to ``probes``, e.g. the StatQuest
    weights or the gate saturation. ``max_chunk`` caps epochs per ``train_epochs`` call (1: probe each epoch).
    ``fine`` (:class:`FineSteps`) trains the first epochs a few mini-batches at a time, each step's scores (plus
    its fractional ``epoch``) appended to ``steps``.
    """

    def __init__(
        self,
        factory: Callable[[], TrainerLike],
        *,
        epochs: int,
        lr: float | None = None,
        probe: Callable[[TrainerLike], dict[str, Any]] | None = None,
        max_chunk: int | None = None,
        fine: FineSteps | None = None,
        clock: Callable[[], float] = time.perf_counter,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.factory = factory
        self.probe = probe
        self.max_chunk = max_chunk
        self.fine = fine
        self.steps: list[dict[str, Any]] = []  # the fine steps' scores, each with its fractional epoch
        self._fine_due = 0.0  # the clock time the next fine step is due (paced)
        self.pace: float | None = None  # epochs per second at most (``set_pace``); None: as fast as possible
        self._pace_origin: tuple[float, int] | None = None  # (time, epoch) the pace counts from
        self.target = validate_epochs(epochs)
        self.lr = None if lr is None else parse_lr(lr)
        self.trainer: TrainerLike | None = None
        self.state = RunState.IDLE
        self.error: str | None = None
        self.probes: list[dict[str, Any]] = []
        self.train_seconds = 0.0  # total time spent inside train_epochs
        self.ticks = 0
        self._clock = clock
        self._sleep = sleep
        self._epoch_seconds: float | None = None  # running estimate of one epoch's time
        self._window: deque[tuple[float, int, float]] = deque()  # (wall time, epoch, train_seconds) per tick
        # Streamlit may run a page's live fragment in a worker thread while the page itself reruns (a click on
        # Stop): one tick trains at a time, and pause/stop/reset ask the trainer to leave its epoch at the next
        # mini-batch (Trainer.request_stop; a trainer without it ends its chunk, under a second) and wait for the
        # tick in flight, so what the page shows after them is final.
        self._busy = threading.RLock()

    # ---- what the page reads -------------------------------------------------------------------------------
    @property
    def epoch(self) -> int:
        return 0 if self.trainer is None else int(self.trainer.epoch)

    @property
    def place(self) -> tuple[int, int] | None:
        """(mini-batches done, in all) when the weights are part-way into the next epoch (the first epochs trained a
        few mini-batches at a time, or after a Pause); None at an epoch's end."""
        return getattr(self.trainer, "partial_epoch", None) if self.trainer is not None else None

    @property
    def at(self) -> str:
        """Where the weights are, in words: "epoch 12" after twelve whole epochs, or "epoch 2, after 20 of its 71
        mini-batches" part-way into the next (as ``train``'s stop message says it) — what a figure or a file of the
        current weights is labelled with."""
        place = self.place
        if place:
            return f"epoch {self.epoch + 1:,}, after {place[0]} of its {place[1]} mini-batches"
        return f"epoch {self.epoch:,}"

    @property
    def history(self) -> list[dict[str, Any]]:
        return [] if self.trainer is None else self.trainer.history

    @property
    def model(self) -> Any:
        return None if self.trainer is None else getattr(self.trainer, "model", None)

    @property
    def running(self) -> bool:
        return self.state is RunState.RUNNING

    def threads(self) -> contextlib.AbstractContextManager[None]:
        """``with run.threads():`` computes on the trainer's thread count (one for small models on the CPU)."""
        return torch_threads(getattr(self.trainer, "num_threads", None))

    def progress(self) -> Progress:
        if self.state is RunState.RUNNING and self.trainer is not None and self._fine_phase(self.trainer):
            fine = self.fine
            assert fine is not None
            note = f"the first {fine.epochs} epochs, {fine.every} mini-batches a step, each scored"
            return Progress(self.state, self.epoch, self.target, None, None, None, note)
        speed = share = eta = None
        if len(self._window) >= 2:
            (t0, e0, s0), (t1, e1, s1) = self._window[0], self._window[-1]
            if t1 > t0:
                speed = (e1 - e0) / (t1 - t0)
                share = min(1.0, (s1 - s0) / (t1 - t0))
        if speed is None and self._epoch_seconds:
            speed = 1.0 / self._epoch_seconds
        if speed and self.pace is not None:
            # Paced, the run never gets ahead of the pace since it began, but a few seconds' window of whole ticks
            # (each trains its share of epochs, then waits) read up to 10 % over it: 110 beside "≤ 100 epochs/s".
            speed = min(speed, self.pace)
        if speed:
            eta = max(0, self.target - self.epoch) / speed
        return Progress(self.state, self.epoch, self.target, speed, eta, share)

    # ---- controls ------------------------------------------------------------------------------------------
    def start(self) -> None:
        """Start a run; from idle, stopped, finished or failed this builds a fresh model. Paused → resume."""
        if self.state is RunState.RUNNING:
            return
        if self.state is RunState.PAUSED:
            self.resume()
            return
        self._build()
        self._set_running()

    def restart(
        self, factory: Callable[[], TrainerLike] | None = None, *, epochs: int | None = None, lr: float | None = None
    ) -> None:
        """Start over: a fresh model from ``factory`` (default: the run's own), trained to ``epochs`` at ``lr``.

        Everything is checked, and the new trainer built, before the current model is discarded: a bad setting
        (``ValueError``, e.g. proj_size ≥ hidden size) leaves the run exactly as it was.
        """
        target = self.target if epochs is None else validate_epochs(epochs)
        rate = self.lr if lr is None else parse_lr(lr)
        factory = factory or self.factory
        trainer = factory()  # raises on settings the model refuses: nothing is discarded yet
        if rate is not None:
            trainer.set_lr(rate)
        self.reset()
        self.factory, self.trainer, self.target, self.lr = factory, trainer, target, rate
        self._set_running()

    def pause(self) -> None:
        if self.state is RunState.RUNNING:
            self.state = RunState.PAUSED
        self._leave_epoch()
        with self._busy:  # the tick in flight ends at its trainer's next mini-batch (or after its chunk)
            pass

    def resume(self) -> None:
        """Continue a paused or stopped run with its optimizer state (finished if the target is reached)."""
        if self.state in (RunState.PAUSED, RunState.STOPPED) and self.trainer is not None:
            if self.epoch >= self.target:
                self.state = RunState.FINISHED
            else:
                self._set_running()

    def stop(self) -> None:
        """End the run now; the trained model stays (to save, explore or continue)."""
        if self.state in (RunState.RUNNING, RunState.PAUSED):
            self.state = RunState.STOPPED
        self._leave_epoch()
        with self._busy:  # the tick in flight ends at its trainer's next mini-batch (or after its chunk)
            pass

    def reset(self) -> None:
        """Forget the model and its history; the next Start builds a fresh one from the current settings."""
        self.state = RunState.IDLE  # a tick in flight ends at its next mini-batch or chunk …
        self._leave_epoch()
        with self._busy:  # … and is waited for before its trainer is dropped
            self._reset()

    def _reset(self) -> None:
        self.trainer = None
        self.state = RunState.IDLE
        self.error = None
        self.probes = []
        self.steps = []
        self._fine_due = 0.0
        self.train_seconds = 0.0
        self.ticks = 0
        self._epoch_seconds = None
        self._window.clear()

    def continue_for(self, more: int) -> None:
        """Train ``more`` epochs past the current one (post 0: 2,000 on to 5,000), keeping the optimizer."""
        more = validate_epochs(more, name="more epochs")
        if self.epoch + more > MAX_EPOCHS:
            raise ValueError(
                f"{self.epoch:,} + {more:,} epochs is more than the cap of {MAX_EPOCHS:,}; "
                f"continue for at most {MAX_EPOCHS - self.epoch:,}, e.g. 300"
            )
        if self.trainer is None:
            self.target = more
            self.start()
            return
        self.target = self.epoch + more
        if self.state is not RunState.FAILED:
            self._set_running()

    def set_target(self, epochs: int) -> None:
        """Change the total number of epochs, before or during a run; reaching it ends the run.

        A target below the epoch the model has already reached ends the run where it is: the target becomes
        the current epoch (the progress never reads "epoch 8,157 / 5,000"); the next Start uses ``epochs``.
        """
        epochs = validate_epochs(epochs)
        self.target = max(epochs, self.epoch) if self.trainer is not None else epochs
        if self.state in (RunState.RUNNING, RunState.PAUSED) and self.epoch >= self.target:
            self.state = RunState.FINISHED
        elif self.state is RunState.FINISHED and self.epoch < self.target:
            self.state = RunState.STOPPED  # resumable: the new target is ahead

    def set_pace(self, epochs_per_second: float | None) -> None:
        """Train at most this many epochs per second of wall time (None: as fast as possible), so a learner can
        watch (and pause) a run that would otherwise end in a few seconds."""
        if epochs_per_second is not None and not (math.isfinite(epochs_per_second) and epochs_per_second > 0):
            raise ValueError(f"the pace must be a positive number of epochs per second, got {epochs_per_second!r}")
        if epochs_per_second != self.pace:
            self._pace_origin = None
        self.pace = epochs_per_second

    def set_lr(self, lr: float) -> None:
        """Change the learning rate now (the model and optimizer state are kept) and for the next Start."""
        self.lr = parse_lr(lr)
        if self.trainer is not None:
            self.trainer.set_lr(self.lr)

    # ---- the work ------------------------------------------------------------------------------------------
    def tick(self, budget: float = TICK_SECONDS * TRAIN_SHARE) -> list[dict[str, Any]]:
        """Train whole epochs for about ``budget`` seconds (at least one) if running; return the new rows."""
        if self.state is not RunState.RUNNING or self.trainer is None:
            return []
        if not self._busy.acquire(blocking=False):
            return []  # another thread is ticking this run right now
        try:
            return self._tick(budget)
        finally:
            self._busy.release()

    def _tick(self, budget: float) -> list[dict[str, Any]]:
        if self.state is not RunState.RUNNING or self.trainer is None:
            return []
        now = self._clock()
        if self._window and now - self._window[-1][0] > _AWAY_SECONDS + budget:
            self._window.clear()  # the page was closed or hidden meanwhile: that gap is not training speed
            self._pace_origin = None  # … nor time the pace may make up for
        if not self._window:
            self._window.append((now, self.epoch, self.train_seconds))
        trainer = self.trainer
        first = len(trainer.history)
        start = now
        stop_at = self.target
        if self.pace is not None:  # paced: this tick's share of epochs, then wait out the rest of the tick …
            if self._pace_origin is None:
                self._pace_origin = (now, self.epoch)
            # … and never more than the pace allows since it began: a page that redraws fast is no faster
            since, epoch0 = self._pace_origin
            allowed = epoch0 + math.floor(self.pace * (now - since + budget / TRAIN_SHARE))
            share = self.epoch + max(1, round(self.pace * budget / TRAIN_SHARE))
            stop_at = min(stop_at, share, max(self.epoch, allowed))
        if self._fine_phase(trainer):
            self._fine_steps(trainer, budget, start, stop_at)
            if not self._fine_phase(trainer):
                self._window.clear()  # the paced steps are not the run's speed: measure it afresh from here
        else:
            self._whole_epochs(trainer, budget, start, stop_at)
        self.ticks += 1
        if self.pace is not None and self.state is RunState.RUNNING and self.epoch < self.target:
            left = budget - (self._clock() - start)
            if left > 0:
                self._sleep(left)
        end = self._clock()
        self._window.append((end, self.epoch, self.train_seconds))
        while len(self._window) > 2 and end - self._window[0][0] > _SPEED_WINDOW_SECONDS:
            self._window.popleft()
        if self.trainer is not None and self.epoch > self.target:  # lowered while this tick trained: the run
            self.target = self.epoch  # ends where it is, as set_target does (never "epoch 2,400 / 2,397")
        if self.state is RunState.RUNNING and self.epoch >= self.target:
            self.state = RunState.FINISHED
        return trainer.history[first:]

    def _whole_epochs(self, trainer: TrainerLike, budget: float, start: float, stop_at: int) -> None:
        """Train whole epochs, in chunks, until ``stop_at`` or the tick's ``budget`` (at least one epoch)."""
        trained = False
        while self.epoch < stop_at and self.state is RunState.RUNNING:  # Stop/Pause end the loop
            remaining = budget - (self._clock() - start)
            # stop when the next epoch would overshoot the budget by over half an epoch (always train one)
            if trained and (self._epoch_seconds is None or remaining < 0.5 * self._epoch_seconds):
                break
            n = min(self._chunk(remaining), stop_at - self.epoch)
            before_epoch, t0 = self.epoch, self._clock()
            try:
                trainer.train_epochs(n)
            except Exception as exc:  # a page must show this, not a traceback
                self._fail(f"training stopped at epoch {self.epoch:,}: {type(exc).__name__}: {exc}")
                break
            trained = True
            spent = self._clock() - t0
            if self.epoch == before_epoch:
                if self.state is not RunState.RUNNING:  # Pause/Stop left the epoch half done: it waits for Resume
                    self.train_seconds += spent
                    break
                self._fail(f"the trainer stopped at epoch {self.epoch:,}; press Reset to start again")  # it refused
                break
            self.train_seconds += spent
            per_epoch = spent / (self.epoch - before_epoch)
            self._epoch_seconds = (
                per_epoch if self._epoch_seconds is None else 0.7 * self._epoch_seconds + 0.3 * per_epoch
            )
            if not self._after_epochs(trainer):
                break

    def _fine_phase(self, trainer: TrainerLike) -> bool:
        return self.fine is not None and self.epoch < self.fine.epochs and hasattr(trainer, "train_batches")

    def _fine_steps(self, trainer: Any, budget: float, start: float, stop_at: int) -> None:
        """The first epochs a few mini-batches at a time (:class:`FineSteps`), each step scored, until the tick's
        ``budget`` is used, at most ``fine.per_second`` steps a second."""
        fine = self.fine
        assert fine is not None
        end_at = min(stop_at, fine.epochs)
        try:
            if not self.steps and self.epoch == 0 and trainer.partial_epoch is None:  # where the climb starts
                self.steps.append({"epoch": 0.0, **self._score(trainer)})
            while self.epoch < end_at and self.state is RunState.RUNNING:  # Stop/Pause end the loop
                wait = self._fine_due - self._clock()  # paced: the next step is due then
                if wait > 0:
                    if self._clock() - start + wait >= budget:
                        break  # due in the next tick
                    self._sleep(wait)
                t0 = self._clock()
                before = self.epoch
                place = trainer.partial_epoch  # a step a Pause cut short: the next one ends on the grid again
                trainer.train_batches(fine.every - (place[0] % fine.every if place else 0))
                self.train_seconds += self._clock() - t0
                place = trainer.partial_epoch  # (batches done, in all) mid-epoch; None just after an epoch ended
                at = self.epoch + (0.0 if place is None else place[0] / trainer.batches_per_epoch)
                self.steps.append({"epoch": at, **self._score(trainer)})
                self._fine_due = t0 + (1.0 / fine.per_second if fine.per_second else 0.0)
                if self.epoch > before and not self._after_epochs(trainer):
                    return
                if self._clock() - start >= budget:
                    break
        except Exception as exc:  # a page must show this, not a traceback
            self._fail(f"training stopped at epoch {self.epoch:,}: {type(exc).__name__}: {exc}")

    def _score(self, trainer: Any) -> dict[str, float]:
        assert self.fine is not None
        with self.threads():
            return dict(self.fine.score(trainer))

    def _after_epochs(self, trainer: TrainerLike) -> bool:
        """After epochs ended: the probe, and the loss checked for NaN; False when the run failed."""
        # weights part-way into the next epoch (a Pause or Stop inside a chunk of epochs) are not that epoch's: a
        # probe of them would be drawn at the epoch before (the StatQuest weights chart); the next whole epoch is
        part_way = getattr(trainer, "partial_epoch", None) is not None
        if self.probe is not None and not part_way:
            try:
                with self.threads():
                    measured = self.probe(trainer)
                if measured:  # an empty dict: nothing to measure on this model (e.g. a GRU's gates)
                    self.probes.append({"epoch": self.epoch, **measured})
            except Exception as exc:
                name = type(exc).__name__
                self._fail(f"measuring the model at epoch {self.epoch:,} failed: {name}: {exc}")
                return False
        bad = _non_finite_loss(trainer.history[-1] if trainer.history else None)
        if bad:
            self._fail(
                f"the loss became {bad} at epoch {self.epoch:,}; lower the learning rate "
                f"(e.g. {(self.lr or 0.01) / 10:g}) and press Reset"
            )
            return False
        return True

    # ---- internals -----------------------------------------------------------------------------------------
    def _build(self) -> None:
        # The new trainer is built first: settings it refuses (e.g. proj_size ≥ hidden) raise here, before the
        # model being shown is discarded.
        trainer = self.factory()
        if self.lr is not None:
            trainer.set_lr(self.lr)
        self.reset()
        self.trainer = trainer

    def _leave_epoch(self) -> None:
        """Ask the trainer to leave the epoch in progress at its next mini-batch where it can
        (``Trainer.request_stop``): Pause, Stop and Reset answer in a mini-batch, not a whole epoch (seconds at
        hidden size 512)."""
        request = getattr(self.trainer, "request_stop", None)
        if request is not None:
            request()

    def _set_running(self) -> None:
        self.error = None
        self._window.clear()
        self._pace_origin = None
        self.state = RunState.FINISHED if self.epoch >= self.target else RunState.RUNNING

    def _chunk(self, remaining: float) -> int:
        """Epochs for the next ``train_epochs`` call: half the room left, so ticks overshoot little."""
        left = self.target - self.epoch
        n = 1 if self._epoch_seconds is None else int(remaining / self._epoch_seconds / 2)
        n = max(1, min(n, left))
        return n if self.max_chunk is None else min(n, self.max_chunk)

    def _fail(self, message: str) -> None:
        self.state = RunState.FAILED
        self.error = message


def _non_finite_loss(row: dict[str, Any] | None) -> str | None:
    if not row or "loss" not in row:
        return None
    try:
        loss = float(row["loss"])
    except (TypeError, ValueError):
        return None
    return None if math.isfinite(loss) else str(loss)
