"""A paired run: an LSTM and an LSTMP training live on the subtraction task, one epoch each in turn (lockstep)."""

from __future__ import annotations

import contextlib
import functools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from lstm_viz.core.device import torch_threads
from lstm_viz.lstmp.anatomy import MODEL_NAMES, PairSpec
from lstm_viz.tasks import count_parameters
from lstm_viz.training.engine import Trainer, make_trainer
from lstm_viz.training.live import TICK_SECONDS, TRAIN_SHARE, LiveRun, Progress, RunState, validate_epochs

__all__ = [
    "METRICS",
    "TASK",
    "TASK_INPUT_SIZE",
    "PairedRun",
    "TrainSettings",
    "histories_frame",
    "make_pair_trainer",
]

# ----------------------------------------------------------------------------------------------------------
# Training both on post 4's subtraction task, in lockstep
# ----------------------------------------------------------------------------------------------------------

TASK = "subtraction"  # post 4: LSTM(2, H) → Linear → sigmoid per bit; input_size is the task's: 2
TASK_INPUT_SIZE = 2
METRICS = ("loss", "train_bit_acc", "train_exact_match", "test_bit_acc", "test_exact_match")


@dataclass(frozen=True)
class TrainSettings:
    """What both models of a paired run share: sizes (except proj_size), seed, learning rate, epochs, data."""

    hidden_size: int
    proj_size: int
    num_layers: int = 1
    bidirectional: bool = False
    seed: int = 0
    lr: float = 0.01
    epochs: int = 20
    data: str = "seed"

    @classmethod
    def from_spec(cls, spec: PairSpec, **kwargs: Any) -> TrainSettings:
        """The training settings for a compared pair (its input_size is replaced by the task's, 2)."""
        return cls(spec.hidden_size, spec.proj_size, spec.num_layers, spec.bidirectional, **kwargs)

    def proj_of(self, model: str) -> int:
        return self.proj_size if model == "LSTMP" else 0


def make_pair_trainer(settings: TrainSettings, model: str) -> Trainer:
    """One side's trainer: same data, seed, lr and sizes; ``proj_size`` only for the LSTMP."""
    return make_trainer(
        TASK,
        hidden_size=settings.hidden_size,
        proj_size=settings.proj_of(model),
        num_layers=settings.num_layers,
        bidirectional=settings.bidirectional,
        seed=settings.seed,
        lr=settings.lr,
        data=settings.data,
    )


