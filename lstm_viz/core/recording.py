"""Recordings: every gate and state one recurrent layer stack computed, with systematic names (``layer0.fwd.f``).

One base class, :class:`CellRecording`, holds what every cell's recording shares — shapes, names, ``rec[name]``,
``to_frame``, ``to(device)``, compact pickling — and says which tensors it holds and how to show them
(``tensor_names``, ``gates``, ``signed``, ``value_range``), so a figure can be written once for every cell. Two
frozen dataclasses fill it in: :class:`Recording` (the LSTM's: f, i, g, o, c, m, h) and :class:`GRURecording`
(the GRU's: r, z, n, h).

The names of recorded tensors are generated in one place (:func:`recording_names`) and pinned in a test. The orders
are written once per cell: ``STORAGE_ORDER`` (how PyTorch stacks the LSTM gates in its weights: i, f, g, o) and
``DISPLAY_ORDER`` (how lstm-viz shows them: f, i, g, o, c, h); ``GRU_STORAGE_ORDER`` (r, z, n) and
``GRU_DISPLAY_ORDER`` (r, z, n, h).

A recording of a packed (variable-length) batch holds every tensor padded to the longest sequence with NaN past each
sequence's end; ``rec.lengths`` gives the lengths, ``rec.valid`` the mask, and ``to_frame`` leaves the padding out.
"""

from __future__ import annotations

import dataclasses
import numbers
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import pandas as pd
import torch
from torch import Tensor
from torch.nn.utils.rnn import PackedSequence

__all__ = [
    "CELLS",
    "DIRECTIONS",
    "DISPLAY_ORDER",
    "GRU_DISPLAY_ORDER",
    "GRU_RECORDED_TENSORS",
    "GRU_STORAGE_ORDER",
    "RECORDED_TENSORS",
    "STORAGE_ORDER",
    "TENSOR_TITLES",
    "CellRecording",
    "GRURecording",
    "Recording",
    "parse_name",
    "parse_unit",
    "recording_names",
    "unit_label",
]

# ---------------------------------------------------------------------------------------------------- the LSTM
STORAGE_ORDER: tuple[str, ...] = ("i", "f", "g", "o")  # how PyTorch stacks the gates in weight_ih / weight_hh
DISPLAY_ORDER: tuple[str, ...] = (
    "f",
    "i",
    "g",
    "o",
    "c",
    "h",
)  # how we show them: forget first, as the seeds do
RECORDED_TENSORS: tuple[str, ...] = (
    "f",
    "i",
    "g",
    "o",
    "c",
    "m",
    "h",
)  # what a Recording holds per layer/direction

# ---------------------------------------------------------------------------------------------------- the GRU
GRU_STORAGE_ORDER: tuple[str, ...] = ("r", "z", "n")  # how PyTorch stacks the GRU gates in weight_ih / weight_hh
GRU_DISPLAY_ORDER: tuple[str, ...] = ("r", "z", "n", "h")  # the order of the equations
GRU_RECORDED_TENSORS: tuple[str, ...] = ("r", "z", "n", "h")  # what a GRURecording holds per layer/direction

CELLS: dict[str, tuple[str, ...]] = {"lstm": RECORDED_TENSORS, "gru": GRU_RECORDED_TENSORS}
DIRECTIONS: tuple[str, ...] = ("fwd", "bwd")

TENSOR_TITLES: dict[str, str] = {
    "f": "forget gate",
    "i": "input gate",
    "g": "candidate",
    "o": "output gate",
    "c": "cell state",
    "m": "hidden state before the projection",
    "h": "hidden state",
    "r": "reset gate",
    "z": "update gate",
    "n": "candidate",
}


def recording_names(
    num_layers: int,
    bidirectional: bool = False,
    tensors: Sequence[str] | None = None,
    *,
    cell: str = "lstm",
) -> list[str]:
    """Every recorded tensor's name, in order: ``layer{k}.{fwd|bwd}.{tensor}``. The one place names are made.

    ``tensors`` defaults to everything the ``cell`` (``"lstm"`` or ``"gru"``) records.
    """
    if tensors is None:
        if cell not in CELLS:
            raise ValueError(f"cell must be one of {', '.join(CELLS)}, got {cell!r}")
        tensors = CELLS[cell]
    directions = DIRECTIONS[: 2 if bidirectional else 1]
    return [f"layer{k}.{d}.{t}" for k in range(num_layers) for d in directions for t in tensors]


_NAME = re.compile(r"layer(0|[1-9][0-9]*)\.(fwd|bwd)\.([a-z]+)")  # as recording_names writes them, nothing looser


