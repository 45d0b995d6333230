"""The first epochs seen from inside: a model trained a few mini-batches at a time and scored after each step.

A live page draws one point per epoch, and post 4's subtraction LSTM learns to borrow inside its first three: its
curves jump from ~0 % to 100 % exact in two points. :func:`first_batches` trains a fresh trainer for a few epochs
``every`` mini-batches at a time (``Trainer.train_batches``: the same batches in the same order, so the same weights
as whole epochs) and scores the test split after each step, so the climb can be seen.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from lstm_viz.parsing import InputError

if TYPE_CHECKING:
    from lstm_viz.training.engine import Trainer

__all__ = ["MAX_EPOCHS", "first_batches"]

MAX_EPOCHS = 10  # a look at the first epochs: a score every few mini-batches of more would be a slow, long table


def first_batches(trainer: Trainer, epochs: int = 3, every: int = 4) -> pd.DataFrame:
    """Train ``trainer`` from where it is (a fresh one: epoch 0) for ``epochs`` epochs, ``every`` mini-batches at a
    time, and score its test split before the first step and after each one.

    One row per score: ``batches`` (mini-batches trained so far), ``epoch`` (fractional: 1.5 = half-way through the
    second) and the task's test metrics (``test_exact_match``, ``test_bit_acc`` for the subtraction task).
    ``attrs`` hold ``per_epoch`` (mini-batches in an epoch) and ``every``.
    """
    if isinstance(epochs, bool) or not isinstance(epochs, int) or not 1 <= epochs <= MAX_EPOCHS:
        raise InputError(f"epochs must be a whole number from 1 to {MAX_EPOCHS}, got {epochs!r}. Example: 3")
    if isinstance(every, bool) or not isinstance(every, int) or every < 1:
        raise InputError(f"every must be a whole number of mini-batches ≥ 1, got {every!r}. Example: 4")
    per_epoch = trainer.batches_per_epoch
    start = trainer.epoch
    rows = [{"batches": 0, "epoch": float(start), **trainer.evaluate(("test",))}]
    while trainer.epoch < start + epochs:
        trainer.train_batches(every)
        place = trainer.partial_epoch  # (batches done, in all) mid-epoch; None just after an epoch ended
        epoch = trainer.epoch + (0.0 if place is None else place[0] / per_epoch)
        rows.append({"batches": round((epoch - start) * per_epoch), "epoch": epoch, **trainer.evaluate(("test",))})
    table = pd.DataFrame(rows)
    table.attrs.update(per_epoch=per_epoch, every=every)
    return table
