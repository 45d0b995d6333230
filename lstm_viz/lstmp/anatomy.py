"""LSTM vs LSTMP anatomy: parameter shapes and counts, multiply-adds and state sizes, read off real modules.

Every number here is read off real modules (``named_parameters``, a real forward pass), never typed from a formula.
The plain LSTM and the LSTMP of a comparison share input_size, hidden_size and num_layers; the LSTMP adds
``proj_size`` (post 3: h is projected to proj_size dimensions at every step, c keeps hidden_size, so ``weight_hh``
shrinks to ``(4H, P)`` and ``weight_hr`` ``(P, H)`` appears).
"""

from __future__ import annotations

import contextlib
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pandas as pd
import torch
from torch import nn

from lstm_viz.core.device import pick_device, seeded
from lstm_viz.core.lstm import RecordingLSTM
from lstm_viz.parsing import MAX_DIGITS, InputError, parse_int, quote
from lstm_viz.tasks import count_parameters

__all__ = [
    "LATENCY_SECONDS",
    "MAX_BATCH",
    "MAX_LATENCY_WORK",
    "MAX_LAYERS",
    "MAX_PARAMETERS",
    "MAX_SEQ_LEN",
    "MAX_SIZE",
    "MODEL_NAMES",
    "PairSpec",
    "build_pair",
    "compare_parameters",
    "multiply_adds",
    "multiply_adds_per_step",
    "parameter_table",
    "parse_size",
    "quiet",
    "state_sizes",
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
    text = str(value).strip()
    if re.fullmatch(r"[+-]?\d+", text) and len(text.lstrip("+-").lstrip("0")) > MAX_DIGITS:
        raise ValueError(f"{name} is far too large (a {len(text.lstrip('+-')):,}-digit number). {hint}")
    try:
        number = parse_int(value, name=name)  # type: ignore[arg-type]
    except InputError:
        raise ValueError(f"{name} must be a whole number, got {quote(text)}. {hint}") from None
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
    """The plain LSTM and the LSTMP of ``spec``, each initialised from ``torch.manual_seed(seed)``, eval mode.

    Initialised on the CPU and then moved, so that one seed gives the same weights on every device (a CUDA generator
    draws other numbers than the CPU's).
    """
    device = torch.device(device) if device is not None else pick_device()
    models = []
    for model in MODEL_NAMES:
        with seeded(seed):  # taking turns with other sessions' seeded builds
            built = RecordingLSTM(**spec.kwargs(model))
        models.append(built.to(device).eval())
    return models[0], models[1]


# ----------------------------------------------------------------------------------------------------
# Parameters and multiply-adds, read off named_parameters
# ----------------------------------------------------------------------------------------------------


@contextlib.contextmanager
def quiet() -> Iterator[None]:
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

    ``shape`` is the tuple as post 3 prints it (``weight_ih_l0 (20, 4)``), ``count`` its number of elements.
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

    Post 3's example (bs=2, T=3, I=4, H=5, P=3, batch_first) gives output (2, 3, 3), h_n (1, 2, 3) and
    c_n (1, 2, 5).
    """
    param = next(module.parameters())
    x = torch.zeros(batch, seq_len, module.input_size, device=param.device, dtype=param.dtype)
    if not module.batch_first:
        x = x.transpose(0, 1)
    with torch.no_grad(), quiet():
        output, (h_n, c_n) = module(x)
    return {"output": tuple(output.shape), "h_n": tuple(h_n.shape), "c_n": tuple(c_n.shape)}


# ----------------------------------------------------------------------------------------------------
# Summary
# ----------------------------------------------------------------------------------------------------