def parse_name(name: str, example: str = "layer0.fwd.f") -> tuple[int, int, str]:
    """``"layer1.bwd.c"`` → ``(1, 1, "c")``: layer, direction (0 fwd, 1 bwd) and tensor. Exactly the names
    :func:`recording_names` writes (``"layer01.fwd.c"`` or ``"layer 1.fwd.c"`` would read as layer 1 while
    ``name in rec`` says no); anything else raises ``KeyError`` naming the form, as ``rec[name]`` does."""
    found = _NAME.fullmatch(name) if isinstance(name, str) else None
    if found is None:
        raise KeyError(f"{name!r} is not a recording name; names look like {example!r}")
    return int(found[1]), DIRECTIONS.index(found[2]), found[3]


_UNIT = re.compile(r"(layer(?:0|[1-9][0-9]*)\.(?:fwd|bwd)\.[a-z]+)\[(0|[1-9][0-9]*)\]")


def unit_label(name: str, unit: int) -> str:
    """One unit of a recorded tensor as the app, the CLI and the reports write it: ``"layer0.fwd.c[66]"``."""
    return f"{name}[{int(unit)}]"


def parse_unit(text: str) -> tuple[str, int]:
    """``"layer0.fwd.c[66]"`` → ``("layer0.fwd.c", 66)``, the inverse of :func:`unit_label` (spaces around it
    allowed); anything else raises ``ValueError`` saying the form. Whether the model has that tensor and unit is
    the caller's to check (``name in rec``, the tensor's width)."""
    found = _UNIT.fullmatch(text.strip()) if isinstance(text, str) else None
    if found is None:
        raise ValueError(f"{text!r} is not a unit; units look like 'layer0.fwd.c[12]' (layer, fwd or bwd, tensor, "
                         "[unit number])")
    return found[1], int(found[2])


def _as_list(chosen: object, kind: type) -> list:
    """One value (``1``, ``"c"``; NumPy integers too) or an iterable of them, as a list."""
    if isinstance(chosen, str) or (kind is int and isinstance(chosen, numbers.Integral)):
        return [int(chosen) if kind is int else chosen]
    return [int(v) if kind is int and isinstance(v, numbers.Integral) else v for v in chosen]


