"""LSTM vs LSTMP: parameter shapes and counts, multiply-adds, state sizes, latency, paired training, sweep.

Every number here is read off real modules (``named_parameters``, a real forward pass, a timed forward
pass), never typed from a formula. The plain LSTM and the LSTMP of a comparison share input_size, hidden_size
and num_layers; the LSTMP adds ``proj_size`` (seed 003: h is projected to proj_size dimensions at every step,
c keeps hidden_size, so ``weight_hh`` shrinks to ``(4H, P)`` and ``weight_hr`` ``(P, H)`` appears).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import math
import re
import statistics
import sys
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from lstm_viz.core.device import SMALL_MODEL, pick_device, small_model_threads, torch_threads
from lstm_viz.core.lstm import RecordingLSTM
from lstm_viz.core.recording import DIRECTIONS, Recording
from lstm_viz.explorer.answer import Answer, model_answer
from lstm_viz.explorer.inputs import typed_input
from lstm_viz.parsing import InputError, parse_int
from lstm_viz.tasks import subtraction
from lstm_viz.tasks.models import LSTMVizModel, ModelConfig, build_model, count_parameters
from lstm_viz.tasks.subtraction import evaluate_all_pairs
from lstm_viz.training.checkpoints import load_checkpoint
from lstm_viz.training.engine import Trainer, make_trainer
from lstm_viz.training.live import TICK_SECONDS, TRAIN_SHARE, LiveRun, Progress, RunState, validate_epochs, validate_lr

__all__ = [
    "LATENCY_SECONDS",
    "MAX_BATCH",
    "MAX_LATENCY_WORK",
    "MAX_LAYERS",
    "MAX_PARAMETERS",
    "MAX_SEQ_LEN",
    "MAX_SIZE",
    "MAX_SWEEP_EPOCHS",
    "MAX_SWEEP_RUNS",
    "MAX_TRAIN_HIDDEN",
    "MAX_TRAIN_LAYERS",
    "METRICS",
    "MODEL_NAMES",
    "SHIPPED_FILES",
    "SMALL_MODEL",
    "SWEEP_COMMAND",
    "SWEEP_DEFAULTS",
    "TASK",
    "TASK_INPUT_SIZE",
    "Latency",
    "PairSpec",
    "PairedRun",
    "RunState",
    "Side",
    "SweepPlan",
    "TrainSettings",
    "build_pair",
    "check_latency_work",
    "check_trainable",
    "compare_parameters",
    "count_parameters",
    "fresh_task_pair",
    "history_frame",
    "kernel_note",
    "load_sweep",
    "main",
    "make_pair_trainer",
    "measure_latency",
    "multiply_adds",
    "multiply_adds_per_step",
    "parameter_table",
    "parse_int_list",
    "parse_size",
    "parse_train_settings",
    "plan_sweep",
    "projection_arrays",
    "run_sweep",
    "shipped_pair",
    "side_by_side",
    "state_sizes",
    "summary_table",
    "sweep_document",
    "sweep_point",
    "sweep_summary",
    "task_model_config",
    "validate_pair",
]

MODEL_NAMES = ("LSTM", "LSTMP")
MAX_SIZE = 4096  # input_size / hidden_size cap: one (4H, H) matrix at 4096 is already 67M parameters
MAX_LAYERS = 8
MAX_BATCH = 1024
MAX_SEQ_LEN = 4096
MAX_PARAMETERS = 50_000_000  # both models together, about 200 MB of float32 weights
MAX_LATENCY_WORK = 2e10  # multiply-adds in one timed forward pass (batch × T × per step): 10 s or more on a CPU
LATENCY_SECONDS = 8.0  # time budget of one latency measurement on the page

_PARAM_NAME = re.compile(r"^(weight|bias)_(ih|hh|hr)_l(\d+)(_reverse)?$")
_KIND = {
    ("weight", "ih"): "input weights W_i·",
    ("weight", "hh"): "recurrent weights W_h·",
    ("weight", "hr"): "projection W_hr",
    ("bias", "ih"): "bias b_i·",
    ("bias", "hh"): "bias b_h·",
}


# ----------------------------------------------------------------------------------------------------
# Sizes: parse, validate with nn.LSTM's own rules, build
# ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PairSpec:
    """The sizes of one comparison: a plain LSTM and an LSTMP that differ only in ``proj_size``."""

    input_size: int
    hidden_size: int
    proj_size: int
    num_layers: int = 1
    bidirectional: bool = False

    def kwargs(self, model: str) -> dict[str, Any]:
        """``nn.LSTM`` keyword arguments for ``"LSTM"`` (proj_size 0) or ``"LSTMP"``."""
        if model not in MODEL_NAMES:
            raise ValueError(f"model must be one of {MODEL_NAMES}, got {model!r}")
        return {
            "input_size": self.input_size,
            "hidden_size": self.hidden_size,
            "num_layers": self.num_layers,
            "bidirectional": self.bidirectional,
            "batch_first": True,
            "proj_size": self.proj_size if model == "LSTMP" else 0,
        }

    def describe(self, model: str) -> str:
        """Constructor call as one would type it, e.g. ``nn.LSTM(4, 5, proj_size=3)``."""
        kw = self.kwargs(model)
        parts = [str(self.input_size), str(self.hidden_size)]
        if self.num_layers != 1:
            parts.append(f"num_layers={self.num_layers}")
        if self.bidirectional:
            parts.append("bidirectional=True")
        if kw["proj_size"]:
            parts.append(f"proj_size={kw['proj_size']}")
        return f"nn.LSTM({', '.join(parts)})"


def parse_size(value: object, name: str, *, minimum: int = 1, maximum: int = MAX_SIZE, example: int = 5) -> int:
    """A whole number typed by a user (``"32"``, ``32``, ``" 32 "``) or a ``ValueError`` saying why not.

    >>> parse_size(" 32 ", "hidden_size")
    32
    """
    hint = f"Type a whole number from {minimum} to {maximum}, e.g. {example}."
    if isinstance(value, str) and not value.strip():
        raise ValueError(f"{name} is empty. {hint}")
    try:
        number = parse_int(value, name=name)  # type: ignore[arg-type]
    except InputError:
        raise ValueError(f"{name} must be a whole number, got {str(value).strip()!r}. {hint}") from None
    if number < minimum:
        rule = "greater than zero" if minimum == 1 else f"at least {minimum}"
        raise ValueError(f"{name} must be {rule}, got {number}. {hint}")
    if number > maximum:
        raise ValueError(
            f"{name} must be at most {maximum} (this app's cap, to keep memory sane), got {number}. {hint}"
        )
    return number


def _parse_proj_size(value: object) -> int:
    if isinstance(value, str | int) and not isinstance(value, bool) and str(value).strip() == "0":
        raise ValueError(
            "proj_size must be greater than zero for the LSTMP: 0 switches the projection off, which is the plain "
            "LSTM it is compared with. Type a whole number smaller than hidden_size, e.g. 3 for hidden_size 5."
        )
    return parse_size(value, "proj_size", example=3)


def validate_pair(
    input_size: object,
    hidden_size: object,
    proj_size: object,
    num_layers: object = 1,
    bidirectional: bool = False,
) -> PairSpec:
    """Check typed sizes and return a :class:`PairSpec`, or raise ``ValueError`` with the reason and an example.

    Besides the app's caps, the rules are nn.LSTM's own: both models are constructed on the ``meta`` device
    (no memory) and whatever nn.LSTM refuses is passed on with its message.
    """
    spec = PairSpec(
        input_size=parse_size(input_size, "input_size", example=4),
        hidden_size=parse_size(hidden_size, "hidden_size", example=5),
        proj_size=_parse_proj_size(proj_size),
        num_layers=parse_size(num_layers, "num_layers", maximum=MAX_LAYERS, example=1),
        bidirectional=bool(bidirectional),
    )
    if spec.proj_size >= spec.hidden_size:
        raise ValueError(
            f"proj_size ({spec.proj_size}) has to be smaller than hidden_size ({spec.hidden_size}): the "
            f"projection compresses h from hidden_size to proj_size dimensions (nn.LSTM's rule). "
            f"Example: hidden_size 5 with proj_size 3."
        )
    total = 0
    for model in MODEL_NAMES:
        try:
            meta = nn.LSTM(**spec.kwargs(model), device="meta")  # shapes only, no memory
        except (ValueError, TypeError) as err:  # nn.LSTM's rules, in case they are stricter than ours
            raise ValueError(f"nn.LSTM refuses {spec.describe(model)}: {err}.") from None
        total += count_parameters(meta)
    if total > MAX_PARAMETERS:
        raise ValueError(
            f"These two models would hold {total:,} parameters together; this app caps them at "
            f"{MAX_PARAMETERS:,} to keep memory sane. Use a smaller hidden_size or fewer layers, "
            f"e.g. hidden_size 512 with 2 layers."
        )
    return spec


def build_pair(
    spec: PairSpec, seed: int = 0, device: torch.device | str | None = None
) -> tuple[RecordingLSTM, RecordingLSTM]:
    """The plain LSTM and the LSTMP of ``spec``, each initialised from ``torch.manual_seed(seed)``, eval mode."""
    device = torch.device(device) if device is not None else pick_device()
    models = []
    for model in MODEL_NAMES:
        torch.manual_seed(seed)
        models.append(RecordingLSTM(**spec.kwargs(model), device=device).eval())
    return models[0], models[1]


# ----------------------------------------------------------------------------------------------------
# Parameters and multiply-adds, read off named_parameters
# ----------------------------------------------------------------------------------------------------


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence torch's "LSTM with projections is not supported with oneDNN" notice (it is about speed only)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="LSTM with projections is not supported")
        yield


def _split_name(name: str) -> tuple[str, str, int, str]:
    """``weight_hr_l1_reverse`` → ("weight", "hr", 1, "bwd")."""
    match = _PARAM_NAME.match(name)
    if match is None:
        raise ValueError(f"{name!r} is not an nn.LSTM parameter name like 'weight_ih_l0' or 'bias_hh_l1'")
    what, where, layer, reverse = match.groups()
    return what, where, int(layer), "bwd" if reverse else "fwd"


def parameter_table(module: nn.LSTM) -> pd.DataFrame:
    """One row per parameter, in ``named_parameters`` order: name, layer, direction, kind, shape, count.

    ``shape`` is the tuple as seed 003 prints it (``weight_ih_l0 (20, 4)``), ``count`` its number of elements.
    """
    rows = []
    for name, param in module.named_parameters():
        what, where, layer, direction = _split_name(name)
        rows.append(
            {
                "name": name,
                "layer": layer,
                "direction": direction,
                "kind": _KIND[(what, where)],
                "shape": tuple(param.shape),
                "count": param.numel(),
            }
        )
    return pd.DataFrame(rows, columns=["name", "layer", "direction", "kind", "shape", "count"])


def _shape_text(shape: object) -> str:
    if not isinstance(shape, tuple):
        return "—"
    return f"({shape[0]},)" if len(shape) == 1 else "(" + ", ".join(str(s) for s in shape) + ")"


def compare_parameters(lstm: nn.LSTM, lstmp: nn.LSTM) -> pd.DataFrame:
    """Both models' parameters side by side, with a final ``total`` row.

    Columns: ``tensor``, ``LSTM shape``, ``LSTM params``, ``LSTMP shape``, ``LSTMP params``, ``change``
    (LSTMP minus LSTM). A tensor only one model has (``weight_hr_l*``) shows "—" and 0 for the other.
    """
    a = parameter_table(lstm).set_index("name")
    b = parameter_table(lstmp).set_index("name")
    names = list(a.index) + [n for n in b.index if n not in a.index]
    rows = []
    for name in names:
        count_a = int(a.at[name, "count"]) if name in a.index else 0
        count_b = int(b.at[name, "count"]) if name in b.index else 0
        rows.append(
            {
                "tensor": name,
                "LSTM shape": _shape_text(a.at[name, "shape"]) if name in a.index else "—",
                "LSTM params": count_a,
                "LSTMP shape": _shape_text(b.at[name, "shape"]) if name in b.index else "—",
                "LSTMP params": count_b,
                "change": count_b - count_a,
            }
        )
    total_a, total_b = count_parameters(lstm), count_parameters(lstmp)
    rows.append(
        {
            "tensor": "total",
            "LSTM shape": "",
            "LSTM params": total_a,
            "LSTMP shape": "",
            "LSTMP params": total_b,
            "change": total_b - total_a,
        }
    )
    return pd.DataFrame(rows)


def multiply_adds(module: nn.LSTM) -> pd.DataFrame:
    """Multiply-adds for one time step of one sequence, per layer and direction, derived from the real weights.

    Each weight matrix of shape ``(rows, cols)`` is applied once per step (``W_ih x_t``, ``W_hh h_{t-1}``,
    ``W_hr m_t``), costing ``rows * cols`` multiply-adds; the cell adds three element-wise products of
    hidden_size (``f*c``, ``i*g``, ``o*tanh(c)``). Bias additions and the five nonlinearities are not counted.
    Columns: layer, direction, matmul (from weight shapes), elementwise, total.
    """
    per: dict[tuple[int, str], dict[str, int]] = {}
    for name, param in module.named_parameters():
        what, _, layer, direction = _split_name(name)
        entry = per.setdefault((layer, direction), {"matmul": 0, "elementwise": 0})
        if what == "weight":
            rows, cols = param.shape
            entry["matmul"] += rows * cols
    for entry in per.values():
        entry["elementwise"] = 3 * module.hidden_size
    rows = [
        {"layer": layer, "direction": direction, **entry, "total": entry["matmul"] + entry["elementwise"]}
        for (layer, direction), entry in per.items()
    ]
    return pd.DataFrame(rows, columns=["layer", "direction", "matmul", "elementwise", "total"])


def multiply_adds_per_step(module: nn.LSTM) -> dict[str, int]:
    """Totals of :func:`multiply_adds` over layers and directions: ``{"matmul", "elementwise", "total"}``."""
    frame = multiply_adds(module)
    return {key: int(frame[key].sum()) for key in ("matmul", "elementwise", "total")}


def state_sizes(module: nn.LSTM, batch: int = 2, seq_len: int = 3) -> dict[str, tuple[int, ...]]:
    """Shapes of ``output``, ``h_n`` and ``c_n`` from a real forward pass on zeros of ``(batch, seq_len, I)``.

    Seed 003's example (bs=2, T=3, I=4, H=5, P=3, batch_first) gives output (2, 3, 3), h_n (1, 2, 3) and
    c_n (1, 2, 5).
    """
    param = next(module.parameters())
    x = torch.zeros(batch, seq_len, module.input_size, device=param.device, dtype=param.dtype)
    if not module.batch_first:
        x = x.transpose(0, 1)
    with torch.no_grad(), _quiet():
        output, (h_n, c_n) = module(x)
    return {"output": tuple(output.shape), "h_n": tuple(h_n.shape), "c_n": tuple(c_n.shape)}


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
        return f"{self.median_ms:.3f} ms (IQR {q1:.3f}–{q3:.3f}, {len(self.samples_ms)} runs{cut})"

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
            "On the CPU, PyTorch runs the plain LSTM in oneDNN's fused kernel, but oneDNN has no kernel for "
            "projections, so the LSTMP runs PyTorch's step-by-step fallback: fewer multiply-adds, yet often more "
            "time. On a CUDA GPU, cuDNN runs both fused."
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
    with torch.inference_mode(), _quiet(), torch_threads(threads):
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


# ----------------------------------------------------------------------------------------------------
# Summary
# ----------------------------------------------------------------------------------------------------


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


# ----------------------------------------------------------------------------------------------------------
# Training both on seed 004's subtraction task, in lockstep
# ----------------------------------------------------------------------------------------------------------

TASK = "subtraction"  # seed 004: LSTM(2, H) → Linear → sigmoid per bit; input_size is the task's: 2
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
        """Both sides as one progress bar: epochs done by both, pair speed (epochs of both per second), ETA."""
        sides = [run.progress() for run in self.runs.values()]
        speed = None
        if all(p.epochs_per_second for p in sides):
            speed = 1.0 / sum(1.0 / p.epochs_per_second for p in sides)  # type: ignore[operator]
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
        for run in self.runs.values():
            run.continue_for(more)

    def set_lr(self, lr: float) -> None:
        for run in self.runs.values():
            run.set_lr(lr)

    def set_target(self, epochs: int) -> None:
        for run in self.runs.values():
            run.set_target(epochs)

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
        return history_frame({name: run.history for name, run in self.runs.items()})

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


def history_frame(histories: dict[str, Sequence[dict[str, Any]]]) -> pd.DataFrame:
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


MAX_TRAIN_HIDDEN = 256  # live training on a page: bigger models take seconds per epoch on a CPU
MAX_TRAIN_LAYERS = 4


def parse_train_settings(epochs: object, lr: object, seed: object) -> dict[str, Any]:
    """Typed epochs, learning rate and seed for :class:`TrainSettings`, or a ValueError with an example."""
    return {
        "epochs": validate_epochs(epochs),
        "lr": validate_lr(lr),
        "seed": parse_size(seed, "seed", minimum=0, maximum=2**31 - 1, example=822),
    }


def check_trainable(spec: PairSpec) -> None:
    """Refuse sizes too big to train live on this page, with the reason (the comparison itself allows them)."""
    if spec.hidden_size > MAX_TRAIN_HIDDEN or spec.num_layers > MAX_TRAIN_LAYERS:
        raise ValueError(
            f"live training here is capped at hidden_size {MAX_TRAIN_HIDDEN} and {MAX_TRAIN_LAYERS} layers "
            f"(got {spec.hidden_size} and {spec.num_layers}): an epoch would take too long to watch. "
            "Example: hidden_size 32, proj_size 8, 1 layer (seed 004)."
        )


def task_model_config(spec: PairSpec, model: str) -> ModelConfig:
    """The subtraction model (seed 004's head on this pair's sizes) for one side; input_size is the task's."""
    return subtraction.model_config(
        hidden_size=spec.hidden_size,
        proj_size=spec.proj_size if model == "LSTMP" else 0,
        num_layers=spec.num_layers,
        bidirectional=spec.bidirectional,
    )


