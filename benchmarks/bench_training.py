"""Benchmark: the training engine vs post 4's recipe as written, and the StatQuest model's time to converge.

Run: ``python benchmarks/bench_training.py [--epochs 4] [--statquest-seeds 5]``. Everything is measured in this
one process; the subtraction runs advance one epoch at a time in turn, so all see the same machine load. Medians
of wall time and of this process's CPU time are printed (CPU time is the fairer number on a busy machine).

1. Post 4's script, as written: numpy data, a ``Dataset`` of numpy arrays, ``random_split``,
   ``DataLoader(batch_size=128, shuffle=True)``, ``LSTM(2, 32) → Linear → Sigmoid``, ``BCELoss``, Adam lr 0.01.
   Timed: the training loop of each epoch (the post evaluates nothing per epoch; we evaluate it untimed).
   Run twice: with PyTorch's default thread count (as written) and on one thread (a fairer reference, since
   the engine trains small models on one thread).
2. The engine on the same recipe (same data and split, batch 128, BCE, Adam lr 0.01, seed 822 → the post's
   initial weights). Timed: its whole epoch, *including* the per-epoch train and test metrics.
   Goal: ≤ 0.5× the post's time per epoch, same final accuracy.
3. StatQuest by hand, "fast" preset: wall time until |A| < 0.05 and |B − 1| < 0.05, for several init seeds.
   Goal: under 2 s on CPU (the post needed 5,000 Lightning epochs).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from cli_args import whole

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# PyTorch, lstm_viz and post 4's script are imported where they are used, once the arguments are read.
MAX_COUNT = 1000  # of --epochs (three recipes' epochs, a second or more each) and of --statquest-seeds (up to 2 s each)
LONG = "more would run for hours"


class SeedRecipe:
    """Post 4's script, verbatim in substance, split into setup and one-epoch steps."""

    def __init__(self) -> None:
        import torch
        from torch import nn
        from torch.utils.data import DataLoader

        from tests import seed004  # post 4's script: the reference the tests use too

        self.train_set, self.test_set = seed004.post_splits()  # the post's seeds, data and split
        self.train_loader = DataLoader(self.train_set, batch_size=128, shuffle=True)
        self.model = seed004.LSTMSubtractor()
        self.criterion = nn.BCELoss()
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=0.01)

    def epoch(self) -> float:
        """One training epoch exactly as the post's loop; returns its wall time."""
        started = time.perf_counter()
        self.model.train()
        total_loss = 0
        for x_batch, y_batch in self.train_loader:
            y_batch = y_batch.unsqueeze(-1)
            self.optimizer.zero_grad()
            output = self.model(x_batch)
            loss = self.criterion(output, y_batch)
            loss.backward()
            self.optimizer.step()
            total_loss += loss.item()
        return time.perf_counter() - started

    def test_exact_match(self) -> float:
        import torch

        self.model.eval()
        with torch.no_grad():
            x = torch.stack([x for x, _ in self.test_set])
            y = torch.stack([y for _, y in self.test_set])
            return float(((self.model(x).squeeze(-1) >= 0.5) == (y >= 0.5)).all(-1).float().mean())


def _timed(fn, threads: int | None = None):
    """(result, wall seconds, CPU seconds of this process) of ``fn()``, optionally on ``threads`` threads."""
    import torch

    before = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        wall, cpu = time.perf_counter(), time.process_time()
        result = fn()
        return result, time.perf_counter() - wall, time.process_time() - cpu
    finally:
        torch.set_num_threads(before)


