"""The command line: ``python -m lstm_viz COMMAND …`` (the progress bar goes to stderr; the last line of stdout is one
JSON object for train, record, info, convert and record-corpus, and for the others with ``--json`` (lstmp-sweep
prints the file it wrote); errors are one line on stderr with a non-zero exit, no traceback).

Examples::

    python -m lstm_viz train toy-statquest --out models/toy_statquest.pt
    python -m lstm_viz train subtraction --data all --epochs 30 --out models/subtraction_lstm.pt
    python -m lstm_viz predict models/subtraction_lstm.pt "123 - 61" "200 - 7"
    echo "0, 0.5, 0.25, 1" | python -m lstm_viz predict models/toy_lstm.pt -
    python -m lstm_viz record models/subtraction_lstm.pt "123 - 61" --out rec.parquet
    python -m lstm_viz predict models/subtraction_lstm.pt "123 - 61" --intervene "layer0.fwd.c[units=1]=0"
    python -m lstm_viz ablate models/subtraction_lstm.pt --json
    python -m lstm_viz lstmp-sweep --out models/proj_sweep.json
    python -m lstm_viz train charlm --minutes 10 --out my_charlm.pt
    python -m lstm_viz generate models/charlm_python.pt --prompt "def " --chars 400 --temperature 0.8
    python -m lstm_viz units models/charlm_python.pt --text-file some.py --feature in_string --json
    python -m lstm_viz text-report models/charlm_python.pt
    python -m lstm_viz record models/charlm_python.pt --text-file some.py --tensors c,h --out rec.parquet
    python -m lstm_viz record-corpus models/charlm_python.pt --stdlib --max-chars 1000000 --out corpus/
    python -m lstm_viz top-contexts corpus/ --name layer0.fwd.c --unit 66 --json
    python -m lstm_viz match corpus/ --units layer0.fwd.c:66,layer0.fwd.c:12 --threshold 0.3 --json
    python -m lstm_viz parity --hidden-size 64 --num-layers 2 --bidirectional --state random

Each command is one module here with ``add_parser(sub)`` and ``run(args, argv)``; adding a command is one module
plus one entry in ``COMMANDS``.
"""

from __future__ import annotations

import contextlib
import errno
import importlib.metadata
import os
import re
import signal
import sys
import threading
import warnings
from collections.abc import Sequence

import torch

from lstm_viz.cli import (
    ablate,
    convert,
    generate,
    info,
    lstmp_sweep,
    match,
    parity,
    predict,
    record,
    record_corpus,
    text_report,
    top_contexts,
    train,
    units,
)
from lstm_viz.cli.common import ExitError, Parser, Terminated, made_folders, parse_input, remove_made_folders
from lstm_viz.parsing import InputError
from lstm_viz.training.checkpoints import CheckpointError

__all__ = ["COMMANDS", "ExitError", "build_parser", "main", "parse_input"]

COMMANDS = (train, predict, record, info, ablate, lstmp_sweep, convert, generate, units, text_report, record_corpus,
            top_contexts, match, parity)  # fmt: skip


def _version() -> str:
    """lstm-viz's version as installed, with PyTorch's and Python's."""
    try:
        own = importlib.metadata.version("lstm-viz")
    except importlib.metadata.PackageNotFoundError:  # run from a checkout without pip install -e .
        own = "(not installed)"
    python = ".".join(map(str, sys.version_info[:3]))
    return f"lstm-viz {own} (PyTorch {torch.__version__}, Python {python})"


def build_parser() -> Parser:
    parser = Parser(
        prog="python -m lstm_viz",
        description="Train, query and record the lstm-viz models from the command line.",
        epilog="The last line of stdout is one JSON object (train, record, info, convert, record-corpus; the others "
        "with --json; lstmp-sweep prints the file it wrote); a number that is not finite (NaN, inf) is null there. "
        "Errors: one line on stderr. Exit status: 0 done, 2 bad input, 1 unexpected failure (for parity: a difference "
        "beyond rounding), 3 training diverged (nothing "
        "written), 130 interrupted (Ctrl-C), 141 the reader of stdout went away (e.g. | head; quietly), 143 "
        "terminated (SIGTERM).",
    )
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    sub.required = True
    for command in COMMANDS:
        command.add_parser(sub)
    return parser


