"""Benchmark: the training engine vs seed 004's recipe as written, and the StatQuest model's time to converge.

Run: ``python benchmarks/bench_training.py [--epochs 5] [--statquest-seeds 5]``. Everything is measured in this
one process; the two subtraction runs advance one epoch at a time in turn, so both see the same machine load.

1. Seed 004, as written in the post: numpy data, a ``Dataset`` of numpy arrays, ``random_split``,
   ``DataLoader(batch_size=128, shuffle=True)``, ``LSTM(2, 32) → Linear → Sigmoid``, ``BCELoss``, Adam lr 0.01.
   Timed: the training loop of each epoch (the post evaluates nothing per epoch; we evaluate it untimed).
2. The engine on the same recipe (same data and split, batch 128, BCE, Adam lr 0.01, seed 822 → the post's
   initial weights). Timed: its whole epoch, *including* the per-epoch train and test metrics.
   Goal: ≤ 0.5× the seed's time per epoch, same final accuracy.
3. StatQuest by hand, "fast" preset: wall time until |A| < 0.05 and |B − 1| < 0.05, for several init seeds.
   Goal: under 2 s on CPU (the post needed 5,000 Lightning epochs).
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from lstm_viz import subtraction, toy
from lstm_viz.training import PRESETS, make_trainer


class SeedRecipe:
    """Seed 004's script, verbatim in substance, split into setup and one-epoch steps."""

    def __init__(self) -> None:
        SEED = 822
        np.random.seed(SEED)
        torch.manual_seed(SEED)
        random.seed(SEED)
        binary = np.unpackbits(np.array([range(2**8)], dtype=np.uint8).T, axis=1)
        int2binary = {i: binary[i] for i in range(2**8)}
        data = []
        while len(data) < 10000:
            a_int = np.random.randint(2, 255)
            b_int = np.random.randint(1, a_int)
            if not subtraction.requires_borrow(a_int, b_int):
                continue
            data.append((int2binary[a_int], int2binary[b_int], int2binary[a_int - b_int]))

        class BinarySubtractionDataset(Dataset):
            def __init__(self, data):
                self.samples = []
                for a, b, c in data:
                    x = np.array(list(zip(a[::-1], b[::-1], strict=True)), dtype=np.float32)
                    y = c[::-1].astype(np.float32)
                    self.samples.append((x, y))

            def __len__(self):
                return len(self.samples)

            def __getitem__(self, idx):
                x, y = self.samples[idx]
                return torch.tensor(x), torch.tensor(y)

        dataset = BinarySubtractionDataset(data)
        train_size = int(0.9 * len(dataset))
        test_size = len(dataset) - train_size
        self.train_set, self.test_set = torch.utils.data.random_split(dataset, [train_size, test_size])
        self.train_loader = DataLoader(self.train_set, batch_size=128, shuffle=True)

        class LSTMSubtractor(nn.Module):
            def __init__(self, input_size=2, hidden_size=32, output_size=1):
                super().__init__()
                self.lstm = nn.LSTM(input_size, hidden_size, batch_first=True)
                self.fc = nn.Linear(hidden_size, output_size)
                self.sigmoid = nn.Sigmoid()

            def forward(self, x):
                lstm_out, _ = self.lstm(x)
                out = self.fc(lstm_out)
                return self.sigmoid(out)

        self.model = LSTMSubtractor()
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

    @torch.no_grad()
    def test_exact_match(self) -> float:
        self.model.eval()
        x = torch.stack([x for x, _ in self.test_set])
        y = torch.stack([y for _, y in self.test_set])
        return float(((self.model(x).squeeze(-1) >= 0.5) == (y >= 0.5)).all(-1).float().mean())


def bench_subtraction(epochs: int) -> None:
    engine = make_trainer("subtraction", preset="seed", seed=822, device="cpu")  # before the seed's global seeding
    seed = SeedRecipe()
    seed_times, engine_times, seed_acc, engine_acc = [], [], [], []
    for _ in range(epochs):
        seed_times.append(seed.epoch())
        seed_acc.append(seed.test_exact_match())
        started = time.perf_counter()
        metrics = engine.step_epoch()
        engine_times.append(time.perf_counter() - started)
        engine_acc.append(metrics["test_exact_match"])

    def first_perfect(accs: list[float]) -> str:
        return next((str(k + 1) for k, a in enumerate(accs) if a == 1.0), "never")

    seed_mean, engine_mean = statistics.mean(seed_times), statistics.mean(engine_times)
    print(f"subtraction, {epochs} epochs each, batch 128, Adam lr 0.01, BCE (torch threads: {torch.get_num_threads()})")
    print(f"  seed recipe : {seed_mean:.3f} s/epoch (median {statistics.median(seed_times):.3f}), "
          f"test exact match per epoch {[round(a, 4) for a in seed_acc]}, "
          f"first 100% at epoch {first_perfect(seed_acc)}")  # fmt: skip
    print(f"  engine      : {engine_mean:.3f} s/epoch (median {statistics.median(engine_times):.3f}) incl. "
          f"metrics, test exact match per epoch {[round(a, 4) for a in engine_acc]}, "
          f"first 100% at epoch {first_perfect(engine_acc)}")  # fmt: skip
    print(f"  RATIO engine/seed time per epoch: {engine_mean / seed_mean:.2f} (goal ≤ 0.50); "
          f"median ratio {statistics.median(engine_times) / statistics.median(seed_times):.2f}")  # fmt: skip


def bench_statquest(seeds: int) -> None:
    fast = PRESETS["toy-statquest"]["fast"]
    times, epochs = [], []
    for s in range(seeds):
        trainer = make_trainer("toy-statquest", seed=s, device="cpu")
        started = time.perf_counter()
        history = trainer.train_epochs(
            fast["epochs"], until=lambda m: abs(m["out_0"]) < toy.TOLERANCE and abs(m["out_1"] - 1) < toy.TOLERANCE
        )
        times.append(time.perf_counter() - started)
        converged = toy.is_converged(trainer.model)
        epochs.append(len(history) if converged else None)
    print(f"StatQuest by hand, 'fast' preset (Adam lr {fast['lr']}, full batch), seeds 0..{seeds - 1}:")
    print(f"  epochs to |A| < 0.05 and |B - 1| < 0.05: {epochs}")
    print(f"  seconds: {[round(t, 2) for t in times]}; max {max(times):.2f} s, median {statistics.median(times):.2f} s "
          f"(goal < 2 s)")  # fmt: skip
    seed_trainer = make_trainer("toy-statquest", preset="seed", seed=0, device="cpu")
    started = time.perf_counter()
    seed_trainer.train_epochs(100)
    per_epoch = (time.perf_counter() - started) / 100
    print(f"  the post's recipe (Adam lr 0.001, batch 1) here: {per_epoch * 1000:.2f} ms/epoch → 5000 epochs ≈ "
          f"{per_epoch * 5000:.1f} s")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5, help="subtraction epochs per recipe (default 5)")
    parser.add_argument("--statquest-seeds", type=int, default=5, help="init seeds to time (default 5)")
    args = parser.parse_args()
    bench_subtraction(args.epochs)
    bench_statquest(args.statquest_seeds)


if __name__ == "__main__":
    main()
