"""LSTM vs LSTMP latency: a timed forward pass of each, with its spread, its device and a budget that refuses
measurements that would take minutes; and the summary table of both models' costs, latency included."""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd
import torch
from torch import nn

from lstm_viz.core.device import small_model_threads, torch_threads
from lstm_viz.lstmp.anatomy import (
    MAX_BATCH,
    MAX_LATENCY_WORK,
    MAX_SEQ_LEN,
    multiply_adds_per_step,
    parse_size,
    quiet,
    state_sizes,
)
from lstm_viz.tasks import count_parameters

__all__ = [
    "Latency",
    "check_latency_work",
    "kernel_note",
    "measure_latency",
    "summary_table",
]

# ----------------------------------------------------------------------------------------------------
# Latency
# ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Latency:
    """Forward-pass wall times in milliseconds: every run kept, with median and spread."""

    samples_ms: tuple[float, ...]
    device: str
    batch: int
    seq_len: int
    threads: int | None = None  # CPU intra-op threads used (None: not a CPU measurement)
    requested: int | None = None  # runs asked for; more than len(samples_ms) when the time budget cut them

    @property
    def where(self) -> str:
        """``cpu, 1 thread`` or ``cuda:0``."""
        if self.threads is None:
            return self.device
        return f"{self.device}, {self.threads} thread{'s' if self.threads != 1 else ''}"

    @property
    def median_ms(self) -> float:
        return statistics.median(self.samples_ms)

    def quantile_ms(self, q: float) -> float:
        """The ``q`` quantile (0..1) of the runs, linearly interpolated."""
        ordered = sorted(self.samples_ms)
        pos = q * (len(ordered) - 1)
        lo, hi = math.floor(pos), math.ceil(pos)
        return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)

    @property
    def iqr_ms(self) -> tuple[float, float]:
        """The interquartile range (25th and 75th percentile)."""
        return self.quantile_ms(0.25), self.quantile_ms(0.75)

    def label(self) -> str:
        q1, q3 = self.iqr_ms
        cut = f" of {self.requested} asked, to stay within the time budget" if self.cut else ""
        return f"{self.median_ms:.3f} ms (the middle half of {len(self.samples_ms)} runs{cut}: {q1:.3f}–{q3:.3f})"

    @property
    def cut(self) -> bool:
        """True when the time budget allowed fewer runs than asked for."""
        return self.requested is not None and self.requested > len(self.samples_ms)


def check_latency_work(
    modules: Sequence[nn.LSTM], batch: object, seq_len: object, runs: object
) -> tuple[int, int, int]:
    """Parse batch, sequence length and runs for :func:`measure_latency`; refuse a measurement that would
    take too long (more than ``MAX_LATENCY_WORK`` multiply-adds per forward pass) with the reason."""
    batch_n = parse_size(batch, "batch", maximum=MAX_BATCH, example=1)
    steps = parse_size(seq_len, "sequence length", maximum=MAX_SEQ_LEN, example=8)
    runs_n = parse_size(runs, "runs", minimum=3, maximum=500, example=30)
    work = max(multiply_adds_per_step(m)["total"] for m in modules) * batch_n * steps
    if work > MAX_LATENCY_WORK:
        raise ValueError(
            f"One forward pass at batch {batch_n} × T {steps} costs {work:,.0f} multiply-adds, more than this "
            f"page times ({MAX_LATENCY_WORK:,.0f}). Use a smaller batch or a shorter sequence, e.g. batch 1, T 64."
        )
    return batch_n, steps, runs_n


