"""A Recording: every gate and state one recurrent layer stack computed, with systematic names (``layer0.fwd.f``).

The names of recorded tensors are generated in one place (:func:`recording_names`) and pinned in a test. The orders
are written once: ``STORAGE_ORDER`` (how PyTorch stacks the LSTM gates in its weights: i, f, g, o) and
``DISPLAY_ORDER`` (how lstm-viz shows them: f, i, g, o, c, h).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch
from torch import Tensor

__all__ = [
    "DIRECTIONS",
    "DISPLAY_ORDER",
    "RECORDED_TENSORS",
    "STORAGE_ORDER",
    "Recording",
    "recording_names",
]

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
DIRECTIONS: tuple[str, ...] = ("fwd", "bwd")


def recording_names(
    num_layers: int, bidirectional: bool = False, tensors: Sequence[str] = RECORDED_TENSORS
) -> list[str]:
    """Every recorded tensor's name, in order: ``layer{k}.{fwd|bwd}.{tensor}``. The one place names are made."""
    directions = DIRECTIONS[: 2 if bidirectional else 1]
    return [f"layer{k}.{d}.{t}" for k in range(num_layers) for d in directions for t in tensors]


def _parse_name(name: str) -> tuple[int, int, str]:
    try:
        layer, direction, tensor = name.split(".")
        return int(layer.removeprefix("layer")), DIRECTIONS.index(direction), tensor
    except ValueError:
        raise KeyError(f"{name!r} is not a recording name; names look like 'layer0.fwd.f'") from None


@dataclass(frozen=True)
class Recording:
    """Everything one RecordingLSTM computed on one input.

    ``f, i, g, o, c, m``: ``(num_layers, num_directions, batch, T, hidden_size)``; ``h``: the same with last size
    ``proj_size or hidden_size``. Time index t is the position in the input for both directions. ``x`` is the input
    as ``(batch, T, input_size)``. ``output, h_n, c_n`` are exactly what ``forward`` returns for the same input.
    """

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

    def __getstate__(self) -> dict:
        """What pickling stores (``st.cache_data``, ``torch.save``): compact copies where the tensors are views.

        The tensors are often views — into the fused kernel's workspace, padding and backward buffers included, or
        into one buffer that holds all four gates — and pickle would store each view's whole buffer, once per
        view: 325 MB instead of 33 MB for T = 2,000 and H = 512. Identical views (m and h without a projection)
        become one tensor.
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

    @property
    def num_layers(self) -> int:
        return self.f.shape[0]

    @property
    def num_directions(self) -> int:
        return self.f.shape[1]

    @property
    def batch_size(self) -> int:
        return self.f.shape[2]

    @property
    def seq_len(self) -> int:
        return self.f.shape[3]

    @property
    def hidden_size(self) -> int:
        return self.f.shape[4]

    @property
    def proj_size(self) -> int:
        """0 for a plain LSTM; the size of h for an LSTMP (then ``m`` is h before the projection)."""
        return int(self.extras.get("proj_size", 0))

    def names(self) -> list[str]:
        return recording_names(self.num_layers, self.num_directions == 2)

    def __getitem__(self, name: str) -> Tensor:
        """``rec["layer0.fwd.f"]`` → ``(batch, T, units)``."""
        layer, direction, tensor = _parse_name(name)
        if tensor not in RECORDED_TENSORS:
            raise KeyError(f"{name!r}: unknown tensor {tensor!r}; one of {', '.join(RECORDED_TENSORS)}")
        if layer >= self.num_layers or direction >= self.num_directions:
            raise KeyError(f"{name!r} is not in this recording; it has {', '.join(self.names()[:3])}, …")
        return getattr(self, tensor)[layer, direction]

    def to(self, device: torch.device | str) -> Recording:
        moved = {k: getattr(self, k).to(device) for k in ("output", "h_n", "c_n", "x", *RECORDED_TENSORS)}
        return Recording(**moved, extras=self.extras)

    def to_frame(
        self,
        layers: Iterable[int] | None = None,
        directions: Iterable[str] | None = None,
        tensors: Iterable[str] | None = None,
        batch: Iterable[int] | int | None = None,
    ) -> pd.DataFrame:
        """A long DataFrame ``layer, direction, batch, t, unit, tensor, value`` of the selected part.

        Select a subset to keep big recordings small, e.g. ``to_frame(layers=[1], tensors=["c"], batch=0)``.
        """
        layers = list(range(self.num_layers)) if layers is None else list(layers)
        dirs = list(DIRECTIONS[: self.num_directions]) if directions is None else list(directions)
        tensors = list(RECORDED_TENSORS) if tensors is None else list(tensors)
        if batch is None:
            batches = list(range(self.batch_size))
        else:
            batches = [batch] if isinstance(batch, int) else list(batch)
        for d in dirs:
            if d not in DIRECTIONS[: self.num_directions]:
                raise ValueError(
                    f"direction {d!r} is not recorded; choose from {DIRECTIONS[: self.num_directions]}"
                )
        for t in tensors:
            if t not in RECORDED_TENSORS:
                raise ValueError(f"tensor {t!r} is not recorded; choose from {', '.join(RECORDED_TENSORS)}")
        if any(not 0 <= k < self.num_layers for k in layers):
            raise ValueError(f"layers must be in 0..{self.num_layers - 1}, got {layers}")
        if any(not 0 <= b < self.batch_size for b in batches):
            raise ValueError(f"batch indices must be in 0..{self.batch_size - 1}, got {batches}")

        frames = []
        for tensor in tensors:
            values = getattr(self, tensor).detach().to("cpu", torch.float64).numpy()  # (L, D, B, T, U)
            for k in layers:
                for d in dirs:
                    block = values[k, DIRECTIONS.index(d)][batches]  # (B', T, U)
                    b_idx, t_idx, u_idx = np.meshgrid(
                        batches, np.arange(block.shape[1]), np.arange(block.shape[2]), indexing="ij"
                    )
                    frames.append(
                        pd.DataFrame(
                            {
                                "layer": np.full(block.size, k, dtype=np.int16),
                                "direction": d,
                                "batch": b_idx.ravel().astype(np.int32),
                                "t": t_idx.ravel().astype(np.int32),
                                "unit": u_idx.ravel().astype(np.int32),
                                "tensor": tensor,
                                "value": block.ravel(),
                            }
                        )
                    )
        if not frames:
            return pd.DataFrame(columns=["layer", "direction", "batch", "t", "unit", "tensor", "value"])
        frame = pd.concat(frames, ignore_index=True)
        frame["direction"] = frame["direction"].astype("category")
        frame["tensor"] = frame["tensor"].astype("category")
        return frame
