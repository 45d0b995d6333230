"""What every command of the command line shares: one-line errors, the argument parser, loading a checkpoint."""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import shlex
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

import torch

from lstm_viz.core.interventions import Intervention
from lstm_viz.parsing import InputError, shorten
from lstm_viz.tasks import LSTMVizModel, TaskInput, task_for
from lstm_viz.training.checkpoints import ModuleChoice, load_checkpoint
from lstm_viz.training.state_dicts import listed_modules

__all__ = [
    "ExitError",
    "Parser",
    "Terminated",
    "answer_value",
    "check_out",
    "check_utf8_out",
    "device_named",
    "flag_first",
    "format_answer",
    "is_utf8",
    "json_safe",
    "layer_number",
    "load_model",
    "made_folders",
    "parse_input",
    "parsed_input",
    "read_inputs",
    "remove_made_folders",
    "stopped_how",
    "whole_model_needed",
]


class ExitError(Exception):
    """A user-facing failure: printed as ``error: <message>`` on one line, exit status ``code``."""

    def __init__(self, message: str, code: int = 2) -> None:
        super().__init__(message)
        self.code = code


class Terminated(KeyboardInterrupt):
    """SIGTERM (``kill``, a job scheduler's stop): handled as Ctrl-C is, so no partial output file is left."""


def layer_number(text: str) -> int:
    """A layer number as recording names write it: digits only ("-0", "+1", "1_0" or "٣", which ``int`` reads,
    are refused with ValueError)."""
    if not (text.isascii() and text.isdigit()):
        raise ValueError(f"{text!r} is not a layer number")
    return int(text)


def stopped_how(err: KeyboardInterrupt) -> tuple[str, int]:
    """How a run was stopped, in a word, and the exit status that says so: SIGTERM (``Terminated``) or Ctrl-C."""
    return ("terminated", 143) if isinstance(err, Terminated) else ("interrupted", 130)


def flag_first(err: Exception, flags: Sequence[tuple[str, str]]) -> ExitError | None:
    """The library's message with its command-line flag said first ("--lr: learning rate must be …"), for the first
    ``(words, flag)`` of ``flags`` whose words start it; None when none does (the library's words are the app's too)."""
    said = str(err)
    flag = next((f for words, f in flags if said.startswith(words)), None)
    return None if flag is None else ExitError(f"{flag}: {said}")


class Parser(argparse.ArgumentParser):
    """argparse whose errors are one line (no usage block) so every failure looks the same."""

    def parse_known_args(self, args: Sequence[str] | None = None, namespace: Any = None) -> Any:
        self._given = list(sys.argv[1:] if args is None else args)  # for error's hint
        return super().parse_known_args(args, namespace)

    def error(self, message: str) -> NoReturn:
        hint = ""
        if "arguments are required" in message:  # `--text-file a.py MODEL`: the list took MODEL too
            given = set(getattr(self, "_given", ()))
            many = next((a for a in self._actions if a.nargs in ("+", "*") and given & {*a.option_strings}), None)
            if many is not None:
                hint = (f"; {many.option_strings[-1]} takes every value after it: give the other arguments before it, "
                        "or end its list with --")  # fmt: skip
        raise ExitError(f"{message}{hint} (see `{self.prog} --help`)")


MAX_SEED = 2**63 - 1  # what torch.manual_seed takes as a signed 64-bit number