# PyTorch's words when an allocation fails (CPU: "DefaultCPUAllocator: can't allocate memory: you tried to allocate
# N bytes"; CUDA: "CUDA out of memory"; MPS: "MPS backend out of memory").
_OUT_OF_MEMORY = re.compile(r"can't allocate memory|out of memory", re.I)
_ASKED_BYTES = re.compile(r"tried to allocate (\d+) bytes")


def _size(nbytes: int) -> str:
    """Bytes as a person reads them: 160.0 GB, 38.4 MB, 512 kB."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6)):
        if nbytes >= scale / 10:
            return f"{nbytes / scale:,.1f} {unit}"
    return f"{nbytes / 1e3:,.0f} kB"


def _one_line(message: object) -> str:
    return " ".join(str(message).split())


def _terminate(signum: int, frame: object) -> None:
    raise Terminated


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 2 bad input, 1 unexpected failure, 3 training diverged,
    130 Ctrl-C, 141 stdout closed by its reader, 143 SIGTERM)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    for stream in ("stdout", "stderr"):  # started with it closed (>&-): what would be written there goes nowhere
        if getattr(sys, stream) is None:
            setattr(sys, stream, open(os.devnull, "w"))  # noqa: SIM115 — lives as long as the process
    previous = None
    if threading.current_thread() is threading.main_thread():  # only the main thread may set a signal handler
        previous = signal.signal(signal.SIGTERM, _terminate)
    made_folders.clear()
    code = 1
    threads = torch.get_num_threads()  # --threads changes PyTorch's for this command only (main may be called again)
    try:
        code = _main(argv)
        return code
    finally:
        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)
        if code != 0:  # a failed command leaves no folder it made for its --out
            remove_made_folders()
        made_folders.clear()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


_SMALLER = {  # what to make smaller when a command runs out of memory: its own flags
    "train": "choose smaller sizes (--hidden-size, --num-layers, --batch-size)",
    "record-corpus": "read fewer files side by side (--batch) or shorter passes (--chunk-len)",
    "lstmp-sweep": "choose a smaller --hidden-size",
    "ablate": "ablate fewer tensors (--tensors) or use the probe data (--data probe)",
}


def _main(argv: list[str]) -> int:
    # PyTorch warns once per process that LSTMP skips oneDNN; it is expected, not the user's problem.
    warnings.filterwarnings("ignore", message="LSTM with projections is not supported with oneDNN")
    command = None
    try:
        args, extra = build_parser().parse_known_args(argv)
        command = args.command
        if extra:  # named by the command's own help, not the top level's
            raise ExitError(f"unrecognized arguments: {' '.join(extra)} (see `python -m lstm_viz {args.command} "
                            "--help`)")  # fmt: skip
        return args.func(args, argv)
    except ExitError as err:
        print(f"error: {_one_line(err)}", file=sys.stderr)
        return err.code
    except (InputError, CheckpointError) as err:
        print(f"error: {_one_line(err)}", file=sys.stderr)
        return 2
    except Terminated:
        print("error: terminated", file=sys.stderr)
        return 143
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader of stdout went away (| head): stop quietly, as a Unix tool would
        with contextlib.suppress(OSError):  # nothing more reaches it, not even the final flush at exit
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except OSError as err:
        if err.errno == errno.ENOSPC or f"[Errno {errno.ENOSPC}]" in str(err):  # (Arrow's writer: in the text)
            where = f" writing {err.filename}" if err.filename else ""
            print(f"error: the disk is full{where}; free some space or choose an --out on another disk",
                  file=sys.stderr)  # fmt: skip
        else:
            print(f"error: {_one_line(err)}", file=sys.stderr)
        return 2
    except (ValueError, TypeError) as err:
        print(f"error: {_one_line(err)}", file=sys.stderr)
        return 2
    except (MemoryError, RuntimeError) as err:
        if not isinstance(err, MemoryError) and not _OUT_OF_MEMORY.search(str(err)):
            print(f"error: unexpected {type(err).__name__}: {_one_line(err)}", file=sys.stderr)
            return 1
        asked = _ASKED_BYTES.search(str(err))
        size = f" (one piece of {_size(int(asked.group(1)))} was asked for)" if asked else ""
        smaller = _SMALLER.get(command, "choose smaller sizes or a shorter input")
        print(f"error: not enough memory{size}; {smaller}", file=sys.stderr)
        return 2
    except Exception as err:  # no traceback for users; the message still says what failed
        print(f"error: unexpected {type(err).__name__}: {_one_line(err)}", file=sys.stderr)
        return 1
