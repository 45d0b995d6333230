"""The proj_size sweep: parameters vs accuracy reached in a fixed budget of epochs, run and read back as JSON."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from lstm_viz.core.device import pick_device, torch_threads
from lstm_viz.lstmp.anatomy import parse_size
from lstm_viz.lstmp.paired import TrainSettings, make_pair_trainer
from lstm_viz.parsing import MAX_DIGITS, InputError, parse_int, parse_lr, quote
from lstm_viz.tasks import count_parameters
from lstm_viz.tasks.subtraction import evaluate_all_pairs

__all__ = [
    "MAX_SWEEP_EPOCHS",
    "MAX_SWEEP_RUNS",
    "SWEEP_COMMAND",
    "SWEEP_DEFAULTS",
    "SweepPlan",
    "load_sweep",
    "parse_int_list",
    "plan_sweep",
    "run_sweep",
    "sweep_document",
    "sweep_point",
    "sweep_summary",
]

# ----------------------------------------------------------------------------------------------------------
# The proj_size sweep: parameters vs accuracy reached in a fixed budget of epochs
# ----------------------------------------------------------------------------------------------------------

SWEEP_DEFAULTS: dict[str, Any] = {
    "hidden_size": 32,
    "proj_sizes": (1, 2, 4, 8, 16, 24),
    "epochs": 3,
    "seeds": (0, 1, 2),
    "lr": 0.01,
    "data": "seed",
}
SWEEP_COMMAND = "python -m lstm_viz lstmp-sweep --out models/proj_sweep.json"
MAX_SWEEP_EPOCHS = 200
MAX_SWEEP_RUNS = 200


def parse_int_list(text: object, name: str, *, minimum: int, maximum: int, example: str) -> tuple[int, ...]:
    """``"1, 2, 4 8"`` → ``(1, 2, 4, 8)`` (sorted, without repeats), or a ValueError naming the bad entry."""
    if isinstance(text, list | tuple):
        parts = [str(v) for v in text]
    else:
        parts = [p for p in re.split(r"[,;\s]+", str(text).strip()) if p]
    if not parts:
        raise ValueError(f"{name} is empty. Type whole numbers separated by commas, e.g. {example}.")
    values = set()
    for part in parts:
        if re.fullmatch(r"[+-]?\d+", part) and len(part.lstrip("+-").lstrip("0")) > MAX_DIGITS:
            raise ValueError(f"{name}: a {len(part.lstrip('+-')):,}-digit number is far too large; type whole "
                             f"numbers from {minimum} to {maximum} separated by commas, e.g. {example}.")  # fmt: skip
        try:
            value = parse_int(part, name=name)
        except InputError:
            raise ValueError(
                f"{name}: {quote(part)} is not a whole number from {minimum} to {maximum}. Type whole numbers "
                f"separated by commas, e.g. {example}."
            ) from None
        if not minimum <= value <= maximum:
            raise ValueError(f"{name}: {value} is outside {minimum}..{maximum}. Example: {example}.")
        values.add(value)
    return tuple(sorted(values))


@dataclass(frozen=True)
class SweepPlan:
    """A validated proj_size sweep: every (proj_size, seed) pair is one training run of ``epochs`` epochs.
    proj_size 0 (the plain LSTM) is always included as the reference."""

    hidden_size: int
    proj_sizes: tuple[int, ...]
    epochs: int
    seeds: tuple[int, ...]
    lr: float = 0.01
    data: str = "seed"

    def points(self) -> list[tuple[int, int]]:
        """``(proj_size, seed)`` of every run, the plain LSTM first."""
        return [(p, s) for p in (0, *self.proj_sizes) for s in self.seeds]

    def budget(self) -> dict[str, Any]:
        return {"hidden_size": self.hidden_size, "epochs": self.epochs, "lr": self.lr, "data": self.data}


def plan_sweep(
    hidden_size: object, proj_sizes: object, epochs: object, seeds: object, lr: float = 0.01, data: str = "seed"
) -> SweepPlan:
    """Check typed sweep settings; a ValueError says what is wrong (e.g. a proj_size ≥ hidden_size)."""
    hidden = parse_size(hidden_size, "hidden_size", maximum=1024, example=32)
    if hidden < 2:
        raise ValueError(
            "hidden_size must be at least 2 for a projection to exist (proj_size < hidden_size). Example: 32"
        )
    projections = parse_int_list(proj_sizes, "proj_sizes", minimum=1, maximum=hidden - 1, example="1, 2, 4, 8, 16")
    budget = parse_size(epochs, "epochs", maximum=MAX_SWEEP_EPOCHS, example=3)
    seed_list = parse_int_list(seeds, "seeds", minimum=0, maximum=2**31 - 1, example="0, 1, 2")
    plan = SweepPlan(hidden, projections, budget, seed_list, parse_lr(lr, typed=False), data)
    if len(plan.points()) > MAX_SWEEP_RUNS:
        raise ValueError(
            f"{len(plan.points())} training runs is more than a sweep does at once ({MAX_SWEEP_RUNS}). "
            "Use fewer proj_sizes or seeds, e.g. proj_sizes 1, 4, 16 with seeds 0, 1."
        )
    return plan


def sweep_point(
    hidden_size: int, proj_size: int, epochs: int, seed: int, lr: float = 0.01, data: str = "seed"
) -> dict[str, Any]:
    """Train one subtraction model for ``epochs`` epochs and report parameters and the accuracy reached."""
    settings = TrainSettings(hidden_size, proj_size, seed=seed, lr=lr, epochs=epochs, data=data)
    trainer = make_pair_trainer(settings, "LSTMP" if proj_size else "LSTM")
    history = trainer.train_epochs(epochs)
    last = {**history[-1], **trainer.evaluate()}  # both splits on the final weights (history's train_* run)
    model = trainer.model
    with torch_threads(trainer.num_threads):  # one thread for small models: many times faster on a busy CPU
        everything = evaluate_all_pairs(model)
    return {
        "proj_size": proj_size,
        "seed": seed,
        "parameters": count_parameters(model),
        "recurrent_parameters": count_parameters(model.rnn()),
        "epochs": int(last["epoch"]),
        "seconds": round(sum(float(r["seconds"]) for r in history), 3),
        "loss": float(last["loss"]),
        "test_bit_acc": float(last["test_bit_acc"]),
        "test_exact_match": float(last["test_exact_match"]),
        "train_exact_match": float(last["train_exact_match"]),
        "all_pairs_exact_match": float(everything["exact_match"]),  # type: ignore[arg-type]
    }


def run_sweep(
    plan: SweepPlan,
    point: Callable[..., dict[str, Any]] = sweep_point,
    on_point: Callable[[int, int, dict[str, Any]], None] | None = None,
) -> pd.DataFrame:
    """Every run of ``plan`` in order; ``on_point(done, total, result)`` after each (for a progress bar).
    ``point`` computes one run (a page passes a cached version of :func:`sweep_point`)."""
    rows = []
    points = plan.points()
    for k, (proj, seed) in enumerate(points, start=1):
        result = point(plan.hidden_size, proj, plan.epochs, seed, plan.lr, plan.data)
        rows.append(result)
        if on_point is not None:
            on_point(k, len(points), result)
    return pd.DataFrame(rows)


def sweep_summary(results: pd.DataFrame, tolerance: float = 0.01) -> str:
    """One sentence read off sweep results: the smallest LSTMP whose mean test exact match is within
    ``tolerance`` of the plain LSTM's, and the share of the LSTM's parameters it needs."""
    means = results.groupby("proj_size").agg(acc=("test_exact_match", "mean"), params=("parameters", "first"))
    if 0 not in means.index or len(means) < 2:
        return "The sweep needs the plain LSTM (proj_size 0) and at least one LSTMP to compare."
    base = means.loc[0]
    good = means[(means.index > 0) & (means["acc"] >= base["acc"] - tolerance)]
    if not len(good):
        best = means.drop(index=0)["acc"].idxmax()
        return (
            f"No LSTMP reached the plain LSTM's mean test exact match ({base['acc']:.1%}) in this budget; "
            f"the best was proj_size {best} with {means.loc[best, 'acc']:.1%}."
        )
    p = int(good.index.min())
    return (
        f"proj_size {p} is the smallest projection that matches the plain LSTM's mean test exact match "
        f"({good.loc[p, 'acc']:.1%} vs {base['acc']:.1%}) with {good.loc[p, 'params'] / base['params']:.0%} of "
        f"its parameters ({int(good.loc[p, 'params']):,} vs {int(base['params']):,})."
    )


def sweep_document(plan: SweepPlan, results: pd.DataFrame, command: str = SWEEP_COMMAND) -> dict[str, Any]:
    """The JSON written to ``models/proj_sweep.json``: metadata (how it was made: ``command``, the command line
    that ran) and one record per run."""
    return {
        "metadata": {
            "what": "proj_size sweep on post 4's 8-bit subtraction: parameters vs accuracy after a fixed "
            "budget of epochs; proj_size 0 is the plain LSTM",
            "command": command,
            "plan": {**asdict(plan), "proj_sizes": list(plan.proj_sizes), "seeds": list(plan.seeds)},
            "trainer": "lstm_viz.training.make_trainer('subtraction', preset='fast'): Adam, batch 128",
            "device": str(pick_device()),
            "torch": torch.__version__,
            "created": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        },
        "results": results.to_dict(orient="records"),
    }


def load_sweep(path: str | Path) -> tuple[SweepPlan, pd.DataFrame]:
    """Read a sweep JSON (as :func:`sweep_document` writes it); ValueError with the reason if unusable."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        plan_data = dict(doc["metadata"]["plan"])
        plan = SweepPlan(
            hidden_size=int(plan_data["hidden_size"]),
            proj_sizes=tuple(int(p) for p in plan_data["proj_sizes"]),
            epochs=int(plan_data["epochs"]),
            seeds=tuple(int(s) for s in plan_data["seeds"]),
            lr=float(plan_data["lr"]),
            data=str(plan_data["data"]),
        )
        results = pd.DataFrame(doc["results"])
    except FileNotFoundError:
        raise ValueError(f"no sweep results at {path}; make them with: {SWEEP_COMMAND}") from None
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise ValueError(f"{path} is not a sweep result file ({type(err).__name__}: {err})") from None
    missing = {"proj_size", "seed", "parameters", "test_exact_match"} - set(results.columns)
    if missing:
        raise ValueError(f"{path} lacks the columns {sorted(missing)}; remake it with: {SWEEP_COMMAND}")
    return plan, results