class CellRecording:
    """What every cell's recording shares. Subclasses are frozen dataclasses with one field per recorded tensor.

    Every recorded tensor is ``(num_layers, num_directions, batch, T, units)``; time index t is the position in the
    input for both directions. ``x`` is the input as ``(batch, T, input_size)``. ``output`` and ``h_n`` (and the
    LSTM's ``c_n``) are what ``forward`` returns for the same input — ``output`` a PackedSequence when the input was
    one. ``extras`` holds ``strategy``, ``batched``, and for packed input ``lengths`` (CPU int64, batch order).

    For generic figures: ``tensor_names`` (display order), ``recorded_tensors`` (all held, in name order),
    ``gates`` (sigmoids, in [0, 1]), ``signed`` (may be negative), ``value_range(name)``, ``title(name)``.
    """

    cell: ClassVar[str]
    recorded_tensors: ClassVar[tuple[str, ...]]  # every per-step tensor held, in the order names() lists them
    tensor_names: ClassVar[tuple[str, ...]]  # what to show, in display order
    storage_order: ClassVar[tuple[str, ...]]  # how PyTorch stacks the gates in weight_ih / weight_hh
    gates: ClassVar[tuple[str, ...]]  # σ(·): values in [0, 1]
    signed: ClassVar[tuple[str, ...]]  # may be negative: show with a diverging scale
    final_states: ClassVar[tuple[str, ...]]  # what forward returns besides output: ("h_n", "c_n") or ("h_n",)

    x: Tensor
    extras: dict

    # ------------------------------------------------------------------ what the tensors are
    def value_range(self, name: str) -> tuple[float, float] | None:
        """The range a tensor's values lie in by construction, or None where it is unbounded."""
        self._check_tensor(name)
        if name in self.gates:
            return (0.0, 1.0)
        return self._bounded().get(name)

    def _bounded(self) -> dict[str, tuple[float, float]]:
        return {}

    @staticmethod
    def title(name: str) -> str:
        """``"f"`` → ``"forget gate"``."""
        return TENSOR_TITLES[name]

    def _check_tensor(self, name: str) -> None:
        if name not in self.recorded_tensors:
            raise KeyError(f"{name!r} is not recorded for {self.cell}; one of {', '.join(self.recorded_tensors)}")

    # ------------------------------------------------------------------ pickling
    def __getstate__(self) -> dict:
        """What pickling stores (``st.cache_data``, ``torch.save``): compact copies where the tensors are views.

        The tensors are often views — into the fused kernel's workspace, padding and backward buffers included, or
        into one buffer that holds all gates — and pickle would store each view's whole buffer, once per view:
        325 MB instead of 33 MB for T = 2,000 and H = 512. Identical views (m and h without a projection) become
        one tensor.
        """
        compact: dict[tuple, Tensor] = {}
        state = dict(self.__dict__)
        for key, value in state.items():
            if isinstance(value, Tensor):
                view = (value.data_ptr(), value.dtype, tuple(value.shape), value.stride())  # m and h alike
                if view not in compact:
                    owns = (
                        value.is_contiguous()
                        and value.storage_offset() == 0
                        and value.untyped_storage().nbytes() == value.numel() * value.element_size()
                    )
                    compact[view] = value if owns else value.clone(memory_format=torch.contiguous_format)
                state[key] = compact[view]
        return state

    # ------------------------------------------------------------------ shapes
    @property
    def _first(self) -> Tensor:
        return getattr(self, self.recorded_tensors[0])

    @property
    def num_layers(self) -> int:
        return self._first.shape[0]

    @property
    def num_directions(self) -> int:
        return self._first.shape[1]

    @property
    def batch_size(self) -> int:
        return self._first.shape[2]

    @property
    def seq_len(self) -> int:
        """T: the input's length, or the longest sequence's for packed input."""
        return self._first.shape[3]

    @property
    def hidden_size(self) -> int:
        return self._first.shape[4]

    @property
    def proj_size(self) -> int:
        """0 except for an LSTMP (then ``h`` has proj_size units and ``m`` is h before the projection)."""
        return int(self.extras.get("proj_size", 0))

    @property
    def lengths(self) -> Tensor | None:
        """Each sequence's length (CPU int64, batch order) for packed input; None when every sequence has T steps."""
        return self.extras.get("lengths")

    @property
    def valid(self) -> Tensor:
        """``(batch, T)`` bool, True at the steps each sequence really has (all True unless the input was packed)."""
        steps = torch.arange(self.seq_len)
        if self.lengths is None:
            return torch.ones(self.batch_size, self.seq_len, dtype=torch.bool)
        return steps[None, :] < self.lengths[:, None]

    # ------------------------------------------------------------------ names
    def names(self) -> list[str]:
        return recording_names(self.num_layers, self.num_directions == 2, self.recorded_tensors)

    # A read-only mapping of names to tensors: ``name in rec``, ``for name in rec``, ``rec.keys()``, ``rec.items()``,
    # ``rec.get(name)``, ``dict(rec)``.
    def keys(self) -> list[str]:
        return self.names()

    def values(self) -> list[Tensor]:
        """``(batch, T, units)`` per name, in the order of :meth:`keys`."""
        return [self[name] for name in self.names()]

    def items(self) -> list[tuple[str, Tensor]]:
        """``(name, (batch, T, units))`` pairs, as ``dict.items``."""
        return [(name, self[name]) for name in self.names()]

    def get(self, name: str, default: Tensor | None = None) -> Tensor | None:
        """``rec[name]``, or ``default`` where the recording has no such name (a mistyped or unknown one too)."""
        return self[name] if name in self else default  # noqa: SIM401 (this is get)

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self.names())

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self.names()

    def __repr__(self) -> str:
        """One line (the dataclass repr printed every tensor: ~70,000 characters for a small model)."""
        packed = ", packed" if self.lengths is not None else ""
        units = f", proj_size={self.proj_size}" if self.proj_size else ""
        return (
            f"{type(self).__name__}({self.cell}, layers={self.num_layers}, directions={self.num_directions}, "
            f"batch={self.batch_size}, T={self.seq_len}, hidden_size={self.hidden_size}{units}, "
            f"tensors={','.join(self.recorded_tensors)}, dtype={str(self._first.dtype).removeprefix('torch.')}, "
            f"device={self._first.device}{packed}, strategy={self.extras.get('strategy')!r})"
        )

    def __getitem__(self, name: str) -> Tensor:
        """``rec["layer0.fwd.h"]`` → ``(batch, T, units)``."""
        layer, direction, tensor = parse_name(name, f"layer0.fwd.{self.recorded_tensors[0]}")
        if tensor not in self.recorded_tensors:
            raise KeyError(f"{name!r}: unknown tensor {tensor!r}; one of {', '.join(self.recorded_tensors)}")
        if not 0 <= layer < self.num_layers or direction >= self.num_directions:
            raise KeyError(f"{name!r} is not in this recording; it has {', '.join(self.names()[:3])}, …")
        return getattr(self, tensor)[layer, direction]

    # ------------------------------------------------------------------ moving and exporting
    def to(self, device: torch.device | str) -> CellRecording:
        """A copy with every tensor on ``device`` (extras as they are)."""
        moved = {}
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            moved[f.name] = value.to(device) if isinstance(value, (Tensor, PackedSequence)) else value
        return type(self)(**moved)

    def to_frame(
        self,
        layers: Iterable[int] | int | None = None,
        directions: Iterable[str] | str | None = None,
        tensors: Iterable[str] | str | None = None,
        batch: Iterable[int] | int | None = None,
        *,
        include_padding: bool = False,
    ) -> pd.DataFrame:
        """A long DataFrame ``layer, direction, batch, t, unit, tensor, value`` of the selected part.

        Select a subset to keep big recordings small, e.g. ``to_frame(layers=[1], tensors=["c"], batch=0)``; one
        layer, direction, tensor or batch row may be given on its own (``layers=1``, ``tensors="c"``).
        For packed input the steps past each sequence's end (NaN in the tensors) are left out, unless
        ``include_padding=True`` keeps them as NaN rows.
        """
        layers = list(range(self.num_layers)) if layers is None else _as_list(layers, int)
        dirs = list(DIRECTIONS[: self.num_directions]) if directions is None else _as_list(directions, str)
        tensors = list(self.recorded_tensors) if tensors is None else _as_list(tensors, str)
        batches = list(range(self.batch_size)) if batch is None else _as_list(batch, int)
        for d in dirs:
            if d not in DIRECTIONS[: self.num_directions]:
                raise ValueError(f"direction {d!r} is not recorded; choose from {DIRECTIONS[: self.num_directions]}")
        for t in tensors:
            if t not in self.recorded_tensors:
                raise ValueError(f"tensor {t!r} is not recorded; choose from {', '.join(self.recorded_tensors)}")
        if any(not 0 <= k < self.num_layers for k in layers):
            raise ValueError(f"layers must be in 0..{self.num_layers - 1}, got {layers}")
        if any(not 0 <= b < self.batch_size for b in batches):
            raise ValueError(f"batch indices must be in 0..{self.batch_size - 1}, got {batches}")
        keep = None
        if self.lengths is not None and not include_padding:
            keep = self.valid[batches].numpy()  # (B', T)

        # Every column is allocated once at its final length and filled block by block (one block per tensor,
        # layer and direction): building a frame per block and concatenating them took ~4× the finished frame's
        # memory at its peak. direction and tensor are categoricals from the start.
        columns = ["layer", "direction", "batch", "t", "unit", "tensor", "value"]
        if not (tensors and layers and dirs and batches):
            return pd.DataFrame(columns=columns)
        T = self.seq_len
        rows_of = {}  # tensor → (which of a block's B'·T·U values are kept, None: all; how many), one block each
        for q in tensors:
            shape = (len(batches), T, getattr(self, q).shape[-1])
            keep_q = None if keep is None else np.broadcast_to(keep[:, :, None], shape).ravel()
            rows_of[q] = keep_q, int(np.prod(shape)) if keep_q is None else int(keep_q.sum())
        n = sum(rows_of[q][1] for q in tensors) * len(layers) * len(dirs)
        # categories in the recording's order (fwd, bwd; f, i, g, o, c, m, h), as `python -m lstm_viz record` writes
        # them: sorted ones (bwd, fwd; c, f, g …) made a frame of each mix into plain objects when concatenated
        dir_names = [d for d in DIRECTIONS if d in dirs]
        tensor_names = [q for q in self.recorded_tensors if q in tensors]
        out = {
            "layer": np.empty(n, dtype=np.int16),
            "direction": np.empty(n, dtype=np.int8),
            "batch": np.empty(n, dtype=np.int32),
            "t": np.empty(n, dtype=np.int32),
            "unit": np.empty(n, dtype=np.int32),
            "tensor": np.empty(n, dtype=np.int8),
            "value": np.empty(n, dtype=np.float64),
        }
        at = 0
        for q in tensors:
            values = getattr(self, q).detach().to("cpu")  # (L, D, B, T, U), the recording's own dtype
            U = values.shape[-1]
            rows, size = rows_of[q]
            index = {  # the batch, t and unit of every row of a block (the same for each block of this tensor)
                "batch": np.repeat(np.asarray(batches, dtype=np.int32), T * U),
                "t": np.tile(np.repeat(np.arange(T, dtype=np.int32), U), len(batches)),
                "unit": np.tile(np.arange(U, dtype=np.int32), len(batches) * T),
            }
            if rows is not None:
                index = {key: column[rows] for key, column in index.items()}
            for k in layers:
                for d in dirs:
                    block = values[k, DIRECTIONS.index(d)][batches].to(torch.float64).numpy().ravel()
                    span = slice(at, at + size)
                    out["value"][span] = block if rows is None else block[rows]
                    out["layer"][span] = k
                    out["direction"][span] = dir_names.index(d)
                    out["tensor"][span] = tensor_names.index(q)
                    for key, column in index.items():
                        out[key][span] = column
                    at += size
        out["direction"] = pd.Categorical.from_codes(out["direction"], categories=dir_names)
        out["tensor"] = pd.Categorical.from_codes(out["tensor"], categories=tensor_names)
        return pd.DataFrame({key: out[key] for key in columns}, copy=False)