class PairedRun:
    """The LSTM and the LSTMP training live on the subtraction task, one epoch each in turn (lockstep).

    Each side is a :class:`lstm_viz.live.LiveRun` around :func:`lstm_viz.training.make_trainer`, built with the
    same data, seed and learning rate; alternating epochs means a burst of load on the machine slows both alike,
    and both always sit at (nearly) the same epoch. No Streamlit here: a page keeps one ``PairedRun`` in
    ``st.session_state`` and calls :meth:`tick` from a fragment.
    """

    def __init__(self, settings: TrainSettings, factory: Callable[[TrainSettings, str], Any] = make_pair_trainer):
        self.settings = settings
        self.runs: dict[str, LiveRun] = {
            name: LiveRun(functools.partial(factory, settings, name), epochs=settings.epochs, lr=settings.lr)
            for name in MODEL_NAMES
        }

    # ---- state ---------------------------------------------------------------------------------------------
    @property
    def state(self) -> RunState:
        """FAILED if either failed, RUNNING if either still runs, else the LSTM side's state."""
        states = [run.state for run in self.runs.values()]
        if RunState.FAILED in states:
            return RunState.FAILED
        if RunState.RUNNING in states:
            return RunState.RUNNING
        return states[0]

    @property
    def error(self) -> str | None:
        errors = [f"{name}: {run.error}" for name, run in self.runs.items() if run.error]
        return "; ".join(errors) or None

    @property
    def epoch(self) -> int:
        return min(run.epoch for run in self.runs.values())

    @property
    def target(self) -> int:
        return self.runs["LSTM"].target

    @property
    def running(self) -> bool:
        return self.state is RunState.RUNNING

    def progress(self) -> Progress:
        """Both sides as one progress bar: epochs done by both, the pair's speed (epochs a second of each model: the
        slower side's), ETA. Each side's speed is already measured in wall time that includes the other side's
        turns: combining them again (1 / (1/a + 1/b)) showed half the speed and twice the time left."""
        sides = [run.progress() for run in self.runs.values()]
        speed = None
        if all(p.epochs_per_second for p in sides):
            speed = min(p.epochs_per_second for p in sides)  # type: ignore[type-var]
        eta = max(0, self.target - self.epoch) / speed if speed else None
        shares = [p.train_share for p in sides if p.train_share is not None]
        share = sum(shares) if shares else None
        return Progress(self.state, self.epoch, self.target, speed, eta, share)

    def threads(self) -> contextlib.AbstractContextManager[None]:
        """``with pair.threads():`` computes on the trainers' thread count (one for small models on a CPU)."""
        trainer = self.runs["LSTM"].trainer
        return torch_threads(getattr(trainer, "num_threads", None))

    def models(self) -> dict[str, Any]:
        """The two trained models (None before Start)."""
        return {name: run.model for name, run in self.runs.items()}

    # ---- controls (applied to both) -----------------------------------------------------------------------
    def start(self) -> None:
        for run in self.runs.values():
            run.start()

    def pause(self) -> None:
        for run in self.runs.values():
            run.pause()

    def resume(self) -> None:
        for run in self.runs.values():
            run.resume()

    def stop(self) -> None:
        for run in self.runs.values():
            run.stop()

    def reset(self) -> None:
        for run in self.runs.values():
            run.reset()

    def continue_for(self, more: int) -> None:
        """``more`` epochs past the side that is ahead, for both: between ticks the sides can be an epoch apart, and
        each side's own ``+ more`` ended the pair at two different epochs (an LSTM after 12 against an LSTMP
        after 11)."""
        ahead = max(run.epoch for run in self.runs.values())
        for run in self.runs.values():
            run.continue_for(ahead + validate_epochs(more, name="more epochs") - run.epoch)

    def set_lr(self, lr: float) -> None:
        for run in self.runs.values():
            run.set_lr(lr)

    def set_target(self, epochs: int) -> None:
        """One target for both (at least the epoch the side ahead has reached), so that they end together."""
        ahead = max(run.epoch for run in self.runs.values())
        for run in self.runs.values():
            run.set_target(max(validate_epochs(epochs), ahead))

    # ---- the work ------------------------------------------------------------------------------------------
    def tick(self, budget: float = TICK_SECONDS * TRAIN_SHARE, clock: Callable[[], float] = time.perf_counter) -> int:
        """Train one epoch at a time, the side that is behind first, for about ``budget`` seconds (at least one
        epoch if running). Returns the number of epochs trained."""
        deadline = clock() + budget
        trained = 0
        while True:
            running = [run for run in self.runs.values() if run.running]
            if not running:
                break
            behind = min(running, key=lambda run: run.epoch)
            before = behind.epoch
            behind.tick(budget=0.0)  # exactly one epoch
            trained += behind.epoch - before
            if behind.epoch == before or clock() >= deadline:
                break
        if self.state is RunState.FAILED:  # one side failed: stop the other so the page shows one state
            for run in self.runs.values():
                if run.running:
                    run.pause()
        return trained

    # ---- what the page shows -------------------------------------------------------------------------------
    def history_frame(self) -> pd.DataFrame:
        """One row per model and epoch: model, epoch, seconds (cumulative training time of that model), the
        task metrics (loss, train/test bit accuracy and exact match)."""
        return histories_frame({name: run.history for name, run in self.runs.items()})

    def final_table(self) -> pd.DataFrame:
        """Final accuracy, parameters and time of both models in one table (empty before Start)."""
        rows = []
        for name, run in self.runs.items():
            model = run.model
            if model is None or not run.history:
                continue
            last = run.history[-1]
            frame = pd.DataFrame(run.history)
            perfect = frame.loc[frame["test_exact_match"] >= 1.0, "epoch"]
            rows.append(
                {
                    "model": name,
                    "proj_size": self.settings.proj_of(name),
                    "parameters": count_parameters(model),
                    "test exact match": float(last["test_exact_match"]),
                    "first epoch at 100% test": int(perfect.iloc[0]) if len(perfect) else None,
                    "test bit accuracy": float(last["test_bit_acc"]),
                    "train exact match (running)": float(last["train_exact_match"]),
                    "loss": float(last["loss"]),
                    "epochs": int(last["epoch"]),
                    "training seconds": round(float(frame["seconds"].sum()), 2),
                    "seconds / epoch": round(float(frame["seconds"].median()), 3),
                    "recurrent parameters": count_parameters(model.rnn()),
                }
            )
        return pd.DataFrame(rows)


def histories_frame(histories: dict[str, Sequence[dict[str, Any]]]) -> pd.DataFrame:
    """Long frame of several training histories (``Trainer.history`` lists) keyed by model name; ``seconds``
    becomes the cumulative training time of each model, so curves can be drawn against wall time."""
    frames = []
    for name, history in histories.items():
        if not history:
            continue
        frame = pd.DataFrame(list(history))
        frame = frame[["epoch", "seconds", *[m for m in METRICS if m in frame]]].copy()
        frame["seconds"] = frame["seconds"].cumsum()
        frame.insert(0, "model", name)
        frames.append(frame)
    if not frames:
        return pd.DataFrame(columns=["model", "epoch", "seconds", *METRICS])
    return pd.concat(frames, ignore_index=True)


