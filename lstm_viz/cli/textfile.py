"""What the text commands share: reading a text file exactly as it is, and checking that a model reads text."""

from __future__ import annotations

from pathlib import Path

from lstm_viz.cli.common import ExitError
from lstm_viz.parsing import InputError
from lstm_viz.tasks import LSTMVizModel, task_for
from lstm_viz.tasks.charlm.inputs import decode_file

__all__ = ["read_text_file", "require_text_model"]


def read_text_file(path: str) -> str:
    """The characters of a text file (up to ``MAX_FILE_BYTES``, 1 MB), every one of them (no newline translation:
    position t is the t-th character of the file; a UTF-8 byte-order mark is not a character). ExitError for a
    missing, empty, binary, oversized or non-UTF-8 file."""
    file = Path(path)
    if not file.exists():
        raise ExitError(f"--text-file {path}: no such file")
    if not file.is_file():
        what = "a folder" if file.is_dir() else "not a regular file (a device, a pipe or a socket)"
        raise ExitError(f"--text-file {path}: this is {what}; give a text file, e.g. some.py")
    try:
        data = file.read_bytes()
    except OSError as err:
        raise ExitError(f"--text-file {path}: cannot be read ({err.strerror or err})") from None
    try:
        return decode_file(data, file.name, command_line=True)
    except InputError as err:
        raise ExitError(f"--text-file {path}: {err}") from None


def require_text_model(model: LSTMVizModel, path: str, command: str) -> None:
    """ExitError unless the model reads text (one step per character)."""
    if not task_for(model.config).reads_text:
        raise ExitError(f"{path} holds a {model.config.label()}, which does not read text; {command} works on "
                        "character models (e.g. models/charlm_python.pt)")  # fmt: skip