def fresh_task_pair(spec: PairSpec, seed: int = 0) -> dict[str, LSTMVizModel]:
    """An untrained subtraction LSTM and LSTMP of ``spec``'s sizes, each built after ``torch.manual_seed(seed)``."""
    check_trainable(spec)
    models = {}
    for name in MODEL_NAMES:
        torch.manual_seed(seed)
        models[name] = build_model(task_model_config(spec, name)).eval()
    return models


SHIPPED_FILES = {"LSTM": "subtraction_lstm.pt", "LSTMP": "subtraction_lstmp.pt"}


def shipped_pair(models_dir: str | Path, device: torch.device | str | None = None) -> dict[str, LSTMVizModel]:
    """The shipped subtraction LSTM and LSTMP (``models/subtraction_lstm.pt``, ``subtraction_lstmp.pt``),
    trained to answer every 8-bit ``a - b``. ValueError (with the file and the reason) when one is unusable."""
    models = {}
    for name, file in SHIPPED_FILES.items():
        checkpoint = load_checkpoint(Path(models_dir) / file, device=device or pick_device())
        config = checkpoint.config
        if config.kind != "subtraction" or config.cell != "lstm" or bool(config.proj_size) != (name == "LSTMP"):
            raise ValueError(f"{file} holds a {config.label()}, not the subtraction {name} this page expects")
        models[name] = checkpoint.model.eval()
    return models


