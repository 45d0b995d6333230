"""Where the explorer's model comes from: a shipped checkpoint in models/, a fresh random RecordingLSTM, or an
uploaded file (a project checkpoint or a plain ``nn.LSTM`` state_dict).

No Streamlit here. Every failure is a ``SourceError`` (a ``ValueError``) whose message says what was wrong and
what would work. Uploads are read with ``torch.load(weights_only=True)``, so a file can never run code.
"""

from __future__ import annotations

import hashlib
import io
import pickle
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import torch
from torch import Tensor

from lstm_viz.device import pick_device
from lstm_viz.models import LSTMVizModel, ModelConfig, build_model

__all__ = [
    "MAX_RANDOM_HIDDEN",
    "MAX_RANDOM_INPUT",
    "MAX_RANDOM_LAYERS",
    "MAX_UPLOAD_BYTES",
    "MODELS_DIR",
    "LoadedModel",
    "RandomSpec",
    "SourceError",
    "config_from_state_dict",
    "default_checkpoint",
    "load_shipped",
    "load_upload",
    "random_model",
    "shipped_checkpoints",
]

MODELS_DIR = Path(__file__).resolve().parent.parent / "models"
MAX_UPLOAD_BYTES = 200_000_000
MAX_RANDOM_INPUT = 512
MAX_RANDOM_HIDDEN = 1024
MAX_RANDOM_LAYERS = 4
# The order the picker lists shipped models in (others follow alphabetically): the subtraction LSTM first.
_PREFERRED = (
    "subtraction_lstm.pt",
    "subtraction_lstmp.pt",
    "toy_statquest.pt",
    "toy_lstm.pt",
    "subtraction_gru.pt",
)

Origin = Literal["shipped", "random", "upload", "session"]


class SourceError(ValueError):
    """A model that cannot be used; the message says why and what would work."""


@dataclass(frozen=True)
class LoadedModel:
    """A model ready for the explorer, with a label for people and a key for caches."""

    model: LSTMVizModel
    label: str
    key: str  # identifies the weights: caches of recordings are keyed on it
    origin: Origin
    info: dict[str, Any] = field(default_factory=dict)  # e.g. a checkpoint's metrics

    @property
    def config(self) -> ModelConfig:
        return self.model.config


# --------------------------------------------------------------------------------------------- shipped
def shipped_checkpoints(directory: Path | str = MODELS_DIR) -> list[Path]:
    """The ``*.pt`` files in models/, the subtraction LSTM first."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    files = [p for p in directory.glob("*.pt") if p.is_file()]
    rank = {name: n for n, name in enumerate(_PREFERRED)}
    return sorted(files, key=lambda p: (rank.get(p.name, len(rank)), p.name))


def default_checkpoint(directory: Path | str = MODELS_DIR) -> Path | None:
    """The model the explorer opens with: the first shipped subtraction model that can be recorded."""
    files = shipped_checkpoints(directory)
    for path in files:
        if path.name.startswith("subtraction") and "gru" not in path.name:
            return path
    return files[0] if files else None


def _file_key(path: Path) -> str:
    stat = path.stat()
    return f"shipped:{path.name}:{stat.st_size}:{stat.st_mtime_ns}"


def load_shipped(path: Path | str) -> LoadedModel:
    """A checkpoint from models/ (or any path), on the compute device, in eval mode."""
    path = Path(path)
    if not path.is_file():
        raise SourceError(f"{path} does not exist; shipped models are in {MODELS_DIR}")
    checkpoint = _load_project_checkpoint(path)
    model = checkpoint.model.to(pick_device()).eval()
    return LoadedModel(
        model=model,
        label=f"{path.name} — {model.config.label()}",
        key=_file_key(path),
        origin="shipped",
        info=_checkpoint_info(checkpoint),
    )


def _load_project_checkpoint(source: Any) -> Any:
    from lstm_viz import checkpoints  # lazy: the checkpoint module pulls in the training engine

    try:
        return checkpoints.load_checkpoint(source)
    except checkpoints.CheckpointError as err:
        raise SourceError(str(err)) from None


def _checkpoint_info(checkpoint: Any) -> dict[str, Any]:
    info: dict[str, Any] = {}
    for name in ("metrics", "epoch", "note", "created", "command"):
        value = getattr(checkpoint, name, None)
        if value not in (None, {}, ""):
            info[name] = value
    return info


# --------------------------------------------------------------------------------------------- random
@dataclass(frozen=True)
class RandomSpec:
    """A fresh RecordingLSTM: nn.LSTM's options plus the seed of its initialisation."""

    input_size: int = 3
    hidden_size: int = 16
    num_layers: int = 1
    bidirectional: bool = False
    proj_size: int = 0
    bias: bool = True
    seed: int = 0

    def describe(self) -> str:
        proj = f", proj_size={self.proj_size}" if self.proj_size else ""
        bi = ", bidirectional" if self.bidirectional else ""
        bias = "" if self.bias else ", bias=False"
        return (
            f"random RecordingLSTM({self.input_size}, {self.hidden_size}, num_layers={self.num_layers}"
            f"{bi}{proj}{bias}), seed {self.seed}"
        )