@dataclass(frozen=True, repr=False, eq=False)  # == is identity: comparing tensor fields raised
class Recording(CellRecording):
    """Everything one RecordingLSTM computed on one input.

    ``f, i, g, o, c, m``: ``(num_layers, num_directions, batch, T, hidden_size)``; ``h``: the same with last size
    ``proj_size or hidden_size``. Time index t is the position in the input for both directions. ``x`` is the input
    as ``(batch, T, input_size)``. ``output, h_n, c_n`` are what ``forward`` returns for the same input (bit for bit
    or to float rounding, by strategy: see ``RecordingLSTM.record``).
    """

    cell: ClassVar[str] = "lstm"
    recorded_tensors: ClassVar[tuple[str, ...]] = RECORDED_TENSORS
    tensor_names: ClassVar[tuple[str, ...]] = DISPLAY_ORDER
    storage_order: ClassVar[tuple[str, ...]] = STORAGE_ORDER
    gates: ClassVar[tuple[str, ...]] = ("f", "i", "o")
    signed: ClassVar[tuple[str, ...]] = ("g", "c", "m", "h")
    final_states: ClassVar[tuple[str, ...]] = ("h_n", "c_n")

    output: Tensor
    h_n: Tensor
    c_n: Tensor
    x: Tensor
    f: Tensor
    i: Tensor
    g: Tensor
    o: Tensor
    c: Tensor
    m: Tensor
    h: Tensor
    extras: dict = field(default_factory=dict)

    def _bounded(self) -> dict[str, tuple[float, float]]:
        bounded = {"g": (-1.0, 1.0), "m": (-1.0, 1.0)}  # tanh, and o ⊙ tanh(c)
        if not self.proj_size:
            bounded["h"] = (-1.0, 1.0)
        return bounded