def kernel_note(device: torch.device | str) -> str | None:
    """Why an LSTMP can be *slower* than the bigger LSTM on this device, or None when it runs fused.

    On the CPU, PyTorch runs a plain LSTM in oneDNN's fused kernel but has none for projections ("LSTM with
    projections is not supported with oneDNN"): the LSTMP takes the step-by-step fallback, so fewer multiply-adds
    need not mean less time. On CUDA, cuDNN handles both.
    """
    if torch.device(device).type == "cpu" and torch.backends.mkldnn.is_available():
        return (
            "On the CPU, PyTorch runs the plain LSTM as one fused kernel (a single optimised routine for every step, "
            "from Intel's oneDNN library), but oneDNN has no such kernel for projections, so the LSTMP runs "
            "PyTorch's step-by-step fallback: fewer multiply-adds, yet often more time. On a CUDA GPU, NVIDIA's cuDNN "
            "library runs both fused."
        )
    return None


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def measure_latency(
    modules: Sequence[nn.LSTM],
    batch: int = 1,
    seq_len: int = 8,
    runs: int = 30,
    warmup: int = 3,
    seed: int = 0,
    threads: int | None = None,
    max_seconds: float | None = None,
) -> list[Latency]:
    """Time ``runs`` forward passes of each module on the same random input, interleaved run by run.

    ``max_seconds`` bounds the whole measurement: the first (warm-up) round is timed, and when the requested
    rounds would not fit, fewer are made (at least 3; ``Latency.requested`` keeps what was asked for), with a
    single warm-up round for slow models.

    On the CPU, models under ``SMALL_MODEL`` parameters run on one thread unless ``threads`` says otherwise
    (that is how the trainer runs them too; on a loaded machine extra threads mostly wait for each other).
    Interleaving (A, B, A, B, …) means a burst of load on a shared machine hits both models alike. Each module
    is timed on its own device, synchronising CUDA/MPS before the clock stops. Inference mode, no recording.
    """
    if runs < 1:
        raise ValueError(f"runs must be at least 1, got {runs}")
    generator = torch.Generator().manual_seed(seed)
    inputs = []
    for module in modules:
        param = next(module.parameters())
        x = torch.randn(batch, seq_len, module.input_size, generator=generator, dtype=param.dtype)
        x = x.to(param.device)
        inputs.append(x if module.batch_first else x.transpose(0, 1))
    samples: list[list[float]] = [[] for _ in modules]
    if threads is None:  # small models: one thread, as the trainer does; several only fight on a busy CPU
        threads = small_model_threads(*modules) or torch.get_num_threads()
    requested = runs
    warmup = max(1, warmup)
    with torch.inference_mode(), quiet(), torch_threads(threads):
        k = 0
        while k < warmup + runs:
            round_start = time.perf_counter()
            for j, (module, x) in enumerate(zip(modules, inputs, strict=True)):
                device = x.device
                _sync(device)
                start = time.perf_counter()
                module(x)
                _sync(device)
                if k >= warmup:
                    samples[j].append((time.perf_counter() - start) * 1000.0)
            if k == 0 and max_seconds is not None:  # fit the rounds into the time budget
                per_round = time.perf_counter() - round_start
                if per_round > 0.1:
                    warmup = 1
                fits = int(max_seconds / max(per_round, 1e-9)) - warmup
                runs = max(3, min(runs, fits))
            k += 1
    return [
        Latency(
            tuple(s),
            str(next(m.parameters()).device),
            batch,
            seq_len,
            threads if next(m.parameters()).device.type == "cpu" else None,
            requested,
        )
        for m, s in zip(modules, samples, strict=True)
    ]


def summary_table(
    lstm: nn.LSTM,
    lstmp: nn.LSTM,
    batch: int = 2,
    seq_len: int = 3,
    latency: Sequence[Latency] | None = None,
) -> pd.DataFrame:
    """One row per measure (parameters, multiply-adds per step, output/h_n/c_n shapes, latency), both models.

    Columns: ``measure``, ``LSTM``, ``LSTMP``, ``LSTMP / LSTM`` (a ratio where the measure is a number).
    """
    sizes = [state_sizes(m, batch, seq_len) for m in (lstm, lstmp)]
    macs = [multiply_adds_per_step(m) for m in (lstm, lstmp)]
    rows: list[tuple[str, object, object]] = [
        ("parameters", count_parameters(lstm), count_parameters(lstmp)),
        ("multiply-adds per step (matmul)", macs[0]["matmul"], macs[1]["matmul"]),
        ("multiply-adds per step (total)", macs[0]["total"], macs[1]["total"]),
    ]
    for key in ("output", "h_n", "c_n"):
        rows.append((f"{key} shape (batch {batch}, T {seq_len})", str(sizes[0][key]), str(sizes[1][key])))
    if latency is not None:
        medians = (round(latency[0].median_ms, 4), round(latency[1].median_ms, 4))
        rows.append(("forward latency, median ms", *medians))
    out = []
    for measure, a, b in rows:
        ratio = f"{b / a:.3f}" if isinstance(a, int | float) and isinstance(b, int | float) and a else ""
        out.append({"measure": measure, "LSTM": str(a), "LSTMP": str(b), "LSTMP / LSTM": ratio})
    return pd.DataFrame(out)
