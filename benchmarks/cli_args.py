"""argparse ``type=`` helpers shared by the benchmark scripts: a bad value on the command line is refused by argparse
in one line that names the option, says what was wrong and what to give (exit status 2), before anything slow runs
— never a traceback halfway through a benchmark, nor a benchmark that silently runs on a value it cannot use.

    parser.add_argument("--repeats", type=whole(1, 1000, above="more would run for hours"), default=7)
    parser.add_argument("--seconds", type=positive_float, default=15.0)

The scripts import it as ``cli_args``: run as ``python benchmarks/NAME.py``, their own folder is first on
``sys.path``. Only the standard library is imported here, so that a script can parse its arguments before it imports
PyTorch.
"""

from __future__ import annotations

import argparse
import math
import os
from collections.abc import Callable, Sequence
from pathlib import Path

__all__ = [
    "MAX_THREADS",
    "existing_file",
    "folder_to_write",
    "names",
    "number",
    "positive_float",
    "positive_int",
    "shipped_model",
    "thread_count",
    "whole",
]

MAX_THREADS = 256  # as `python -m lstm_viz train --threads`: more is a typo, not a setting (PyTorch overflows at 2**31)


def _shown(text: str, most: int = 40) -> str:
    """``text`` quoted, cut to ``most`` characters (a value of thousands of digits is not repeated whole)."""
    return repr(text) if len(text) <= most else repr(text[: most - 1]) + "…"


def _amount(value: float) -> str:
    """A number for a message: thousands separated; a huge one cut short."""
    shown = f"{value:,}" if isinstance(value, int) else f"{value:,g}"
    return shown if len(shown) <= 30 else shown[:29] + "…"


def _written_out(text: str, low: int, high: int | None) -> str:
    """For ``1e3``, ``1000.0``: how to write the whole number it stands for, if that one is in range ("" else)."""
    try:
        value = float(text)
    except ValueError:
        return ""
    if not (math.isfinite(value) and value.is_integer() and low <= value <= (math.inf if high is None else high)):
        return ""
    return f" (write {int(value)} for {text.strip()})"


def _why(why: str) -> str:
    return f" ({why})" if why else ""


def whole(low: int = 1, high: int | None = None, *, why: str = "", above: str = "") -> Callable[[str], int]:
    """argparse type: a whole number from ``low`` to ``high`` (None: no upper bound). ``why`` follows any refusal
    (e.g. what to give instead), ``above`` only a value over ``high`` (why there is an upper bound: "more would run
    for hours" said of a 0 read as nonsense)."""
    wanted = f"a whole number of at least {low:,}" if high is None else f"a whole number from {low:,} to {high:,}"

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            written = _written_out(text, low, high)
            raise argparse.ArgumentTypeError(f"must be {wanted}, got {_shown(text)}{written}") from None
        if value < low or (high is not None and value > high):
            reason = why or (above if high is not None and value > high else "")
            raise argparse.ArgumentTypeError(f"must be {wanted}, got {_amount(value)}{_why(reason)}")
        return value

    parse.__name__ = "whole number"  # argparse's word for the type, should anything else fail
    return parse


def number(
    low: float = 0.0, high: float | None = None, *, low_ok: bool = False, what: str = "", why: str = ""
) -> Callable[[str], float]:
    """argparse type: a finite number above ``low`` (or equal to it, with ``low_ok``) and at most ``high`` (None: no
    upper bound); nan and inf are refused. ``what`` says what is wanted in place of the range worked out here (e.g.
    ``"0 (no suite) or a number of seconds up to 86,400"``); ``why`` follows a refusal of a number out of range."""
    if not what:
        what = f"a number {'of at least' if low_ok else 'above'} {_amount(low)}"
        what += f" and at most {_amount(high)}" if high is not None else ""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {what}, got {_shown(text)}") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"must be {what}, got {_shown(text)} (not a finite number)")
        if value < low or (value == low and not low_ok) or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"must be {what}, got {_amount(value)}{_why(why)}")
        return value

    parse.__name__ = "number"
    return parse


positive_int = whole(1)
positive_int.__doc__ = "argparse type: a whole number of at least 1."
positive_float = number(0.0)
positive_float.__doc__ = "argparse type: a finite number above 0 (nan and inf refused)."
thread_count = whole(1, MAX_THREADS)
thread_count.__doc__ = f"argparse type of a ``--threads`` option: a whole number from 1 to {MAX_THREADS}."


def existing_file(text: str) -> str:
    """argparse type: the path of a file that exists and can be read; returned as given."""
    path = Path(text)
    if not text:
        raise argparse.ArgumentTypeError("must be the path of a file, got ''")
    if not path.exists():
        raise argparse.ArgumentTypeError(f"file {_shown(text, 200)} not found")
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"{_shown(text, 200)} is a folder, not a file: give the path of a file")
    if not os.access(path, os.R_OK):
        raise argparse.ArgumentTypeError(f"{_shown(text, 200)} cannot be read (no permission)")
    return text


def shipped_model(parser: argparse.ArgumentParser, name: str) -> Path:
    """The path of ``models/<name>``, a checkpoint the repository ships; where it is missing (deleted, or a checkout
    without it), ``parser.error`` says so and how to bring it back — exit status 2, not a traceback."""
    path = Path(__file__).resolve().parent.parent / "models" / name
    if not path.is_file():
        parser.error(f"models/{name} is missing; it ships with the repository: `git checkout -- models/{name}` "
                     "brings it back")  # fmt: skip
    return path


def folder_to_write(text: str) -> str:
    """argparse type: a folder to write in — one that exists, or a path where none is yet (made when used); a file
    there is refused. Returned as given."""
    path = Path(text)
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{_shown(text, 200)} is a file, not a folder: give a folder, or a path to "
                                         "make one")  # fmt: skip
    return text


def names(allowed: Sequence[str], *, example: str = "") -> Callable[[str], str]:
    """argparse type: some of ``allowed``, separated by commas, each once; spaces around a name are dropped. Returned
    joined by commas (``"c, h"`` → ``"c,h"``)."""
    choices = ", ".join(allowed)
    example = example or ",".join(allowed[:2])

    def parse(text: str) -> str:
        given = [name.strip() for name in text.split(",") if name.strip()]
        if not given:
            raise argparse.ArgumentTypeError(f"give some of {choices}, separated by commas (e.g. {example}); got "
                                             f"{_shown(text)}")  # fmt: skip
        for k, name in enumerate(given):
            if name not in allowed:
                raise argparse.ArgumentTypeError(f"{_shown(name)} is not one of {choices}: give some of them, "
                                                 f"separated by commas (e.g. {example})")  # fmt: skip
            if name in given[:k]:
                raise argparse.ArgumentTypeError(f"{_shown(name)} is given twice in {_shown(text)}")
        return ",".join(given)

    parse.__name__ = "names"
    return parse
