"""Where a model trained on a page is kept: with the browser session that trained it, and on the server's disk only
where the operator allows it.

A visitor's "Save" keeps the checkpoint's bytes in that session (``SessionSaves``: at most ``SESSION_MAX_MODELS``
models and ``SESSION_MAX_BYTES`` in all); the sidebar lists them for that session only, and "Download .pt" gives
the file. Writing into a folder on the server is off by default: an operator turns it on with the environment
variable ``LSTM_VIZ_SAVE_DIR`` (e.g. ``LSTM_VIZ_SAVE_DIR=models``), capped by ``LSTM_VIZ_SAVE_MAX_FILES`` files
(default 20) and ``LSTM_VIZ_SAVE_MAX_MB`` megabytes (default 200) of ``trained-*.pt`` files in it; every session
then sees those files.

Reading follows the same rule: the cell finder opens a recorded corpus (``record-corpus``) only inside the
repository's folder or the folder ``LSTM_VIZ_CORPUS`` names (``corpus_folder``), so that a visitor cannot open, or
probe for, a corpus of someone's private code elsewhere on the server's disk. No Streamlit here.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

from lstm_viz.paths import MODELS_DIR
from lstm_viz.training.checkpoints import checkpoint_stem as stem_of

__all__ = [
    "CORPUS_ENV",
    "MAX_FILES_ENV",
    "MAX_MB_ENV",
    "SAVE_DIR_ENV",
    "SESSION_MAX_BYTES",
    "SESSION_MAX_MODELS",
    "SaveError",
    "SavedModel",
    "SessionSaves",
    "check_server_room",
    "checkpoint_stem",
    "corpus_folder",
    "server_room_turn",
    "server_save_dir",
    "server_saves",
]

SAVE_DIR_ENV = "LSTM_VIZ_SAVE_DIR"
CORPUS_ENV = "LSTM_VIZ_CORPUS"
MAX_FILES_ENV = "LSTM_VIZ_SAVE_MAX_FILES"
MAX_MB_ENV = "LSTM_VIZ_SAVE_MAX_MB"
DEFAULT_MAX_FILES = 20
DEFAULT_MAX_MB = 200.0
SESSION_MAX_MODELS = 5  # models one browser session keeps; the oldest goes first (and the message says so)
SESSION_MAX_BYTES = 100_000_000


class SaveError(ValueError):
    """A save that cannot be done; the message says why and what would work."""


def checkpoint_stem(name: str) -> str:
    """A user's file name made safe (``training.checkpoints.checkpoint_stem``), SaveError when nothing is left.

    >>> checkpoint_stem("My toy/../model.pt")
    'trained-my-toy-model'
    """
    try:
        return stem_of(name)
    except ValueError as err:
        raise SaveError(str(err)) from None


# ------------------------------------------------------------------------------------------- the session's
@dataclass(frozen=True)
class SavedModel:
    """One checkpoint kept in a browser session: its file name, bytes and what it is."""

    name: str  # e.g. "trained-subtraction-e292.pt"
    data: bytes
    label: str


@dataclass
class SessionSaves:
    """The models one browser session saved, newest last, within ``max_models`` and ``max_bytes``."""

    models: list[SavedModel] = field(default_factory=list)
    max_models: int = SESSION_MAX_MODELS
    max_bytes: int = SESSION_MAX_BYTES

    def names(self) -> list[str]:
        return [m.name for m in self.models]

    def get(self, name: str) -> SavedModel | None:
        return next((m for m in self.models if m.name == name), None)

    def add(self, name: str, data: bytes, label: str) -> tuple[SavedModel, list[str]]:
        """Keep ``data`` as ``trained-<name>.pt`` (``-2``, ``-3``… if taken); returns it and the names dropped to
        make room (oldest first)."""
        if len(data) > self.max_bytes:
            raise SaveError(
                f"this checkpoint is {len(data) / 1e6:.0f} MB, more than a session keeps "
                f"({self.max_bytes / 1e6:.0f} MB); use Download .pt instead"
            )
        stem = checkpoint_stem(name)
        file = f"{stem}.pt"
        n = 2
        while self.get(file) is not None:
            file = f"{stem}-{n}.pt"
            n += 1
        dropped = []
        while self.models and (
            len(self.models) >= self.max_models or sum(len(m.data) for m in self.models) + len(data) > self.max_bytes
        ):
            dropped.append(self.models.pop(0).name)
        saved = SavedModel(file, data, label)
        self.models.append(saved)
        return saved, dropped


# -------------------------------------------------------------------------------------------- the server's
def server_save_dir(environ: dict[str, str] | None = None) -> Path | None:
    """The folder the operator lets visitors save into (``LSTM_VIZ_SAVE_DIR``; relative to the repository), or
    None: saving on the server is off."""
    raw = (os.environ if environ is None else environ).get(SAVE_DIR_ENV, "").strip()
    return _from_repo(raw) if raw else None


def _from_repo(raw: str) -> Path:
    """A folder an operator or visitor named: absolute as given, else relative to the repository."""
    path = Path(raw).expanduser()
    return path if path.is_absolute() else MODELS_DIR.parent / path


def corpus_folder(typed: str, environ: dict[str, str] | None = None) -> Path:
    """The recorded-corpus folder a visitor typed (relative to the repository), resolved; ValueError if it lies
    outside the folders the app may read corpora from: the repository's and ``LSTM_VIZ_CORPUS``'s (and below)."""
    raw = (os.environ if environ is None else environ).get(CORPUS_ENV, "").strip()
    roots = [MODELS_DIR.parent.resolve(), *([_from_repo(raw).resolve()] if raw else [])]
    path = _from_repo(typed.strip() or ".").resolve()
    if not any(path.is_relative_to(root) for root in roots):
        raise ValueError(
            f"{typed.strip()!r} is outside the folders this app reads corpora from (its own folder"
            + (f" and {CORPUS_ENV}'s" if raw else "")
            + f"). Record the corpus inside the app's folder (e.g. --out corpus/), or start the app with "
            f"{CORPUS_ENV}=<that folder>."
        )
    return path


def _limits(environ: dict[str, str] | None = None) -> tuple[int, float]:
    env = os.environ if environ is None else environ
    try:
        files = int(env.get(MAX_FILES_ENV, DEFAULT_MAX_FILES))
    except ValueError:
        files = DEFAULT_MAX_FILES
    try:
        mb = float(env.get(MAX_MB_ENV, DEFAULT_MAX_MB))
    except ValueError:
        mb = DEFAULT_MAX_MB
    return max(0, files), max(0.0, mb)


def server_saves(directory: Path) -> list[Path]:
    """The ``trained-*.pt`` files visitors saved into ``directory`` (what the caps count)."""
    return sorted(p for p in Path(directory).glob("trained-*.pt") if p.is_file())


# Sessions are threads of one server: the room check and the write that follows it take turns, or two saves at once
# both pass the check and the folder goes one file (or one file's megabytes) over its cap.
server_room_turn = threading.Lock()


def check_server_room(directory: Path, size: int, environ: dict[str, str] | None = None) -> None:
    """Raise ``SaveError`` when one more file of ``size`` bytes would pass the operator's caps."""
    max_files, max_mb = _limits(environ)
    files = server_saves(directory)
    if len(files) >= max_files:
        raise SaveError(
            f"the server's save folder already holds {len(files)} saved models, its cap ({MAX_FILES_ENV}); "
            "keep this one in the session or download it"
        )
    used = sum(p.stat().st_size for p in files)
    if used + size > max_mb * 1e6:
        raise SaveError(
            f"the server's save folder would pass its cap of {max_mb:g} MB ({MAX_MB_ENV}); keep this one in the "
            "session or download it"
        )
