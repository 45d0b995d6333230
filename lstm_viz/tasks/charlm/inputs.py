"""Text a user gives a character model — typed, a random validation file or an uploaded file — as a TaskInput.

One step per character: ``x`` holds the token ids ``(1, T)``, ``step_labels`` the characters. Line breaks are read
as Python reads source (``\\r\\n`` and ``\\r`` become ``\\n``); a character outside the vocabulary is one ``<unk>``
step. Limits, said in every message: at most :data:`MAX_TEXT_CHARS` characters are recorded (a longer text is cut
at a line end and the input's ``note`` says so), and an uploaded file may have at most :data:`MAX_FILE_BYTES`
bytes. Empty text, binary files and text that is not UTF-8 (nor in the encoding a ``.py`` file declares) raise
:class:`~lstm_viz.parsing.InputError` with a message that says what would work.
"""

from __future__ import annotations

import io
import tokenize

import torch

from lstm_viz.parsing import InputError, wide_encoding
from lstm_viz.tasks.base import TaskInput
from lstm_viz.tasks.charlm.data import VOCAB, encode

__all__ = [
    "EXAMPLE",
    "MAX_FILE_BYTES",
    "MAX_TEXT_CHARS",
    "decode_file",
    "text_input",
]

MAX_TEXT_CHARS = 10_000  # characters recorded per input: a file's worth (recording all tensors of 2×384 units: ~200 MB)
MAX_FILE_BYTES = 1_000_000  # an uploaded file may be this big; its first MAX_TEXT_CHARS characters are recorded
EXAMPLE = '''def greet(name, excited=False):
    """Say hello to someone."""
    # an exclamation mark when excited
    end = "!" if excited else "."
    return f"Hello, {name}{end}"


print(greet("world", excited=True), [1, 2, (3, 4)])
'''
_KNOWN = frozenset(VOCAB[1:])


def _normalise(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text


def text_input(text: str, what: str = "typed", embed_size: int = 64) -> TaskInput:
    """``text`` as a character model's input (``what`` says where it came from, e.g. ``"typed"`` or a file name;
    ``embed_size`` names the embedding's components, what the LSTM reads).

    Raises InputError for an empty text. A text over :data:`MAX_TEXT_CHARS` characters is cut at the last line
    end before the limit (or at the limit when a line is that long) and ``note`` says so."""
    if not isinstance(text, str):
        raise InputError(f"the text must be a string, got {type(text).__name__}")
    text = _normalise(text)
    if not text.strip():
        raise InputError(
            f"The text is empty{' (only spaces and line breaks)' if text else ''}: type or paste some Python source, "
            f"up to {MAX_TEXT_CHARS:,} characters. Example: def add(a, b):\\n    return a + b"
        )
    notes = []
    total = len(text)
    if total > MAX_TEXT_CHARS:
        cut = text.rfind("\n", 0, MAX_TEXT_CHARS) + 1
        cut = cut if cut > MAX_TEXT_CHARS // 2 else MAX_TEXT_CHARS
        text = text[:cut]
        notes.append(f"The text has {total:,} characters; the first {len(text):,} are shown (at most "
                     f"{MAX_TEXT_CHARS:,} are recorded, cut at a line end).")  # fmt: skip
    unknown = sum(ch not in _KNOWN for ch in text)
    if unknown:
        notes.append(f"{unknown:,} character{'s' if unknown != 1 else ''} outside the model's vocabulary (printable "
                     f"ASCII, tab and newline) {'are' if unknown != 1 else 'is'} read as <unk>.")  # fmt: skip
    ids = torch.from_numpy(encode(text)).unsqueeze(0)  # (1, T) int64
    shown = f"{len(text):,} characters" + (f" of {total:,}" if total > len(text) else "")
    return TaskInput(
        x=ids,
        text=f"{what}: {shown}",
        feature_names=tuple(f"e{k}" for k in range(embed_size)),  # what the LSTM reads: the embedding
        step_labels=tuple(text),
        note=" ".join(notes),
        cut=total > len(text),
    )


def decode_file(data: bytes, name: str = "the file", *, command_line: bool = False) -> str:
    """An uploaded text file's content, or InputError: empty, too big, binary, or not UTF-8 (a ``.py`` file may
    declare another encoding, as Python allows). ``command_line``: the messages say what to do there (no upload
    box), and the size limit is stated in bytes, as the file system counts them."""
    if not isinstance(data, (bytes, bytearray)):
        raise InputError(f"{name} must be read as bytes")
    give = "Give" if command_line else "Upload"
    if not data:
        raise InputError(f"{name} is empty (0 bytes). {give} a .py or .txt file with some text in it.")
    if len(data) > MAX_FILE_BYTES:
        if command_line:
            raise InputError(
                f"{name} is {len(data):,} bytes; text files of up to {MAX_FILE_BYTES:,} bytes are read. Give a "
                f"shorter file or a part of it (e.g. head -c {MAX_FILE_BYTES} {name} > part.py)."
            )
        raise InputError(
            f"{name} is {len(data) / 1e6:.1f} MB; files up to {MAX_FILE_BYTES / 1e6:.0f} MB are accepted (and their "
            f"first {MAX_TEXT_CHARS:,} characters recorded). Upload a smaller file or paste a part of it."
        )
    wide = wide_encoding(data)
    if wide:
        again = "give" if command_line else "upload"
        raise InputError(f"{name} is {wide} text; text files are read as UTF-8. Save it as UTF-8 (most editors: "
                         f"Save as… → Encoding: UTF-8) and {again} it again.")  # fmt: skip
    head = bytes(data[:8192])  # control bytes are sniffed at the start; a NUL anywhere (as record-corpus judges)
    if b"\x00" in data or sum(b < 9 or 13 < b < 32 for b in head) > 0.1 * len(head):
        raise InputError(f"{name} looks like a binary file (it holds control bytes), not text. {give} a .py or .txt "
                         "file.")  # fmt: skip
    encoding = "utf-8-sig"
    if name.endswith(".py"):
        try:  # PEP 263: a coding declaration in the first two lines
            encoding, _ = tokenize.detect_encoding(io.BytesIO(bytes(data)).readline)
        except SyntaxError:
            encoding = "utf-8-sig"
    try:
        text = bytes(data).decode(encoding)
    except (UnicodeDecodeError, LookupError):
        again = "give it again" if command_line else "upload it again, or paste the text into the box"
        raise InputError(
            f"{name} is not UTF-8 text (is it Latin-1 or a word-processor file?). Save it as UTF-8 and {again}."
        ) from None
    if not text:  # the bytes were only a byte-order mark
        raise InputError(f"{name} holds no characters, only a UTF-8 byte-order mark. {give} a .py or .txt file with "
                         "some text in it.")  # fmt: skip
    return text
