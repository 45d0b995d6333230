"""Checkpoint files: config + weights + optimizer state + metric history in one file, saved atomically, loaded
safely (``torch.load(weights_only=True)``) and validated, with foreign or corrupt files rejected clearly.

Besides lstm-viz's own files, :func:`load_checkpoint` accepts the plain state_dicts people save from the seed
posts' code or their own models (``torch.save(model.state_dict(), path)``), and PyTorch Lightning checkpoints whose
``state_dict`` is one: :mod:`lstm_viz.training.state_dicts` says which model they are, or which of a bigger model's
LSTMs and GRUs can be shown alone (``module=``). Its ``CheckpointError`` and ``ModuleChoice`` are importable here.
"""

from __future__ import annotations

import io
import pickle
import re
import unicodedata
import warnings
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import torch
from torch import Tensor, nn

from lstm_viz.paths import write_atomically
from lstm_viz.tasks import LSTMVizModel, ModelConfig, build_model
from lstm_viz.training.state_dicts import (
    CheckpointError,
    ModuleChoice,
    infer_config,
    module_weights,
    recurrent_modules,
    scan_modules,
)

__all__ = [
    "FORMAT",
    "MAX_BYTES",
    "VERSION",
    "Checkpoint",
    "CheckpointError",
    "ModuleChoice",
    "build_checked",
    "checkpoint_bytes",
    "infer_config",
    "load_checkpoint",
    "module_weights",
    "read_torch_file",
    "recurrent_modules",
    "save_checkpoint",
    "scan_modules",
]

FORMAT = "lstm-viz-checkpoint"
VERSION = 1
MAX_BYTES = 256 * 1024 * 1024  # refuse files larger than this (lstm-viz models are kilobytes)
_HOWTO = "save one with `python -m lstm_viz train …` or `torch.save(model.state_dict(), 'model.pt')`"
@dataclass
class Checkpoint:
    """A loaded checkpoint. ``model`` is built from ``config`` with the saved weights, in eval mode.

    ``optimizer_state`` is Adam's state_dict (or None), ``history`` the per-epoch metric dicts, ``meta`` free
    information (e.g. ``meta["trainer"]`` for resuming, ``meta["command"]``). ``source`` says what the file was:
    ``"lstm-viz"``, ``"state_dict"`` (a plain state_dict) or ``"lightning"``; ``description`` says it in words.
    """

    config: ModelConfig
    model: LSTMVizModel
    optimizer_state: dict | None = None
    history: list[dict] = field(default_factory=list)
    meta: dict = field(default_factory=dict)
    source: str = "lstm-viz"
    description: str = ""


# ---------------------------------------------------------------------- saving
def _plain(value: Any, where: str) -> Any:
    """Values that ``weights_only`` loading accepts: numbers, strings, bools, None, tensors, lists, dicts."""
    if isinstance(value, Tensor):
        return value.detach().cpu()
    if value is None or type(value) in (bool, int, float, str):
        return value
    if isinstance(value, str):  # str subclasses (e.g. torch's TorchVersion) would not load with weights_only
        return str(value)
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, (list, tuple)):
        return [_plain(v, where) for v in value]
    if isinstance(value, dict):
        return {(k if type(k) in (int, str) else str(k)): _plain(v, where) for k, v in value.items()}
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return value.item()
    raise TypeError(f"{where} holds a {type(value).__name__}; only numbers, text, lists, dicts and tensors")


def _payload(
    model: nn.Module,
    config: ModelConfig | None,
    optimizer: torch.optim.Optimizer | dict | None,
    history: list[dict] | None,
    meta: dict | None,
) -> dict:
    config = config or getattr(model, "config", None)
    if not isinstance(config, ModelConfig):
        raise TypeError("save_checkpoint needs the model's ModelConfig (lstm_viz models carry it as .config)")
    opt_state = optimizer.state_dict() if isinstance(optimizer, torch.optim.Optimizer) else optimizer
    return {
        "format": FORMAT,
        "version": VERSION,
        "config": config.to_dict(),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "optimizer": _plain(opt_state, "the optimizer state") if opt_state is not None else None,
        "history": _plain(list(history or []), "history"),
        "meta": _plain(dict(meta or {}), "meta"),
        "torch_version": str(torch.__version__),
    }