def bench_subtraction(epochs: int) -> None:
    import torch

    from lstm_viz.training.engine import make_trainer

    engine = make_trainer("subtraction", preset="seed", seed=822, device="cpu")  # before the post's global seeding
    runs = {"seed recipe": SeedRecipe(), "seed recipe, 1 thread": SeedRecipe()}
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in [*runs, "engine"]}
    accs: dict[str, list[float]] = {name: [] for name in times}
    for _ in range(epochs):  # one epoch of each in turn: all three see the same machine load
        for name, recipe in runs.items():
            _, wall, cpu = _timed(recipe.epoch, threads=1 if "1 thread" in name else None)
            times[name].append((wall, cpu))
            accs[name].append(recipe.test_exact_match())
        metrics, wall, cpu = _timed(engine.step_epoch)
        times["engine"].append((wall, cpu))
        accs["engine"].append(metrics["test_exact_match"])

    def first_perfect(values: list[float]) -> str:
        return next((str(k + 1) for k, a in enumerate(values) if a == 1.0), "never")

    print(f"subtraction, {epochs} epochs each, batch 128, Adam lr 0.01, BCE; torch default threads "
          f"{torch.get_num_threads()}, engine threads {engine.num_threads or torch.get_num_threads()}")  # fmt: skip
    median = {
        name: (statistics.median(w for w, _ in t), statistics.median(c for _, c in t)) for name, t in times.items()
    }
    for name in times:
        wall, cpu = median[name]
        print(f"  {name:22s}: median {wall:.3f} s/epoch wall, {cpu:.3f} s CPU"
              f"{' (incl. running train + test metrics)' if name == 'engine' else ''}; test exact match per epoch "
              f"{[round(a, 4) for a in accs[name]]}, first 100% at epoch {first_perfect(accs[name])}")  # fmt: skip
    for ref in runs:
        print(f"  RATIO engine / {ref}: {median['engine'][0] / median[ref][0]:.2f} wall, "
              f"{median['engine'][1] / median[ref][1]:.2f} CPU (goal ≤ 0.50 vs the recipe as written)")  # fmt: skip


def bench_statquest(seeds: int) -> None:
    from lstm_viz.tasks import toy
    from lstm_viz.training.engine import PRESETS, make_trainer

    fast = PRESETS["toy-statquest"]["fast"]
    times, cpus, epochs = [], [], []
    for s in range(seeds):
        trainer = make_trainer("toy-statquest", seed=s, device="cpu")
        history, wall, cpu = _timed(
            lambda t=trainer: t.train_epochs(
                fast["epochs"], until=lambda m: abs(m["out_0"]) < toy.TOLERANCE and abs(m["out_1"] - 1) < toy.TOLERANCE
            )
        )
        times.append(wall)
        cpus.append(cpu)
        converged = toy.is_converged(trainer.model)
        epochs.append(len(history) if converged else None)
    print(f"StatQuest by hand, 'fast' preset (Adam lr {fast['lr']}, full batch), seeds 0..{seeds - 1}:")
    print(f"  epochs to |A| < 0.05 and |B - 1| < 0.05: {epochs}")
    print(f"  wall seconds: {[round(t, 2) for t in times]}; max {max(times):.2f} s, median "
          f"{statistics.median(times):.2f} s (goal < 2 s)")  # fmt: skip
    print(f"  CPU seconds:  {[round(t, 2) for t in cpus]}; max {max(cpus):.2f} s (what it costs on an idle core)")
    seed_trainer = make_trainer("toy-statquest", preset="seed", seed=0, device="cpu")
    started = time.perf_counter()
    seed_trainer.train_epochs(100)
    per_epoch = (time.perf_counter() - started) / 100
    print(f"  the post's recipe (Adam lr 0.001, batch 1) here: {per_epoch * 1000:.2f} ms/epoch → 5000 epochs ≈ "
          f"{per_epoch * 5000:.1f} s")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--epochs", type=whole(1, MAX_COUNT, above=LONG), default=4, help="subtraction epochs per recipe (default 4)"
    )
    parser.add_argument(
        "--statquest-seeds", type=whole(1, MAX_COUNT, above=LONG), default=5, help="init seeds to time (default 5)"
    )
    args = parser.parse_args()
    bench_subtraction(args.epochs)
    bench_statquest(args.statquest_seeds)


if __name__ == "__main__":
    main()