def seed_arg(text: str) -> int:
    """argparse type of ``--seed``: a whole number from 0 to 2**63 − 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
    if not 0 <= value <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"must be from 0 to {MAX_SEED:,} (2**63 - 1), got {value:,}")
    return value


def parsed_input(model: LSTMVizModel, text: str, *, instead: str = "", label: str = "") -> TaskInput:
    """One typed input read the way its task reads it (subtraction ``"123 - 61"``; toy ``"0, 0.5, 0.25, 1"``;
    others rows ``"0.1, 0.2; 0.3, 0.4"``), as the task's ``TaskInput`` — its ``x`` (batch-first ``(1, T,
    input_size)``, on the CPU) and, for a text, its ``step_labels``.

    What the app would show beside the input is said here too: a text longer than the task reads (the app records
    its first part, with a note) is refused — an answer about a text cut short would read as one about the whole
    text — with ``instead`` saying what to do; any other note (characters read as ``<unk>``) goes to stderr, after
    ``label`` (e.g. ``"input 2: "``)."""
    task = task_for(model.config)
    inp = task.parse(text, model.config)
    if inp.cut:
        raise InputError(f"the text has {len(text):,} characters, more than the {task.max_input_steps:,} a typed "
                         f"input may have{instead}")  # fmt: skip
    if inp.note:
        print(f"note: {label}{inp.note}", file=sys.stderr)
    return inp


def parse_input(model: LSTMVizModel, text: str, *, instead: str = "", label: str = "") -> torch.Tensor:
    """``parsed_input``'s ``x`` on the model's device: the batch-first input ``(1, T, input_size)``."""
    return parsed_input(model, text, instead=instead, label=label).x.to(next(model.parameters()).device)


def answer_value(model: LSTMVizModel, x: torch.Tensor, interventions: Sequence[Intervention] = ()) -> Any:
    """The model's answer to ``x`` (under ``interventions``) as plain JSON: a decoded integer, a prediction, an
    output vector."""
    task = task_for(model.config)
    inp = TaskInput(x=x.detach().cpu(), text="", feature_names=task.feature_names(model.config))
    return task.answer(model, inp, list(interventions) or None).value


def format_answer(answer: Any) -> str:
    """An answer as ``predict`` prints it without ``--json``: ``62``, ``0.0123``, ``1, 2``, or for a text model
    ``next ")" 14.5%, "f" 10.1%, … · 5.31 bits/char, first guess right for 40% of 5 characters`` (each character
    JSON-quoted, so that a newline or a space can be read)."""
    if isinstance(answer, float):
        return f"{answer:.6g}"
    if isinstance(answer, list):
        return ", ".join(f"{v:.6g}" for v in answer)
    if isinstance(answer, dict) and "next" in answer:  # a text model: its likeliest next characters
        line = "next " + ", ".join(f"{json.dumps(n['char'])} {n['p']:.1%}" for n in answer["next"])
        if "bits_per_char" in answer:
            line += (f" · {answer['bits_per_char']:.2f} bits/char, first guess right for {answer['top1']:.0%} of "
                     f"{answer['predicted']:,} characters")  # fmt: skip
        return line
    return str(answer)


def read_inputs(items: Sequence[str]) -> tuple[list[str], list[str]]:
    """The inputs given as arguments; ``-`` reads one per line from stdin (blank lines skipped). Returns them with
    what to call each in a message: ``input 2`` for an argument, ``stdin line 4`` for a line."""
    inputs: list[str] = []
    names: list[str] = []
    for n, item in enumerate(items, 1):
        if item == "-":
            for number, line in enumerate(sys.stdin, 1):
                if line.strip():
                    inputs.append(line.strip())
                    names.append(f"stdin line {number}")
        else:
            inputs.append(item)
            names.append(f"input {n}")
    if not inputs:
        raise ExitError("no inputs given; pass them as arguments or '-' to read one per line from stdin")
    for text, name in zip(inputs, names, strict=True):
        if not is_utf8(text):
            raise ExitError(f"{name} is not UTF-8 text (it holds bytes that are not UTF-8); give it as UTF-8")
    return inputs, names


def is_utf8(text: str) -> bool:
    """Whether ``text`` can be written as UTF-8: bytes that are not UTF-8 in a command line or on stdin arrive as lone
    surrogates (Python's ``surrogateescape``), which cannot."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check_utf8_out(text: str, example: str, kind: str = "file") -> None:
    """ExitError when ``--out`` is not a UTF-8 name: Arrow and DuckDB take their paths as UTF-8."""
    if not is_utf8(text):
        shown = text.encode("utf-8", "backslashreplace").decode()
        raise ExitError(f"--out {shown} is not a UTF-8 name (bytes that are not UTF-8 in it); choose a {kind} name in "
                        f"UTF-8 such as {example}")  # fmt: skip


WHOLE_MODEL = "an lstm-viz checkpoint or a plain LSTM/GRU state_dict"
TEXT_MODEL = "a text model such as models/charlm_python.pt"


def load_model(path: str, module: str | None = None, *, command: str | None = None,
               wanted: str = WHOLE_MODEL) -> LSTMVizModel:  # fmt: skip
    """The model of a checkpoint; ``module``: ``--module``, one recurrent module of a bigger model's state_dict.
    ``command``: the command, which takes no ``--module`` and needs ``wanted`` (a bigger model's state_dict is then
    refused in its words, not with advice to pass a ``--module`` it does not have)."""
    try:
        return load_checkpoint(path, device=device_named(None), module=module).model
    except ModuleChoice as err:
        if command is None:
            raise
        raise ExitError(whole_model_needed(path, command, err.options, wanted)) from None


def whole_model_needed(path: str | Path, command: str, options: dict[str, str], wanted: str = WHOLE_MODEL) -> str:
    """Why ``command`` (no ``--module``) refuses a bigger model's state_dict holding ``options`` — it needs
    ``wanted`` —, and where its modules can be looked at one at a time."""
    return (f"{path} is a bigger model's state_dict ({listed_modules(options)}), not one model {command} can use "
            f"as a whole: give it {wanted}; one module of this file alone can be looked at with record, predict, info "
            f"or parity --module {shlex.quote(next(iter(options)))}")


def add_module(parser: argparse.ArgumentParser) -> None:
    """``--module NAME``: which LSTM or GRU of a bigger model's state_dict to use (``load_checkpoint``'s ``module``)."""
    parser.add_argument("--module", metavar="NAME", help="for a state_dict of a bigger model: the LSTM or GRU to "
                        "use, by its name in the state_dict (e.g. encoder.lstm); without it the error lists "
                        "them")  # fmt: skip


def device_named(name: str | None) -> torch.device:
    """``--device``: None picks CUDA, then MPS, then the CPU; a named device that is missing is an ExitError."""
    if name is None:
        from lstm_viz.core.device import pick_device

        return pick_device()
    if name == "cuda" and not torch.cuda.is_available():
        raise ExitError("--device cuda was asked for but no CUDA GPU is available; use --device cpu")
    mps = getattr(torch.backends, "mps", None)
    if name == "mps" and not (mps is not None and mps.is_available()):
        raise ExitError("--device mps was asked for but Apple MPS is not available; use --device cpu")
    return torch.device(name)


def not_an_input(out: Path, inputs: dict[str, str | Path | None]) -> None:
    """ExitError when ``out`` is one of the command's input files (``{"--text-file": path, …}``, each named as the
    user gave it), which writing the output would destroy."""
    for what, given in inputs.items():
        src = Path(given) if given is not None else None
        if src is not None and out.exists() and src.exists() and out.samefile(src):
            raise ExitError(f"--out {out} is {what} itself: writing would destroy it; write beside it, e.g. "
                            f"--out {src.with_name(src.stem + '_recording' + out.suffix)}")  # fmt: skip


def add_threads(parser: argparse.ArgumentParser) -> None:
    """``--threads N``: PyTorch's CPU threads for this command (``use_threads`` applies it)."""
    parser.add_argument("--threads", type=int, help="PyTorch CPU threads (default: PyTorch's, one per core; 1 is "
                        "often faster on a machine busy with other work)")  # fmt: skip


def check_threads(threads: int | None) -> None:
    """ExitError for a ``--threads`` outside 1..256 (None: not given)."""
    if threads is not None and not 1 <= threads <= 256:
        raise ExitError(f"--threads must be from 1 to 256, got {threads}")


def use_threads(threads: int | None) -> None:
    """Apply ``--threads`` (:func:`check_threads`); None leaves PyTorch's default."""
    check_threads(threads)
    if threads is not None:
        torch.set_num_threads(threads)


def print_json(value: Any) -> None:
    """One JSON line on stdout: every non-finite float as null (:func:`json_safe`), so standard parsers read it."""
    print(json.dumps(json_safe(value), allow_nan=False), flush=True)


def json_safe(value: Any) -> Any:
    """``value`` with every non-finite float, at any depth of dicts, lists and tuples, as None: JSON has no NaN, and
    null keeps a number's field a number or nothing (``"nan"`` as a string made ``d["loss"] < 1`` a TypeError)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: json_safe(v) for key, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


made_folders: list[Path] = []  # folders check_out made for this command: the CLI removes them if it fails (empty)


def remove_made_folders() -> None:
    """Remove the folders ``check_out`` made for a command that then failed, those still empty (deepest first)."""
    for folder in made_folders:
        with contextlib.suppress(OSError):  # not empty (something was written there after all), or gone
            folder.rmdir()
    made_folders.clear()


# Names that say a file holds something other than a checkpoint: writing one there would surprise whoever opens it.
NOT_CHECKPOINT_SUFFIXES = (".json", ".csv", ".parquet", ".txt", ".py", ".md", ".html", ".png", ".npz", ".npy")


def check_checkpoint_out(text: str, example: str) -> Path:
    """``check_out`` for a checkpoint: any name (``.pt``, ``.pth``, ``.ckpt``, none) but one whose suffix says it
    holds something else (``.json``, ``.csv``, ``.py`` …), which would mislead whoever opens it, or overwrite a
    script's own output."""
    suffix = Path(text).suffix.lower()
    if suffix in NOT_CHECKPOINT_SUFFIXES:
        raise ExitError(f"--out {text} would hold a PyTorch checkpoint under a {suffix} name; give a name ending in "
                        f".pt, e.g. --out {example}")  # fmt: skip
    return check_out(text, example)


def check_out(text: str, example: str, suffixes: tuple[str, ...] = ()) -> Path:
    """``--out`` checked before any work: a path to a regular file (new or existing) in a folder this process can
    write in — not a folder, not a device, pipe or socket (``/dev/null`` would be *replaced* by the file: outputs
    are written beside it and moved into place) — ending in one of ``suffixes`` when given. The folder is created if
    needed (and removed again, empty, if the command fails: ``remove_made_folders``); ``example`` is a name to
    suggest.
    """
    if not text.strip():
        raise ExitError(f"--out is empty; give a file name such as {example}")
    try:
        return _checked_out(text, example, suffixes)
    except OSError as err:  # what the probes themselves hit: a name too long for the file system, a loop of links
        raise ExitError(f"--out {shorten(text, 60)} cannot be used: {err.strerror or err}; choose another "
                        "--out") from None  # fmt: skip


def _checked_out(text: str, example: str, suffixes: tuple[str, ...]) -> Path:
    out = Path(text)
    if out.suffix.lower() == ".parquet":
        check_utf8_out(text, example)
    if text.endswith(("/", os.sep)) or out.is_dir():
        raise ExitError(f"--out {text} is a folder; give a file name such as {out / example}")
    if suffixes and out.suffix.lower() not in suffixes:
        raise ExitError(f"--out must end in {' or '.join(suffixes)} (got {out.name!r}), e.g. --out {example}")
    if out.exists() and not out.is_file():
        raise ExitError(f"--out {text} exists and is not a regular file (a device, pipe or socket): writing would "
                        f"replace it; give a file name such as {example}")  # fmt: skip
    missing = [p for p in (out.parent, *out.parent.parents) if not p.exists()]  # the deepest first
    blocking = next((p for p in (out.parent, *out.parent.parents) if p.exists() and not p.is_dir()), None)
    if blocking is not None:  # mkdir said "File exists"
        raise ExitError(f"--out {text}: {blocking} is a file, not a folder; choose another --out")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ExitError(f"cannot create the folder {out.parent} for --out: {err.strerror or err}") from None
    made_folders.extend(missing)
    if out.exists() and not os.access(out, os.W_OK):
        raise ExitError(f"cannot write {out}: permission denied; choose another --out")
    try:  # what writing will do: a temporary file beside it, moved into place
        fd, trial = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".check", dir=out.parent)
        os.close(fd)
        os.unlink(trial)
    except OSError as err:
        raise ExitError(f"cannot write files in {out.parent} for --out: {err.strerror or err}; choose another "
                        "--out") from None
    return out