def checkpoint_bytes(
    model: nn.Module,
    config: ModelConfig | None = None,
    *,
    optimizer: torch.optim.Optimizer | dict | None = None,
    history: list[dict] | None = None,
    meta: dict | None = None,
) -> bytes:
    """The checkpoint file's content as bytes (e.g. for a download button)."""
    buffer = io.BytesIO()
    torch.save(_payload(model, config, optimizer, history, meta), buffer)
    return buffer.getvalue()


def save_checkpoint(
    path: str | Path,
    model: nn.Module,
    config: ModelConfig | None = None,
    *,
    optimizer: torch.optim.Optimizer | dict | None = None,
    history: list[dict] | None = None,
    meta: dict | None = None,
) -> Path:
    """Write config + state_dict + optimizer state + history + meta to ``path`` atomically.

    The file is written to a temporary file in the same folder, flushed to disk, then moved over ``path`` with
    ``os.replace``: a crash mid-save leaves the previous file intact. ``config`` defaults to ``model.config``.
    """
    return write_atomically(path, checkpoint_bytes(model, config, optimizer=optimizer, history=history, meta=meta))


# ---------------------------------------------------------------------- loading
def _read(source: str | Path | bytes | bytearray | IO[bytes]) -> tuple[bytes, str]:
    """The raw bytes and a name for messages."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        data, name = bytes(source), "the uploaded file"
    elif isinstance(source, (str, Path)):
        path = Path(source)
        name = str(path)
        if not path.exists():
            raise CheckpointError(f"no checkpoint at {name}: the file does not exist")
        if path.is_dir():
            raise CheckpointError(f"{name} is a folder, not a checkpoint file")
        if not path.is_file():  # a pipe would block the read for ever, a device (/dev/zero) never end
            raise CheckpointError(f"{name} is not a regular file (a device, a pipe or a socket); give a checkpoint "
                                  "file")  # fmt: skip
        if path.stat().st_size > MAX_BYTES:
            raise CheckpointError(f"{name} is {path.stat().st_size / 1e6:.0f} MB; lstm-viz loads checkpoints up "
                                  f"to {MAX_BYTES // 2**20} MB")  # fmt: skip
        try:
            data = path.read_bytes()
        except OSError as err:
            raise CheckpointError(f"cannot read {name}: {err.strerror or err}") from None
    elif hasattr(source, "read"):
        name = str(getattr(source, "name", "the uploaded file"))
        data = source.read(MAX_BYTES + 1)
        if not isinstance(data, (bytes, bytearray)):
            raise CheckpointError(f"{name} must be opened in binary mode ('rb')")
        data = bytes(data)
    else:
        raise CheckpointError(f"cannot load a checkpoint from a {type(source).__name__}; give a path or bytes")
    if len(data) > MAX_BYTES:
        raise CheckpointError(f"{name} is larger than {MAX_BYTES // 2**20} MB; lstm-viz models are kilobytes")
    if not data:
        raise CheckpointError(f"{name} is empty (0 bytes); {_HOWTO}")
    return data, name


def read_torch_file(source: str | Path | bytes | IO[bytes], safe_globals: Sequence[type] = ()) -> tuple[Any, str]:
    """What a ``torch.save`` file holds, read safely, and a name for messages.

    CheckpointError, in one line, for a file that is missing, a folder, too big or empty; a zip whose parts do not
    match their checksums (``torch.load`` reads a changed byte as a changed weight, silently); not a PyTorch file;
    Python objects other than tensors and plain values (``weights_only=True``; ``safe_globals`` adds classes); and
    tensors that claim more values than the file stores (a stride-0 ``expand`` saves one value for a billion: every
    later step would allocate them all).
    """
    data, name = _read(source)
    obj = _torch_load(data, name, safe_globals)
    _check_stored(obj, name)
    return obj, name


def _check_zip(data: bytes, name: str) -> None:
    """CheckpointError when the zip's parts do not match their checksums or claim far more than the file."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            declared = sum(info.file_size for info in archive.infolist())
            if declared > 4 * MAX_BYTES:  # a compressed bomb: torch.save stores its parts uncompressed
                raise CheckpointError(f"{name} unpacks to {declared / 1e9:.1f} GB; lstm-viz loads checkpoints up to "
                                      f"{MAX_BYTES // 2**20} MB")  # fmt: skip
            bad = archive.testzip()
    except CheckpointError:
        raise
    except Exception:  # BadZipFile, zlib errors, EOF: the archive cannot even be read
        why = "it is truncated or corrupt (the zip archive cannot be read)"
        raise CheckpointError(f"{name} cannot be loaded: {why}; {_HOWTO}") from None
    if bad is not None:
        raise CheckpointError(f"{name} is damaged: its part {bad!r} does not match its checksum (bytes changed after "
                              "it was saved: a bad copy or download); copy or save it again")  # fmt: skip


