"""Where the repository's own files are (the shipped models folder: one definition for the app, CLI and tests), and
writing a file atomically (one writer for checkpoints, corpus files and the sweep)."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

__all__ = ["MODELS_DIR", "REPO_ROOT", "SWEEP_FILE", "write_atomically"]

REPO_ROOT = Path(__file__).resolve().parent.parent
MODELS_DIR = REPO_ROOT / "models"  # shipped checkpoints (see models/README.md)
SWEEP_FILE = MODELS_DIR / "proj_sweep.json"  # the shipped proj_size sweep of the LSTM vs LSTMP page


def write_atomically(path: str | Path, data: bytes, *, new: bool = False) -> Path:
    """Write ``data`` to ``path`` so that a reader sees the old file or the whole new one, never a part.

    The bytes go to a temporary file of its own in the same folder (two writers never share one), are flushed to
    disk, and the file is moved over ``path`` with ``os.replace``; a failure or an interrupt removes it and leaves
    the old file as it was. The old file's permission bits are kept (a new file gets 0644). The folder is made if
    needed.

    ``new=True``: only as a new file — FileExistsError if ``path`` exists, also when another writer makes it in the
    same instant (the finished file is hard-linked into place, which fails on an existing name; where the folder
    cannot hold hard links, the name is first claimed with an exclusive create).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.chmod(tmp, path.stat().st_mode & 0o777 if path.exists() and not new else 0o644)  # mkstemp makes 0600
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if new:
            _link_new(tmp, path)
        else:
            os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return path


def _link_new(tmp: str, path: Path) -> None:
    """Put the finished ``tmp`` at ``path`` only if no file is there (FileExistsError otherwise), then drop ``tmp``."""
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise
    except OSError:  # no hard links here (some network or FAT folders): claim the name, then move the file over it
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
        os.replace(tmp, path)
        return
    os.unlink(tmp)
