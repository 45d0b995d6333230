"""Where the explorer's model comes from: a shipped checkpoint in models/, a fresh random RecordingLSTM, or an
uploaded file (a project checkpoint or a plain ``nn.LSTM`` state_dict, read by ``lstm_viz.checkpoints``).

No Streamlit here. Every failure is a ``SourceError`` (a ``ValueError``) whose message says what was wrong and
what would work. Uploads are read with ``torch.load(weights_only=True)``, so a file can never run code.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from lstm_viz.core.device import pick_device, seeded
from lstm_viz.paths import MODELS_DIR
from lstm_viz.tasks import SEQUENCE, LSTMVizModel, ModelConfig, build_model
from lstm_viz.viz.download import file_name_part, file_stem

__all__ = [
    "MAX_RANDOM_HIDDEN",
    "MAX_RANDOM_INPUT",
    "MAX_RANDOM_LAYERS",
    "MAX_UPLOAD_BYTES",
    "MODELS_DIR",
    "LoadedModel",
    "ModuleNeeded",
    "RandomSpec",
    "SourceError",
    "default_checkpoint",
    "load_shipped",
    "load_upload",
    "random_model",
    "shipped_checkpoints",
]

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
    "regressor.pt",
)

Origin = Literal["shipped", "random", "upload", "session"]


class SourceError(ValueError):
    """A model that cannot be used; the message says why and what would work."""


class ModuleNeeded(SourceError):
    """An upload that is a bigger model's state_dict: one of its recurrent modules can be shown, chosen from
    ``options`` (name → description, e.g. ``{"encoder.lstm": "LSTM(16→32, 2 layers)"}``) and passed to
    :func:`load_upload` as ``module``."""

    def __init__(self, message: str, options: dict[str, str]) -> None:
        super().__init__(message)
        self.options = options


@dataclass(frozen=True)
class LoadedModel:
    """A model ready for the explorer, with a label for people and a key for caches."""

    model: LSTMVizModel
    label: str
    key: str  # identifies the weights: caches of recordings are keyed on it
    origin: Origin
    info: dict[str, Any] = field(default_factory=dict)  # e.g. a checkpoint's metrics
    module: str | None = None  # an upload's recurrent module, when the file is a bigger model's state_dict

    @property
    def config(self) -> ModelConfig:
        return self.model.config

    @property
    def stem(self) -> str:
        """The start of a download's file name: the model's file (or label) and its module, ``seq2seq-encoder``."""
        stem = file_stem(self.label)
        return stem if self.module is None else f"{stem}-{file_name_part(self.module, 40) or 'top'}"


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
    """The model the explorer opens with: the first shipped checkpoint in the picker's order (the subtraction LSTM)."""
    files = shipped_checkpoints(directory)
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


def _load_project_checkpoint(source: Path | bytes, name: str | None = None, module: str | None = None) -> Any:
    from lstm_viz.training import checkpoints

    try:
        return checkpoints.load_checkpoint(source, module=module)
    except checkpoints.CheckpointError as err:
        message = str(err)
        if name:
            message = message.replace("the uploaded file", name)
        if isinstance(err, checkpoints.ModuleChoice):
            raise ModuleNeeded(message, err.options) from None
        raise SourceError(message) from None


def _checkpoint_info(checkpoint: Any) -> dict[str, Any]:
    """What a checkpoint says about itself: its description, last metrics and the command that made it."""
    info: dict[str, Any] = {"description": checkpoint.description}
    history = checkpoint.history or []
    if history:
        last = history[-1]
        info["metrics"] = {k: v for k, v in last.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
    meta = checkpoint.meta or {}
    final = meta.get("final")  # the train command's last line: its evaluations after the run (val_bpc over all text)
    if isinstance(final, dict):
        evaluated = {k: v for k, v in final.items() if k.startswith(("val_", "test_")) and not k.endswith("_chars")
                     and isinstance(v, (int, float)) and not isinstance(v, bool)}  # fmt: skip
        info["metrics"] = {**info.get("metrics", {}), **evaluated}
    for key in ("command", "metrics", "manifest", "how"):
        if isinstance(meta.get(key), (str, dict)):
            info[key] = meta[key]
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
    config = SEQUENCE.default_config(
        input_size=spec.input_size,
        hidden_size=spec.hidden_size,
        num_layers=spec.num_layers,
        bidirectional=spec.bidirectional,
        proj_size=spec.proj_size,
        bias=spec.bias,
    )
    with seeded(spec.seed, restore=True):  # other sessions' seeded builds take turns
        model = build_model(config)
    model = model.to(pick_device()).eval()
    key = "random:" + ",".join(f"{k}={v}" for k, v in sorted(spec.__dict__.items()))
    return LoadedModel(model=model, label=spec.describe(), key=key, origin="random")


# --------------------------------------------------------------------------------------------- upload
def load_upload(data: bytes | io.IOBase, name: str = "upload", module: str | None = None) -> LoadedModel:
    """An uploaded ``.pt``: an lstm-viz checkpoint or a plain state_dict (nn.LSTM, optionally with a Linear head,
    or the twelve StatQuest scalars), recognised and shape-checked by ``lstm_viz.checkpoints``; or ``module``, one
    LSTM or GRU of a bigger model's state_dict (:class:`ModuleNeeded`, raised without it, names them).

    Read with ``torch.load(weights_only=True)`` only — no code in the file is ever run.
    """
    raw = data if isinstance(data, bytes) else data.read()
    if not isinstance(raw, bytes):
        raise SourceError("The upload must be a binary file (.pt)")
    if not raw:
        raise SourceError(
            f"{name} is empty. Upload a checkpoint saved by lstm-viz or torch.save(lstm.state_dict(), 'lstm.pt')."
        )
    if len(raw) > MAX_UPLOAD_BYTES:
        raise SourceError(f"{name} is {len(raw) / 1e6:.0f} MB; at most {MAX_UPLOAD_BYTES / 1e6:.0f} MB.")
    checkpoint = _load_project_checkpoint(raw, name, module)
    model = checkpoint.model.to(pick_device()).eval()
    described = checkpoint.description or model.config.label()
    return LoadedModel(
        model=model,
        label=f"{name} — {described}",
        key=f"upload:{hashlib.sha256(raw).hexdigest()[:16]}" + ("" if module is None else f":{module}"),
        module=module,
        origin="upload",
        info=_checkpoint_info(checkpoint),
    )