def _check_stored(obj: Any, name: str, where: str = "", depth: int = 0) -> None:
    """CheckpointError for a tensor anywhere in ``obj`` that holds fewer values in its storage than it claims."""
    if isinstance(obj, Tensor):
        if obj.layout != torch.strided or obj.is_meta or not obj.numel():  # told apart later, with their own words
            return
        stored = obj.untyped_storage().nbytes() // max(obj.element_size(), 1)
        if stored < obj.numel():
            raise CheckpointError(
                f"{name}: the tensor {where or 'in it'!r} claims {obj.numel():,} values of shape {tuple(obj.shape)} "
                f"but the file stores {stored:,} (an expanded or overlapping tensor: not weights saved from a model); "
                "save real weights (tensor.contiguous())"
            )
    elif depth < 8 and isinstance(obj, dict):
        for key, value in obj.items():
            _check_stored(value, name, f"{where}.{key}" if where else str(key), depth + 1)
    elif depth < 8 and isinstance(obj, (list, tuple)):
        for k, value in enumerate(obj):
            _check_stored(value, name, f"{where}[{k}]", depth + 1)


def _torch_load(data: bytes, name: str, safe_globals: Sequence[type] = ()) -> Any:
    looks_zip = data[:4] == b"PK\x03\x04"
    if looks_zip:
        _check_zip(data, name)
    try:
        with warnings.catch_warnings(), torch.serialization.safe_globals(list(safe_globals)):
            warnings.simplefilter("ignore")  # e.g. "Detected pickle protocol 4": the message below says it all
            return torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        said = str(err).lower()
        if any(words in said for words in ("unsupported global", "unsupported class", "blocked")):
            raise CheckpointError(
                f"{name} contains Python objects besides tensors (e.g. a whole pickled model or custom classes); "
                f"for safety lstm-viz loads only plain weights — {_HOWTO}"
            ) from None
        raise CheckpointError(
            f"{name} cannot be loaded: it is not a PyTorch file (or it is corrupt); {_HOWTO}"
        ) from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, ValueError, OSError, KeyError, IndexError) as err:
        if looks_zip:
            why = "it is truncated or corrupt (the zip archive cannot be read)"
        else:
            why = "it is not a PyTorch file"
        raise CheckpointError(f"{name} cannot be loaded: {why}; {_HOWTO}") from err
    except Exception as err:  # anything else torch.load may raise on hostile bytes
        raise CheckpointError(f"{name} cannot be loaded ({type(err).__name__}); {_HOWTO}") from err


def _is_state_dict(obj: Any) -> bool:
    return (
        isinstance(obj, dict)
        and bool(obj)
        and all(isinstance(k, str) and isinstance(v, Tensor) for k, v in obj.items())
    )