@dataclass(frozen=True)
class Side:
    """One model's view of the typed input: its recording, its answer and how to label it."""

    recording: Recording
    answer: Answer
    feature_names: tuple[str, ...]
    describe: str


def side_by_side(models: dict[str, LSTMVizModel], text: str) -> dict[str, Side]:
    """Feed the same typed ``a - b`` to both models: recording (f, i, g, o, c, m, h) and answer of each.

    A bad text raises the parser's ValueError, whose message says what was wrong and gives an example.
    """
    sides = {}
    for name, model in models.items():
        inp = typed_input(text, model.config)
        with torch.no_grad(), torch_threads(small_model_threads(model)), _quiet():
            rec = model.record(inp.x)
            answer = model_answer(model, inp)
        sides[name] = Side(rec, answer, inp.feature_names, model.config.label())
    return sides


def projection_arrays(
    model: LSTMVizModel, rec: Recording, layer: int = 0, direction: str = "fwd", batch: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """``(m (T, H), W_hr (P, H), h (T, P), step labels)`` of one layer/direction of an LSTMP recording."""
    if not rec.proj_size:
        raise ValueError("this recording has no projection (proj_size 0): m and h are the same")
    d = DIRECTIONS.index(direction)
    suffix = f"_l{layer}" + ("_reverse" if d else "")
    w_hr = getattr(model.rnn(), f"weight_hr{suffix}").detach().cpu().float().numpy()
    m = rec.m[layer, d, batch].detach().cpu().float().numpy()
    h = rec.h[layer, d, batch].detach().cpu().float().numpy()
    x = rec.x[batch].detach().cpu()
    labels = [f"t {t} · " + "".join(str(int(v)) for v in x[t].tolist()) for t in range(x.shape[0])]
    return m, w_hr, h, labels


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
SWEEP_COMMAND = "python -m lstm_viz.compare sweep --out models/proj_sweep.json"
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
        try:
            value = parse_int(part, name=name)
        except InputError:
            raise ValueError(
                f"{name}: {part!r} is not a whole number. Type whole numbers separated by commas, e.g. {example}."
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
    plan = SweepPlan(hidden, projections, budget, seed_list, float(lr), data)
    if len(plan.points()) > MAX_SWEEP_RUNS:
        raise ValueError(
            f"{len(plan.points())} training runs is more than this page does at once ({MAX_SWEEP_RUNS}). "
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


def sweep_document(plan: SweepPlan, results: pd.DataFrame) -> dict[str, Any]:
    """The JSON written to ``models/proj_sweep.json``: metadata (how it was made) and one record per run."""
    return {
        "metadata": {
            "what": "proj_size sweep on seed 004's 8-bit subtraction: parameters vs accuracy after a fixed "
            "budget of epochs; proj_size 0 is the plain LSTM",
            "command": SWEEP_COMMAND,
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


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m lstm_viz.compare sweep [--hidden-size 32] [--proj-sizes 1,2,4,8,16,24] [--epochs 3]
    [--seeds 0,1,2] [--lr 0.01] --out models/proj_sweep.json``: run the sweep, print one line per run and
    write the JSON (atomically). The last line of stdout is the path written."""
    parser = argparse.ArgumentParser(prog="python -m lstm_viz.compare", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sweep = sub.add_parser("sweep", help="train the proj_size sweep and write its results as JSON")
    sweep.add_argument("--hidden-size", default=str(SWEEP_DEFAULTS["hidden_size"]))
    sweep.add_argument("--proj-sizes", default=",".join(map(str, SWEEP_DEFAULTS["proj_sizes"])))
    sweep.add_argument("--epochs", default=str(SWEEP_DEFAULTS["epochs"]))
    sweep.add_argument("--seeds", default=",".join(map(str, SWEEP_DEFAULTS["seeds"])))
    sweep.add_argument("--lr", type=float, default=SWEEP_DEFAULTS["lr"])
    sweep.add_argument("--out", required=True, help="where to write the JSON, e.g. models/proj_sweep.json")
    args = parser.parse_args(argv)
    try:
        plan = plan_sweep(args.hidden_size, args.proj_sizes, args.epochs, args.seeds, args.lr)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2

    def report(done: int, total: int, row: dict[str, Any]) -> None:
        print(
            f"[{done}/{total}] proj_size {row['proj_size']:>3} seed {row['seed']}: {row['parameters']:,} params, "
            f"test exact match {row['test_exact_match']:.3f}, {row['seconds']:.1f} s",
            flush=True,
        )

    results = run_sweep(plan, on_point=report)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(out.suffix + ".tmp")
    tmp.write_text(json.dumps(sweep_document(plan, results), indent=1) + "\n", encoding="utf-8")
    tmp.replace(out)
    print(out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