def random_model(spec: RandomSpec) -> LoadedModel:
    """A randomly initialised (PyTorch's default init, seeded) RecordingLSTM wrapped as a bare sequence model."""
    limits = (
        ("input size", spec.input_size, 1, MAX_RANDOM_INPUT),
        ("hidden size", spec.hidden_size, 1, MAX_RANDOM_HIDDEN),
        ("layers", spec.num_layers, 1, MAX_RANDOM_LAYERS),
        ("seed", spec.seed, 0, 2**32 - 1),
    )
    for name, value, lo, hi in limits:
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            raise SourceError(f"The {name} must be a whole number from {lo} to {hi}, got {value!r}.")
    if not 0 <= spec.proj_size < spec.hidden_size:
        raise SourceError(
            f"proj_size must be 0 (no projection) or smaller than the hidden size ({spec.hidden_size}), "
            f"got {spec.proj_size}. Example: hidden size 16, proj_size 8."
        )
    config = ModelConfig.default(
        "sequence",
        input_size=spec.input_size,
        hidden_size=spec.hidden_size,
        num_layers=spec.num_layers,
        bidirectional=spec.bidirectional,
        proj_size=spec.proj_size,
        bias=spec.bias,
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(spec.seed)
        model = build_model(config)
    model = model.to(pick_device()).eval()
    key = "random:" + ",".join(f"{k}={v}" for k, v in sorted(spec.__dict__.items()))
    return LoadedModel(model=model, label=spec.describe(), key=key, origin="random")


# --------------------------------------------------------------------------------------------- upload
def _is_state_dict(obj: Any) -> bool:
    return isinstance(obj, dict) and bool(obj) and all(isinstance(v, Tensor) for v in obj.values())


def _lstm_prefix(state: dict[str, Tensor]) -> str | None:
    """"" for nn.LSTM's own names, "lstm." (or any module path) when the weights sit inside a bigger module."""
    candidates = sorted(k[: -len("weight_ih_l0")] for k in state if k.endswith("weight_ih_l0"))
    candidates = [c for c in candidates if c == "" or c.endswith(".")]
    return min(candidates, key=len) if candidates else None


def config_from_state_dict(state: dict[str, Tensor]) -> ModelConfig:
    """The ``sequence`` config an ``nn.LSTM`` state_dict describes, after checking every name and shape.

    Raises SourceError naming the first tensor that does not fit nn.LSTM's layout.
    """
    prefix = _lstm_prefix(state)
    if prefix is None:
        names = ", ".join(list(state)[:6])
        raise SourceError(
            "This file holds tensors but no LSTM weights: an nn.LSTM state_dict has weight_ih_l0, "
            f"weight_hh_l0, bias_ih_l0, … (found: {names}). Save one with torch.save(lstm.state_dict(), path)."
        )
    sd = {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}
    w_ih, w_hh = sd["weight_ih_l0"], sd.get("weight_hh_l0")
    if w_hh is not None and w_hh.dim() == 2 and "weight_hr_l0" not in sd and w_hh.shape[0] != 4 * w_hh.shape[1]:
        kind = {3: "a GRU", 1: "a plain RNN"}.get(w_hh.shape[0] // max(1, w_hh.shape[1]), "not an LSTM")
        raise SourceError(
            f"weight_hh_l0 has shape {tuple(w_hh.shape)}: this looks like {kind}'s state_dict, not an LSTM's "
            "(an LSTM's is (4·hidden_size, hidden_size)). Only LSTM weights can be explored."
        )
    if w_ih.dim() != 2 or w_ih.shape[0] % 4:
        raise SourceError(
            f"weight_ih_l0 has shape {tuple(w_ih.shape)}; an nn.LSTM's is (4·hidden_size, input_size). "
            "Is this a GRU or a plain RNN? Only LSTM weights can be explored."
        )
    hidden, input_size = w_ih.shape[0] // 4, w_ih.shape[1]
    layers = 0
    while f"weight_ih_l{layers}" in sd:
        layers += 1
    bidirectional = "weight_ih_l0_reverse" in sd
    bias = "bias_ih_l0" in sd
    proj = int(sd["weight_hr_l0"].shape[0]) if "weight_hr_l0" in sd else 0
    try:
        config = ModelConfig.default(
            "sequence", input_size=input_size, hidden_size=hidden, num_layers=layers,
            bidirectional=bidirectional, proj_size=proj, bias=bias,
        )  # fmt: skip
    except ValueError as err:
        raise SourceError(f"These weights do not describe a valid LSTM: {err}") from None
    reference = torch.nn.LSTM(
        input_size, hidden, num_layers=layers, bias=bias, bidirectional=bidirectional, proj_size=proj,
        device="meta",
    )  # fmt: skip
    expected = {k: tuple(v.shape) for k, v in reference.state_dict().items()}
    missing = sorted(set(expected) - set(sd))
    extra = sorted(set(sd) - set(expected))
    if missing or extra:
        raise SourceError(
            f"The weights look like nn.LSTM({input_size}, {hidden}, num_layers={layers}"
            f"{', bidirectional=True' if bidirectional else ''}{f', proj_size={proj}' if proj else ''}) but "
            + (f"lack {', '.join(missing[:4])}" if missing else "")
            + (" and " if missing and extra else "")
            + (f"have unexpected {', '.join(extra[:4])}" if extra else "")
            + ". Upload the state_dict of one nn.LSTM, e.g. torch.save(lstm.state_dict(), 'lstm.pt')."
        )
    for name, shape in expected.items():
        got = tuple(sd[name].shape)
        if got != shape:
            raise SourceError(
                f"{name} has shape {got}, but nn.LSTM({input_size}, {hidden}, num_layers={layers}) needs "
                f"{shape}. The file's tensors do not fit one LSTM."
            )
        if not sd[name].is_floating_point() or not torch.isfinite(sd[name]).all():
            raise SourceError(f"{name} holds non-finite or non-float values; the weights are unusable.")
    return config


def _read_bytes(data: bytes | io.IOBase) -> bytes:
    raw = data if isinstance(data, bytes) else data.read()
    if not isinstance(raw, bytes):
        raise SourceError("The upload must be a binary file (.pt)")
    return raw


def load_upload(data: bytes | io.IOBase, name: str = "upload") -> LoadedModel:
    """An uploaded ``.pt``: a project checkpoint (config + weights) or a plain nn.LSTM state_dict.

    Read with ``torch.load(weights_only=True)`` only — no code in the file is ever run.
    """
    raw = _read_bytes(data)
    if not raw:
        raise SourceError(
            f"{name} is empty. Upload a checkpoint saved by lstm-viz or torch.save(lstm.state_dict(), 'lstm.pt')."
        )
    if len(raw) > MAX_UPLOAD_BYTES:
        raise SourceError(f"{name} is {len(raw) / 1e6:.0f} MB; at most {MAX_UPLOAD_BYTES / 1e6:.0f} MB.")
    digest = hashlib.sha256(raw).hexdigest()[:16]
    try:
        obj = torch.load(io.BytesIO(raw), map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, zipfile.BadZipFile, ValueError, KeyError,
            AttributeError, TypeError, OSError) as err:  # fmt: skip
        if "weights only" in str(err).lower():
            why = "it holds Python objects that would need code to load, which is refused for safety"
        else:
            why = str(err).strip().splitlines()[0][:160] if str(err).strip() else type(err).__name__
        raise SourceError(
            f"{name} is not a readable PyTorch file ({why}). Upload a .pt saved by lstm-viz "
            "(python -m lstm_viz train … --out model.pt) or by torch.save(lstm.state_dict(), 'lstm.pt'); "
            "files that need code to load are refused."
        ) from None
    if _is_state_dict(obj):
        config = config_from_state_dict(obj)
        model = build_model(config)
        prefix = _lstm_prefix(obj) or ""
        sd = {k[len(prefix) :]: v for k, v in obj.items() if k.startswith(prefix)}
        model.lstm.load_state_dict(sd, strict=True)
        model = model.to(pick_device()).eval()
        return LoadedModel(
            model=model,
            label=f"{name} — nn.LSTM state_dict as {config.label()}",
            key=f"upload:{digest}",
            origin="upload",
        )
    if isinstance(obj, dict):
        checkpoint = _load_project_checkpoint(raw)
        model = checkpoint.model.to(pick_device()).eval()
        return LoadedModel(
            model=model,
            label=f"{name} — {model.config.label()}",
            key=f"upload:{digest}",
            origin="upload",
            info=_checkpoint_info(checkpoint),
        )
    raise SourceError(
        f"{name} holds a {type(obj).__name__}, not a model. Upload a checkpoint saved by lstm-viz or an "
        "nn.LSTM state_dict (torch.save(lstm.state_dict(), 'lstm.pt'))."
    )