def check_finite_weights(state_dict: dict[str, Tensor], name: str) -> None:
    """CheckpointError naming the first weight with NaN or inf, or with complex values (loading would drop their
    imaginary parts with only a warning)."""
    for key, value in state_dict.items():
        if value.layout != torch.strided:  # sparse: the checks below cannot even read it
            layout = str(value.layout).removeprefix("torch.")
            raise CheckpointError(f"{name}: the weight {key!r} is a {layout} tensor; an LSTM's weights are dense — "
                                  "save them with tensor.to_dense()")  # fmt: skip
        if value.is_meta:
            raise CheckpointError(f"{name}: the weight {key!r} is on the meta device: it has a shape but no values; "
                                  "save the weights of a model that holds them")  # fmt: skip
        if value.is_complex():
            dtype = str(value.dtype).removeprefix("torch.")
            raise CheckpointError(f"{name}: the weight {key!r} holds complex numbers ({dtype}); an LSTM's weights "
                                  "are real — save them as float32")  # fmt: skip
        if value.is_floating_point() and not torch.isfinite(value).all():
            raise CheckpointError(f"{name}: the weight {key!r} contains NaN or inf — the model diverged; "
                                  "load an earlier checkpoint or retrain with a smaller learning rate")  # fmt: skip


def build_checked(config: ModelConfig, state_dict: dict[str, Tensor], name: str) -> LSTMVizModel:
    """The model of ``config`` with ``state_dict`` loaded (eval mode); CheckpointError naming ``name`` when a weight
    is not finite or the shapes are not the config's (compared before anything is allocated)."""
    check_finite_weights(state_dict, name)
    # The config's shapes are compared with the file's on the meta device (no memory) before the model is built:
    # a tiny crafted file claiming hidden_size 40,000 would otherwise have every loader allocate gigabytes first.
    try:
        with torch.device("meta"):
            skeleton = build_model(config)
    except (RuntimeError, OverflowError) as err:  # sizes past what a tensor can hold (hidden_size 10⁹: 4·10¹⁸ weights)
        raise CheckpointError(f"{name}: the saved config describes a model too large to build "
                              f"({config.label()}: {str(err).splitlines()[0][:120]})") from None  # fmt: skip
    expected = {key: tuple(value.shape) for key, value in skeleton.state_dict().items()}
    given = {key: tuple(value.shape) for key, value in state_dict.items() if isinstance(value, Tensor)}
    if expected != given:
        missing = sorted(expected.keys() - given.keys())
        extra = sorted(given.keys() - expected.keys())
        both = sorted(expected.keys() & given.keys())
        shapes = [f"{k}: {given[k]} in the file, {expected[k]} for the config" for k in both if expected[k] != given[k]]
        parts = ([f"missing {', '.join(missing[:5])}"] if missing else []) + (
            [f"unexpected {', '.join(extra[:5])}"] if extra else []) + shapes[:3]  # fmt: skip
        raise CheckpointError(f"{name}: the weights do not match the saved config ({'; '.join(parts)[:300]})")
    model = build_model(config)
    try:
        model.load_state_dict(state_dict, strict=True)
    except RuntimeError as err:
        detail = str(err).split("\n\t", 1)[-1].replace("\n\t", "; ").strip()
        raise CheckpointError(f"{name}: the weights do not match the saved config ({detail[:300]})") from None
    return model.eval()


def _history(value: Any, name: str) -> list[dict]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(h, dict) for h in value):
        raise CheckpointError(f"{name}: the metric history must be a list of dicts")
    return [dict(h) for h in value]