@dataclass(frozen=True, repr=False, eq=False)  # == is identity: comparing tensor fields raised
class GRURecording(CellRecording):
    """Everything one RecordingGRU computed on one input.

    ``r, z, n, h``: ``(num_layers, num_directions, batch, T, hidden_size)`` with PyTorch's GRU equations
    ``r = σ(W_ir x + b_ir + W_hr h + b_hr)``, ``z = σ(W_iz x + b_iz + W_hz h + b_hz)``,
    ``n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))``, ``h = (1 − z) ⊙ n + z ⊙ h_prev``. Time index t is the
    position in the input for both directions. ``x`` is the input as ``(batch, T, input_size)``. ``output, h_n``
    are what ``forward`` returns for the same input.
    """

    cell: ClassVar[str] = "gru"
    recorded_tensors: ClassVar[tuple[str, ...]] = GRU_RECORDED_TENSORS
    tensor_names: ClassVar[tuple[str, ...]] = GRU_DISPLAY_ORDER
    storage_order: ClassVar[tuple[str, ...]] = GRU_STORAGE_ORDER
    gates: ClassVar[tuple[str, ...]] = ("r", "z")
    signed: ClassVar[tuple[str, ...]] = ("n", "h")
    final_states: ClassVar[tuple[str, ...]] = ("h_n",)

    output: Tensor
    h_n: Tensor
    x: Tensor
    r: Tensor
    z: Tensor
    n: Tensor
    h: Tensor
    extras: dict = field(default_factory=dict)

    def _bounded(self) -> dict[str, tuple[float, float]]:
        bounded = {"n": (-1.0, 1.0)}
        if not self.extras.get("hx_given", True):  # from h0 = 0, h stays a mix of values in (-1, 1)
            bounded["h"] = (-1.0, 1.0)
        return bounded
