"""The text model a corpus is recorded with: the one place that loads it, encodes text for it and fingerprints it.

``load_text_model`` reads the project's checkpoints of a text task (``models/charlm_python.pt``, anything ``python -m
lstm_viz train charlm`` writes, a plain state_dict the task recognises) and the research script's (``load_charlm``: a
plain dict with ``config`` and ``state_dict``), and gives the research ``CharLM`` either way: the project's
``CharModel`` has the same module names, so the same weights load into it (``as_text_model``). ``encode_text`` is the
model's vocabulary (one id per character, so ids and characters stay aligned) and ``fingerprint`` names the weights,
so shards of another model are recognised.
"""

from __future__ import annotations

import hashlib
import json
import pickle
from pathlib import Path

import numpy as np
import torch

from lstm_viz.corpus.errors import CorpusError
from lstm_viz.tasks import task_for
from lstm_viz.tasks.charlm.data import encode
from lstm_viz.tasks.charlm.model import CharLM, CharLMConfig, load_charlm
from lstm_viz.training.checkpoints import CheckpointError, ModuleChoice, load_checkpoint
from lstm_viz.training.state_dicts import listed_modules

__all__ = ["as_text_model", "encode_text", "fingerprint", "load_text_model", "model_summary"]


def load_text_model(path: str | Path) -> CharLM:
    """The character LSTM stored at ``path`` (a project checkpoint of a text task, or a research checkpoint:
    ``{"config": …, "state_dict": …}``), in eval mode on the CPU. Raises CorpusError with a one-line reason when the
    file is missing or is not such a model."""
    path = Path(path)
    if not path.is_file():
        raise CorpusError(f"model {str(path)!r} not found")
    refused: CheckpointError | None = None
    try:
        ckpt = load_checkpoint(path)
    except CheckpointError as err:
        ckpt, refused = None, err  # not the project's format: perhaps the research script's
    if ckpt is not None:
        config = ckpt.config
        if not task_for(config).reads_text or config.cell != "lstm" or config.bidirectional:
            raise CorpusError(f"{path} holds a {task_for(config).label(config)}, not a character model: record a "
                              "corpus with a text model such as models/charlm_python.pt")  # fmt: skip
        return as_text_model(ckpt.model)
    if isinstance(refused, ModuleChoice):  # a bigger model's state_dict: its modules are no character model
        raise CorpusError(f"{path} is a bigger model's state_dict ({listed_modules(refused.options)}), not a "
                          "character model: record a corpus with a text model such as models/charlm_python.pt")
    try:
        return load_charlm(str(path))
    except pickle.UnpicklingError:  # objects besides tensors (never unpickled), or not a PyTorch file: as checked
        raise CorpusError(str(refused)) from None
    except (KeyError, TypeError, RuntimeError, ValueError, OSError, EOFError, AttributeError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise CorpusError(f"{path} is not a character-model checkpoint ({first[:160]})") from None
    except Exception as err:  # pickle's many ways to fail on a file that is not a checkpoint
        raise CorpusError(f"{path} is not a character-model checkpoint ({type(err).__name__})") from None


def as_text_model(model: torch.nn.Module) -> CharLM:
    """The research ``CharLM`` with the weights of a project ``CharModel`` (same module names), on the CPU."""
    config = model.config
    twin = CharLM(CharLMConfig(vocab_size=config.output_size, embed_size=config.input_size,
                               hidden_size=config.hidden_size, num_layers=config.num_layers,
                               proj_size=config.proj_size, dropout=config.dropout))  # fmt: skip
    twin.load_state_dict({k: v.detach().cpu() for k, v in model.state_dict().items()})
    return twin.eval()


def encode_text(model: CharLM, text: str) -> np.ndarray:
    """Token ids (int64), one per character of ``text``; characters outside the vocabulary become ``<unk>``."""
    return encode(text)


def fingerprint(model: CharLM) -> str:
    """16 hex digits of sha256 over the config and every weight (names, shapes, bytes): equal iff same model."""
    digest = hashlib.sha256(json.dumps(model.config.to_dict(), sort_keys=True).encode())
    for name, value in sorted(model.state_dict().items()):
        tensor = value.detach().to("cpu").contiguous()
        digest.update(f"{name}:{tuple(tensor.shape)}:{tensor.dtype}".encode())
        digest.update(tensor.view(torch.uint8).numpy().tobytes() if tensor.numel() else b"")
    return digest.hexdigest()[:16]


def model_summary(model: CharLM, path: str | Path) -> dict:
    """What the manifest says about the model: where it came from, its fingerprint, config and sizes."""
    lstm = model.lstm
    return {
        "path": str(path),
        "fingerprint": fingerprint(model),
        "config": model.config.to_dict(),
        "num_layers": lstm.num_layers,
        "hidden_size": lstm.hidden_size,
        "proj_size": lstm.proj_size,
        "bidirectional": lstm.bidirectional,
    }