def load_checkpoint(
    source: str | Path | bytes | IO[bytes], device: torch.device | str | None = None, module: str | None = None
) -> Checkpoint:
    """Load and validate a checkpoint from a path, bytes or a binary file-like object (e.g. an upload).

    Uses ``torch.load(weights_only=True)`` (no arbitrary code runs). Accepts lstm-viz checkpoints and the
    plain state_dicts described in the module doc. Raises :class:`CheckpointError` with a one-line reason for
    missing, empty, truncated, corrupt, unsafe or foreign files, and :class:`ModuleChoice` (which names them) for a
    state_dict whose recurrent modules can be shown one at a time: ``module`` names the one to load (a plain
    state_dict's prefix without its dot, ``"encoder.lstm"``; ``""`` for top-level keys). The model is in eval mode
    on ``device`` (CPU if None).
    """
    obj, name = read_torch_file(source)
    if not isinstance(obj, dict):
        raise CheckpointError(f"{name} holds a {type(obj).__name__}, not a checkpoint or state_dict; {_HOWTO}")
    if module is not None and obj.get("format") == FORMAT:
        raise CheckpointError(f"{name} is an lstm-viz checkpoint, one model: module= chooses a recurrent module of a "
                              "plain state_dict; leave it out")  # fmt: skip

    if obj.get("format") == FORMAT:
        version = obj.get("version")
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise CheckpointError(f"{name} is damaged: an lstm-viz checkpoint without a valid format version "
                                  f"({version!r}); save it again, or load the file it came from")  # fmt: skip
        if version > VERSION:
            raise CheckpointError(f"{name} was written by a newer lstm-viz (format version {version!r}); "
                                  "update lstm-viz to load it")  # fmt: skip
        try:
            config = ModelConfig.from_dict(obj.get("config"))
        except ValueError as err:
            raise CheckpointError(f"{name}: the saved model config is invalid: {err}") from None
        state_dict = obj.get("state_dict")
        if not _is_state_dict(state_dict):
            raise CheckpointError(f"{name}: the checkpoint has no weights (state_dict missing or malformed)")
        optimizer = obj.get("optimizer")
        if optimizer is not None and not (
            isinstance(optimizer, dict) and "state" in optimizer and "param_groups" in optimizer
        ):
            raise CheckpointError(f"{name}: the saved optimizer state is malformed")
        meta = obj.get("meta") or {}
        if not isinstance(meta, dict):
            raise CheckpointError(f"{name}: 'meta' must be a dict")
        model = build_checked(config, state_dict, name)
        return Checkpoint(
            config=config,
            model=model.to(device) if device is not None else model,
            optimizer_state=optimizer,
            history=_history(obj.get("history"), name),
            meta=meta,
            source="lstm-viz",
            description=f"lstm-viz checkpoint: {config.label()}",
        )

    source_kind = "state_dict"
    if "format" in obj and isinstance(obj["format"], str):
        raise CheckpointError(f"{name} has an unknown format {obj['format']!r}; {_HOWTO}")
    if not _is_state_dict(obj) and isinstance(obj.get("state_dict"), dict):
        obj, source_kind = obj["state_dict"], "lightning"
    if not _is_state_dict(obj):
        keys = sorted(repr(k) if isinstance(k, str) else str(k) for k in obj)
        held = f"a dict (keys {', '.join(keys[:6])}{', …' if len(keys) > 6 else ''})" if keys else "an empty dict"
        raise CheckpointError(f"{name} holds {held}, not model weights; {_HOWTO}")
    obj = {k: v for k, v in obj.items() if not k.endswith("num_batches_tracked")}
    config, state_dict, description = infer_config(obj, module, name)
    model = build_checked(config, state_dict, name)
    history: list[dict] = []
    return Checkpoint(
        config=config,
        model=model.to(device) if device is not None else model,
        optimizer_state=None,
        history=history,
        meta={},
        source=source_kind,
        description=("Lightning checkpoint: " if source_kind == "lightning" else "") + description,
    )


def checkpoint_stem(name: str) -> str:
    """A user's file name made safe: ``trained-<lowercase letters, digits, - and _>``, at most 60 characters;
    ValueError when nothing of it is left.

    >>> checkpoint_stem("My toy/../model.pt")
    'trained-my-toy-model'
    """
    stem = str(name).strip().lower()
    stem = stem[:-3] if stem.endswith(".pt") else stem
    # accents dropped, not the letters they sit on: "résumé" is "resume", not "r-sum"
    stem = "".join(ch for ch in unicodedata.normalize("NFKD", stem) if not unicodedata.combining(ch))
    stem = re.sub(r"[^a-z0-9_-]+", "-", stem).strip("-_")[:60].strip("-_")
    if not stem:
        raise ValueError(f"the file name {name!r} has none of the characters file names here are made of (a–z, "
                         "0–9, - and _); type a name such as toy-statquest-5000")  # fmt: skip
    return stem if stem == "trained" or stem.startswith("trained-") else f"trained-{stem}"
